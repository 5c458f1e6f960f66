package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/prune"
	"github.com/amcbench/amc/weights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A search's best/ keeps prune.json under results/, not the weights:
// amc prune --rebuild makes the same network again, tensor for tensor.
func TestRebuildRemakesASearchsBestNetwork(t *testing.T) {
	needShared(t)
	dir := filepath.Join(t.TempDir(), "s")
	_, _, err := run("search", "--model", "resnet20", "--weights", adapted20, "--data-dir", dataDir, "--budget", "macs=0.5",
		"--strategy", "random", "--episodes", "3", "--seed", "3", "--reward-images", "100",
		"--calib-images", "100", "--final-images", "200", "--out", dir, "--json")
	require.NoError(t, err)
	best := filepath.Join(dir, "best")
	want, err := weights.Load(filepath.Join(best, prune.WeightsFile))
	require.NoError(t, err)
	require.NoError(t, os.Remove(filepath.Join(best, prune.WeightsFile)))
	spec, err := prune.ReadSpec(best)
	require.NoError(t, err)
	require.NotNil(t, spec.Reconstruction, "the search records its re-fit in best/prune.json")
	assert.Equal(t, 100, spec.Reconstruction.Images)

	same := func(out string) {
		t.Helper()
		got, err := weights.Load(filepath.Join(out, prune.WeightsFile))
		require.NoError(t, err)
		require.Equal(t, len(want.Params), len(got.Params))
		for name, w := range want.Params {
			require.Contains(t, got.Params, name)
			assert.Equal(t, w.Data, got.Params[name].Data, name)
		}
	}
	out1 := filepath.Join(t.TempDir(), "r1")
	o, _, err := run("prune", "--rebuild", best, "--data-dir", dataDir, "--out", out1, "--json")
	require.NoError(t, err)
	assert.Equal(t, true, lastJSON(t, o)["reconstructed"])
	assert.Equal(t, "yes", lastJSON(t, o)["same_weights"], "checked against the run's best_weights_sha256")
	same(out1)
	// A copy of best/ away from its run: prune.json alone, nothing to check the result against.
	alone := filepath.Join(t.TempDir(), "copied")
	require.NoError(t, os.CopyFS(alone, os.DirFS(best)))
	o, _, err = run("prune", "--rebuild", alone, "--data-dir", dataDir, "--out", filepath.Join(t.TempDir(), "r0"), "--json")
	require.NoError(t, err)
	assert.Equal(t, "not recorded", lastJSON(t, o)["same_weights"])

	// A prune.json written before searches recorded the re-fit: the run's
	// summary.json beside best/ gives it.
	var raw map[string]any
	b, err := os.ReadFile(filepath.Join(best, prune.SpecFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &raw))
	delete(raw, "reconstruction")
	b, _ = json.Marshal(raw)
	require.NoError(t, os.WriteFile(filepath.Join(best, prune.SpecFile), b, 0o644))
	out2 := filepath.Join(t.TempDir(), "r2")
	_, _, err = run("prune", "--rebuild", best, "--data-dir", dataDir, "--out", out2)
	require.NoError(t, err)
	same(out2)
	again, err := prune.ReadSpec(out2)
	require.NoError(t, err)
	assert.Equal(t, spec.Reconstruction.Images, again.Reconstruction.Images, "the rebuilt folder records the re-fit")

	// Edits of prune.json or summary.json that leave the search's network
	// undefined are refused (each on a fresh copy of the run).
	edit := func(t *testing.T, file string, change func(m map[string]any)) string {
		t.Helper()
		runDir := filepath.Join(t.TempDir(), "run")
		require.NoError(t, os.CopyFS(runDir, os.DirFS(dir)))
		p := filepath.Join(runDir, file)
		var m map[string]any
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &m))
		change(m)
		b, _ = json.Marshal(m)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return filepath.Join(runDir, "best")
	}
	for _, tc := range []struct {
		name, file string
		change     func(m map[string]any)
		args       []string
		want       string
	}{
		{"no re-fit recorded anywhere", "summary.json", func(m map[string]any) { delete(m, "run_id") }, nil, "records no re-fit"},
		{"a summary of another network", "summary.json", func(m map[string]any) {
			m["best_kept_channels"].(map[string]any)["layer1.0.conv1"] = 1.0
		}, nil, "not this run's network"},
		{"a re-fit and no groups", "best/prune.json", func(m map[string]any) {
			m["reconstruction"] = map[string]any{"data": "cifar10", "split": "train", "images": 100, "positions": 10, "ridge": 1e-6, "seed": 1}
			delete(m, "groups")
			delete(m, "layers")
		}, nil, "nothing to re-fit"},
		{"a negative ridge", "best/prune.json", func(m map[string]any) {
			m["reconstruction"] = map[string]any{"data": "cifar10", "split": "train", "images": 100, "positions": 10, "ridge": -1, "seed": 1}
		}, nil, "reconstruction ridge"},
		{"a re-fit and --no-reconstruct", "best/prune.json", func(map[string]any) {}, []string{"--no-reconstruct"}, "drop --no-reconstruct"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := edit(t, tc.file, tc.change)
			args := append([]string{"prune", "--rebuild", b, "--data-dir", dataDir, "--out", filepath.Join(t.TempDir(), "x")}, tc.args...)
			_, _, err := run(args...)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	// Without any record of the re-fit, --no-reconstruct makes the cut
	// alone, and says it is not the run's network.
	b2 := edit(t, "summary.json", func(m map[string]any) { delete(m, "run_id") })
	o, errOut, err := run("prune", "--rebuild", b2, "--no-reconstruct", "--data-dir", dataDir, "--out", filepath.Join(t.TempDir(), "nr"), "--json")
	require.NoError(t, err)
	assert.Equal(t, false, lastJSON(t, o)["reconstructed"])
	assert.Equal(t, "no", lastJSON(t, o)["same_weights"])
	assert.Contains(t, errOut, "warning: the weights made differ")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a policy too", []string{"--policy", "uniform:0.5"}, "drop --policy"},
		{"another re-fit", []string{"--calib-images", "50"}, "drop --calib-images"},
		{"other weights", []string{"--weights", aka20}, "but the run used"},
		{"other data", []string{"--data", "cifar10-jpeg"}, "not --data cifar10-jpeg"},
		{"no prune.json", []string{"--rebuild", dir}, "written by amc prune"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"prune", "--rebuild", best, "--data-dir", dataDir, "--out", filepath.Join(t.TempDir(), "x")}, tc.args...)
			_, _, err := run(args...)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

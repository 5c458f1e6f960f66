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
	same(out1)

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

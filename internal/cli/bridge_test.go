package cli

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/internal/testpython"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/amcbench/amc/weights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// torchCommand is python3 (with torch and numpy) running args in python/,
// PyTorch's malloc thresholds pinned (docs/engine.md).
func torchCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	py := testpython.Find(t, "the PyTorch bridge tests (Debian: python3-torch python3-numpy; make test installs them as root)", "torch", "numpy")
	cmd := exec.Command(py, args...)
	cmd.Dir = "../../python"
	cmd.Env = append(os.Environ(), "MALLOC_MMAP_THRESHOLD_=4294967296", "MALLOC_TRIM_THRESHOLD_=17179869184")
	return cmd
}

// bridge runs python3 -m amc_bridge (python/amc_bridge) and returns its stdout.
func bridge(t *testing.T, args ...string) string {
	t.Helper()
	cmd := torchCommand(t, append([]string{"-m", "amc_bridge"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "amc_bridge %s: %s", strings.Join(args, " "), stderr.String())
	return string(out)
}

// randomBN gives every batch norm non-trivial statistics, so that a
// mistake in folding or in channel selection shows in the logits.
func randomBN(g *nn.Graph, p nn.Params, rng *rand.Rand) {
	for _, n := range g.Nodes {
		if n.Op != nn.OpBatchNorm {
			continue
		}
		for c := range n.OutC {
			p[n.Name+".weight"].Data[c] = float32(0.5 + rng.Float64())
			p[n.Name+".bias"].Data[c] = float32(0.1 * rng.NormFloat64())
			p[n.Name+".running_mean"].Data[c] = float32(0.1 * rng.NormFloat64())
			p[n.Name+".running_var"].Data[c] = float32(0.5 + rng.Float64())
		}
	}
}

type parityCase struct {
	name  string
	graph *nn.Graph
	p     nn.Params
}

// parityCases builds one model's unpruned, channel-pruned (and, where the
// model has residual adds, residual-group-pruned) and fine-grained networks
// in dir, each in its own folder with the same random inputs.
func parityCases(t *testing.T, dir, model string, rng *rand.Rand) []parityCase {
	g, err := models.Build(model)
	require.NoError(t, err)
	p := g.InitParams(rng.Uint64())
	randomBN(g, p, rng)
	var cases []parityCase
	save := func(name string, spec *prune.Spec, pg *nn.Graph, pp nn.Params) {
		d := filepath.Join(dir, model+"-"+name)
		if spec == nil {
			require.NoError(t, weights.SaveSafetensors(filepath.Join(d, "model.safetensors"), pp, map[string]string{weights.MetaModel: model}))
			require.NoError(t, os.WriteFile(filepath.Join(d, "case.json"), []byte(`{"model": "`+model+`", "weights": "model.safetensors"}`), 0o644))
		} else {
			spec.BaseModel, spec.Normalization = model, datasets.ImageNetNorm
			spec.Layers = prune.LayerSpecs(g, pg)
			require.NoError(t, prune.Save(d, spec, pp))
		}
		cases = append(cases, parityCase{filepath.Base(d), pg, pp})
	}
	save("unpruned", nil, g, p)
	hasAdd := false
	for _, n := range g.Nodes {
		hasAdd = hasAdd || n.Op == nn.OpAdd
	}
	for _, residual := range []bool{false, true} {
		if residual && !hasAdd {
			continue
		}
		a, err := prune.Analyze(g, prune.Options{Residual: residual})
		require.NoError(t, err)
		pol := prune.Policy{}
		for _, grp := range a.Groups {
			pol[grp.Name] = 0.3 + 0.6*rng.Float64()
		}
		counts, err := a.Counts(pol, 1)
		require.NoError(t, err)
		pg, pp, err := a.Apply(p, a.Select(p, counts, prune.L1In{}))
		require.NoError(t, err)
		if residual {
			withMap := 0
			for _, n := range pg.Nodes {
				if n.Map != nil {
					withMap++
				}
			}
			if model != "mobilenet_v2" { // its adds join equal shapes: no option-A shortcuts
				require.Positive(t, withMap, "%s: residual pruning should give shortcut channel maps", model)
			}
		}
		save(fmt.Sprintf("channels-residual-%v", residual), &prune.Spec{Residual: residual}, pg, pp)
	}
	density := map[string]float64{}
	for _, l := range prune.Layers(g) {
		density[l] = 0.2 + 0.6*rng.Float64()
	}
	sp, err := prune.Sparsify(g, p, density)
	require.NoError(t, err)
	save("fine-grained", &prune.Spec{Density: density}, g, sp)
	return cases
}

// The bridge's PyTorch modules compute the Go engine's logits for every zoo
// network, unpruned, channel-pruned (with and without residual groups) and
// fine-grained, loaded from the files amc writes.
func TestBridgeLogitsMatchEngine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 9 networks in 3-4 forms each and starts PyTorch")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	const n = 3
	x := nn.NewTensor(n, 32, 32, 3)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	var cases []parityCase
	zoo := models.CIFARNames()
	require.Len(t, zoo, 9)
	for _, m := range zoo {
		cases = append(cases, parityCases(t, dir, m, rng)...)
	}
	for _, c := range cases {
		require.NoError(t, weights.SaveSafetensors(filepath.Join(dir, c.name, "input.safetensors"), nn.Params{"input": x}, nil))
	}
	bridge(t, "logits", "--cases", dir, "--threads", "2")
	for _, c := range cases {
		pl, err := nn.Compile(c.graph, c.p, 0)
		require.NoError(t, err)
		goOut, err := pl.Forward(x.Data, n)
		require.NoError(t, err)
		f, err := weights.Load(filepath.Join(dir, c.name, "logits.safetensors"))
		require.NoError(t, err, c.name)
		pt := f.Params["logits"]
		require.Equal(t, []int{n, 10}, pt.Shape, c.name)
		var maxAbs, maxDiff float64
		for i, v := range goOut {
			maxAbs = math.Max(maxAbs, math.Abs(float64(v)))
			maxDiff = math.Max(maxDiff, math.Abs(float64(v-pt.Data[i])))
		}
		require.Positive(t, maxAbs, c.name)
		assert.LessOrEqual(t, maxDiff, 1e-4*maxAbs, "%s: max |logit difference| %.3g, max |logit| %.3g", c.name, maxDiff, maxAbs)
		t.Logf("%-40s max |diff| %.2e = %.2e x max |logit| %.3g", c.name, maxDiff, maxDiff/maxAbs, maxAbs)
	}
}

// A network trained briefly by the bridge (PyTorch, on amc's exported data)
// has the same test accuracy in amc's Go engine as in PyTorch, on all 10,000
// test images.
func TestBridgeTrainedNetworkSameAccuracyInGo(t *testing.T) {
	needShared(t)
	if testing.Short() {
		t.Skip("trains for a few seconds in PyTorch")
	}
	exp, out := filepath.Join(t.TempDir(), "export"), filepath.Join(t.TempDir(), "run")
	_, _, err := run("data", "export", "--out", exp, "--data-dir", dataDir)
	require.NoError(t, err)
	bridge(t, "train", "--model", "resnet20", "--data", exp, "--epochs", "1", "--train-images", "2560", "--warmup-epochs", "0", "--lr", "0.05", "--eval-images", "0",
		"--out", out, "--threads", "2", "--device", "cpu")
	var sum struct {
		Test float64 `json:"test_top1"`
		Held float64 `json:"heldout_top1"`
		Fp   string  `json:"data_fingerprint"`
		By   string  `json:"evaluated_by"`
	}
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &sum))
	assert.Equal(t, "PyTorch", sum.By)
	assert.True(t, strings.HasPrefix(sum.Fp, "sha256:"), sum.Fp)
	assert.Greater(t, sum.Test, 15.0, "one short epoch should beat chance (10%%)")
	stdout, _, err := run("eval", "--model", "resnet20", "--weights", filepath.Join(out, "model.safetensors"), "--data-dir", dataDir, "--split", "test", "--json")
	require.NoError(t, err)
	goTop1 := lastJSON(t, stdout)["top1"].(float64)
	assert.InDelta(t, sum.Test, goTop1, 0.05, "test top-1: PyTorch %.2f, Go %.2f", sum.Test, goTop1)
	t.Logf("test top-1 after a short epoch: PyTorch %.2f, Go %.2f", sum.Test, goTop1)
}

// The bridge's own unit tests (python/tests): safetensors, graphs, the
// augmentation, the recipe, resume and kept zeros.
func TestBridgePythonUnitTests(t *testing.T) {
	out, err := torchCommand(t, "-m", "unittest", "discover", "-s", "tests", "-v").CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "OK")
}

func TestDataExportBadInput(t *testing.T) {
	dir := t.TempDir()
	_, _, err := run("data", "export", "--splits", "train")
	assert.ErrorContains(t, err, "--out DIR is required")
	_, _, err = run("data", "export", "--out", dir, "--splits", "heldout,trian")
	assert.ErrorContains(t, err, `--splits: unknown split "trian" (did you mean "train"?)`)
	_, _, err = run("data", "export", "--out", dir, "--data", "cifar100")
	assert.ErrorContains(t, err, "cifar100")
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "nothing written")
}

// The bridge builds every zoo network node for node as amc does: the graph
// JSON of python3 -m amc_bridge graph equals amc graph's, at four widths.
func TestBridgeGraphsEqualTheZoo(t *testing.T) {
	var names []string
	for _, m := range models.CIFARNames() {
		for _, w := range []string{"", "@0.75", "@0.5", "@0.25"} {
			names = append(names, m+w)
		}
	}
	out := bridge(t, append([]string{"graph"}, names...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, len(names))
	for i, name := range names {
		g, err := models.Build(name)
		require.NoError(t, err, name)
		b, err := json.Marshal(g)
		require.NoError(t, err)
		var goG, pyG any
		require.NoError(t, json.Unmarshal(b, &goG))
		require.NoError(t, json.Unmarshal([]byte(lines[i]), &pyG), name)
		assert.Equal(t, goG, pyG, name)
	}
}

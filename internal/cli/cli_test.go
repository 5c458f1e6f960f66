package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amcbench/amc/harness"
	"github.com/amcbench/amc/internal/filesum"
	"github.com/amcbench/amc/search"
	"github.com/amcbench/amc/train"
	"github.com/amcbench/amc/weights"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	shared    = filepath.Join("..", "..", "..", "shared")
	dataDir   = filepath.Join(shared, "data")
	adapted20 = filepath.Join(shared, "weights", "cifar10-jpeg-adapted", "resnet20.safetensors")
	aka20     = filepath.Join(shared, "weights", "akamaster-cifar10", "resnet20-12fca82f.th")
)

func needShared(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(adapted20); err != nil {
		t.Skipf("no ../shared: %v", err)
	}
	t.Setenv("AMC_CACHE", filepath.Join(os.TempDir(), "amc-test-cache"))
}

func run(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	root := NewRoot(&out, &errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errb.String(), err
}

func lastJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &m), out)
	return m
}

func TestModelsListsZoo(t *testing.T) {
	out, _, err := run("models")
	require.NoError(t, err)
	for _, n := range []string{"resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "plain20", "vgg16", "mobilenet_v1", "mobilenet_v2"} {
		assert.Contains(t, strings.Split(out, "\n"), n)
	}
	out, _, err = run("models", "--long", "--width", "0.5")
	require.NoError(t, err)
	assert.Contains(t, out, "mobilenet_v2@0.5")
	assert.Contains(t, out, "28231168")
}

func TestEvalJSON(t *testing.T) {
	needShared(t)
	cases := []struct {
		weights, split string
		min            float64
	}{
		{adapted20, "test", 80},
		{aka20, "heldout", 75},
	}
	for _, c := range cases {
		out, _, err := run("eval", "--model", "resnet20", "--weights", c.weights, "--data", "cifar10-jpeg",
			"--data-dir", dataDir, "--split", c.split, "--limit", "300", "--json")
		require.NoError(t, err)
		m := lastJSON(t, out)
		assert.Equal(t, 300.0, m["n"])
		assert.Greater(t, m["top1"].(float64), c.min, "a trained ResNet-20 is far above chance")
		assert.GreaterOrEqual(t, m["top5"].(float64), m["top1"].(float64))
	}
}

// With no --data flag amc reads the lossless CIFAR-10, and its content-defined
// held-out split is the one the clean ResNet-20 was trained without: Go gives
// that network the held-out top-1 its README reports (89.80, PyTorch).
func TestCleanResNet20HeldoutMatchesREADME(t *testing.T) {
	needShared(t)
	out, _, err := run("eval", "--model", "resnet20", "--weights", clean20, "--data-dir", dataDir, "--split", "heldout", "--json")
	require.NoError(t, err)
	m := lastJSON(t, out)
	assert.Equal(t, "cifar10", m["data"])
	assert.Equal(t, 5000.0, m["n"])
	assert.InDelta(t, 89.80, m["top1"].(float64), 0.05)
}

func TestEvalErrors(t *testing.T) {
	needShared(t)
	empty := t.TempDir()
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown model", []string{"--model", "resnet21", "--weights", adapted20}, []string{`unknown model "resnet21"`, `did you mean "resnet20"`, "resnet56"}},
		{"unknown dataset", []string{"--model", "resnet20", "--weights", adapted20, "--data", "cifar100"}, []string{`unknown dataset "cifar100"`, "cifar10-jpeg"}},
		{"bad split", []string{"--model", "resnet20", "--weights", adapted20, "--split", "val"}, []string{"unknown split"}},
		{"missing data", []string{"--model", "resnet20", "--weights", adapted20, "--data-dir", empty}, []string{"not found", empty, "AMC_DATA"}},
		{"weights for another model", []string{"--model", "resnet32", "--weights", adapted20}, []string{"do not fit", "layer1.3.conv1.weight"}},
		{"no weights", []string{"--model", "resnet20"}, []string{"--weights is required"}},
		{"missing weights file", []string{"--model", "resnet20", "--weights", filepath.Join(empty, "x.th")}, []string{"no such file"}},
	}
	for _, c := range cases {
		args := append([]string{"eval", "--data-dir", dataDir}, c.args...)
		_, _, err := run(args...)
		require.Error(t, err, c.name)
		for _, w := range c.want {
			assert.Contains(t, err.Error(), w, c.name)
		}
	}
}

func TestConvertThenEvalSame(t *testing.T) {
	needShared(t)
	out := filepath.Join(t.TempDir(), "r20.safetensors")
	_, _, err := run("convert", "--model", "resnet20", "--weights", aka20, "--out", out)
	require.NoError(t, err)
	a, _, err := run("eval", "--model", "resnet20", "--weights", aka20, "--data-dir", dataDir, "--limit", "200", "--json")
	require.NoError(t, err)
	b, _, err := run("eval", "--model", "resnet20", "--weights", out, "--data-dir", dataDir, "--limit", "200", "--json")
	require.NoError(t, err)
	assert.Equal(t, lastJSON(t, a)["top1"], lastJSON(t, b)["top1"])
	_, _, err = run("eval", "--model", "resnet32", "--weights", out, "--data-dir", dataDir)
	assert.ErrorContains(t, err, "saved for model resnet20")
	// The copy names its source, so that its provenance (weights.Known) stays readable.
	f, err := weights.Load(out)
	require.NoError(t, err)
	akaSum, err := filesum.SHA256(aka20)
	require.NoError(t, err)
	assert.Equal(t, akaSum, f.Meta[weights.MetaSource])

	// float16: half the file, the same accuracy within 0.05 points (on 2,000 test images here).
	half := filepath.Join(t.TempDir(), "r20h.safetensors")
	_, _, err = run("convert", "--model", "resnet20", "--weights", clean20, "--out", half, "--dtype", "f16")
	require.NoError(t, err)
	f32, _ := os.Stat(clean20)
	f16, _ := os.Stat(half)
	assert.Less(t, f16.Size(), f32.Size()*6/10)
	c, _, err := run("eval", "--model", "resnet20", "--weights", clean20, "--data-dir", dataDir, "--split", "test", "--limit", "2000", "--json")
	require.NoError(t, err)
	d, _, err := run("eval", "--model", "resnet20", "--weights", half, "--data-dir", dataDir, "--split", "test", "--limit", "2000", "--json")
	require.NoError(t, err)
	assert.InDelta(t, lastJSON(t, c)["top1"].(float64), lastJSON(t, d)["top1"].(float64), 0.05)
	_, _, err = run("convert", "--model", "resnet20", "--weights", clean20, "--out", half, "--dtype", "f8")
	assert.ErrorContains(t, err, `--dtype "f8": want f32 or f16`)
}

func TestPruneEvalMeasure(t *testing.T) {
	needShared(t)
	dir := filepath.Join(t.TempDir(), "r20")
	out, _, err := run("prune", "--model", "resnet20", "--weights", adapted20, "--policy", "uniform-macs:0.6",
		"--data", "cifar10-jpeg", "--data-dir", dataDir, "--calib-images", "200", "--out", dir, "--json")
	require.NoError(t, err)
	p := lastJSON(t, out)
	assert.LessOrEqual(t, p["macs_ratio"].(float64), 0.6)
	assert.Greater(t, p["macs_ratio"].(float64), 0.5)
	assert.Equal(t, true, p["reconstructed"])
	out, _, err = run("eval", "--pruned", dir, "--data-dir", dataDir, "--split", "heldout", "--limit", "200", "--json")
	require.NoError(t, err)
	assert.Greater(t, lastJSON(t, out)["top1"].(float64), 50.0)
	out, _, err = run("measure", "--pruned", dir, "--repeats", "3", "--json")
	require.NoError(t, err)
	m := lastJSON(t, out)
	assert.Equal(t, p["macs"], m["macs"])
	assert.Greater(t, m["latency_ms"].(float64), 0.0)
	out, _, err = run("measure", "--model", "resnet20", "--repeats", "3", "--json")
	require.NoError(t, err)
	assert.Equal(t, 40551040.0, lastJSON(t, out)["macs"])
	// A policy file and fine-grained density.
	pol := filepath.Join(t.TempDir(), "policy.json")
	require.NoError(t, os.WriteFile(pol, []byte(`{"layer1.0.conv1": 0.5, "layer3.2.conv1": 0.25}`), 0o644))
	out, _, err = run("prune", "--model", "resnet20", "--policy", pol, "--density", "uniform:0.5", "--out", dir+"-2", "--json")
	require.NoError(t, err)
	q := lastJSON(t, out)
	assert.Less(t, q["nonzero_params"].(float64), 0.6*q["params"].(float64))
	_, _, err = run("prune", "--model", "resnet20", "--policy", "uniform:1.5", "--out", dir+"-3")
	assert.ErrorContains(t, err, "(0, 1]")
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"layer1.0.conv3": 0.5}`), 0o644))
	_, _, err = run("prune", "--model", "resnet20", "--policy", bad, "--out", dir+"-4")
	assert.ErrorContains(t, err, `did you mean "layer1.0.conv1"`)
	_, err = os.Stat(dir + "-4")
	assert.True(t, os.IsNotExist(err), "nothing written on error")
	out, _, err = run("groups", "--model", "mobilenet_v2")
	require.NoError(t, err)
	assert.Contains(t, out, "layers.16.conv1")
}

// writeSpec writes DIR/NAME.yaml, a spec for the adapted ResNet-20 (by
// absolute path) with body after its name, model and weights, in a fresh
// temporary folder, and returns its path.
func writeSpec(t *testing.T, name, body string) string {
	t.Helper()
	w, err := filepath.Abs(adapted20)
	require.NoError(t, err)
	spec := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(spec, []byte("name: "+name+"\nmodel: resnet20\nweights: "+w+"\n"+body), 0o644))
	return spec
}

func TestSearchWritesSummaryAndEpisodes(t *testing.T) {
	needShared(t)
	dir := filepath.Join(t.TempDir(), "s")
	out, _, err := run("search", "--model", "resnet20", "--weights", adapted20, "--data-dir", dataDir, "--budget", "macs=0.5",
		"--strategy", "ddpg", "--warmup", "2", "--episodes", "4", "--seed", "2", "--reward-images", "100",
		"--calib-images", "100", "--final-images", "500", "--out", dir, "--json")
	require.NoError(t, err)
	s := lastJSON(t, out)
	assert.Equal(t, "ddpg", s["strategy"])
	assert.Equal(t, 4.0, s["episodes"])
	assert.LessOrEqual(t, s["macs_ratio"].(float64), 0.5)
	assert.Greater(t, s["unseen_heldout_top1"].(float64), 10.0)
	assert.Equal(t, 500.0, s["unseen_heldout_images"], "--final-images of the 4,900 held-out images outside the 100-image reward set")
	assert.Len(t, s["best_policy"], 9)
	for _, f := range []string{"summary.json", "episodes.parquet", "best/prune.json", "best/model.safetensors"} {
		_, err := os.Stat(filepath.Join(dir, f))
		assert.NoError(t, err, f)
	}
	// amc search runs gathered in one folder, one of them fine-tuned by hand
	// (amc finetune --out RUN/finetuned): one run, with its fine-tuned accuracy.
	ft, err := json.Marshal(trainSummary{Command: "finetune", Epochs: make([]train.Epoch, 2), TestTop1: 55.5})
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "finetuned"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "finetuned", "summary.json"), ft, 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "ft"), 0o755)) // amc finetune --out RUN/ft
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ft", "summary.json"), ft, 0o644))
	n, err := harness.Collect(filepath.Dir(dir))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	rows, err := parquet.ReadFile[search.RunRow](filepath.Join(filepath.Dir(dir), "runs.parquet"))
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, 55.5, rows[0].FineTunedTest)
	assert.Equal(t, int64(2), rows[0].FineTuneEpochs)
	_, _, err = run("search", "--model", "resnet20", "--weights", adapted20, "--data-dir", dataDir, "--strategy", "ppo", "--out", dir)
	assert.ErrorContains(t, err, "unknown strategy")
	_, _, err = run("search", "--model", "resnet20", "--weights", adapted20, "--data-dir", dataDir, "--budget", "macs=1.5", "--out", dir)
	assert.ErrorContains(t, err, "(0, 1]")
}

func TestRunSpecsResumeAndDeterminism(t *testing.T) {
	needShared(t)
	spec := writeSpec(t, "tiny", `budget: macs=0.6
reward_images: 60
final_images: 60
calibration: {images: 60, positions: 5}
seeds: [1, 2]
episodes: 3
strategies:
  - {name: random}
  - {name: uniform}
finetune: {epochs: 1, train_images: 128, batch: 64}
`)
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	for _, dir := range []string{a, b} {
		out, _, err := run("run", spec, "--data-dir", dataDir, "--out", dir)
		require.NoError(t, err)
		assert.Contains(t, out, "4 runs")
	}
	// A second run of the same folder skips every finished run.
	_, errOut, err := run("run", spec, "--data-dir", dataDir, "--out", a)
	require.NoError(t, err)
	assert.Equal(t, 4, strings.Count(errOut, "done, skipped"))
	assert.Equal(t, 2, strings.Count(errOut, "fine-tuned, skipped"))
	ea, err := search.ReadEpisodes(filepath.Join(a, "episodes.parquet"))
	require.NoError(t, err)
	eb, err := search.ReadEpisodes(filepath.Join(b, "episodes.parquet"))
	require.NoError(t, err)
	require.Len(t, ea, 2*3+2*1)
	for i := range ea {
		assert.Equal(t, ea[i].Ratios, eb[i].Ratios, "row %d", i)
		assert.Equal(t, ea[i].Reward, eb[i].Reward, "row %d", i)
		assert.Equal(t, ea[i].Kept, eb[i].Kept, "row %d", i)
	}
	_, _, err = run("run", filepath.Join(filepath.Dir(spec), "missing.yaml"), "--out", a)
	assert.ErrorContains(t, err, "no such file")
	// The report: table and plots from the Parquet files.
	_, _, err = run("report", a)
	require.NoError(t, err)
	md, err := os.ReadFile(filepath.Join(a, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| random | 2 | 3 |")
	assert.Contains(t, string(md), "(1 epoch, the seed best on the reward set)", "the fine-tuned accuracy is in the table")
	runs, err := parquet.ReadFile[search.RunRow](filepath.Join(a, "runs.parquet"))
	require.NoError(t, err)
	tuned := 0
	for _, r := range runs {
		if r.FineTuneEpochs > 0 {
			tuned++
			assert.Greater(t, r.FineTunedTest, 0.0)
			_, err := os.Stat(filepath.Join(a, r.RunDir, "finetuned", "prune.json"))
			assert.NoError(t, err, "the fine-tuned pruned model is saved")
		}
	}
	assert.Equal(t, 2, tuned, "one fine-tuned run (the best seed) per strategy")
	assert.Contains(t, string(md), "+-")
	assert.Contains(t, string(md), "| act + learn s | surgery s | re-fit s | evaluation s |")
	for _, f := range []string{"tiny-pareto.png", "tiny-rewards.png", "tiny-policy.png"} {
		st, err := os.Stat(filepath.Join(a, f))
		require.NoError(t, err, f)
		assert.Greater(t, st.Size(), int64(1000), f)
	}
	_, _, err = run("report", t.TempDir())
	assert.ErrorContains(t, err, "no finished runs")
	// A changed fine-tuning recipe does not pass for the finished one.
	b2, err := os.ReadFile(spec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(spec, []byte(strings.Replace(string(b2), "epochs: 1,", "epochs: 2,", 1)), 0o644))
	_, _, err = run("run", spec, "--data-dir", dataDir, "--out", a)
	assert.ErrorContains(t, err, "another recipe")
}

// Bad input to amc search: a clear error naming the problem (and the valid
// values or the closest match), and nothing written.
func TestSearchBadInput(t *testing.T) {
	needShared(t)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown reward", []string{"--protocol", "accuracy", "--reward", "flop"}, []string{`unknown reward "flop"`, `did you mean "flops"`}},
		{"unknown protocol", []string{"--protocol", "constraint"}, []string{`unknown protocol "constraint"`, `did you mean "constrained"`}},
		{"budget above 1", []string{"--budget", "macs=1.5"}, []string{`budget "macs=1.5"`, "(0, 1]"}},
		{"budget not a number", []string{"--budget", "latency=abc"}, []string{`budget "latency=abc"`, "RESOURCE=F"}},
		{"unknown resource", []string{"--budget", "flops=0.5"}, []string{`unknown resource "flops"`, "macs, params, latency"}},
		{"unreachable budget", []string{"--budget", "macs=0.02"}, []string{"cannot be met", "smallest reachable is macs=0.233"}},
		{"unknown strategy", []string{"--strategy", "ddqg"}, []string{`unknown strategy "ddqg"`, `did you mean "ddpg"`}},
		{"weights of another model", []string{"--model", "resnet32"}, []string{"do not fit", "layer1.3.conv1.weight"}},
		{"no episodes", []string{"--episodes", "0"}, []string{"--episodes 0: want an integer >= 1"}},
		{"unknown granularity", []string{"--granularity", "fin"}, []string{`unknown granularity "fin"`, `did you mean "fine"`}},
		{"fine-grained with latency", []string{"--granularity", "fine", "--budget", "latency=0.5"}, []string{"fine-grained", "latency budget"}},
		{"unknown param", []string{"--param", "warmpu=3"}, []string{"strategy ddpg: param warmpu: unknown", `did you mean "warmup"`}},
		{"param without a value", []string{"--param", "warmup"}, []string{`--param "warmup": want KEY=VALUE`}},
		{"param without its value", []string{"--param", "warmup="}, []string{"--param warmup=: give a value"}},
		{"param twice", []string{"--param", "warmup=1", "--param", "warmup=2"}, []string{"--param warmup given twice"}},
		{"param out of range", []string{"--strategy", "cem", "--param", "elite=2"}, []string{"strategy cem: param elite: 2: want"}},
		{"param of a baseline", []string{"--strategy", "random", "--param", "seed=2"}, []string{"random takes no params"}},
		{"warm-up twice", []string{"--warmup", "2", "--param", "warmup=2"}, []string{"--warmup and --param warmup=: give one"}},
	}
	for _, c := range cases {
		dir := filepath.Join(t.TempDir(), "out")
		args := append([]string{"search", "--model", "resnet20", "--weights", adapted20, "--data-dir", dataDir, "--reward-images", "50",
			"--calib-images", "50", "--episodes", "2", "--out", dir}, c.args...)
		_, _, err := run(args...)
		require.Error(t, err, c.name)
		for _, w := range c.want {
			assert.Contains(t, err.Error(), w, c.name)
		}
		_, statErr := os.Stat(dir)
		assert.True(t, os.IsNotExist(statErr), "%s: nothing written", c.name)
	}
}

// A damaged Parquet file is named in the error of amc report and amc merge.
func TestDamagedParquet(t *testing.T) {
	needShared(t)
	dir := t.TempDir()
	_, _, err := run("search", "--model", "resnet20", "--weights", adapted20, "--data-dir", dataDir, "--strategy", "uniform",
		"--reward-images", "50", "--calib-images", "50", "--final-images", "50", "--out", filepath.Join(dir, "u"))
	require.NoError(t, err)
	bad := filepath.Join(dir, "u", "episodes.parquet")
	b, err := os.ReadFile(bad)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bad, b[:len(b)/2], 0o644))
	_, _, err = run("report", dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), bad)
	_, err = os.Stat(filepath.Join(dir, "report.md"))
	assert.True(t, os.IsNotExist(err), "no report from damaged data")
}

// A fine-grained spec: densities per conv/linear layer meet the params
// budget, best/ is the unpruned structure with its zeros, fine-tuning keeps
// them, and runs.parquet says which granularity each run used.
func TestRunFineGrainedSpec(t *testing.T) {
	needShared(t)
	spec := writeSpec(t, "fine", `granularity: fine
budget: params=0.4
lower_bound: 0.05
reward_images: 60
final_images: 60
seeds: [1]
episodes: 3
strategies:
  - {name: random}
  - {name: uniform}
finetune: {epochs: 1, train_images: 128, batch: 64}
`)
	dir := filepath.Join(t.TempDir(), "out")
	_, _, err := run("run", spec, "--data-dir", dataDir, "--out", dir)
	require.NoError(t, err)
	runs, err := parquet.ReadFile[search.RunRow](filepath.Join(dir, "runs.parquet"))
	require.NoError(t, err)
	require.Len(t, runs, 2)
	for _, r := range runs {
		assert.Equal(t, "fine", r.Granularity)
		assert.LessOrEqual(t, r.ParamsRatio, 0.4, r.Strategy)
		assert.Greater(t, r.ParamsRatio, 0.35, r.Strategy)
		assert.Len(t, r.Groups, 20, "19 convs and the linear layer")
		for _, sub := range []string{"best", "finetuned"} {
			out, _, err := run("measure", "--pruned", filepath.Join(dir, r.RunDir, sub), "--repeats", "1", "--json")
			require.NoError(t, err, sub)
			m := lastJSON(t, out)
			nz, params := m["nonzero_params"].(float64), m["params"].(float64)
			assert.InDelta(t, r.ParamsRatio, nz/params, 0.01, "%s %s: zeros kept", r.Strategy, sub)
		}
	}
}

// A strategy added as one file in agent/ (agent/cem.go) runs from amc
// search with its params, and amc strategies lists it.
func TestOneFileAgentRunsFromSearch(t *testing.T) {
	needShared(t)
	out, _, err := run("strategies")
	require.NoError(t, err)
	assert.Contains(t, out, "cem (learner)")
	assert.Contains(t, out, "population: 10")
	dir := filepath.Join(t.TempDir(), "cem")
	out, _, err = run("search", "--model", "resnet20", "--weights", adapted20, "--data-dir", dataDir, "--budget", "macs=0.5",
		"--strategy", "cem", "--param", "population=2", "--param", "elite=0.5", "--episodes", "4", "--reward-images", "60",
		"--calib-images", "60", "--final-images", "60", "--out", dir, "--json")
	require.NoError(t, err)
	s := lastJSON(t, out)
	assert.Equal(t, "cem", s["strategy"])
	assert.Equal(t, 4.0, s["episodes"])
	rows, err := parquet.ReadFile[search.EpisodeRow](filepath.Join(dir, "episodes.parquet"))
	require.NoError(t, err)
	assert.Len(t, rows, 5, "4 episodes and the greedy one")
	// The same run with its params given in another order is the same run:
	// it is found finished, not refused.
	_, errOut, err := run("search", "--model", "resnet20", "--weights", adapted20, "--data-dir", dataDir, "--budget", "macs=0.5",
		"--strategy", "cem", "--param", "elite=0.5", "--param", "population=2", "--episodes", "4", "--reward-images", "60",
		"--calib-images", "60", "--final-images", "60", "--out", dir, "--json")
	require.NoError(t, err)
	assert.Contains(t, errOut, "finished run found")
}

// Committed runs keep their fingerprints across the move to strategy
// params: amc run finds every run of results/resnet20-front (DDPG with the
// older warmup: form, and the baselines) finished.
func TestCommittedRunsKeepFingerprints(t *testing.T) {
	needShared(t)
	if testing.Short() {
		t.Skip("copies a results folder")
	}
	dir := filepath.Join(t.TempDir(), "front")
	require.NoError(t, os.CopyFS(dir, os.DirFS("../../results/resnet20-front")))
	_, errOut, err := run("run", "../../experiments/resnet20-front.yaml", "--out", dir, "--data-dir", dataDir)
	require.NoError(t, err, errOut)
	assert.Equal(t, 15, strings.Count(errOut, "done, skipped"), errOut)
	assert.NotContains(t, errOut, "resuming")
	// Without its pinned capacity the spec's DDPG takes today's default
	// replay buffer: another run, refused, not taken for the committed one.
	b, err := os.ReadFile("../../experiments/resnet20-front.yaml")
	require.NoError(t, err)
	pinned := ", params: {capacity: 100000}"
	require.Contains(t, string(b), pinned)
	spec := filepath.Join(t.TempDir(), "front.yaml")
	abs, err := filepath.Abs(shared)
	require.NoError(t, err)
	text := strings.ReplaceAll(strings.ReplaceAll(string(b), pinned, ""), "../../shared", abs) // the spec's paths are relative to its folder
	require.NoError(t, os.WriteFile(spec, []byte(text), 0o644))
	_, _, err = run("run", spec, "--out", dir, "--data-dir", dataDir)
	assert.ErrorContains(t, err, `differs in Params "" there, {"replay_episodes":25} here`)
}

// amc search's flags build the spec amc run reads: the same settings as a
// spec named cli give the same run (fingerprint) and the same best policy.
func TestSearchFlagsAreASpec(t *testing.T) {
	needShared(t)
	dir := t.TempDir()
	out, _, err := run("search", "--model", "resnet20", "--weights", adapted20, "--data-dir", dataDir, "--strategy", "random",
		"--episodes", "2", "--reward-images", "50", "--calib-images", "50", "--final-images", "50", "--seed", "3",
		"--out", filepath.Join(dir, "search"), "--json")
	require.NoError(t, err)
	searched := lastJSON(t, out)
	spec := writeSpec(t, "cli", "budget: macs=0.5\nreward_images: 50\ncalibration: {images: 50}\nfinal_images: 50\nepisodes: 2\nseeds: [3]\nstrategies: [{name: random}]\n")
	_, _, err = run("run", spec, "--data-dir", dataDir, "--out", filepath.Join(dir, "run"))
	require.NoError(t, err)
	s, err := harness.ReadSummary(filepath.Join(dir, "run", "cli", "random-s3", "summary.json"))
	require.NoError(t, err)
	assert.Equal(t, searched["run_fingerprint"], s.Fingerprint)
	assert.Equal(t, searched["best_policy"], any(toAny(s.BestPolicy)))
}

func toAny(m map[string]float64) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// amc fetch checks every name before downloading, and verifies a file
// already in place (here ../shared's, accepted by its recorded checksum)
// without the network.
func TestFetchCommand(t *testing.T) {
	out, _, err := run("fetch", "--list")
	require.NoError(t, err)
	assert.Contains(t, out, "cifar10: ")
	assert.Contains(t, out, "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz")
	_, _, err = run("fetch", "akamaster-resnet20", "cifar-10")
	assert.ErrorContains(t, err, `did you mean "cifar10"`)
	needShared(t)
	out, _, err = run("fetch", "cifar10", "--dir", dataDir)
	require.NoError(t, err)
	assert.Contains(t, out, "(verified)")
}

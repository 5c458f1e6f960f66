package cli

import (
	"fmt"

	"github.com/amcbench/amc/internal/filesum"

	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amcbench/amc/internal/outlock"
	"github.com/amcbench/amc/search"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var clean20 = filepath.Join(shared, "weights", "cifar10-clean", "resnet20.safetensors")

// quickSearch is a fixed-policy search: one episode, small image counts.
func quickSearch(weights, out string, extra ...string) []string {
	return append([]string{"search", "--model", "resnet20", "--weights", weights, "--data-dir", dataDir, "--strategy", "uniform",
		"--reward-images", "50", "--calib-images", "50", "--final-images", "50", "--out", out, "--json"}, extra...)
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, b, 0o644))
}

// Two amc run processes on one folder: the second is refused, naming the
// first's pid, and the first's rows equal an undisturbed run's.
func TestConcurrentRunsOneRefuses(t *testing.T) {
	needShared(t)
	spec := writeSpec(t, "busy", `budget: macs=0.5
reward_images: 300
final_images: 100
calibration: {images: 200, positions: 5}
seeds: [3]
episodes: 8
strategies:
  - {name: ddpg, warmup: 3}
`)
	alone := filepath.Join(t.TempDir(), "alone")
	_, _, err := run("run", spec, "--data-dir", dataDir, "--out", alone)
	require.NoError(t, err)

	shared := filepath.Join(t.TempDir(), "shared")
	var log strings.Builder
	first := amcProcess(t, &log, "run", spec, "--data-dir", dataDir, "--out", shared)
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(shared, outlock.Name))
		if strings.Contains(string(b), fmt.Sprintf(`"pid":%d`, first.Process.Pid)) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the first run never took the lock: %s", log.String())
		time.Sleep(5 * time.Millisecond)
	}
	_, _, err = run("run", spec, "--data-dir", dataDir, "--out", shared)
	require.ErrorIs(t, err, outlock.ErrBusy)
	assert.ErrorContains(t, err, fmt.Sprintf("pid %d", first.Process.Pid))
	require.NoError(t, first.Wait(), log.String())

	a, err := search.ReadEpisodes(filepath.Join(alone, "episodes.parquet"))
	require.NoError(t, err)
	b, err := search.ReadEpisodes(filepath.Join(shared, "episodes.parquet"))
	require.NoError(t, err)
	require.Len(t, b, 8+1, "8 episodes and the greedy one")
	assert.Equal(t, clockless(a), clockless(b))
	_, err = os.Stat(filepath.Join(shared, outlock.Name))
	assert.ErrorIs(t, err, os.ErrNotExist, "the lock is released")
}

// The fingerprint names the weights by content: the same file moved is the
// same run; another file at the same path is another run, and the refusal
// names the field that differs.
func TestRunFingerprintFollowsContent(t *testing.T) {
	needShared(t)
	dir := t.TempDir()
	w := filepath.Join(dir, "w.safetensors")
	copyTo(t, adapted20, w)
	out := filepath.Join(dir, "out")
	res, _, err := run(quickSearch(w, out)...)
	require.NoError(t, err)
	s := lastJSON(t, res)
	sum, err := filesum.SHA256(adapted20)
	require.NoError(t, err)
	assert.Equal(t, sum, s["weights_sha256"])
	assert.Equal(t, "cifar10", s["data"])
	assert.Contains(t, s["data_fingerprint"], "sha256:")
	assert.Contains(t, s["heldout_rule"], "content")
	assert.NotEmpty(t, s["task_fingerprint"])

	moved := filepath.Join(dir, "moved.safetensors")
	require.NoError(t, os.Rename(w, moved))
	_, log, err := run(quickSearch(moved, out)...)
	require.NoError(t, err, "the same weights at another path are the same run")
	assert.Contains(t, log, "finished run found")

	copyTo(t, clean20, moved)
	_, _, err = run(quickSearch(moved, out)...)
	require.Error(t, err, "other weights at the same path are another run")
	assert.ErrorContains(t, err, "WeightsSHA256")

	_, _, err = run(quickSearch(adapted20, out, "--final-images", "60")...)
	require.Error(t, err)
	assert.ErrorContains(t, err, "FinalImages 50 there, 60 here")
}

// A summary.json that is valid JSON but not a search run's does not mark a
// folder finished, and is not collected as a run.
func TestSummaryMustBeASearchRun(t *testing.T) {
	needShared(t)
	for _, body := range []string{`{}`, `null`, `{"strategy": "ddpg"}`, `[]`} {
		dir := t.TempDir()
		out := filepath.Join(dir, "s")
		require.NoError(t, os.MkdirAll(out, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(out, "summary.json"), []byte(body), 0o644))
		_, _, err := run(quickSearch(adapted20, out)...)
		require.Error(t, err, body)
		assert.ErrorContains(t, err, "summary.json", body)
		_, _, err = run("report", dir)
		require.Error(t, err, body)
		assert.ErrorContains(t, err, filepath.Join(out, "summary.json"), body)
		if body == `{}` {
			_, _, err = run(quickSearch(adapted20, out, "--overwrite")...)
			assert.NoError(t, err, "--overwrite replaces what is not a search run's summary")
		}
	}
}

// Results folders written by older amc versions (no spec or fingerprint in
// their summaries) still report, with the committed rows (the committed
// report.md predates some columns).
func TestShippedOldResultsStillReport(t *testing.T) {
	needShared(t)
	src := filepath.Join("..", "..", "results", "jpeg-copy", "search-r20")
	dir := filepath.Join(t.TempDir(), "r")
	require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
	_, _, err := run("report", dir)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	for _, row := range []string{"| ddpg | 1 | 300 | 76.22 | 74.73 | 75.65 | 0.50 | 0.58 |", "| deep | 1 | 1 | 66.14 | 66.19 | 65.90 | 0.49 | 0.41 |"} {
		assert.Contains(t, string(got), row)
	}
	// Such a run is never taken for today's run: refused, saying why.
	_, _, err = run(quickSearch(adapted20, filepath.Join(dir, "uniform-s1"))...)
	assert.ErrorContains(t, err, "different run")
}

// amc run checks every cell before running any: an edited spec whose
// folder holds runs of the old task is refused before the new cells run.
func TestRunRefusesEditedSpecBeforeRunning(t *testing.T) {
	needShared(t)
	body := func(budget, strategies string) string {
		return "budget: " + budget + "\nreward_images: 50\nfinal_images: 50\ncalibration: {images: 50, positions: 5}\nseeds: [1]\nstrategies: [" + strategies + "]\n"
	}
	out := filepath.Join(t.TempDir(), "out")
	_, _, err := run("run", writeSpec(t, "edited", body("macs=0.5", "{name: uniform}")), "--data-dir", dataDir, "--out", out)
	require.NoError(t, err)
	_, _, err = run("run", writeSpec(t, "edited", body("macs=0.4", "{name: deep}, {name: uniform}")), "--data-dir", dataDir, "--out", out)
	require.Error(t, err)
	assert.ErrorContains(t, err, "holds a run of another task")
	assert.ErrorContains(t, err, "Budget macs=0.5 there, macs=0.4 here")
	assert.NoDirExists(t, filepath.Join(out, "edited", "deep-s1"), "nothing ran")
}

// One spec name is one task: merging runs of two versions of a spec is
// refused before anything is copied.
func TestMergeRefusesSpecNameOfAnotherTask(t *testing.T) {
	needShared(t)
	base := t.TempDir()
	for k, budget := range []string{"macs=0.5", "macs=0.3"} {
		spec := writeSpec(t, "same", "budget: "+budget+`
reward_images: 50
final_images: 50
calibration: {images: 50, positions: 5}
seeds: [1]
strategies:
  - {name: uniform}
`)
		_, _, err := run("run", spec, "--data-dir", dataDir, "--out", filepath.Join(base, fmt.Sprint(k)))
		require.NoError(t, err)
	}
	merged := filepath.Join(base, "merged")
	_, _, err := run("merge", filepath.Join(base, "0"), filepath.Join(base, "1"), "--out", merged)
	require.Error(t, err)
	assert.ErrorContains(t, err, `spec name "same" is used by two different tasks`)
	assert.ErrorContains(t, err, "Budget macs=0.5 there, macs=0.3 here")
	assert.NoDirExists(t, merged, "a refused merge writes nothing")

	// A source still being written is refused; training outputs in a
	// source are not search runs and are left out.
	held, err := outlock.Acquire(filepath.Join(base, "0"))
	require.NoError(t, err)
	_, _, err = run("merge", filepath.Join(base, "0"), "--out", merged)
	assert.ErrorIs(t, err, outlock.ErrBusy)
	require.NoError(t, held.Release())
	trained := filepath.Join(base, "0", "models", "plain20")
	require.NoError(t, os.MkdirAll(trained, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(trained, "summary.json"), []byte(`{"command":"train"}`), 0o644))
	_, _, err = run("merge", filepath.Join(base, "0"), filepath.Join(base, "0"), "--out", merged)
	require.NoError(t, err)
	before := listFiles(t, merged)
	_, _, err = run("merge", filepath.Join(base, "1"), "--out", merged)
	assert.ErrorContains(t, err, "two different tasks")
	assert.Equal(t, before, listFiles(t, merged), "a refused merge leaves the folder as it was")
}

func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			out = append(out, fmt.Sprintf("%s %d", p, info.Size()))
		}
		return err
	}))
	return out
}

// Files a killed writer left (atomicfile's temporaries, a stale lock) are
// cleaned up by the next command that locks the folder.
func TestLeftoversOfKilledWritersRemoved(t *testing.T) {
	needShared(t)
	dir := t.TempDir()
	_, _, err := run(quickSearch(adapted20, filepath.Join(dir, "s"))...)
	require.NoError(t, err)
	leftovers := []string{filepath.Join(dir, ".tmp-runs.parquet-123"), filepath.Join(dir, "s", ".tmp-summary.json-9"),
		filepath.Join(dir, ".tmp-runs-pareto.png-7")}
	for _, f := range leftovers {
		require.NoError(t, os.WriteFile(f, nil, 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, outlock.Name), []byte(`{"pid":999999,"host":"h","command":"amc report"}`), 0o644))
	// A sub-folder another live process writes keeps its temporaries.
	busy := filepath.Join(dir, "busy")
	held, err := outlock.Acquire(busy)
	require.NoError(t, err)
	inFlight := filepath.Join(busy, ".tmp-summary.json-42")
	require.NoError(t, os.WriteFile(inFlight, nil, 0o644))
	_, log, err := run("report", dir)
	require.NoError(t, err)
	assert.FileExists(t, inFlight, "a live writer's temporary is not removed")
	require.NoError(t, held.Release())
	assert.Contains(t, log, "last locked by pid 999999")
	for _, f := range leftovers {
		assert.NoFileExists(t, f)
	}
	assert.NoFileExists(t, filepath.Join(dir, outlock.Name))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasPrefix(e.Name(), ".tmp-"), e.Name())
	}
	report, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(report), "weights sha256 21a253be6d91153f (cifar10-jpeg-adapted/resnet20.safetensors")
	assert.Contains(t, string(report), "These weights saw the held-out images")
}

// A spec with a budgets: list runs once per budget, each its own task, and
// the report draws the front over them.
func TestRunBudgetsFront(t *testing.T) {
	needShared(t)
	spec := writeSpec(t, "front", `budgets: [macs=0.4, macs=0.7]
reward_images: 50
final_images: 50
calibration: {images: 50, positions: 5}
seeds: [1]
strategies: [{name: uniform}, {name: deep}]
`)
	out := filepath.Join(t.TempDir(), "out")
	res, _, err := run("run", spec, "--data-dir", dataDir, "--out", out)
	require.NoError(t, err)
	assert.Contains(t, res, "4 runs")
	for _, d := range []string{"front-macs0.4/uniform-s1", "front-macs0.7/deep-s1"} {
		assert.FileExists(t, filepath.Join(out, d, "summary.json"))
	}
	_, _, err = run("report", out)
	require.NoError(t, err)
	md, err := os.ReadFile(filepath.Join(out, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "## front: Pareto front over 2 macs budgets")
	assert.Contains(t, string(md), "| strategy | macs=0.4 | macs=0.7 |")
	assert.FileExists(t, filepath.Join(out, "front-front.png"))
}

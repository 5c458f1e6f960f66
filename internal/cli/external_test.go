package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amcbench/amc/harness"
	"github.com/amcbench/amc/internal/testpython"

	"github.com/amcbench/amc/search"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func debianPython(t *testing.T) string {
	return testpython.Find(t, "the external-agent tests")
}

// A Python agent runs from a spec through the external-agent protocol; its
// episodes are logged like any strategy's, and amc run killed with SIGKILL
// mid-search resumes to the rows of an uninterrupted run (the agent saves
// and loads its state).
func TestExternalAgentRunsAndResumes(t *testing.T) {
	needShared(t)
	py := debianPython(t)
	agentPath, err := filepath.Abs(filepath.Join("..", "..", "python", "agents", "random_search.py"))
	require.NoError(t, err)
	const episodes = 12
	spec := writeSpec(t, "ext", `budget: macs=0.5
reward_images: 200
final_images: 100
calibration: {images: 100, positions: 5}
seeds: [2]
episodes: 12
strategies:
  - {name: py-random, command: [`+py+`, `+agentPath+`]}
`)
	a := resumeMatchesStraightRun(t, spec, filepath.Join("ext", "py-random-s2"), 4, 2*time.Minute)
	require.Len(t, a, episodes+1, "the search episodes and the greedy one")
	assert.Equal(t, "py-random", a[0].Strategy)
}

// resumeMatchesStraightRun runs spec (one run, in cell) straight through, and
// again killed with SIGKILL after stopAfter episodes and resumed; it checks
// that both give the same rows and returns them.
func resumeMatchesStraightRun(t *testing.T, spec, cell string, stopAfter int, limit time.Duration) []search.EpisodeRow {
	t.Helper()
	straight := filepath.Join(t.TempDir(), "straight")
	_, _, err := run("run", spec, "--data-dir", dataDir, "--out", straight)
	require.NoError(t, err)
	a, err := search.ReadEpisodes(filepath.Join(straight, "episodes.parquet"))
	require.NoError(t, err)
	killed := filepath.Join(t.TempDir(), "killed")
	stopAt := killAfter(t, filepath.Join(killed, cell, harness.CheckpointFile), stopAfter, limit, "run", spec, "--data-dir", dataDir, "--out", killed)
	require.Less(t, stopAt, len(a)-1, "killed mid-search")
	var log2 strings.Builder
	child := amcProcess(t, &log2, "run", spec, "--data-dir", dataDir, "--out", killed)
	require.NoError(t, child.Wait(), log2.String())
	assert.Contains(t, log2.String(), "resuming after episode")
	b, err := search.ReadEpisodes(filepath.Join(killed, "episodes.parquet"))
	require.NoError(t, err)
	assert.Equal(t, clockless(a), clockless(b), "killed after %d episodes", stopAt)
	return a
}

// A broken agent stops the run with its error; the finished episodes stay
// in the checkpoint, and a built-in name cannot be given a command.
func TestExternalAgentErrorsStopTheRun(t *testing.T) {
	needShared(t)
	py := debianPython(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.py")
	require.NoError(t, os.WriteFile(bad, []byte(`import sys, json
sys.stdin.readline(); print(json.dumps({"type": "hello", "protocol": 1}), flush=True)
n = 0
for line in sys.stdin:
    req = json.loads(line)
    if req["type"] == "act":
        n += 1
        if n > 20:
            sys.stderr.write("RuntimeError: CUDA out of memory\n"); sys.exit(1)
        print(json.dumps({"action": 0.5}), flush=True)
    elif req["type"] == "save":
        print(json.dumps({"saved": False}), flush=True)
    else:
        print(json.dumps({"ok": True}), flush=True)
`), 0o644))
	body := `budget: macs=0.5
reward_images: 100
final_images: 100
calibration: {images: 100, positions: 5}
episodes: 5
strategies:
  - {name: flaky, command: [` + py + `, ` + bad + `]}
`
	out := filepath.Join(dir, "out")
	_, _, err := run("run", writeSpec(t, "flaky", body), "--data-dir", dataDir, "--out", out)
	require.Error(t, err)
	assert.ErrorContains(t, err, "agent flaky")
	assert.ErrorContains(t, err, "CUDA out of memory")
	c, err := search.LoadCheckpoint(filepath.Join(out, "flaky", "flaky-s1", harness.CheckpointFile))
	require.NoError(t, err)
	assert.Len(t, c.Rows, 2, "the two finished episodes (9 actions each) are kept")
	_, _, err = run("run", writeSpec(t, "flaky", body), "--data-dir", dataDir, "--out", out)
	assert.ErrorContains(t, err, "does not implement save/load", "resuming an agent that does not save is refused")

	_, _, err = run("run", writeSpec(t, "named", strings.Replace(body, "name: flaky", "name: ddpg", 1)), "--data-dir", dataDir, "--out", filepath.Join(dir, "o2"))
	assert.ErrorContains(t, err, "needs a name of its own")
}

// The PyTorch agent (python/agents/td3.py) runs from a spec through the
// external protocol, past its warm-up into its learning episodes, and
// resumes exactly after SIGKILL (it saves networks, optimisers, buffer and
// random states).
func TestPythonTD3AgentRunsAndResumes(t *testing.T) {
	needShared(t)
	py := testpython.Find(t, "the PyTorch agent's test (Debian: python3-torch)", "torch")
	agentPath, err := filepath.Abs(filepath.Join("..", "..", "python", "agents", "td3.py"))
	require.NoError(t, err)
	const episodes = 8
	spec := writeSpec(t, "td3", `budget: macs=0.5
reward_images: 100
final_images: 100
calibration: {images: 100, positions: 5}
seeds: [3]
episodes: 8
strategies:
  - {name: py-td3, command: [`+py+`, `+agentPath+`], params: {warmup: 3, hidden: 32, batch: 16}}
`)
	a := resumeMatchesStraightRun(t, spec, filepath.Join("td3", "py-td3-s3"), 5, 3*time.Minute) // after the warm-up
	require.Len(t, a, episodes+1, "the search episodes and the greedy one")
	assert.Equal(t, "py-td3", a[0].Strategy)
	assert.False(t, a[episodes].Explore, "the greedy episode")

	// Unknown params are the agent's to refuse: the run stops naming them.
	bad := writeSpec(t, "td3bad", `budget: macs=0.5
reward_images: 50
calibration: {images: 50, positions: 5}
episodes: 2
strategies:
  - {name: py-td3, command: [`+py+`, `+agentPath+`], params: {warmpu: 3}}
`)
	_, _, err = run("run", bad, "--data-dir", dataDir, "--out", filepath.Join(t.TempDir(), "bad"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "warmpu")
}

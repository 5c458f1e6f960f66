package cli

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/amcbench/amc/harness"
	"github.com/amcbench/amc/search"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childArgs, when set in the environment, makes the test binary run amc
// with these arguments (separated by \x1f) instead of the tests, so that a
// test can start amc as a separate process and kill it.
const childArgs = "AMC_CLI_CHILD_ARGS"

// childArgv, set to 1, makes the test binary run amc with its own
// command-line arguments: a command another program can start.
const childArgv = "AMC_CLI_CHILD_ARGV"

func TestMain(m *testing.M) {
	if os.Getenv(childArgv) == "1" { // the test binary as amc, its arguments amc's (python/tests/test_gym_env.py)
		root := NewRoot(os.Stdout, os.Stderr)
		root.SetArgs(os.Args[1:])
		if err := root.Execute(); err != nil {
			os.Stderr.WriteString("Error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	if args := os.Getenv(childArgs); args != "" {
		root := NewRoot(os.Stdout, os.Stderr)
		root.SetArgs(strings.Split(args, "\x1f"))
		if err := root.Execute(); err != nil {
			os.Stderr.WriteString("Error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// amcProcess starts amc with args in a child process.
func amcProcess(t *testing.T, stderr *strings.Builder, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+strings.Join(args, "\x1f"))
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	return cmd
}

// killAfter starts amc with args in a child process, kills it with SIGKILL
// once the run checkpoint cp holds at least rows episodes, and returns how
// many it held.
func killAfter(t *testing.T, cp string, rows int, timeout time.Duration, args ...string) int {
	t.Helper()
	var log strings.Builder
	child := amcProcess(t, &log, args...)
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	for deadline := time.Now().Add(timeout); ; time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("amc exited before it could be killed (%v): %s", err, log.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "no checkpoint: %s", log.String())
		if c, err := search.LoadCheckpoint(cp); err == nil && len(c.Rows) >= rows {
			require.NoError(t, child.Process.Signal(syscall.SIGKILL))
			<-exited
			return len(c.Rows)
		}
	}
}

func clockless(rows []search.EpisodeRow) []search.EpisodeRow {
	out := append([]search.EpisodeRow(nil), rows...)
	for i := range out {
		out[i].ActSec, out[i].PruneSec, out[i].ReconSec, out[i].EvalSec, out[i].WallSec = 0, 0, 0, 0, 0
		if math.IsNaN(out[i].Sigma) {
			out[i].Sigma = -1
		}
	}
	return out
}

// amc run killed with SIGKILL in the middle of a DDPG search (after the
// agent has started learning) and run again continues from its checkpoint:
// no episode lost or repeated, and the rows equal an uninterrupted run's.
func TestRunResumesAfterSIGKILL(t *testing.T) {
	needShared(t)
	const episodes = 14 // 9 groups: learning starts once 64 transitions are stored (episode 8)
	spec := writeSpec(t, "kill", `budget: macs=0.5
reward_images: 200
final_images: 100
calibration: {images: 200, positions: 5}
seeds: [4]
episodes: 14
strategies:
  - {name: ddpg, warmup: 3}
`)
	straight := filepath.Join(t.TempDir(), "straight")
	_, _, err := run("run", spec, "--data-dir", dataDir, "--out", straight)
	require.NoError(t, err)

	killed := filepath.Join(t.TempDir(), "killed")
	cp := filepath.Join(killed, "kill", "ddpg-s4", harness.CheckpointFile)
	stopAt := killAfter(t, cp, 10, 3*time.Minute, "run", spec, "--data-dir", dataDir, "--out", killed)
	require.Less(t, stopAt, episodes, "killed mid-search")
	_, err = os.Stat(filepath.Join(killed, "kill", "ddpg-s4", "summary.json"))
	require.True(t, os.IsNotExist(err), "no summary from a killed run")

	var log2 strings.Builder
	child := amcProcess(t, &log2, "run", spec, "--data-dir", dataDir, "--out", killed)
	require.NoError(t, child.Wait(), log2.String())
	assert.Contains(t, log2.String(), "resuming after episode")

	a, err := search.ReadEpisodes(filepath.Join(straight, "episodes.parquet"))
	require.NoError(t, err)
	b, err := search.ReadEpisodes(filepath.Join(killed, "episodes.parquet"))
	require.NoError(t, err)
	require.Len(t, b, episodes+1, "no episode lost or repeated (and the greedy episode after them)")
	assert.Equal(t, clockless(a), clockless(b), "killed after %d episodes", stopAt)
	_, err = os.Stat(cp)
	assert.True(t, os.IsNotExist(err), "the checkpoint goes once the run is finished")
}

// An output folder that holds another run is refused, and replaced only
// when asked.
func TestOutputFolderOfAnotherRun(t *testing.T) {
	needShared(t)
	dir := filepath.Join(t.TempDir(), "s")
	args := []string{"search", "--model", "resnet20", "--weights", adapted20, "--data-dir", dataDir, "--strategy", "uniform",
		"--reward-images", "50", "--calib-images", "50", "--final-images", "50", "--out", dir, "--json"}
	_, _, err := run(append(args, "--budget", "macs=0.5")...)
	require.NoError(t, err)
	_, errOut, err := run(append(args, "--budget", "macs=0.5")...)
	require.NoError(t, err, "the same run again is reported, not refused")
	assert.Contains(t, errOut, "finished run found")
	_, _, err = run(append(args, "--budget", "macs=0.6")...)
	require.Error(t, err)
	assert.ErrorContains(t, err, "different run")
	assert.ErrorContains(t, err, "--overwrite")
	out, _, err := run(append(args, "--budget", "macs=0.6", "--overwrite")...)
	require.NoError(t, err)
	assert.Greater(t, lastJSON(t, out)["macs_ratio"].(float64), 0.55)
}

func runsClockless(t *testing.T, path string) []search.RunRow {
	t.Helper()
	rows, err := parquet.ReadFile[search.RunRow](path)
	require.NoError(t, err)
	for i := range rows {
		rows[i].SearchSec, rows[i].LatencyMS, rows[i].BaseLatencyMS, rows[i].LatencyRatio, rows[i].BareForwardSec = 0, 0, 0, 0, 0
	}
	return rows
}

// A sweep run as 2 shards in 2 concurrent processes and merged equals the
// unsharded run, wall-clock columns aside.
func TestShardMergeEqualsUnsharded(t *testing.T) {
	needShared(t)
	spec := writeSpec(t, "sweep", `budget: macs=0.6
reward_images: 60
final_images: 60
calibration: {images: 60, positions: 5}
seeds: [1, 2]
episodes: 3
strategies:
  - {name: random}
  - {name: uniform}
  - {name: ddpg, warmup: 2}
`)
	whole := filepath.Join(t.TempDir(), "whole")
	_, _, err := run("run", spec, "--data-dir", dataDir, "--out", whole)
	require.NoError(t, err)

	base := t.TempDir()
	var logs [2]strings.Builder
	var procs [2]*exec.Cmd
	for k := range procs {
		procs[k] = amcProcess(t, &logs[k], "run", spec, "--data-dir", dataDir, "--shard", fmt.Sprintf("%d/2", k),
			"--out", filepath.Join(base, fmt.Sprint(k)))
	}
	for k, p := range procs {
		require.NoError(t, p.Wait(), logs[k].String())
	}
	merged := filepath.Join(t.TempDir(), "merged")
	out, _, err := run("merge", filepath.Join(base, "0"), filepath.Join(base, "1"), "--out", merged)
	require.NoError(t, err)
	assert.Contains(t, out, "merged 6 runs")

	a, err := search.ReadEpisodes(filepath.Join(whole, "episodes.parquet"))
	require.NoError(t, err)
	b, err := search.ReadEpisodes(filepath.Join(merged, "episodes.parquet"))
	require.NoError(t, err)
	assert.Equal(t, clockless(a), clockless(b))
	assert.Equal(t, runsClockless(t, filepath.Join(whole, "runs.parquet")), runsClockless(t, filepath.Join(merged, "runs.parquet")))

	// Merging the same shard again keeps one copy; bad shard specs are refused.
	out, _, err = run("merge", filepath.Join(base, "0"), "--out", merged)
	require.NoError(t, err)
	assert.Contains(t, out, "merged 0 runs; 6 runs")
	for _, bad := range []string{"2/2", "1/0", "-1/2", "a/b", "1/2/3"} {
		_, _, err = run("run", spec, "--shard", bad, "--out", t.TempDir())
		assert.ErrorContains(t, err, "want K/N", bad)
	}
	_, _, err = run("merge", t.TempDir(), "--out", merged)
	assert.ErrorContains(t, err, "no finished runs")
}

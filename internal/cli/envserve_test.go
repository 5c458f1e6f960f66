package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amcbench/amc/internal/testpython"
	"github.com/amcbench/amc/search"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envClient talks to an in-process amc env serve.
type envClient struct {
	t    *testing.T
	in   io.WriteCloser
	out  *bufio.Reader
	done chan error
	errb *strings.Builder
}

func serveEnv(t *testing.T, args ...string) *envClient {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	c := &envClient{t: t, in: inW, out: bufio.NewReader(outR), done: make(chan error, 1), errb: &strings.Builder{}}
	root := NewRoot(outW, c.errb)
	root.SetIn(inR)
	root.SetArgs(append([]string{"env", "serve"}, args...))
	go func() {
		err := root.Execute()
		outW.CloseWithError(fmt.Errorf("server ended: %v", err))
		c.done <- err
	}()
	return c
}

func (c *envClient) reply() envReply {
	c.t.Helper()
	line, err := c.out.ReadBytes('\n')
	require.NoError(c.t, err, c.errb.String())
	var r envReply
	require.NoError(c.t, json.Unmarshal(line, &r), string(line))
	return r
}

func (c *envClient) send(v string) envReply {
	c.t.Helper()
	_, err := io.WriteString(c.in, v+"\n")
	require.NoError(c.t, err)
	return c.reply()
}

func (c *envClient) close() error {
	c.in.Close()
	return <-c.done
}

const envSpec = `budget: macs=0.6
reward_images: 60
final_images: 60
calibration: {images: 60, positions: 5}
episodes: 2
strategies: [{name: random}]
`

// The protocol, request by request: hello, reset, steps until terminated
// exactly at the last group, the reward only then, errors for misplaced or
// bad requests without losing the episode, and the rows in Parquet.
func TestEnvServeProtocol(t *testing.T) {
	needShared(t)
	spec := writeSpec(t, "envtiny", envSpec)
	dir := filepath.Join(t.TempDir(), "gym")
	c := serveEnv(t, spec, "--data-dir", dataDir, "--out", dir)
	hello := c.reply()
	require.Equal(t, "hello", hello.Type, hello.Error)
	assert.Equal(t, EnvProtocol, hello.Info["protocol"])
	steps := int(hello.Info["steps"].(float64))
	assert.Equal(t, 9, steps, "ResNet-20's groups")
	assert.Equal(t, 2.0, hello.Info["episodes"])
	assert.Equal(t, 0.0, hello.Info["played"])

	assert.Contains(t, c.send(`{"type":"step","action":0.5}`).Error, "step after the episode ended: call reset")
	assert.Contains(t, c.send(`not json`).Error, "malformed request")
	for ep := 0; ep < 2; ep++ {
		r := c.send(`{"type":"reset"}`)
		require.Equal(t, "obs", r.Type, r.Error)
		assert.Equal(t, 0, r.T)
		assert.Len(t, r.Obs, 11)
		if ep == 0 {
			assert.Contains(t, c.send(`{"type":"step","action":"NaN"}`).Error, "malformed")
			assert.Contains(t, c.send(`{"type":"step"}`).Error, "finite action")
			assert.Contains(t, c.send(`{"type":"reset"}`).Error, `"reset" now: the environment expects step`)
		}
		for s := 0; s < steps; s++ {
			r = c.send(`{"type":"step","action":1.7}`) // clamped and capped to the budget
			require.Equal(t, "obs", r.Type, r.Error)
			require.Equal(t, s == steps-1, r.Terminated, "terminated exactly at the last group")
			applied := r.Info["applied"].(float64)
			assert.True(t, applied > 0.19 && applied <= 1, "applied %v", applied)
			if !r.Terminated {
				assert.Zero(t, r.Reward)
			}
		}
		assert.Less(t, r.Reward, 0.0, "the reward is minus the error")
		assert.LessOrEqual(t, r.Info["macs_ratio"].(float64), 0.6)
		assert.Equal(t, ep == 1, r.Info["run_complete"])
	}
	assert.Contains(t, c.send(`{"type":"reset"}`).Error, "episodes are played")
	require.NoError(t, c.close())
	high := hello.Info["obs_high"].([]any)
	require.Len(t, high, 11)
	for i, h := range high {
		assert.GreaterOrEqual(t, h.(float64), 1.0, "feature %d", i)
	}
	rows, err := parquet.ReadFile[search.EpisodeRow](filepath.Join(dir, "episodes.parquet"))
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, "gym", rows[0].Strategy)
	assert.FileExists(t, filepath.Join(dir, "summary.json"))
	assert.FileExists(t, filepath.Join(dir, "best", "prune.json"))
}

// A client that closes after one episode keeps it; serving again with the
// same flags continues at the second.
func TestEnvServeResumesAfterClose(t *testing.T) {
	needShared(t)
	spec := writeSpec(t, "envtiny", envSpec)
	dir := filepath.Join(t.TempDir(), "gym")
	play := func(c *envClient) {
		r := c.send(`{"type":"reset"}`)
		for !r.Terminated {
			r = c.send(`{"type":"step","action":0.8}`)
			require.Equal(t, "obs", r.Type, r.Error)
		}
	}
	c := serveEnv(t, spec, "--data-dir", dataDir, "--out", dir, "--name", "mine")
	require.Equal(t, "hello", c.reply().Type)
	play(c)
	require.NoError(t, c.close())
	assert.Contains(t, c.errb.String(), "closed after 1 of 2 episodes")

	c = serveEnv(t, spec, "--data-dir", dataDir, "--out", dir, "--name", "mine")
	hello := c.reply()
	assert.Equal(t, 1.0, hello.Info["played"])
	play(c)
	require.NoError(t, c.close())
	rows, err := parquet.ReadFile[search.EpisodeRow](filepath.Join(dir, "episodes.parquet"))
	require.NoError(t, err)
	assert.Len(t, rows, 2)
	assert.FileExists(t, filepath.Join(dir, "summary.json"))

	_, _, err = run("env", "serve", spec, "--data-dir", dataDir, "--out", dir, "--name", "ddpg")
	assert.ErrorContains(t, err, "a name of their own")
	for _, bad := range [][]string{{"--episodes", "-3"}, {"--no-such-flag"}, {"second-spec.yaml"}} {
		out, _, err := run(append([]string{"env", "serve", spec, "--out", dir}, bad...)...)
		require.Error(t, err, "%v", bad)
		var r envReply
		require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &r), "%v: the client reads one error line: %q", bad, out)
		assert.Equal(t, "error", r.Type)
		assert.Equal(t, err.Error(), r.Error)
	}

	// Another run's folder is refused before the task is prepared, and the
	// client reads why on its standard output.
	other := serveEnv(t, spec, "--data-dir", dataDir, "--out", dir, "--name", "mine", "--seed", "9")
	r := other.reply()
	assert.Equal(t, "error", r.Type)
	assert.Contains(t, r.Error, "--overwrite")
	assert.Error(t, other.close())
}

// The Python environment (python/amc_gym) against a served task, through
// python/tests/test_gym_env.py: the Gymnasium contract, the gymnasium branch
// with a stand-in module, the fallback without it.
func TestGymEnvContract(t *testing.T) {
	needShared(t)
	py := testpython.Find(t, "the Gymnasium environment's tests")
	// Residual groups: the MACs still to come start above 1, so the
	// observation space's bounds are checked where they matter.
	spec := writeSpec(t, "envtiny", envSpec+"residual_groups: true\n")
	amc, err := json.Marshal([]string{os.Args[0]})
	require.NoError(t, err)
	data, err := filepath.Abs(dataDir)
	require.NoError(t, err)
	cmd := exec.Command(py, "-m", "unittest", "-v", "tests.test_gym_env")
	cmd.Dir = "../../python"
	cmd.Env = append(os.Environ(), childArgv+"=1", "AMC_GYM_AMC="+string(amc), "AMC_GYM_SPEC="+spec,
		"AMC_GYM_DATA="+data, "AMC_GYM_OUT="+t.TempDir())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "Ran 4 tests")
	assert.Regexp(t, `\nOK\s*$`, string(out), "none failed")
	assert.NotContains(t, string(out), "skipped", "every check ran (no gymnasium here: the fallback test runs too)")
}

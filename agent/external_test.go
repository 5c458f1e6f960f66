package agent

import (
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/amcbench/amc/internal/testpython"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func python(t *testing.T) string {
	return testpython.Find(t, "the external-agent tests")
}

func cfg(cmd ...string) ExternalConfig {
	return ExternalConfig{Name: "ext", Command: cmd, StateSize: 2, Steps: 3, LowerBound: 0.2, Seed: 7, Timeout: 5 * time.Second}
}

func TestExternalPythonAgentAndItsState(t *testing.T) {
	py := python(t)
	e, err := NewExternal(cfg(py, filepath.Join("..", "python", "agents", "random_search.py")))
	require.NoError(t, err)
	defer e.Close()
	s := []float64{0.1, 0.2}
	for i := 0; i < 3; i++ {
		a := e.Act(s, i, true)
		require.NoError(t, e.Err())
		assert.GreaterOrEqual(t, a, 0.2)
		assert.LessOrEqual(t, a, 1.0)
	}
	require.NoError(t, e.Observe(Episode{Index: 0, Reward: -0.5, Transitions: []Transition{{State: s, Requested: 0.5, Action: 0.5}}}))
	st, err := e.State()
	require.NoError(t, err)
	next := e.Act(s, 0, true)
	require.NoError(t, e.Restore(st))
	assert.Equal(t, next, e.Act(s, 0, true), "restored, the agent continues exactly")
}

// Agents that misbehave stop the run with an error naming the agent and
// what it did (its stderr's tail included).
func TestExternalBadAgents(t *testing.T) {
	py := python(t)
	hello := `import sys, json
l = sys.stdin.readline()
print(json.dumps({"type": "hello", "protocol": 1}), flush=True)
`
	cases := []struct {
		name   string
		script string
		start  string // error expected from NewExternal ("" : starts fine)
		act    string // error expected after Act
	}{
		{"crash at start", "import sys; sys.stderr.write('cannot import torch\\n'); sys.exit(3)", "exited", ""},
		{"wrong protocol", `import sys, json; sys.stdin.readline(); print(json.dumps({"type": "hello", "protocol": 2}), flush=True)`, "protocol 2", ""},
		{"garbage", `import sys; sys.stdin.readline(); print("hello there", flush=True)`, "not a JSON object", ""},
		{"crash mid-episode", hello + "sys.stdin.readline(); sys.stderr.write('Traceback: boom\\n'); sys.exit(1)\n", "", "Traceback: boom"},
		{"hang", hello + "import time; sys.stdin.readline(); time.sleep(30)\n", "", "no answer within"},
		{"NaN action", hello + "sys.stdin.readline(); print('{\"action\": NaN}', flush=True)\n", "", "not a JSON object"},
		{"no action", hello + "sys.stdin.readline(); print('{\"ok\": true}', flush=True)\n", "", "without an action"},
		{"the agent's own error", hello + "sys.stdin.readline(); print('{\"error\": \"shape mismatch\"}', flush=True)\n", "", "shape mismatch"},
	}
	dir := t.TempDir()
	for _, c := range cases {
		p := filepath.Join(dir, c.name+".py")
		require.NoError(t, os.WriteFile(p, []byte(c.script), 0o644))
		conf := cfg(py, p)
		conf.Timeout = 500 * time.Millisecond
		e, err := NewExternal(conf)
		if c.start != "" {
			require.Error(t, err, c.name)
			assert.ErrorContains(t, err, c.start, c.name)
			assert.ErrorContains(t, err, "agent ext", c.name)
			continue
		}
		require.NoError(t, err, c.name)
		a := e.Act([]float64{0, 0}, 0, true)
		assert.True(t, math.IsNaN(a), c.name)
		require.Error(t, e.Err(), c.name)
		assert.ErrorContains(t, e.Err(), c.act, c.name)
		e.Close()
	}
	_, err := NewExternal(cfg(filepath.Join(dir, "no-such-program")))
	assert.ErrorContains(t, err, "start")
}

// An agent that does not save lets a run go on, but a resume refuses.
func TestExternalWithoutSave(t *testing.T) {
	py := python(t)
	p := filepath.Join(t.TempDir(), "nosave.py")
	require.NoError(t, os.WriteFile(p, []byte(`import sys, os
sys.path.insert(0, `+"'"+mustAbs(t, filepath.Join("..", "python"))+"'"+`)
from amc_agent import Agent, serve
class Half(Agent):
    def act(self, s, t, explore): return 0.5
serve(Half())
`), 0o644))
	e, err := NewExternal(cfg(py, p))
	require.NoError(t, err)
	defer e.Close()
	assert.Equal(t, 0.5, e.Act([]float64{0, 0}, 0, false))
	st, err := e.State()
	require.NoError(t, err, "not saving is allowed")
	err = e.Restore(st)
	assert.ErrorContains(t, err, "does not implement save/load")
	assert.ErrorContains(t, err, "checkpoint.gob")
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}

// An agent behind a shell (its own child keeps the pipes) that hangs, and an
// agent that answers with an endless line: both stopped, neither hangs amc.
func TestExternalHangsBehindAShellAndLongLines(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	hang := filepath.Join(dir, "hang.py")
	require.NoError(t, os.WriteFile(hang, []byte(`import sys, json, time
sys.stdin.readline(); print(json.dumps({"type": "hello", "protocol": 1}), flush=True)
sys.stdin.readline(); time.sleep(60)
`), 0o644))
	conf := cfg("sh", "-c", py+" "+hang+"; true")
	conf.Timeout = 300 * time.Millisecond
	e, err := NewExternal(conf)
	require.NoError(t, err)
	start := time.Now()
	e.Act([]float64{0, 0}, 0, true)
	assert.ErrorContains(t, e.Err(), "no answer within")
	e.Close()
	assert.Less(t, time.Since(start), 10*time.Second, "the shell's child is killed with it")

	old := maxLine
	maxLine = 4096
	defer func() { maxLine = old }()
	long := filepath.Join(dir, "long.py")
	require.NoError(t, os.WriteFile(long, []byte(`import sys, json
sys.stdin.readline(); print(json.dumps({"type": "hello", "protocol": 1}), flush=True)
sys.stdin.readline(); sys.stdout.write("x" * 100000); sys.stdout.flush(); sys.stdin.readline()
`), 0o644))
	e, err = NewExternal(cfg(py, long))
	require.NoError(t, err)
	start = time.Now()
	e.Act([]float64{0, 0}, 0, true)
	assert.ErrorContains(t, e.Err(), "longer than 4096 bytes")
	e.Close()
	assert.Less(t, time.Since(start), 10*time.Second)
}

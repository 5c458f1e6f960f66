package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// noSave marks a checkpoint of an agent that does not save its state.
const noSave = "amc-external-agent: no saved state\n"

// ProtocolVersion is the version of the external-agent protocol
// (docs/external-agents.md) this harness speaks.
const ProtocolVersion = 1

// ExternalConfig starts an agent written in any language as a child
// process speaking the external-agent protocol: JSON lines on its stdin
// (requests) and stdout (replies); its stderr is kept for error messages.
type ExternalConfig struct {
	Name       string         // the strategy's name in results
	Command    []string       // program and arguments
	Dir        string         // working directory ("" : the current one)
	Params     map[string]any // the spec's params, passed in hello
	StateSize  int            // features per state
	Steps      int            // actions per episode (prunable groups)
	LowerBound float64        // actions are clamped to [LowerBound, 1]
	Seed       uint64
	Task       map[string]any // a summary of the task, passed in hello
	Timeout    time.Duration  // per request (0: 60 s)
}

// External is an Agent in another process. A failed request (the process
// crashed or hung, a malformed or NaN reply) stops the run: Act returns NaN
// and Err says why, with the tail of the agent's stderr.
type External struct {
	cfg    ExternalConfig
	cmd    *exec.Cmd
	in     io.WriteCloser
	lines  chan []byte
	stderr *tail
	err    error
	dir    string // scratch folder for save/load

	readErr  error // the reply reader's error, once lines is closed
	waitOnce sync.Once
}

// Failer is implemented by agents whose Act can fail: the harness checks
// Err after every Act and stops the run with it.
type Failer interface {
	Err() error
}

// tail keeps the last bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if n := len(t.buf); n > 2000 {
		t.buf = t.buf[n-2000:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// NewExternal starts the agent and exchanges hello messages.
func NewExternal(cfg ExternalConfig) (*External, error) {
	if len(cfg.Command) == 0 {
		return nil, fmt.Errorf("agent %s: command is empty", cfg.Name)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	dir, err := os.MkdirTemp("", "amc-agent-")
	if err != nil {
		return nil, err
	}
	e := &External{cfg: cfg, stderr: &tail{}, lines: make(chan []byte, 1), dir: dir}
	e.cmd = exec.Command(cfg.Command[0], cfg.Command[1:]...)
	e.cmd.Dir, e.cmd.Stderr = cfg.Dir, e.stderr
	// The agent and any process it starts (a shell, a launcher, workers)
	// form one group, killed together; Wait stops waiting for pipes that
	// an orphan still holds after 2 s.
	ownGroup(e.cmd)
	e.cmd.WaitDelay = 2 * time.Second
	if e.in, err = e.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := e.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := e.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("agent %s: start %q: %w", cfg.Name, strings.Join(cfg.Command, " "), err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), maxLine)
		for sc.Scan() {
			e.lines <- append([]byte(nil), sc.Bytes()...)
		}
		e.readErr = sc.Err() // read by call after the channel closes
		close(e.lines)
	}()
	params := cfg.Params
	if params == nil {
		params = map[string]any{}
	}
	var hello struct {
		Type     string `json:"type"`
		Protocol int    `json:"protocol"`
	}
	err = e.call(map[string]any{"type": "hello", "protocol": ProtocolVersion, "name": cfg.Name, "state_size": cfg.StateSize,
		"steps": cfg.Steps, "action_low": cfg.LowerBound, "action_high": 1.0, "seed": cfg.Seed, "params": params, "task": cfg.Task}, &hello)
	if err == nil && (hello.Type != "hello" || hello.Protocol != ProtocolVersion) {
		err = e.fail(fmt.Errorf("answered hello with protocol %d (type %q); this harness speaks protocol %d", hello.Protocol, hello.Type, ProtocolVersion))
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// call sends one request and decodes its reply into out; a reply
// {"error": "..."} is the agent's own error.
func (e *External) call(req any, out any) error {
	if e.err != nil {
		return e.err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return e.fail(fmt.Errorf("request not encodable: %w", err))
	}
	if _, err := e.in.Write(append(b, '\n')); err != nil {
		e.stop()
		return e.fail(fmt.Errorf("cannot send a request (%v): it has exited (%v)", err, e.cmd.ProcessState))
	}
	var line []byte
	select {
	case l, ok := <-e.lines:
		if !ok {
			e.stop()
			if errors.Is(e.readErr, bufio.ErrTooLong) {
				return e.fail(fmt.Errorf("answered with a line longer than %d bytes; stopped it", maxLine))
			}
			return e.fail(fmt.Errorf("exited (%v) without answering", e.cmd.ProcessState))
		}
		line = l
	case <-time.After(e.cfg.Timeout):
		e.stop()
		return e.fail(fmt.Errorf("no answer within %v (the timeout); stopped it", e.cfg.Timeout))
	}
	var msg struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(line, &msg); err != nil {
		return e.fail(fmt.Errorf("answered with something that is not a JSON object: %.200q", line))
	}
	if msg.Error != nil {
		return e.fail(fmt.Errorf("reported an error: %s", *msg.Error))
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(out); err != nil {
		return e.fail(fmt.Errorf("answer %.200q: %w", line, err))
	}
	return nil
}

// maxLine bounds one reply line (a variable for tests).
var maxLine = 64 << 20

// stop kills the agent's process group and waits for it (bounded by
// WaitDelay), so that its stderr is complete for the error message.
func (e *External) stop() {
	killGroup(e.cmd)
	e.waitOnce.Do(func() { e.cmd.Wait() })
}

// fail records the first error, with the agent's name and stderr tail.
func (e *External) fail(err error) error {
	if e.err == nil {
		msg := fmt.Sprintf("agent %s (%s): %v", e.cfg.Name, strings.Join(e.cfg.Command, " "), err)
		if t := e.stderr.String(); t != "" {
			msg += "; its stderr ends:\n" + t
		}
		e.err = errors.New(msg)
	}
	return e.err
}

// Name implements Agent.
func (e *External) Name() string { return e.cfg.Name }

// Err implements Failer.
func (e *External) Err() error { return e.err }

// Act implements Agent. A NaN or infinite action is refused (the run stops);
// a finite one is clamped by the environment like every agent's, and the
// agent sees what was applied in observe.
func (e *External) Act(state []float64, t int, explore bool) float64 {
	var r struct {
		Action *float64 `json:"action"`
	}
	if err := e.call(map[string]any{"type": "act", "t": t, "state": state, "explore": explore}, &r); err != nil {
		return math.NaN()
	}
	if r.Action == nil {
		e.fail(fmt.Errorf("answered act without an action"))
		return math.NaN()
	}
	if math.IsNaN(*r.Action) || math.IsInf(*r.Action, 0) {
		e.fail(fmt.Errorf("answered act with action %v", *r.Action))
		return math.NaN()
	}
	return *r.Action
}

type wireTransition struct {
	State     []float64 `json:"state"`
	Requested float64   `json:"requested"`
	Action    float64   `json:"action"`
	Next      []float64 `json:"next"`
}

// Observe implements Agent.
func (e *External) Observe(ep Episode) error {
	trs := make([]wireTransition, len(ep.Transitions))
	for i, t := range ep.Transitions {
		trs[i] = wireTransition{t.State, t.Requested, t.Action, t.Next}
	}
	var ok struct{}
	return e.call(map[string]any{"type": "observe", "episode": ep.Index, "reward": ep.Reward, "transitions": trs}, &ok)
}

// State implements Agent: the agent saves itself to a file the harness
// names, whose bytes go into the run's checkpoint.
func (e *External) State() ([]byte, error) {
	path := filepath.Join(e.dir, "state")
	os.Remove(path)
	var r struct {
		Saved *bool `json:"saved"`
	}
	if err := e.call(map[string]any{"type": "save", "path": path}, &r); err != nil {
		return nil, err
	}
	if r.Saved != nil && !*r.Saved {
		return []byte(noSave), nil // the run goes on; it cannot resume
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, e.fail(fmt.Errorf("answered save but wrote no file at %s", path))
	}
	return b, nil
}

// Restore implements Agent: the checkpoint's bytes are written to a file
// and the agent loads them.
func (e *External) Restore(b []byte) error {
	if string(b) == noSave {
		return fmt.Errorf("agent %s does not implement save/load (it answered save with saved: false), so this run cannot resume exactly: "+
			"delete the run's checkpoint.gob to restart it from its first episode, or implement save and load", e.cfg.Name)
	}
	path := filepath.Join(e.dir, "state")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	var ok struct{}
	return e.call(map[string]any{"type": "load", "path": path}, &ok)
}

// Close asks the agent to exit, waits a moment, then kills it.
func (e *External) Close() error {
	defer os.RemoveAll(e.dir)
	if e.cmd == nil || e.cmd.Process == nil {
		return nil
	}
	b, _ := json.Marshal(map[string]any{"type": "close"})
	e.in.Write(append(b, '\n'))
	e.in.Close()
	done := make(chan struct{})
	go func() { e.waitOnce.Do(func() { e.cmd.Wait() }); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		killGroup(e.cmd)
		<-done // WaitDelay bounds it
	}
	killGroup(e.cmd) // whatever the agent left running
	return nil
}

package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"

	"github.com/amcbench/amc/agent"
	"github.com/amcbench/amc/env"
	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/harness"
	"github.com/amcbench/amc/internal/numcheck"
	"github.com/spf13/cobra"
)

// EnvProtocol names the environment protocol of amc env serve (docs/gym.md).
const EnvProtocol = "amc-env/1"

// envRequest is a line from the client.
type envRequest struct {
	Type   string   `json:"type"` // reset, step, close
	Action *float64 `json:"action,omitempty"`
}

// envReply is a line to the client.
type envReply struct {
	Type       string         `json:"type"` // hello, obs, error
	Obs        []float64      `json:"obs,omitempty"`
	T          int            `json:"t"`
	Reward     float64        `json:"reward"`
	Terminated bool           `json:"terminated"`
	Info       map[string]any `json:"info,omitempty"`
	Error      string         `json:"error,omitempty"`
}

// runName is what a strategy name may be (it names the run's folder).
var runName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// errClientClosed stops a served run when the client closes.
var errClientClosed = errors.New("the client closed the environment")

// envAgent is the agent a served run plays: each Act answers the client's
// last request with the observation and waits for its next action, so that
// a Python program drives the harness's own episode loop (and with it the
// Parquet rows, checkpoints, summary and best network).
type envAgent struct {
	name     string
	in       *bufio.Reader
	out      *json.Encoder
	e        *env.Env
	episodes int
	played   int // episodes finished, those of a resumed run included
	err      error
	done     string // set when the run is complete: the answer to any request but close
}

func (a *envAgent) Name() string { return a.name }

// Err implements agent.Failer: the client closed or the stream broke.
func (a *envAgent) Err() error { return a.err }

func (a *envAgent) send(r envReply) error {
	if err := a.out.Encode(r); err != nil {
		a.err = fmt.Errorf("env serve: writing to the client: %w", err)
		return a.err
	}
	return nil
}

// next reads requests until one of the wanted type (reset at an episode's
// start, step within it); malformed or misplaced requests are answered
// with an error and the environment waits on.
func (a *envAgent) next(want string) (envRequest, error) {
	for {
		line, err := a.in.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return envRequest{}, errClientClosed
			}
			return envRequest{}, fmt.Errorf("env serve: reading from the client: %w", err)
		}
		var req envRequest
		if jerr := json.Unmarshal(line, &req); jerr != nil {
			if err := a.send(envReply{Type: "error", Error: fmt.Sprintf("malformed request %q: %v", truncate(string(line), 200), jerr)}); err != nil {
				return req, err
			}
			continue
		}
		switch {
		case req.Type == "close":
			return req, errClientClosed
		case a.done != "":
			if err := a.send(envReply{Type: "error", Error: a.done}); err != nil {
				return req, err
			}
		case req.Type != want:
			msg := fmt.Sprintf("%q now: the environment expects %s", req.Type, want)
			if want == "reset" && req.Type == "step" {
				msg = "step after the episode ended: call reset"
			}
			if err := a.send(envReply{Type: "error", Error: msg}); err != nil {
				return req, err
			}
		case want == "step" && (req.Action == nil || math.IsNaN(*req.Action) || math.IsInf(*req.Action, 0)):
			if err := a.send(envReply{Type: "error", Error: "step needs a finite action (a preserve ratio; it is clamped to [lower bound, 1])"}); err != nil {
				return req, err
			}
		default:
			return req, nil
		}
	}
}

// Act answers the pending reset (t = 0) or step with state s, then waits
// for the client's action for group t.
func (a *envAgent) Act(s []float64, t int, _ bool) float64 {
	if a.err != nil {
		return 1
	}
	info := map[string]any{"group": a.e.GroupNames()[t], "episode": a.played}
	if t == 0 {
		if _, err := a.next("reset"); err != nil {
			a.err = err
			return 1
		}
	} else {
		info["applied"] = s[len(s)-1] // the state's last feature is the previous applied ratio
	}
	if a.send(envReply{Type: "obs", Obs: s, T: t, Info: info}) != nil {
		return 1
	}
	req, err := a.next("step")
	if err != nil {
		a.err = err
		return 1
	}
	return *req.Action
}

// Observe answers the episode's last step: the reward and the pruned
// network's accuracy and size.
func (a *envAgent) Observe(ep agent.Episode) error {
	r := a.e.Result()
	a.played++
	info := map[string]any{"applied": r.Ratios[len(r.Ratios)-1], "top1": r.Top1, "macs": r.MACs, "params": r.Params,
		"macs_ratio": float64(r.MACs) / float64(a.e.BaseMACs()), "params_ratio": float64(r.Params) / float64(a.e.BaseParams()),
		"ratios": r.Ratios, "episode": ep.Index, "run_complete": a.played >= a.episodes}
	if bl := a.e.BaseLatency(); bl > 0 {
		info["latency_ratio"] = r.Latency / bl // predicted by the latency table
	}
	return a.send(envReply{Type: "obs", Obs: make([]float64, env.StateSize), T: len(r.Ratios), Reward: ep.Reward, Terminated: true, Info: info})
}

// State keeps the count of finished episodes; the agent's own state lives
// in the client.
func (a *envAgent) State() ([]byte, error) { return json.Marshal(a.played) }

// Restore implements agent.Agent.
func (a *envAgent) Restore(b []byte) error { return json.Unmarshal(b, &a.played) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func newEnvCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Serve the compression environment to a program in another language (Gymnasium: python/amc_gym)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newEnvServeCmd())
	return cmd
}

func newEnvServeCmd() *cobra.Command {
	var (
		df        dataFlags
		outDir    string
		name      string
		budget    string
		overwrite bool
		episodes  int
		seed      int64
	)
	cmd := &cobra.Command{
		Use:   "serve SPEC --out DIR [--name gym] [--episodes N] [--seed K]",
		Short: "Serve a spec's task as an environment over standard input and output (JSON lines, docs/gym.md)",
		Long: "The client sends reset, step and close requests; amc answers with observations, rewards and info.\n" +
			"Every episode is logged to DIR/episodes.parquet like a strategy's (strategy NAME); after N episodes the\n" +
			"run is complete (summary.json, best/). A run the client closes early resumes when served again with the\n" +
			"same flags. Progress goes to standard error.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			out := json.NewEncoder(cmd.OutOrStdout())
			helloSent := false
			defer func() { // the client learns why the server stops, not only its standard error
				if err != nil && !helloSent {
					out.Encode(envReply{Type: "error", Error: err.Error()})
				}
			}()
			if outDir == "" {
				return fmt.Errorf("--out DIR is required")
			}
			s, err := experiments.Load(args[0])
			if err != nil {
				return err
			}
			specs := s.Expand()
			if len(specs) > 1 {
				var names []string
				for _, e := range specs {
					names = append(names, e.Budget)
					if e.Budget == budget {
						specs = []*experiments.Spec{e}
					}
				}
				if len(specs) > 1 {
					return fmt.Errorf("spec %s has budgets %v: choose one with --budget", args[0], names)
				}
			} else if budget != "" && budget != s.Budget {
				return fmt.Errorf("--budget %s: spec %s has the one budget %s", budget, args[0], s.Budget)
			}
			s = specs[0]
			if _, err := agent.Lookup(name); err == nil || !runName.MatchString(name) {
				return fmt.Errorf("--name %q: give the environment's runs a name of their own (letters, digits, '.', '_', '-'), not a built-in strategy's", name)
			}
			if episodes == 0 {
				episodes = s.Episodes
			}
			lock, err := harness.LockOut(outDir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer lock.Release()
			t, err := harness.NewTask(s, harness.Options{DataDir: df.dataDir, CacheDir: df.cacheDir, Overwrite: overwrite,
				LatencyFile: filepath.Join(outDir, "latency-table.json"), Log: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			ea := &envAgent{name: name, in: bufio.NewReader(cmd.InOrStdin()), out: out, episodes: episodes}
			run := harness.Run{Strategy: experiments.Strategy{Name: name, Episodes: episodes}, Seed: seed, Dir: outDir,
				Agent: func(e *env.Env) (agent.Agent, error) {
					ea.e = e
					return ea, nil
				}}
			// A folder of another run is refused (or, with --overwrite, cleared) before the task is prepared.
			if _, err := t.Check(run); err != nil {
				return withFlagHints(err)
			}
			run.Hello = func(e *env.Env, resumed int) error {
				ea.played, helloSent = resumed, true
				return ea.send(envReply{Type: "hello", Info: map[string]any{"protocol": EnvProtocol, "state_size": env.StateSize,
					"steps": e.Groups(), "groups": e.GroupNames(), "lower_bound": s.LowerBound, "episodes": episodes, "obs_high": e.StateHigh(),
					"played": resumed, "spec": s.Name, "model": s.Model, "protocol_kind": s.Protocol, "budget": s.Budget,
					"granularity": e.Granularity(), "out": outDir}})
			}
			sum, err := t.Run(run)
			switch {
			case errors.Is(err, errClientClosed):
				fmt.Fprintf(cmd.ErrOrStderr(), "env serve: the client closed after %d of %d episodes; the finished ones are kept in %s: serve again with the same flags to continue\n",
					ea.played, episodes, outDir)
				return nil
			case err != nil:
				if helloSent {
					ea.send(envReply{Type: "error", Error: err.Error()})
				}
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "env serve: %d episodes played; best reward-set top-1 %.2f%%, unseen held-out %s, test %.2f%% (%s)\n",
				sum.Episodes, sum.RewardTop1, unseenText(sum.UnseenTop1, sum.UnseenImages), sum.TestTop1, outDir)
			// The run is complete: answer what the client still asks until it closes.
			ea.done = fmt.Sprintf("the run's %d episodes are played; its results are in %s (serve into another --out to play more)", episodes, outDir)
			for {
				if _, err := ea.next("close"); err != nil {
					return nil
				}
			}
		},
	}
	df.register(cmd)
	f := cmd.Flags()
	f.StringVar(&outDir, "out", "", "output folder: episodes.parquet, checkpoint, summary.json, best/")
	f.StringVar(&name, "name", "gym", "strategy name of the served runs in the rows and reports")
	f.StringVar(&budget, "budget", "", "the budget to serve, when the spec lists several (budgets:)")
	f.IntVar(&episodes, "episodes", 0, "episodes the run serves (default: the spec's)")
	f.Int64Var(&seed, "seed", 1, "the run's seed (its rows and folder; the client seeds its own agent)")
	f.BoolVar(&overwrite, "overwrite", false, "replace a different run already in --out (default: refuse; the same run is resumed or reported)")
	limitFlags(cmd, map[string]numcheck.Range{"episodes": countOrZero.Means("0: the spec's"), "seed": anyInt})
	// Errors before RunE (flags, arguments, ranges) reach the client on its
	// standard output too, as one error line.
	toClient := func(c *cobra.Command, err error) error {
		if err != nil {
			json.NewEncoder(c.OutOrStdout()).Encode(envReply{Type: "error", Error: err.Error()})
		}
		return err
	}
	pre, args := cmd.PreRunE, cmd.Args
	cmd.PreRunE = func(c *cobra.Command, a []string) error { return toClient(c, pre(c, a)) }
	cmd.Args = func(c *cobra.Command, a []string) error { return toClient(c, args(c, a)) }
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return toClient(c, err) })
	return cmd
}

package harness

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/amcbench/amc/agent"
	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/env"
	"github.com/amcbench/amc/evaluate"
	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/internal/filesum"
	"github.com/amcbench/amc/internal/progress"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/amcbench/amc/search"
	"github.com/amcbench/amc/weights"
)

// Task is a spec's compression task: everything but the strategy and seed.
// It is identified (weights and data by content) on first need and
// prepared (model, data, calibration statistics, reward set, latency table)
// on the first run that needs it, then shared by every run on it. A Task
// is not safe for concurrent use: run its strategies and seeds one after
// another (each run uses every core), or give each goroutine a Task of
// its own.
type Task struct {
	spec *experiments.Spec
	opt  Options
	log  io.Writer

	ds    datasets.Dataset // opened by identify, reused by prepare
	ident *identity        // the inputs by content (identify)
	prep  *prepared        // nil until a run needs it
}

// prepared is what the runs of a task share once measured.
type prepared struct {
	cfg       env.Config
	m         *Model
	held      *datasets.Images
	rewardSet *datasets.Images // scores episodes, picks the best policy and seed: nothing else
	unseen    *datasets.Images // the other held-out images, for reporting only (nil: none left)
	a         *prune.Analysis
	cal       *prune.Calibration
	bareSec   float64     // compile + forward of the unpruned network over the reward set
	base      *[2]float64 // unpruned held-out and test top-1 on the final sets, once measured
}

// NewTask is the task of spec s (one budget: expand a budgets: list first
// with Spec.Expand). The spec is used as it is: experiments.Load fills its
// defaults; a spec built in code gets them from Spec.Check, or none
// (RewardImages 0 is then the whole held-out split, leaving no unseen
// held-out images, and zeros enter the run fingerprint as zeros). Nothing is
// read until a run or ID needs it.
func NewTask(s *experiments.Spec, opt Options) (*Task, error) {
	if s == nil {
		return nil, errors.New("harness: no spec")
	}
	if len(s.Budgets) > 0 {
		return nil, fmt.Errorf("spec %s lists budgets %v: one task per budget (Spec.Expand)", s.Name, s.Budgets)
	}
	return &Task{spec: s, opt: opt, log: opt.log()}, nil
}

// Spec is the task's spec.
func (t *Task) Spec() *experiments.Spec { return t.spec }

// Run is one strategy and seed of a task, written to Dir.
type Run struct {
	Strategy experiments.Strategy // a registered strategy with its params, or an external agent (Command)
	Seed     int64
	Dir      string
	// Agent, if set, builds the run's agent in-process for the run's
	// environment instead of the strategy (amc env serve: a client plays
	// it); it is a sampler (no greedy episode at the end), and its runs
	// are apart from any strategy of the same name.
	Agent func(e *env.Env) (agent.Agent, error)
	// Hello, if set, is called before the first episode with the run's
	// environment and the episodes already played (all of them when the
	// run is finished).
	Hello func(e *env.Env, played int) error
}

// ext is an external agent's entry, or nil.
func (t *Task) ext(r Run) *extAgent {
	st := r.Strategy
	if len(st.Command) == 0 || r.Agent != nil {
		return nil
	}
	dir, _ := filepath.Abs(filepath.Dir(t.spec.Path)) // the agent runs in the spec's folder
	return &extAgent{Command: st.Command, Params: st.Params, Timeout: time.Duration(st.Timeout * float64(time.Second)), Dir: dir}
}

// decode looks a registered strategy up and decodes its params for the run.
func decode(st experiments.Strategy) (agent.Strategy, any, error) {
	strat, err := agent.Lookup(st.Name)
	if err != nil {
		return strat, nil, err
	}
	params, err := strat.DecodeParams(st.Params, st.Episodes)
	return strat, params, err
}

// baseAccuracy evaluates the unpruned network on the final held-out and
// test sets (once per task): the "before" of every run's table.
func (t *Task) baseAccuracy() ([2]float64, error) {
	pr := t.prep
	if pr.base != nil {
		return *pr.base, nil
	}
	pl, err := nn.Compile(pr.m.Graph, pr.m.Params, 0)
	if err != nil {
		return [2]float64{}, err
	}
	h, err := t.evalUnseen(pl)
	if err != nil {
		return [2]float64{}, err
	}
	test, err := t.ds.Load(datasets.Test)
	if err != nil {
		return [2]float64{}, err
	}
	r, err := evaluate.Run(pl, test, pr.m.Norm, evaluate.Options{Limit: t.spec.FinalImages})
	if err != nil {
		return [2]float64{}, err
	}
	pr.base = &[2]float64{h.Top1, r.Top1}
	return *pr.base, nil
}

// evalUnseen evaluates on the held-out images the search never saw (at most
// FinalImages of them); N is 0 when the reward set is the whole split.
func (t *Task) evalUnseen(pl *nn.Plan) (evaluate.Result, error) {
	if t.prep.unseen == nil {
		return evaluate.Result{}, nil
	}
	return evaluate.Run(pl, t.prep.unseen, t.prep.m.Norm, evaluate.Options{Limit: t.spec.FinalImages})
}

// noRecon is the spec's reconstruct: false.
func (t *Task) noRecon() bool { return t.spec.Reconstruct != nil && !*t.spec.Reconstruct }

// latBatch and latWorkers are the latency measurements' batch and threads
// (at least 1).
func (t *Task) latBatch() int   { return max(1, t.spec.Latency.Batch) }
func (t *Task) latWorkers() int { return max(1, t.spec.Latency.Workers) }

// Prepare loads and measures what every run of the task shares (once; runs
// call it when they need it): the model, the data splits, the reward set,
// the calibration statistics, the latency table, one bare forward pass.
func (t *Task) Prepare() error {
	if t.prep != nil {
		return nil
	}
	s := t.spec
	cfg := env.Config{Granularity: s.Granularity, Protocol: s.Protocol, Reward: s.Reward, LowerBound: s.LowerBound, Multiple: s.Multiple, Ridge: s.Ridge, Batch: 100}
	if s.Protocol == env.Constrained {
		b, err := env.ParseBudget(s.Budget)
		if err != nil {
			return err
		}
		cfg.Budget = b
	}
	if err := t.identify(); err != nil {
		return err
	}
	m, err := LoadModel(s.Model, s.Weights)
	if err != nil {
		return err
	}
	held, err := t.ds.Load(datasets.Heldout)
	if err != nil {
		return err
	}
	pr := &prepared{m: m, held: held}
	pr.rewardSet, pr.unseen = t.splitHeldout(held)
	if pr.a, err = prune.Analyze(m.Graph, prune.Options{Residual: s.Residual}); err != nil {
		return err
	}
	if !t.noRecon() && s.Granularity != env.Fine { // fine-grained pruning has nothing to re-fit
		train, err := t.ds.Load(datasets.Train)
		if err != nil {
			return err
		}
		if pr.cal, err = prune.Calibrate(pr.a, m.Params, train, m.Norm, s.Calibration.Images, s.Calibration.Positions, calibSeed); err != nil {
			return err
		}
	}
	if s.Granularity == env.Fine && (cfg.Budget.Kind == "latency" || s.Latency.Table) {
		return fmt.Errorf("fine-grained pruning leaves the dense engine's latency unchanged: drop the latency budget or latency table (use macs= or params=)")
	}
	if cfg.Budget.Kind == "latency" || s.Latency.Table {
		// The table needs the smallest counts the environment allows.
		probe := cfg
		probe.Protocol, probe.Budget = env.Accuracy, env.Budget{}
		e, err := env.New(probe, pr.a, m.Params, nil, pr.rewardSet, m.Norm)
		if err != nil {
			return err
		}
		if cfg.Latency, err = t.latencyTable(pr.a, m.Params, e.MinCounts()); err != nil {
			return err
		}
	}
	// Fail early on an unreachable budget or bad protocol.
	if _, err := env.New(cfg, pr.a, m.Params, pr.cal, pr.rewardSet, m.Norm); err != nil {
		return err
	}
	pr.cfg = cfg
	// One bare forward pass of the unpruned network over the reward set:
	// what an episode's cost is compared with.
	start := time.Now()
	pl, err := nn.Compile(m.Graph, m.Params, 0)
	if err != nil {
		return err
	}
	if _, err := evaluate.Run(pl, pr.rewardSet, m.Norm, evaluate.Options{Batch: cfg.Batch}); err != nil {
		return err
	}
	pr.bareSec = time.Since(start).Seconds()
	t.prep = pr
	return nil
}

// splitHeldout divides the held-out split into the reward set and the
// images the search never sees (nil: none left): the same subset for every
// strategy and seed, in held-out order.
func (t *Task) splitHeldout(held *datasets.Images) (reward, unseen *datasets.Images) {
	n := t.spec.RewardImages
	if n <= 0 || n >= held.N {
		return held, nil
	}
	perm := rand.New(rand.NewPCG(1, 1)).Perm(held.N)
	return held.Subset(perm[:n]), held.Subset(slices.Sorted(slices.Values(perm[n:])))
}

// release drops what Prepare loaded and measured (the model, the reward
// set, the calibration statistics: VGG-16's at 224x224 take gigabytes), so
// that a sweep holds one task's at a time; a later run prepares again.
func (t *Task) release() { t.prep = nil }

// RunID identifies one search run: the task (its inputs by content and its
// settings), the strategy with its parameters, the seed and the episodes.
// Its fingerprint is the one definition of "the same run": stored in the
// run's checkpoint and summary, it decides resume and skip; the task part
// alone (TaskFingerprint) is what merge and collect require to be the same
// for every run under one spec name. Paths are not in it (the weights are
// named by content), so moving files keeps it.
type RunID struct {
	Spec, Model                     string
	WeightsSHA256                   string
	Data                            string
	DataFingerprint, HeldoutRule    string
	Protocol, Budget, Reward        string
	RewardImages, CalImages, CalPos int
	Multiple                        int
	LowerBound, Ridge               float64
	Residual, NoRecon               bool
	Granularity                     string `json:",omitempty"`
	FinalImages                     int
	LatencyBatch, LatencyPoints     int
	LatencyWorkers                  int
	LatencyTable                    bool
	// LatencyFileSHA256 names a latency table measured elsewhere by
	// content (empty without one, so earlier runs keep their fingerprints).
	LatencyFileSHA256 string `json:",omitempty"`
	Strategy          string
	// Label is the spec entry's label (experiments.Strategy.Label), the
	// name its runs are filed and reported under; empty without one, so
	// that unlabelled runs keep their fingerprints.
	Label            string `json:",omitempty"`
	Seed             int64
	Episodes, Warmup int
	// An external agent's command and params (canonical JSON); empty for
	// built-in strategies, so their fingerprints do not change.
	Command []string `json:",omitempty"`
	Params  string   `json:",omitempty"`
}

// extAgent is a strategy entry run as an external agent.
type extAgent struct {
	Command []string
	Params  map[string]any
	Timeout time.Duration
	Dir     string // working directory: the spec's folder
}

// ID identifies a run of the task (hashing the weights and fingerprinting
// the data on first call). A registered strategy's warm-up (DDPG's) keeps
// the field it had before strategies took params, and its other params
// count where they differ from the strategy's defaults, so that runs made
// before keep their fingerprints.
func (t *Task) ID(run Run) (RunID, error) {
	if st := run.Strategy; st.Warmup != 0 || st.Schedule != "" {
		return RunID{}, fmt.Errorf("strategy %s: warmup and schedule are a spec file's shorthands: call Spec.Check (experiments.Load does) to turn them into params and episodes", st.Name)
	}
	r, err := t.taskID()
	if err != nil {
		return RunID{}, err
	}
	st := run.Strategy
	r.Spec, r.Strategy, r.Label, r.Seed, r.Episodes = t.spec.Name, st.Name, st.Label, run.Seed, st.Episodes
	if run.Agent != nil {
		r.Command = []string{"amc env serve"} // the client's own agent: apart from any strategy of the same name
		return r, nil
	}
	if ext := t.ext(run); ext != nil {
		r.Command = ext.Command
		if len(ext.Params) > 0 {
			b, _ := json.Marshal(ext.Params) // map keys sorted: canonical
			r.Params = string(b)
		}
		return r, nil
	}
	strat, params, err := decode(st)
	if err != nil || params == nil {
		return r, err
	}
	defaults, err := strat.DecodeParams(strat.FingerprintParams, st.Episodes)
	if err != nil {
		return r, fmt.Errorf("strategy %s: its fingerprint params: %w", st.Name, err)
	}
	got, def := agent.ParamValues(params), agent.ParamValues(defaults)
	if w, ok := got["warmup"].(float64); ok {
		r.Warmup = int(w)
	}
	delete(got, "warmup")
	for k, v := range got {
		if reflect.DeepEqual(v, def[k]) {
			delete(got, k)
		}
	}
	if len(got) > 0 {
		b, _ := json.Marshal(got) // map keys sorted: canonical
		r.Params = string(b)
	}
	return r, nil
}

// taskID is the task's part of every run's RunID (identifying the inputs
// on first call).
func (t *Task) taskID() (RunID, error) {
	if err := t.identify(); err != nil {
		return RunID{}, err
	}
	id, s := *t.ident, t.spec
	return RunID{Model: s.Model, WeightsSHA256: id.WeightsSHA256, Data: s.Data,
		DataFingerprint: id.DataFingerprint, HeldoutRule: id.HeldoutRule, Protocol: s.Protocol, Budget: s.Budget,
		Reward: s.Reward, RewardImages: s.RewardImages, CalImages: s.Calibration.Images, CalPos: s.Calibration.Positions, Multiple: s.Multiple,
		LowerBound: s.LowerBound, Ridge: s.Ridge, Residual: s.Residual, NoRecon: t.noRecon(), Granularity: granularity(s.Granularity), FinalImages: s.FinalImages,
		LatencyBatch: t.latBatch(), LatencyWorkers: t.latWorkers(), LatencyPoints: s.Latency.Points, LatencyTable: s.Latency.Table, LatencyFileSHA256: id.LatencyFileSHA256}, nil
}

// Task is the run's task alone: the run without its spec name, strategy
// (with its label, parameters or command), seed and episodes.
func (r RunID) Task() RunID {
	r.Spec, r.Strategy, r.Label, r.Seed, r.Episodes, r.Warmup, r.Command, r.Params = "", "", "", 0, 0, 0, nil, ""
	return r
}

// TaskFingerprint identifies the task alone.
func (r RunID) TaskFingerprint() string { return r.Task().Fingerprint() }

// granularity is "" for channel pruning (as before granularities existed,
// so that earlier runs keep their fingerprints) and "fine" otherwise.
func granularity(g string) string {
	if g == env.Channel {
		return ""
	}
	return g
}

// Fingerprint identifies the run: 16 hex digits of the SHA-256 of its
// fields as JSON.
func (r RunID) Fingerprint() string {
	b, _ := json.Marshal(r)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// String names the run in a line.
func (r RunID) String() string {
	name := r.Strategy
	if r.Label != "" {
		name = r.Label + " (" + r.Strategy + ")"
	}
	return fmt.Sprintf("%s seed %d, %d episodes, model %s, %s %s", name, r.Seed, r.Episodes, r.Model, r.Protocol, r.Budget)
}

// outState is what an output folder holds for a run.
type outState struct {
	done   *Summary           // the run finished
	resume *search.Checkpoint // the run was interrupted
}

// CheckpointFile is an interrupted run's state in its folder; it is
// removed when the run finishes (summary.json).
const CheckpointFile = "checkpoint.gob"

// ErrDifferentRun marks an output folder that holds another run than the
// one asked for (Options.Overwrite replaces it).
var ErrDifferentRun = errors.New("different run")

// inspectOut looks at outDir before a run: a finished or interrupted run
// of the same id is reported (to skip or resume it); another run there is
// refused, or with overwrite its files are removed.
func inspectOut(outDir string, id RunID, overwrite bool) (outState, error) {
	st, err := inspectRun(outDir, id)
	if !overwrite || !errors.Is(err, ErrDifferentRun) {
		return st, err
	}
	for _, f := range []string{"summary.json", CheckpointFile, "episodes.parquet", "episodes.parquet.partial", "latency-table.json"} {
		if err := os.Remove(filepath.Join(outDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return outState{}, err
		}
	}
	if err := os.RemoveAll(filepath.Join(outDir, "finetuned")); err != nil {
		return outState{}, err
	}
	return outState{}, os.RemoveAll(filepath.Join(outDir, "best"))
}

func inspectRun(outDir string, id RunID) (outState, error) {
	fp := id.Fingerprint()
	sumPath := filepath.Join(outDir, "summary.json")
	different := func(what, stored string) error {
		return fmt.Errorf("%s holds %s of a different run: %s: %w", outDir, what, diffRuns(stored, id), ErrDifferentRun)
	}
	if b, err := os.ReadFile(sumPath); err == nil {
		s, err := readSummary(sumPath, b)
		if err != nil {
			return outState{}, fmt.Errorf("%w: %w", err, ErrDifferentRun)
		}
		if s.Fingerprint != fp {
			stored := s.Run
			if s.RunID != nil {
				stored = s.RunID.describe()
			}
			return outState{}, different("the results", stored)
		}
		return outState{done: s}, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return outState{}, err
	}
	cp, err := search.LoadCheckpoint(filepath.Join(outDir, CheckpointFile))
	if search.IsNotExist(err) {
		return outState{}, nil
	}
	if err != nil {
		return outState{}, err
	}
	if cp.Fingerprint != fp {
		return outState{}, different("the checkpoint", cp.Describe)
	}
	return outState{resume: cp}, nil
}

// Check looks at run.Dir before the run, without preparing the task: a
// finished run is returned (it would be skipped), an interrupted one of the
// same run is fine (it resumes), another run there is refused
// (ErrDifferentRun), or with Options.Overwrite its files are removed.
func (t *Task) Check(run Run) (*Summary, error) {
	id, err := t.ID(run)
	if err != nil {
		return nil, err
	}
	st, err := inspectOut(run.Dir, id, t.opt.Overwrite)
	return st.done, err
}

// Run searches with one strategy and seed and writes run.Dir/summary.json,
// run.Dir/episodes.parquet and run.Dir/best/. A finished run of the same
// fingerprint there is returned as it is; an interrupted one (its
// checkpoint) is continued; another run there is refused (ErrDifferentRun)
// unless Options.Overwrite. The caller holds the folder (Lock).
func (t *Task) Run(run Run) (*Summary, error) {
	st := run.Strategy
	strategy, episodes, seed, outDir := st.RunName(), st.Episodes, run.Seed, run.Dir
	if episodes < 1 {
		return nil, fmt.Errorf("episodes must be at least 1")
	}
	if outDir == "" {
		return nil, fmt.Errorf("harness: run %s seed %d has no folder", strategy, seed)
	}
	id, err := t.ID(run)
	if err != nil {
		return nil, err
	}
	out, err := inspectOut(outDir, id, t.opt.Overwrite)
	if err != nil {
		return nil, err
	}
	if out.done != nil {
		fmt.Fprintf(t.log, "%s: finished run found, not run again\n", outDir)
		if run.Hello == nil {
			return out.done, nil
		}
	}
	if err := t.Prepare(); err != nil {
		return nil, err
	}
	pr := t.prep
	e, err := env.New(pr.cfg, pr.a, pr.m.Params, pr.cal, pr.rewardSet, pr.m.Norm)
	if err != nil {
		return nil, err
	}
	if out.done != nil { // the client of a finished run still gets its hello
		return out.done, run.Hello(e, episodes)
	}
	var ag agent.Agent
	kind := agent.Learner // an external agent learns: its final policy is a greedy episode
	if run.Agent != nil {
		if ag, err = run.Agent(e); err != nil {
			return nil, err
		}
		kind = agent.Sampler
	} else if ext := t.ext(run); ext != nil {
		x, err := agent.NewExternal(agent.ExternalConfig{Name: strategy, Command: ext.Command, Dir: ext.Dir, Params: ext.Params,
			StateSize: env.StateSize, Steps: len(e.GroupNames()), LowerBound: pr.cfg.LowerBound, Seed: uint64(seed), Timeout: ext.Timeout,
			Task: map[string]any{"spec": t.spec.Name, "model": t.spec.Model, "data": t.spec.Data, "protocol": pr.cfg.Protocol,
				"budget": t.spec.Budget, "episodes": episodes, "groups": e.GroupNames()}})
		if err != nil {
			return nil, err
		}
		defer x.Close()
		ag = x
	} else {
		strat, params, err := decode(st)
		if err != nil {
			return nil, err
		}
		set := agent.Setting{StateSize: env.StateSize, Steps: e.Groups(), LowerBound: pr.cfg.LowerBound, Seed: uint64(seed),
			Episodes: episodes, FitShape: e.FitShape}
		if ag, err = strat.New(set, params); err != nil {
			return nil, err
		}
		if kind = strat.Kind; kind == agent.Fixed {
			episodes = 1 // a fixed policy gives the same episode every time
		}
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	log, err := search.CreateEpisodeLog(filepath.Join(outDir, "episodes.parquet"))
	if err != nil {
		return nil, err
	}
	bar := progress.NewUnit(t.log, episodes, fmt.Sprintf("search %s seed %d", strategy, seed), "ep")
	start := time.Now()
	cpPath := filepath.Join(outDir, CheckpointFile)
	opt := search.Options{Spec: t.spec.Name, Run: id.Fingerprint(), Strategy: strategy, Seed: seed, Episodes: episodes, Greedy: kind == agent.Learner, Log: log.Write, Resume: out.resume,
		Progress: func(done, total int, _ float64) { bar.Update(done, total) },
		Checkpoint: func(c *search.Checkpoint) error {
			c.Fingerprint, c.Describe = id.Fingerprint(), id.describe()
			return search.SaveCheckpoint(cpPath, c)
		}}
	var before float64 // search seconds spent before an interruption
	if out.resume != nil {
		fmt.Fprintf(t.log, "%s: resuming after episode %d of %d\n", outDir, len(out.resume.Rows), episodes)
		for _, r := range out.resume.Rows {
			before += r.WallSec
		}
	}
	if run.Hello != nil {
		played := 0
		if out.resume != nil {
			played = len(out.resume.Rows)
		}
		if err := run.Hello(e, played); err != nil {
			return nil, err
		}
	}
	best, err := search.Run(e, ag, opt)
	bar.Finish()
	if err != nil {
		log.Abort()
		return nil, err
	}
	if err := log.Close(); err != nil {
		return nil, err
	}
	searchSec := before + time.Since(start).Seconds()
	var fit *LatencyFit
	// A table measured elsewhere (latency.file) is the budget's measure: the
	// Go engine's timings must not re-fit the policy.
	if pr.cfg.Budget.Kind == "latency" && pr.cfg.Protocol == env.Constrained && t.spec.Latency.File == "" {
		if fit, err = t.fitLatency(e, &best); err != nil {
			return nil, err
		}
		fmt.Fprintf(t.log, "latency fit: measured %.3f of the unpruned latency before, %.3f after (budget %.3f, %d measurements)\n",
			fit.Before, fit.After, pr.cfg.Budget.Fraction, fit.Measurements)
	}
	// The best policy, evaluated on all held-out images and on the test split.
	r := best.Result
	pl, err := nn.Compile(r.PrunedGraph, r.PrunedParam, 0)
	if err != nil {
		return nil, err
	}
	hres, err := t.evalUnseen(pl)
	if err != nil {
		return nil, err
	}
	test, err := t.ds.Load(datasets.Test)
	if err != nil {
		return nil, err
	}
	tres, err := evaluate.Run(pl, test, pr.m.Norm, evaluate.Options{Limit: t.spec.FinalImages})
	if err != nil {
		return nil, err
	}
	// Latency of the best network against the unpruned one.
	latMS, baseMS, err := t.latencyPair(r.PrunedGraph, r.PrunedParam, pr.m.Graph, pr.m.Params)
	if err != nil {
		return nil, err
	}
	base, err := t.baseAccuracy()
	if err != nil {
		return nil, err
	}
	sp := t.spec
	s := &Summary{Spec: sp.Name, Family: sp.Family, Model: sp.Model, Weights: sp.Weights, Data: sp.Data, Strategy: strategy,
		Seed: seed, Protocol: pr.cfg.Protocol, Budget: pr.cfg.Budget, Reward: pr.cfg.Reward, Granularity: granularity(sp.Granularity), Episodes: episodes,
		BestEpisode: best.Episode, BestReward: r.Reward, RewardTop1: r.Top1, RewardImages: pr.rewardSet.N,
		UnseenTop1: hres.Top1, UnseenImages: hres.N, TestTop1: tres.Top1, MACs: r.MACs, Params: r.Params,
		MACsRatio: float64(r.MACs) / float64(e.BaseMACs()), ParamsRatio: float64(r.Params) / float64(e.BaseParams()),
		SearchSeconds: searchSec, EpisodeSeconds: searchSec / float64(episodes), BLAS: nn.BLASName,
		Fingerprint: id.Fingerprint(), Run: id.String(), RunID: &id, TaskFingerprint: id.TaskFingerprint(),
		WeightsSHA256: id.WeightsSHA256, DataFingerprint: id.DataFingerprint, HeldoutRule: id.HeldoutRule, WeightsSource: t.weightsSource(),
		LatencyMS: latMS, BaseLatencyMS: baseMS, LatencyRatio: latMS / baseMS, LatencyBatch: t.latBatch(), LatencyWorkers: t.latWorkers(),
		BareForwardSec: pr.bareSec, BaseUnseenTop1: base[0], BaseTestTop1: base[1], LatencyFit: fit,
		BestPolicy: map[string]float64{}, BestKept: map[string]int{}}
	if pr.cal != nil {
		s.CalibSeconds = pr.cal.Seconds
	}
	if lt := pr.cfg.Latency; lt != nil {
		s.PredLatencyRatio = r.Latency / lt.Full
		s.LatencyTableSec = lt.MeasureSec
	}
	for i, name := range e.GroupNames() {
		s.BestPolicy[name] = r.Ratios[i]
		s.BestKept[name] = r.Counts[i]
	}
	cnt, _ := pr.m.Graph.Count()
	spec := &prune.Spec{BaseModel: sp.Model, SourceWeights: sp.Weights, Normalization: pr.m.Norm,
		Residual: sp.Residual, Multiple: sp.Multiple, Criterion: "l1-in", Layers: prune.LayerSpecs(pr.m.Graph, r.PrunedGraph),
		MACs: r.MACs, Params: r.Params, BaseMACs: cnt.MACs, BaseParams: cnt.Params}
	if pr.cal != nil {
		// What amc prune --rebuild needs to make the network again from prune.json.
		spec.Reconstruction = &prune.ReconstructionSpec{Data: sp.Data, Split: string(datasets.Train), Images: pr.cal.Images,
			Positions: pr.cal.Positions, Ridge: sp.Ridge, Seed: calibSeed, Seconds: pr.cal.Seconds}
	}
	if e.Granularity() == env.Fine {
		// The structure is the unpruned one; the densities say what is zero.
		spec.Criterion, spec.Residual, spec.Density = "magnitude", false, r.Density
		spec.MACs, spec.Params = cnt.MACs, cnt.Params
	} else {
		for i, grp := range pr.a.Groups {
			spec.Groups = append(spec.Groups, prune.GroupSpec{Name: grp.Name, Channels: grp.Channels, Ratio: r.Ratios[i], Kept: r.Kept[i]})
		}
	}
	if err := prune.Save(filepath.Join(outDir, "best"), spec, r.PrunedParam); err != nil {
		return nil, err
	}
	if s.BestWeightsSHA256, err = filesum.SHA256(filepath.Join(outDir, "best", prune.WeightsFile)); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := atomicfile.WriteBytes(filepath.Join(outDir, "summary.json"), append(b, '\n')); err != nil {
		return nil, err
	}
	// The summary marks the run finished; the checkpoint is no longer needed.
	if err := os.Remove(cpPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return s, nil
}

// calibSeed seeds the calibration sample of every search's re-fit.
const calibSeed = 1

// latencyPair measures the Go-engine latency of a network and of the
// network it is compared with, in milliseconds: three times each,
// alternately so that drift affects both alike, the median of each (the
// spec's batch and threads).
func (t *Task) latencyPair(g *nn.Graph, p nn.Params, baseG *nn.Graph, baseP nn.Params) (ms, baseMS float64, err error) {
	var lat, baseLat []float64
	for k := 0; k < 3; k++ {
		for _, m := range []struct {
			g   *nn.Graph
			p   nn.Params
			out *[]float64
		}{{g, p, &lat}, {baseG, baseP, &baseLat}} {
			sec, err := env.MeasureLatency(m.g, m.p, t.latBatch(), t.latWorkers(), 20)
			if err != nil {
				return 0, 0, err
			}
			*m.out = append(*m.out, sec)
		}
	}
	return median(lat) * 1e3, median(baseLat) * 1e3, nil
}

func median(x []float64) float64 {
	y := append([]float64(nil), x...)
	sort.Float64s(y)
	return y[len(y)/2]
}

// latencyTable reads Options.LatencyFile if it exists, or measures the
// table and saves it there.
func (t *Task) latencyTable(a *prune.Analysis, params nn.Params, minCounts []int) (*env.LatencyTable, error) {
	if f := t.spec.Latency.File; f != "" {
		if err := t.identify(); err != nil {
			return nil, err
		}
		return readExternalLatency(f, t.ident.latencyFile, a)
	}
	file, batch, workers := t.opt.LatencyFile, t.latBatch(), t.latWorkers()
	points := t.spec.Latency.Points
	if file != "" {
		b, err := os.ReadFile(file)
		if err == nil {
			var lt env.LatencyTable
			if err := json.Unmarshal(b, &lt); err != nil {
				return nil, fmt.Errorf("latency table %s is damaged (%v); delete it to measure again", file, err)
			}
			if err := lt.Check(a); err != nil {
				return nil, fmt.Errorf("%s: %w; delete it to measure again", file, err)
			}
			want := points
			if want < 2 {
				want = 8 // MeasureLatencyTable's default
			}
			if !slices.Equal(lt.MinCounts, minCounts) || lt.Points != want {
				return nil, fmt.Errorf("latency table %s was measured for other bounds or grid (lower bound, channel multiple, points); delete it to measure again", file)
			}
			if lt.Batch != batch || lt.Workers != workers {
				return nil, fmt.Errorf("latency table %s was measured at batch %d on %d threads, not %d on %d; delete it to measure again",
					file, lt.Batch, lt.Workers, batch, workers)
			}
			return &lt, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	fmt.Fprintf(t.log, "measuring the latency table (%d groups x %d counts, batch %d, %d threads)...\n", len(a.Groups), max(2, points), batch, workers)
	lt, err := env.MeasureLatencyTable(a, params, minCounts, env.LatencyOptions{Batch: batch, Workers: workers, Points: points})
	if err != nil {
		return nil, err
	}
	if file != "" {
		b, _ := json.MarshalIndent(lt, "", " ")
		if err := atomicfile.WriteBytes(file, append(b, '\n')); err != nil {
			return nil, err
		}
	}
	return lt, nil
}

// readExternalLatency parses a latency table measured elsewhere (a spec's
// latency.file, read once by identify): env.LatencyTable's JSON, checked
// against the model's groups and prepared by UseExternal.
func readExternalLatency(path string, b []byte, a *prune.Analysis) (*env.LatencyTable, error) {
	var lt env.LatencyTable
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&lt); err != nil {
		return nil, fmt.Errorf("latency.file %s: %w (the format: docs/onnx.md)", path, err)
	}
	if err := lt.Check(a); err != nil {
		return nil, fmt.Errorf("latency.file %s: %w (the format: docs/onnx.md)", path, err)
	}
	lt.UseExternal()
	return &lt, nil
}

// LatencyFit records the closed loop that brings a latency search's best
// policy to its budget on measured latency.
type LatencyFit struct {
	Before       float64 `json:"measured_ratio_before"`
	After        float64 `json:"measured_ratio_after"`
	Factor       float64 `json:"factor"` // the best policy's ratios were multiplied by this
	Measurements int     `json:"measurements"`
}

// fitLatency measures the best policy's latency and, unless it is within
// [0.95, 1] of the budget, scales its preserve ratios by the largest factor
// whose measured latency meets the budget (bisection on measurements), then
// rebuilds, re-fits and re-evaluates that network in place of best. The
// latency table only predicts; this step makes the final network's measured
// latency meet the budget.
func (t *Task) fitLatency(e *env.Env, best *search.Best) (*LatencyFit, error) {
	batch, workers, pr := t.latBatch(), t.latWorkers(), t.prep
	baseSec, err := env.MeasureLatency(pr.m.Graph, pr.m.Params, batch, workers, 20)
	if err != nil {
		return nil, err
	}
	mins := e.MinCounts()
	countsAt := func(f float64) []int {
		c := make([]int, len(pr.a.Groups))
		for i, g := range pr.a.Groups {
			c[i] = max(mins[i], prune.KeepCount(g.Channels, math.Min(1, best.Result.Ratios[i]*f), pr.cfg.Multiple))
		}
		return c
	}
	fit := &LatencyFit{Factor: 1}
	measure := func(counts []int) (float64, error) {
		fit.Measurements++
		sec, err := env.MeasurePruned(pr.a, pr.m.Params, counts, batch, workers, 20)
		return sec / baseSec, err
	}
	budget := pr.cfg.Budget.Fraction
	if fit.Before, err = measure(best.Result.Counts); err != nil {
		return nil, err
	}
	fit.After = fit.Before
	if fit.Before <= budget && fit.Before >= 0.95*budget {
		return fit, nil
	}
	lo, hi := 0.0, 1.0 // factors known to meet / miss the budget
	if fit.Before <= budget {
		lo, hi = 1, 1/math.Max(1e-3, slices.Min(best.Result.Ratios))
	}
	bestF := lo // 0 (every group at its minimum) until a factor is measured to meet the budget
	for k := 0; k < 10; k++ {
		f := (lo + hi) / 2
		r, err := measure(countsAt(f))
		if err != nil {
			return nil, err
		}
		if r <= budget {
			lo, bestF = f, f
			if r >= 0.95*budget {
				break
			}
		} else {
			hi = f
		}
	}
	counts := countsAt(bestF)
	ratios := make([]float64, len(counts))
	for i, g := range pr.a.Groups {
		ratios[i] = float64(counts[i]) / float64(g.Channels)
	}
	cfg := pr.cfg
	cfg.Protocol, cfg.Budget, cfg.Reward = env.Accuracy, env.Budget{}, "err"
	free, err := env.New(cfg, pr.a, pr.m.Params, pr.cal, pr.rewardSet, pr.m.Norm)
	if err != nil {
		return nil, err
	}
	r, err := search.Replay(free, ratios)
	if err != nil {
		return nil, err
	}
	best.Result = r
	fit.Factor = bestF
	if fit.After, err = measure(r.Counts); err != nil {
		return nil, err
	}
	return fit, nil
}

// weightsSource is the SHA-256 of the file the task's weights were converted
// from, when the weights record one.
func (t *Task) weightsSource() string {
	if t.prep.m.File == nil {
		return ""
	}
	return t.prep.m.File.Meta[weights.MetaSource]
}

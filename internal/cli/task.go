package cli

import (
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
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/amcbench/amc/search"
	"github.com/amcbench/amc/weights"
)

// taskParams describe a compression task: everything but the strategy.
type taskParams struct {
	Spec           string
	Family         string // a budgets: list's spec name (the report's Pareto front over budgets)
	Model          modelFlags
	Data           dataFlags
	Protocol       string
	Budget         string
	Reward         string
	RewardImages   int
	CalImages      int
	CalPositions   int
	Multiple       int
	LowerBound     float64
	Ridge          float64
	Residual       bool
	NoRecon        bool
	Granularity    string // env.Channel ("") or env.Fine
	FinalImages    int    // limit of the final held-out and test evaluations (0: all)
	LatencyBatch   int    // batch of latency measurements (1)
	LatencyWorkers int    // threads of latency measurements (1)
	LatencyPoints  int    // grid counts per group in the latency table (8)
	LatencyTable   bool   // build the table without a latency budget too
	// LatencyFile keeps the measured table: read when it exists, written
	// otherwise, so that a resumed or repeated run uses the same table.
	LatencyFile string

	ds    datasets.Dataset // opened by identify, reused by prepareTask
	ident *identity        // the inputs by content (identify)
}

// task is a prepared compression task: model, data, calibration statistics
// and reward set, shared by every strategy and seed that runs on it.
type task struct {
	p         taskParams
	cfg       env.Config
	m         *loadedModel
	ds        datasets.Dataset
	held      *datasets.Images
	rewardSet *datasets.Images // scores episodes, picks the best policy and seed: nothing else
	unseen    *datasets.Images // the other held-out images, for reporting only (nil: none left)
	a         *prune.Analysis
	cal       *prune.Calibration
	bareSec   float64     // compile + forward of the unpruned network over the reward set
	base      *[2]float64 // unpruned held-out and test top-1 on the final sets, once measured
}

// baseAccuracy evaluates the unpruned network on the final held-out and
// test sets (once per task): the "before" of every run's table.
func (t *task) baseAccuracy() ([2]float64, error) {
	if t.base != nil {
		return *t.base, nil
	}
	pl, err := nn.Compile(t.m.Graph, t.m.Params, 0)
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
	r, err := evaluate.Run(pl, test, t.m.Norm, evaluate.Options{Limit: t.p.FinalImages})
	if err != nil {
		return [2]float64{}, err
	}
	t.base = &[2]float64{h.Top1, r.Top1}
	return *t.base, nil
}

// evalUnseen evaluates on the held-out images the search never saw (at most
// FinalImages of them); N is 0 when the reward set is the whole split.
func (t *task) evalUnseen(pl *nn.Plan) (evaluate.Result, error) {
	if t.unseen == nil {
		return evaluate.Result{}, nil
	}
	return evaluate.Run(pl, t.unseen, t.m.Norm, evaluate.Options{Limit: t.p.FinalImages})
}

// stratRun is one strategy entry as a run needs it: a registered strategy
// (agent.Register) with its params as given, or an external agent.
type stratRun struct {
	Name     string
	Episodes int
	Params   agent.Params // a registered strategy's
	Ext      *extAgent    // an external agent (its params inside)
	// Custom builds the agent in-process (amc env serve: the client plays
	// it) for the run's environment; it is a sampler (no greedy episode).
	Custom func(e *env.Env) (agent.Agent, error)
	// Hello, if set, is called before the first episode with the run's
	// environment and the episodes already played (all of them when the
	// run is finished).
	Hello func(e *env.Env, played int) error
}

// decode looks the strategy up and decodes its params for the run.
func (sr stratRun) decode() (agent.Strategy, any, error) {
	strat, err := agent.Lookup(sr.Name)
	if err != nil {
		return strat, nil, err
	}
	params, err := strat.DecodeParams(sr.Params, sr.Episodes)
	return strat, params, err
}

// prepareTask loads and measures what every run of a task shares;
// progress (may be nil) receives notes on slow steps.
func prepareTask(p taskParams, progress io.Writer) (*task, error) {
	cfg := env.Config{Granularity: p.Granularity, Protocol: p.Protocol, Reward: p.Reward, LowerBound: p.LowerBound, Multiple: p.Multiple, Ridge: p.Ridge, Batch: 100}
	if p.Protocol == env.Constrained {
		b, err := env.ParseBudget(p.Budget)
		if err != nil {
			return nil, err
		}
		cfg.Budget = b
	}
	if err := p.identify(); err != nil {
		return nil, err
	}
	m, err := p.Model.load(false)
	if err != nil {
		return nil, err
	}
	ds := p.ds
	held, err := ds.Load(datasets.Heldout)
	if err != nil {
		return nil, err
	}
	t := &task{p: p, cfg: cfg, m: m, ds: ds, held: held, rewardSet: held}
	if p.RewardImages > 0 && p.RewardImages < held.N {
		// The same subset for every strategy and seed; the rest of the
		// held-out split is never seen by the search (held-out order).
		perm := rand.New(rand.NewPCG(1, 1)).Perm(held.N)
		t.rewardSet = held.Subset(perm[:p.RewardImages])
		t.unseen = held.Subset(slices.Sorted(slices.Values(perm[p.RewardImages:])))
	}
	if t.a, err = prune.Analyze(m.Graph, prune.Options{Residual: p.Residual}); err != nil {
		return nil, err
	}
	if !p.NoRecon && p.Granularity != env.Fine { // fine-grained pruning has nothing to re-fit
		train, err := ds.Load(datasets.Train)
		if err != nil {
			return nil, err
		}
		if t.cal, err = prune.Calibrate(t.a, m.Params, train, m.Norm, p.CalImages, p.CalPositions, 1); err != nil {
			return nil, err
		}
	}
	if p.Granularity == env.Fine && (cfg.Budget.Kind == "latency" || p.LatencyTable) {
		return nil, fmt.Errorf("fine-grained pruning leaves the dense engine's latency unchanged: drop the latency budget or latency table (use macs= or params=)")
	}
	if p.LatencyBatch < 1 {
		p.LatencyBatch, t.p.LatencyBatch = 1, 1
	}
	if p.LatencyWorkers < 1 {
		p.LatencyWorkers, t.p.LatencyWorkers = 1, 1
	}
	if cfg.Budget.Kind == "latency" || p.LatencyTable {
		// The table needs the smallest counts the environment allows.
		probe := cfg
		probe.Protocol, probe.Budget = env.Accuracy, env.Budget{}
		e, err := env.New(probe, t.a, m.Params, nil, t.rewardSet, m.Norm)
		if err != nil {
			return nil, err
		}
		if t.cfg.Latency, err = latencyTable(p, t.a, m.Params, e.MinCounts(), progress); err != nil {
			return nil, err
		}
		cfg = t.cfg
	}
	// Fail early on an unreachable budget or bad protocol.
	if _, err := env.New(cfg, t.a, m.Params, t.cal, t.rewardSet, m.Norm); err != nil {
		return nil, err
	}
	// One bare forward pass of the unpruned network over the reward set:
	// what an episode's cost is compared with.
	start := time.Now()
	pl, err := nn.Compile(m.Graph, m.Params, 0)
	if err != nil {
		return nil, err
	}
	if _, err := evaluate.Run(pl, t.rewardSet, m.Norm, evaluate.Options{Batch: cfg.Batch}); err != nil {
		return nil, err
	}
	t.bareSec = time.Since(start).Seconds()
	return t, nil
}

// runID identifies one search run: the task (its inputs by content and its
// settings), the strategy with its parameters, the seed and the episodes.
// Its fingerprint is the one definition of "the same run": stored in the
// run's checkpoint and summary, it decides resume and skip; the task part
// alone (taskFingerprint) is what merge and collect require to be the same
// for every run under one spec name. Paths are not in it (the weights are
// named by content), so moving files keeps it.
type runID struct {
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
	Strategy                        string
	Seed                            int64
	Episodes, Warmup                int
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

// newRunID needs p identified (taskParams.identify). A registered
// strategy's warm-up (DDPG's) keeps the field it had before strategies
// took params, and its other params count where they differ from the
// strategy's defaults, so that runs made before keep their fingerprints.
func newRunID(p taskParams, sr stratRun, seed int64) (runID, error) {
	var id identity
	if p.ident != nil {
		id = *p.ident
	}
	p.LatencyBatch, p.LatencyWorkers = max(1, p.LatencyBatch), max(1, p.LatencyWorkers)
	r := runID{Spec: p.Spec, Model: p.Model.model, WeightsSHA256: id.WeightsSHA256, Data: p.Data.data,
		DataFingerprint: id.DataFingerprint, HeldoutRule: id.HeldoutRule, Protocol: p.Protocol, Budget: p.Budget,
		Reward: p.Reward, RewardImages: p.RewardImages, CalImages: p.CalImages, CalPos: p.CalPositions, Multiple: p.Multiple,
		LowerBound: p.LowerBound, Ridge: p.Ridge, Residual: p.Residual, NoRecon: p.NoRecon, Granularity: granularity(p.Granularity), FinalImages: p.FinalImages,
		LatencyBatch: p.LatencyBatch, LatencyWorkers: p.LatencyWorkers, LatencyPoints: p.LatencyPoints, LatencyTable: p.LatencyTable, Strategy: sr.Name, Seed: seed, Episodes: sr.Episodes}
	if sr.Custom != nil {
		r.Command = []string{"amc env serve"} // the client's own agent: apart from any strategy of the same name
		return r, nil
	}
	if ext := sr.Ext; ext != nil {
		r.Command = ext.Command
		if len(ext.Params) > 0 {
			b, _ := json.Marshal(ext.Params) // map keys sorted: canonical
			r.Params = string(b)
		}
		return r, nil
	}
	strat, params, err := sr.decode()
	if err != nil || params == nil {
		return r, err
	}
	defaults, _ := strat.DecodeParams(nil, sr.Episodes)
	got, def := asMap(params), asMap(defaults)
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

// asMap is a params struct as JSON values by key.
func asMap(v any) map[string]any {
	m := map[string]any{}
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &m)
	return m
}

// task is the run's task alone: the run without its spec name, strategy
// (with its parameters or command), seed and episodes.
func (r runID) task() runID {
	r.Spec, r.Strategy, r.Seed, r.Episodes, r.Warmup, r.Command, r.Params = "", "", 0, 0, 0, nil, ""
	return r
}

// taskFingerprint identifies the task alone.
func (r runID) taskFingerprint() string { return r.task().fingerprint() }

// granularity is "" for channel pruning (as before granularities existed,
// so that earlier runs keep their fingerprints) and "fine" otherwise.
func granularity(g string) string {
	if g == env.Channel {
		return ""
	}
	return g
}

func (r runID) fingerprint() string {
	b, _ := json.Marshal(r)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

func (r runID) String() string {
	return fmt.Sprintf("%s seed %d, %d episodes, model %s, %s %s", r.Strategy, r.Seed, r.Episodes, r.Model, r.Protocol, r.Budget)
}

// outState is what an output folder holds for a run.
type outState struct {
	done   *summary           // the run finished
	resume *search.Checkpoint // the run was interrupted
}

const checkpointFile = "checkpoint.gob"

// errDifferentRun marks an output folder that holds another run.
var errDifferentRun = errors.New("different run")

// inspectOut looks at outDir before a run: a finished or interrupted run
// of the same id is reported (to skip or resume it); another run there is
// refused, or with overwrite its files are removed.
func inspectOut(outDir string, id runID, overwrite bool) (outState, error) {
	st, err := inspectRun(outDir, id)
	if !overwrite || !errors.Is(err, errDifferentRun) {
		return st, err
	}
	for _, f := range []string{"summary.json", checkpointFile, "episodes.parquet", "episodes.parquet.partial", "latency-table.json"} {
		if err := os.Remove(filepath.Join(outDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return outState{}, err
		}
	}
	if err := os.RemoveAll(filepath.Join(outDir, "finetuned")); err != nil {
		return outState{}, err
	}
	return outState{}, os.RemoveAll(filepath.Join(outDir, "best"))
}

func inspectRun(outDir string, id runID) (outState, error) {
	fp := id.fingerprint()
	sumPath := filepath.Join(outDir, "summary.json")
	different := func(what, stored string) error {
		return fmt.Errorf("%s holds %s of a different run: %s; pass --overwrite to replace it, or choose another --out: %w",
			outDir, what, diffRuns(stored, id), errDifferentRun)
	}
	if b, err := os.ReadFile(sumPath); err == nil {
		s, err := readSummary(sumPath, b)
		if err != nil {
			return outState{}, fmt.Errorf("%w; pass --overwrite to replace it, or choose another --out: %w", err, errDifferentRun)
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
	cp, err := search.LoadCheckpoint(filepath.Join(outDir, checkpointFile))
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

// run searches with one strategy and seed and writes outDir/summary.json,
// outDir/episodes.parquet and outDir/best/. An interrupted run in outDir
// (its checkpoint) is continued.
func (t *task) run(sr stratRun, seed int64, outDir string, progress io.Writer) (*summary, error) {
	strategy, episodes, ext := sr.Name, sr.Episodes, sr.Ext
	if episodes < 1 {
		return nil, fmt.Errorf("episodes must be at least 1")
	}
	id, err := newRunID(t.p, sr, seed)
	if err != nil {
		return nil, err
	}
	st, err := inspectOut(outDir, id, false)
	if err != nil {
		return nil, err
	}
	if st.done != nil {
		fmt.Fprintf(progress, "%s: finished run found, not run again\n", outDir)
		if sr.Hello == nil {
			return st.done, nil
		}
	}
	e, err := env.New(t.cfg, t.a, t.m.Params, t.cal, t.rewardSet, t.m.Norm)
	if err != nil {
		return nil, err
	}
	if st.done != nil { // the client of a finished run still gets its hello
		return st.done, sr.Hello(e, episodes)
	}
	var ag agent.Agent
	kind := agent.Learner // an external agent learns: its final policy is a greedy episode
	if sr.Custom != nil {
		if ag, err = sr.Custom(e); err != nil {
			return nil, err
		}
		kind = agent.Sampler
	} else if ext != nil {
		x, err := agent.NewExternal(agent.ExternalConfig{Name: strategy, Command: ext.Command, Dir: ext.Dir, Params: ext.Params,
			StateSize: env.StateSize, Steps: len(e.GroupNames()), LowerBound: t.cfg.LowerBound, Seed: uint64(seed), Timeout: ext.Timeout,
			Task: map[string]any{"spec": t.p.Spec, "model": t.p.Model.model, "data": t.p.Data.data, "protocol": t.cfg.Protocol,
				"budget": t.p.Budget, "episodes": episodes, "groups": e.GroupNames()}})
		if err != nil {
			return nil, err
		}
		defer x.Close()
		ag = x
	} else {
		strat, params, err := sr.decode()
		if err != nil {
			return nil, err
		}
		set := agent.Setting{StateSize: env.StateSize, Steps: e.Groups(), LowerBound: t.cfg.LowerBound, Seed: uint64(seed),
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
	pr := newProgressUnit(progress, episodes, fmt.Sprintf("search %s seed %d", strategy, seed), "ep")
	start := time.Now()
	cpPath := filepath.Join(outDir, checkpointFile)
	opt := search.Options{Spec: t.p.Spec, Run: id.fingerprint(), Seed: seed, Episodes: episodes, Greedy: kind == agent.Learner, Log: log.Write, Resume: st.resume,
		Progress: func(done, total int, _ float64) { pr.update(done, total) },
		Checkpoint: func(c *search.Checkpoint) error {
			c.Fingerprint, c.Describe = id.fingerprint(), id.describe()
			return search.SaveCheckpoint(cpPath, c)
		}}
	var before float64 // search seconds spent before an interruption
	if st.resume != nil {
		fmt.Fprintf(progress, "%s: resuming after episode %d of %d\n", outDir, len(st.resume.Rows), episodes)
		for _, r := range st.resume.Rows {
			before += r.WallSec
		}
	}
	if sr.Hello != nil {
		played := 0
		if st.resume != nil {
			played = len(st.resume.Rows)
		}
		if err := sr.Hello(e, played); err != nil {
			return nil, err
		}
	}
	best, err := search.Run(e, ag, opt)
	pr.finish()
	if err != nil {
		log.Abort()
		return nil, err
	}
	if err := log.Close(); err != nil {
		return nil, err
	}
	searchSec := before + time.Since(start).Seconds()
	var fit *latencyFit
	if t.cfg.Budget.Kind == "latency" && t.cfg.Protocol == env.Constrained {
		if fit, err = t.fitLatency(e, &best); err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "latency fit: measured %.3f of the unpruned latency before, %.3f after (budget %.3f, %d measurements)\n",
			fit.Before, fit.After, t.cfg.Budget.Fraction, fit.Measurements)
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
	tres, err := evaluate.Run(pl, test, t.m.Norm, evaluate.Options{Limit: t.p.FinalImages})
	if err != nil {
		return nil, err
	}
	// Latency of the best network against the unpruned one, measured
	// alternately so that drift affects both alike.
	var lat, baseLat []float64
	for k := 0; k < 3; k++ {
		for _, m := range []struct {
			g   *nn.Graph
			p   nn.Params
			out *[]float64
		}{{r.PrunedGraph, r.PrunedParam, &lat}, {t.m.Graph, t.m.Params, &baseLat}} {
			sec, err := env.MeasureLatency(m.g, m.p, t.p.LatencyBatch, t.p.LatencyWorkers, 20)
			if err != nil {
				return nil, err
			}
			*m.out = append(*m.out, sec)
		}
	}
	latMS, baseMS := median(lat)*1e3, median(baseLat)*1e3
	base, err := t.baseAccuracy()
	if err != nil {
		return nil, err
	}
	s := &summary{Spec: t.p.Spec, Family: t.p.Family, Model: t.p.Model.model, Weights: t.p.Model.weights, Data: t.p.Data.data, Strategy: strategy,
		Seed: seed, Protocol: t.cfg.Protocol, Budget: t.cfg.Budget, Reward: t.cfg.Reward, Granularity: granularity(t.p.Granularity), Episodes: episodes,
		BestEpisode: best.Episode, BestReward: r.Reward, RewardTop1: r.Top1, RewardImages: t.rewardSet.N,
		UnseenTop1: hres.Top1, UnseenImages: hres.N, TestTop1: tres.Top1, MACs: r.MACs, Params: r.Params,
		MACsRatio: float64(r.MACs) / float64(e.BaseMACs()), ParamsRatio: float64(r.Params) / float64(e.BaseParams()),
		SearchSeconds: searchSec, EpisodeSeconds: searchSec / float64(episodes), BLAS: nn.BLASName,
		Fingerprint: id.fingerprint(), Run: id.String(), RunID: &id, TaskFingerprint: id.taskFingerprint(),
		WeightsSHA256: id.WeightsSHA256, DataFingerprint: id.DataFingerprint, HeldoutRule: id.HeldoutRule, WeightsSource: t.weightsSource(),
		LatencyMS: latMS, BaseLatencyMS: baseMS, LatencyRatio: latMS / baseMS, LatencyBatch: t.p.LatencyBatch, LatencyWorkers: t.p.LatencyWorkers,
		BareForwardSec: t.bareSec, BaseUnseenTop1: base[0], BaseTestTop1: base[1], LatencyFit: fit,
		BestPolicy: map[string]float64{}, BestKept: map[string]int{}}
	if t.cal != nil {
		s.CalibSeconds = t.cal.Seconds
	}
	if lt := t.cfg.Latency; lt != nil {
		s.PredLatencyRatio = r.Latency / lt.Full
		s.LatencyTableSec = lt.MeasureSec
	}
	for i, name := range e.GroupNames() {
		s.BestPolicy[name] = r.Ratios[i]
		s.BestKept[name] = r.Counts[i]
	}
	cnt, _ := t.m.Graph.Count()
	spec := &prune.Spec{BaseModel: t.p.Model.model, SourceWeights: t.p.Model.weights, Normalization: t.m.Norm,
		Residual: t.p.Residual, Multiple: t.p.Multiple, Criterion: "l1-in", Layers: prune.LayerSpecs(t.m.Graph, r.PrunedGraph),
		MACs: r.MACs, Params: r.Params, BaseMACs: cnt.MACs, BaseParams: cnt.Params}
	if e.Granularity() == env.Fine {
		// The structure is the unpruned one; the densities say what is zero.
		spec.Criterion, spec.Residual, spec.Density = "magnitude", false, r.Density
		spec.MACs, spec.Params = cnt.MACs, cnt.Params
	} else {
		for i, grp := range t.a.Groups {
			spec.Groups = append(spec.Groups, prune.GroupSpec{Name: grp.Name, Channels: grp.Channels, Ratio: r.Ratios[i], Kept: r.Kept[i]})
		}
	}
	if err := prune.Save(filepath.Join(outDir, "best"), spec, r.PrunedParam); err != nil {
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

func median(x []float64) float64 {
	y := append([]float64(nil), x...)
	sort.Float64s(y)
	return y[len(y)/2]
}

// latencyTable reads p.LatencyFile if it exists, or measures the table and
// saves it there.
func latencyTable(p taskParams, a *prune.Analysis, params nn.Params, minCounts []int, progress io.Writer) (*env.LatencyTable, error) {
	if p.LatencyFile != "" {
		b, err := os.ReadFile(p.LatencyFile)
		if err == nil {
			var lt env.LatencyTable
			if err := json.Unmarshal(b, &lt); err != nil {
				return nil, fmt.Errorf("latency table %s is damaged (%v); delete it to measure again", p.LatencyFile, err)
			}
			if err := lt.Check(a); err != nil {
				return nil, fmt.Errorf("%s: %w; delete it to measure again", p.LatencyFile, err)
			}
			points := p.LatencyPoints
			if points < 2 {
				points = 8 // MeasureLatencyTable's default
			}
			if !slices.Equal(lt.MinCounts, minCounts) || lt.Points != points {
				return nil, fmt.Errorf("latency table %s was measured for other bounds or grid (lower bound, channel multiple, points); delete it to measure again", p.LatencyFile)
			}
			if lt.Batch != p.LatencyBatch || lt.Workers != p.LatencyWorkers {
				return nil, fmt.Errorf("latency table %s was measured at batch %d on %d threads, not %d on %d; delete it to measure again",
					p.LatencyFile, lt.Batch, lt.Workers, p.LatencyBatch, p.LatencyWorkers)
			}
			return &lt, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	if progress != nil {
		fmt.Fprintf(progress, "measuring the latency table (%d groups x %d counts, batch %d, %d threads)...\n", len(a.Groups), max(2, p.LatencyPoints), p.LatencyBatch, p.LatencyWorkers)
	}
	lt, err := env.MeasureLatencyTable(a, params, minCounts, env.LatencyOptions{Batch: p.LatencyBatch, Workers: p.LatencyWorkers, Points: p.LatencyPoints})
	if err != nil {
		return nil, err
	}
	if p.LatencyFile != "" {
		b, _ := json.MarshalIndent(lt, "", " ")
		if err := atomicfile.WriteBytes(p.LatencyFile, append(b, '\n')); err != nil {
			return nil, err
		}
	}
	return lt, nil
}

// latencyFit records the closed loop that brings a latency search's best
// policy to its budget on measured latency.
type latencyFit struct {
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
func (t *task) fitLatency(e *env.Env, best *search.Best) (*latencyFit, error) {
	batch, workers := t.p.LatencyBatch, t.p.LatencyWorkers
	baseSec, err := env.MeasureLatency(t.m.Graph, t.m.Params, batch, workers, 20)
	if err != nil {
		return nil, err
	}
	mins := e.MinCounts()
	countsAt := func(f float64) []int {
		c := make([]int, len(t.a.Groups))
		for i, g := range t.a.Groups {
			c[i] = max(mins[i], prune.KeepCount(g.Channels, math.Min(1, best.Result.Ratios[i]*f), t.cfg.Multiple))
		}
		return c
	}
	fit := &latencyFit{Factor: 1}
	measure := func(counts []int) (float64, error) {
		fit.Measurements++
		sec, err := env.MeasurePruned(t.a, t.m.Params, counts, batch, workers, 20)
		return sec / baseSec, err
	}
	budget := t.cfg.Budget.Fraction
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
	for i, g := range t.a.Groups {
		ratios[i] = float64(counts[i]) / float64(g.Channels)
	}
	cfg := t.cfg
	cfg.Protocol, cfg.Budget, cfg.Reward = env.Accuracy, env.Budget{}, "err"
	free, err := env.New(cfg, t.a, t.m.Params, t.cal, t.rewardSet, t.m.Norm)
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
func (t *task) weightsSource() string {
	if t.m.File == nil {
		return ""
	}
	return t.m.File.Meta[weights.MetaSource]
}

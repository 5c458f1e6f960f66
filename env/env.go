// Package env is the compression environment of AMC: an episode walks the
// prunable groups in order; at each group the strategy sees an 11-feature
// state and answers a preserve ratio; after the last group the network is
// pruned for real, re-fitted by least squares on cached calibration
// statistics, and evaluated without fine-tuning on the reward set.
package env

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/evaluate"
	"github.com/amcbench/amc/internal/suggest"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
)

// Protocols.
const (
	Constrained = "constrained" // best accuracy under a budget, met exactly
	Accuracy    = "accuracy"    // smallest model without accuracy loss
)

// Budget is a resource limit as a fraction of the original model's value.
type Budget struct {
	Kind     string  `json:"kind"` // "macs", "params" or "latency"
	Fraction float64 `json:"fraction"`
}

// BudgetKinds are the resources a budget can limit.
var BudgetKinds = []string{"macs", "params", "latency"}

// ParseBudget reads "macs=0.5", "params=0.3" or "latency=0.5" (a fraction
// of the unpruned model's Go-engine latency).
func ParseBudget(s string) (Budget, error) {
	k, v, ok := strings.Cut(s, "=")
	f, err := strconv.ParseFloat(v, 64)
	if !ok || err != nil || !(f > 0 && f <= 1) {
		return Budget{}, fmt.Errorf("budget %q: want RESOURCE=F with F in (0, 1], as in macs=0.5; resources: %s", s, strings.Join(BudgetKinds, ", "))
	}
	switch k {
	case "macs", "params", "latency":
		return Budget{Kind: k, Fraction: f}, nil
	}
	return Budget{}, fmt.Errorf("budget %q: unknown resource %q%s; valid: %s", s, k, suggest.DidYouMean(k, BudgetKinds), strings.Join(BudgetKinds, ", "))
}

// Config describes a task.
type Config struct {
	Protocol   string  // Constrained or Accuracy
	Budget     Budget  // for Constrained
	Reward     string  // "err" (constrained), "flops" or "params" (accuracy-guaranteed)
	LowerBound float64 // smallest preserve ratio (official AMC: 0.2)
	Multiple   int     // channel-count rounding
	Ridge      float64 // reconstruction ridge
	Batch      int     // evaluation batch
	// Latency predicts latencies; required by a latency budget, and used
	// for every episode's predicted latency when set.
	Latency *LatencyTable
}

// Env is one compression task.
type Env struct {
	cfg        Config
	a          *prune.Analysis
	params     nn.Params
	cal        *prune.Calibration // nil: selection only
	rewardSet  *datasets.Images
	norm       datasets.Normalization
	baseMACs   int64
	baseParams int64
	minCounts  []int
	static     [][]float64 // per group: normalised static features
	// episode state
	t      int
	counts []int
	ratios []float64
	prev   float64
	result Result
}

// Result is a finished episode's outcome.
type Result struct {
	Ratios      []float64 // applied preserve ratios per group
	Counts      []int     // kept channels per group
	MACs        int64
	Params      int64
	Latency     float64 // predicted seconds (0 without a latency table)
	Top1        float64 // percent, on the reward set
	Reward      float64
	PruneSec    float64 // surgery
	ReconSec    float64 // least-squares re-fit
	EvalSec     float64 // compile + forward over the reward set
	Kept        [][]int
	PrunedGraph *nn.Graph
	PrunedParam nn.Params
}

// New prepares a task. cal may be nil (no reconstruction).
func New(cfg Config, a *prune.Analysis, params nn.Params, cal *prune.Calibration, rewardSet *datasets.Images, norm datasets.Normalization) (*Env, error) {
	if len(a.Groups) == 0 {
		return nil, fmt.Errorf("env: the model has no prunable groups")
	}
	if cfg.LowerBound <= 0 || cfg.LowerBound > 1 {
		return nil, fmt.Errorf("env: lower bound %v must be in (0, 1]", cfg.LowerBound)
	}
	if cfg.Multiple < 1 {
		cfg.Multiple = 1
	}
	switch cfg.Protocol {
	case Constrained:
		if cfg.Reward == "" {
			cfg.Reward = "err"
		}
	case Accuracy:
		if cfg.Reward == "" {
			cfg.Reward = "flops"
		}
	default:
		return nil, fmt.Errorf("unknown protocol %q%s; valid: constrained, accuracy", cfg.Protocol, suggest.DidYouMean(cfg.Protocol, []string{Constrained, Accuracy}))
	}
	switch cfg.Reward {
	case "err", "flops", "params":
	default:
		return nil, fmt.Errorf("unknown reward %q%s; valid: err (constrained), flops, params (accuracy-guaranteed)", cfg.Reward, suggest.DidYouMean(cfg.Reward, []string{"err", "flops", "params"}))
	}
	e := &Env{cfg: cfg, a: a, params: params, cal: cal, rewardSet: rewardSet, norm: norm}
	full := make([]int, len(a.Groups))
	e.minCounts = make([]int, len(a.Groups))
	for i, g := range a.Groups {
		full[i] = g.Channels
		// The smallest count whose ratio is not below the bound.
		m := cfg.Multiple
		e.minCounts[i] = min(g.Channels, max(m, int(math.Ceil(cfg.LowerBound*float64(g.Channels)/float64(m)-1e-9))*m))
	}
	e.baseMACs, e.baseParams = a.PredictMACs(full), a.PredictParams(full)
	if cfg.Latency != nil {
		if err := cfg.Latency.Check(a); err != nil {
			return nil, fmt.Errorf("env: %w", err)
		}
	}
	if cfg.Protocol == Constrained {
		if cfg.Budget.Kind == "latency" && cfg.Latency == nil {
			return nil, fmt.Errorf("env: a latency budget needs a measured latency table")
		}
		if low := e.cost(e.minCounts); low > e.target() {
			return nil, fmt.Errorf("budget %s=%.3f cannot be met with preserve ratios >= %.2f: the smallest reachable is %s=%.3f",
				cfg.Budget.Kind, cfg.Budget.Fraction, cfg.LowerBound, cfg.Budget.Kind, low/e.base())
		}
	}
	e.static = staticFeatures(a)
	return e, nil
}

// base is the unpruned model's value of the budget's resource.
func (e *Env) base() float64 {
	switch e.cfg.Budget.Kind {
	case "params":
		return float64(e.baseParams)
	case "latency":
		return e.cfg.Latency.Full
	}
	return float64(e.baseMACs)
}

// target is the budget in the resource's units. MACs and params are whole
// numbers, so their target is rounded down.
func (e *Env) target() float64 {
	t := e.cfg.Budget.Fraction * e.base()
	if e.cfg.Budget.Kind != "latency" {
		t = math.Floor(t)
	}
	return t
}

// cost is the resource used by the network pruned to counts.
func (e *Env) cost(counts []int) float64 {
	switch e.cfg.Budget.Kind {
	case "params":
		return float64(e.a.PredictParams(counts))
	case "latency":
		return e.cfg.Latency.Predict(counts)
	}
	return float64(e.a.PredictMACs(counts))
}

// BaseLatency is the unpruned model's measured latency in seconds (0
// without a latency table).
func (e *Env) BaseLatency() float64 {
	if e.cfg.Latency == nil {
		return 0
	}
	return e.cfg.Latency.Full
}

// Groups is the number of steps per episode.
func (e *Env) Groups() int { return len(e.a.Groups) }

// GroupNames lists the groups in episode order.
func (e *Env) GroupNames() []string {
	n := make([]string, len(e.a.Groups))
	for i, g := range e.a.Groups {
		n[i] = g.Name
	}
	return n
}

// MinCounts is the smallest kept count of every group under the lower
// bound and the channel multiple.
func (e *Env) MinCounts() []int { return append([]int(nil), e.minCounts...) }

// BaseMACs and BaseParams are the unpruned model's costs.
func (e *Env) BaseMACs() int64   { return e.baseMACs }
func (e *Env) BaseParams() int64 { return e.baseParams }

// staticFeatures are the per-group features that do not change within an
// episode, each min-max normalised over the groups: index, out channels,
// in channels, h, w, stride, kernel, MACs, MACs of the groups after it.
func staticFeatures(a *prune.Analysis) [][]float64 {
	T := len(a.Groups)
	raw := make([][]float64, T)
	var rest int64
	for i := T - 1; i >= 0; i-- {
		g := a.Groups[i]
		raw[i] = []float64{float64(i), float64(g.Channels), float64(g.InC), float64(g.H), float64(g.W),
			float64(g.Stride), float64(g.Kernel), float64(g.MACs), float64(rest)}
		rest += g.MACs
	}
	for f := range raw[0] {
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := range raw {
			lo, hi = math.Min(lo, raw[i][f]), math.Max(hi, raw[i][f])
		}
		for i := range raw {
			if hi > lo {
				raw[i][f] = (raw[i][f] - lo) / (hi - lo)
			} else {
				raw[i][f] = 0
			}
		}
	}
	return raw
}

// StateSize is the number of state features (the paper's 11).
const StateSize = 11

// state builds the 11 features of group t: index, n, c, h, w, stride, k,
// MACs (static, normalised), MACs removed so far and MACs still to come
// (fractions of the original), and the previous action.
func (e *Env) state(t int) []float64 {
	s := make([]float64, 0, StateSize)
	st := e.static[t]
	s = append(s, st[:8]...)
	counts := make([]int, len(e.counts))
	copy(counts, e.counts)
	for i := t; i < len(counts); i++ {
		counts[i] = e.a.Groups[i].Channels
	}
	reduced := float64(e.baseMACs-e.a.PredictMACs(counts)) / float64(e.baseMACs)
	var rest int64
	for i := t + 1; i < len(e.a.Groups); i++ {
		rest += e.a.Groups[i].MACs
	}
	s = append(s, reduced, float64(rest)/float64(e.baseMACs), e.prev)
	return s
}

// Reset starts an episode and returns the first state.
func (e *Env) Reset() []float64 {
	e.t, e.prev = 0, 0
	e.counts = make([]int, len(e.a.Groups))
	for i, g := range e.a.Groups {
		e.counts[i] = g.Channels
	}
	e.ratios = make([]float64, len(e.a.Groups))
	return e.state(0)
}

// Step applies a preserve ratio to the current group: clamped to
// [LowerBound, 1] and, in the constrained protocol, capped so that the
// budget stays reachable if every later group is cut to its bound. It
// returns the applied ratio, the next state (nil when the episode is over)
// and, at the end, evaluates the pruned network.
func (e *Env) Step(ratio float64) (applied float64, next []float64, err error) {
	if e.t >= len(e.a.Groups) {
		return 0, nil, fmt.Errorf("env: episode is over; call Reset")
	}
	if math.IsNaN(ratio) {
		return 0, nil, fmt.Errorf("env: action is NaN")
	}
	t := e.t
	g := e.a.Groups[t]
	ratio = math.Min(1, math.Max(e.cfg.LowerBound, ratio))
	c := prune.KeepCount(g.Channels, ratio, e.cfg.Multiple)
	c = max(c, e.minCounts[t])
	if e.cfg.Protocol == Constrained {
		c = min(c, e.capAt(t))
	}
	e.counts[t] = c
	applied = float64(c) / float64(g.Channels)
	e.ratios[t] = applied
	e.prev = applied
	e.t++
	if e.t < len(e.a.Groups) {
		return applied, e.state(e.t), nil
	}
	return applied, nil, e.finish()
}

// capAt is the largest allowed count for group t such that the budget is
// still met when every later group is cut to its minimum.
func (e *Env) capAt(t int) int {
	counts := append([]int(nil), e.counts...)
	for i := t + 1; i < len(counts); i++ {
		counts[i] = e.minCounts[i]
	}
	g := e.a.Groups[t]
	ok := func(c int) bool {
		counts[t] = c
		return e.cost(counts) <= e.target()
	}
	if ok(g.Channels) {
		return g.Channels
	}
	// Allowed counts: multiples of Multiple from the minimum up (costs grow with c).
	lo, hi := e.minCounts[t], g.Channels // ok(lo) holds by construction
	m := e.cfg.Multiple
	for hi-lo > m {
		mid := lo + ((hi-lo)/2)/m*m
		if mid == lo {
			mid = lo + m
		}
		if ok(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// finish prunes, re-fits and evaluates the episode's policy.
func (e *Env) finish() error {
	r := Result{Ratios: append([]float64(nil), e.ratios...), Counts: append([]int(nil), e.counts...)}
	t0 := time.Now()
	kept := e.a.Select(e.params, e.counts, prune.L1In{})
	pg, pp, err := e.a.Apply(e.params, kept)
	if err != nil {
		return err
	}
	r.PruneSec = time.Since(t0).Seconds()
	if e.cal != nil {
		t0 = time.Now()
		if err := e.cal.Reconstruct(pg, pp, kept, e.cfg.Ridge); err != nil {
			return err
		}
		r.ReconSec = time.Since(t0).Seconds()
	}
	t0 = time.Now()
	pl, err := nn.Compile(pg, pp, 0)
	if err != nil {
		return err
	}
	res, err := evaluate.Run(pl, e.rewardSet, e.norm, evaluate.Options{Batch: e.cfg.Batch})
	if err != nil {
		return err
	}
	r.EvalSec = time.Since(t0).Seconds()
	r.Top1 = res.Top1
	r.MACs, r.Params = e.a.PredictMACs(e.counts), e.a.PredictParams(e.counts)
	if e.cfg.Latency != nil {
		r.Latency = e.cfg.Latency.Predict(e.counts)
	}
	errRate := 1 - res.Top1/100
	switch e.cfg.Reward {
	case "err":
		r.Reward = -errRate
	case "flops":
		r.Reward = -errRate * math.Log(float64(r.MACs))
	case "params":
		r.Reward = -errRate * math.Log(float64(r.Params))
	}
	r.Kept, r.PrunedGraph, r.PrunedParam = kept, pg, pp
	e.result = r
	return nil
}

// Result returns the last finished episode's outcome.
func (e *Env) Result() Result { return e.result }

// FitShape returns per-group preserve ratios proportional to shape, scaled
// by the largest factor whose policy meets the budget (constrained
// protocol), each within [LowerBound, 1]. Hand-crafted baselines use it.
func (e *Env) FitShape(shape []float64) ([]float64, error) {
	if len(shape) != len(e.a.Groups) {
		return nil, fmt.Errorf("env: shape has %d entries for %d groups", len(shape), len(e.a.Groups))
	}
	policy := func(s float64) ([]float64, []int) {
		r := make([]float64, len(shape))
		c := make([]int, len(shape))
		for i, v := range shape {
			r[i] = math.Min(1, math.Max(e.cfg.LowerBound, s*v))
			c[i] = max(e.minCounts[i], prune.KeepCount(e.a.Groups[i].Channels, r[i], e.cfg.Multiple))
		}
		return r, c
	}
	if e.cfg.Protocol != Constrained {
		r, _ := policy(1)
		return r, nil
	}
	lo, hi := 0.0, 1.0
	for _, v := range shape {
		if v > 0 {
			hi = math.Max(hi, 1/v)
		}
	}
	for hi-lo > 1e-5 {
		mid := (lo + hi) / 2
		if _, c := policy(mid); e.cost(c) <= e.target() {
			lo = mid
		} else {
			hi = mid
		}
	}
	r, _ := policy(lo)
	return r, nil
}

// Package env is the compression environment of AMC: an episode walks the
// prunable groups in order; at each group the strategy sees an 11-feature
// state and answers a preserve ratio; after the last group the network is
// pruned for real, re-fitted by least squares on cached calibration
// statistics, and evaluated without fine-tuning on the reward set.
//
// With Granularity Fine the episode walks the conv and linear layers
// instead, the action is the fraction of a layer's weights kept (density),
// and the smallest-magnitude weights become zeros (no reconstruction); MACs
// and params then count nonzero weights only.
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

// Granularities: what an action removes.
const (
	Channel = "channel" // whole channels (structured; the default)
	Fine    = "fine"    // single weights by magnitude (unstructured sparsity)
)

// Config describes a task.
type Config struct {
	Granularity string  // Channel ("" too) or Fine
	Protocol    string  // Constrained or Accuracy
	Budget      Budget  // for Constrained
	Reward      string  // "err" (constrained), "flops" or "params" (accuracy-guaranteed)
	LowerBound  float64 // smallest preserve ratio (official AMC: 0.2)
	Multiple    int     // channel-count rounding
	Ridge       float64 // reconstruction ridge
	Batch       int     // evaluation batch
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
	units      []unit           // the episode's steps: channel groups, or layers (Fine)
	orders     map[string][]int // Fine: each layer's weights by magnitude, sorted once
	static     [][]float64      // per unit: normalised static features
	// episode state
	t      int
	counts []int
	ratios []float64
	prev   float64
	result Result
}

// unit is one step of an episode: a channel group, or (Fine) a conv or
// linear layer whose Full is its weight count.
type unit struct {
	name                          string
	full                          int   // channels, or weights (Fine)
	macs                          int64 // MACs that scale with the unit
	outC, inC, h, w, stride, kern int
}

func (e *Env) fine() bool { return e.cfg.Granularity == Fine }

// Result is a finished episode's outcome.
type Result struct {
	Ratios      []float64 // applied preserve ratios (Fine: densities) per group
	Counts      []int     // kept channels (Fine: weights) per group
	MACs        int64     // Fine: MACs of nonzero weights only
	Params      int64     // Fine: nonzero params
	Latency     float64   // predicted seconds (0 without a latency table)
	Top1        float64   // percent, on the reward set
	Reward      float64
	PruneSec    float64            // surgery
	ReconSec    float64            // least-squares re-fit
	EvalSec     float64            // compile + forward over the reward set
	Kept        [][]int            // kept channel indices per group (nil for Fine)
	Density     map[string]float64 // Fine: fraction of weights kept per layer
	PrunedGraph *nn.Graph
	PrunedParam nn.Params
}

// New prepares a task. cal may be nil (no reconstruction).
func New(cfg Config, a *prune.Analysis, params nn.Params, cal *prune.Calibration, rewardSet *datasets.Images, norm datasets.Normalization) (*Env, error) {
	if !(cfg.LowerBound > 0 && cfg.LowerBound <= 1) { // NaN fails both
		return nil, fmt.Errorf("env: lower bound %v must be in (0, 1]", cfg.LowerBound)
	}
	if cfg.Multiple < 1 {
		cfg.Multiple = 1
	}
	switch cfg.Granularity {
	case "":
		cfg.Granularity = Channel
	case Channel:
	case Fine:
		if cfg.Budget.Kind == "latency" || cfg.Latency != nil {
			return nil, fmt.Errorf("env: fine-grained pruning leaves the dense engine's latency unchanged; use a macs or params budget")
		}
		cfg.Multiple = 1
	default:
		return nil, fmt.Errorf("unknown granularity %q%s; valid: channel, fine", cfg.Granularity, suggest.DidYouMean(cfg.Granularity, []string{Channel, Fine}))
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
	full := a.FullCounts()
	e.baseMACs, e.baseParams = a.PredictMACs(full), a.PredictParams(full)
	if e.fine() {
		e.cal = nil // no reconstruction: the zeros are the whole change
		e.orders = map[string][]int{}
		for i, n := range a.Graph.Nodes {
			if n.Op != nn.OpConv && n.Op != nn.OpLinear {
				continue
			}
			w, ok := params[n.Name+".weight"]
			if !ok || len(w.Data) == 0 {
				return nil, fmt.Errorf("env: layer %s has no weights", n.Name)
			}
			zeros := 0
			for _, v := range w.Data {
				if v == 0 {
					zeros++
				}
			}
			if zeros*100 > len(w.Data) {
				return nil, fmt.Errorf("env: layer %s is already sparse (%d of %d weights are zero); fine-grained search needs a dense model", n.Name, zeros, len(w.Data))
			}
			e.orders[n.Name] = prune.MagnitudeOrder(w.Data)
			in := a.Shapes[n.Inputs[0]]
			e.units = append(e.units, unit{name: n.Name, full: len(w.Data), macs: nn.NodeMACs(n, a.Shapes[i]),
				outC: n.OutC, inC: n.InC, h: in.H, w: in.W, stride: max(1, n.Stride), kern: max(1, n.Kernel)})
		}
	} else {
		for _, g := range a.Groups {
			e.units = append(e.units, unit{name: g.Name, full: g.Channels, macs: g.MACs,
				outC: g.Channels, inC: g.InC, h: g.H, w: g.W, stride: g.Stride, kern: g.Kernel})
		}
	}
	if len(e.units) == 0 {
		return nil, fmt.Errorf("env: the model has no prunable %s", map[bool]string{false: "groups", true: "layers"}[e.fine()])
	}
	e.minCounts = make([]int, len(e.units))
	for i, u := range e.units {
		// The smallest count whose ratio is not below the bound.
		m := cfg.Multiple
		e.minCounts[i] = min(u.full, max(m, int(math.Ceil(cfg.LowerBound*float64(u.full)/float64(m)-1e-9))*m))
	}
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
	e.static = staticFeatures(e.units)
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
		return float64(e.paramsOf(counts))
	case "latency":
		return e.cfg.Latency.Predict(counts)
	}
	return float64(e.macsOf(counts))
}

// macsOf and paramsOf are the pruned network's MACs and params; for Fine,
// those of its nonzero weights (a layer's MACs scale with its density).
func (e *Env) macsOf(counts []int) int64 {
	if !e.fine() {
		return e.a.PredictMACs(counts)
	}
	m := e.baseMACs
	for i, u := range e.units {
		m -= int64(math.Round(float64(u.macs) * float64(u.full-counts[i]) / float64(u.full)))
	}
	return m
}

func (e *Env) paramsOf(counts []int) int64 {
	if !e.fine() {
		return e.a.PredictParams(counts)
	}
	p := e.baseParams
	for i, u := range e.units {
		p -= int64(u.full - counts[i])
	}
	return p
}

// countFor is the count a ratio keeps in unit i (before bounds and caps).
func (e *Env) countFor(i int, ratio float64) int {
	if e.fine() {
		return max(1, int(math.Round(ratio*float64(e.units[i].full))))
	}
	return prune.KeepCount(e.units[i].full, ratio, e.cfg.Multiple)
}

// BaseLatency is the unpruned model's measured latency in seconds (0
// without a latency table).
func (e *Env) BaseLatency() float64 {
	if e.cfg.Latency == nil {
		return 0
	}
	return e.cfg.Latency.Full
}

// Groups is the number of steps per episode (Fine: layers).
func (e *Env) Groups() int { return len(e.units) }

// GroupNames lists the groups (Fine: layers) in episode order.
func (e *Env) GroupNames() []string {
	n := make([]string, len(e.units))
	for i, u := range e.units {
		n[i] = u.name
	}
	return n
}

// Granularity is Channel or Fine.
func (e *Env) Granularity() string { return e.cfg.Granularity }

// MinCounts is the smallest kept count of every group under the lower
// bound and the channel multiple.
func (e *Env) MinCounts() []int { return append([]int(nil), e.minCounts...) }

// BaseMACs and BaseParams are the unpruned model's costs.
func (e *Env) BaseMACs() int64   { return e.baseMACs }
func (e *Env) BaseParams() int64 { return e.baseParams }

// staticFeatures are the per-unit features that do not change within an
// episode, each min-max normalised over the units: index, out channels,
// in channels, h, w, stride, kernel, MACs. (The MACs still to come are a
// state feature too, but as a fraction of the original network's MACs:
// state computes it.)
func staticFeatures(units []unit) [][]float64 {
	raw := make([][]float64, len(units))
	for i, u := range units {
		raw[i] = []float64{float64(i), float64(u.outC), float64(u.inC), float64(u.h), float64(u.w),
			float64(u.stride), float64(u.kern), float64(u.macs)}
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

// StateHigh is the largest value each state feature takes: 1, except the
// MACs still to come, a fraction of the network's MACs that can exceed 1
// (a layer reading one group and writing another counts in both groups, so
// the groups' MACs add up to more than the network's: Plain-20 1.92 at the
// first group). Every feature is at least 0.
func (e *Env) StateHigh() []float64 {
	h := make([]float64, StateSize)
	for i := range h {
		h[i] = 1
	}
	var rest int64
	for i := 1; i < len(e.units); i++ {
		rest += e.units[i].macs
	}
	h[9] = math.Max(1, float64(rest)/float64(e.baseMACs))
	return h
}

// state builds the 11 features of group t: index, n, c, h, w, stride, k,
// MACs (static, normalised), MACs removed so far and MACs still to come
// (fractions of the original), and the previous action.
func (e *Env) state(t int) []float64 {
	s := make([]float64, 0, StateSize)
	st := e.static[t]
	s = append(s, st...)
	counts := make([]int, len(e.counts))
	copy(counts, e.counts)
	for i := t; i < len(counts); i++ {
		counts[i] = e.units[i].full
	}
	reduced := float64(e.baseMACs-e.macsOf(counts)) / float64(e.baseMACs)
	var rest int64
	for i := t + 1; i < len(e.units); i++ {
		rest += e.units[i].macs
	}
	s = append(s, reduced, float64(rest)/float64(e.baseMACs), e.prev)
	return s
}

// Reset starts an episode and returns the first state.
func (e *Env) Reset() []float64 {
	e.t, e.prev = 0, 0
	e.counts = make([]int, len(e.units))
	for i, u := range e.units {
		e.counts[i] = u.full
	}
	e.ratios = make([]float64, len(e.units))
	return e.state(0)
}

// Step applies a preserve ratio to the current group: clamped to
// [LowerBound, 1] and, in the constrained protocol, capped so that the
// budget stays reachable if every later group is cut to its bound. It
// returns the applied ratio, the next state (nil when the episode is over)
// and, at the end, evaluates the pruned network.
func (e *Env) Step(ratio float64) (applied float64, next []float64, err error) {
	if e.t >= len(e.units) {
		return 0, nil, fmt.Errorf("env: episode is over; call Reset")
	}
	if math.IsNaN(ratio) {
		return 0, nil, fmt.Errorf("env: action is NaN")
	}
	t := e.t
	full := e.units[t].full
	ratio = math.Min(1, math.Max(e.cfg.LowerBound, ratio))
	c := e.countFor(t, ratio)
	c = max(c, e.minCounts[t])
	if e.cfg.Protocol == Constrained {
		c = min(c, e.capAt(t))
	}
	e.counts[t] = c
	applied = float64(c) / float64(full)
	e.ratios[t] = applied
	e.prev = applied
	e.t++
	if e.t < len(e.units) {
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
	full := e.units[t].full
	ok := func(c int) bool {
		counts[t] = c
		return e.cost(counts) <= e.target()
	}
	if ok(full) {
		return full
	}
	// Allowed counts: multiples of Multiple from the minimum up (costs grow with c).
	lo, hi := e.minCounts[t], full // ok(lo) holds by construction
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
	if e.fine() {
		return e.finishFine(r)
	}
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
	r.Kept = kept
	return e.evaluate(r, pg, pp)
}

// finishFine zeroes each layer's smallest-magnitude weights down to the
// episode's densities and evaluates the network.
func (e *Env) finishFine(r Result) error {
	t0 := time.Now()
	r.Density = make(map[string]float64, len(e.units))
	for i, u := range e.units {
		r.Density[u.name] = float64(e.counts[i]) / float64(u.full)
	}
	pp, err := prune.SparsifyOrdered(e.a.Graph, e.params, r.Density, e.orders)
	if err != nil {
		return err
	}
	r.PruneSec = time.Since(t0).Seconds()
	return e.evaluate(r, e.a.Graph, pp)
}

// evaluate measures the pruned network pg/pp on the reward set and fills
// r's accuracy, costs and reward.
func (e *Env) evaluate(r Result, pg *nn.Graph, pp nn.Params) error {
	t0 := time.Now()
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
	r.MACs, r.Params = e.macsOf(e.counts), e.paramsOf(e.counts)
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
	r.PrunedGraph, r.PrunedParam = pg, pp
	e.result = r
	return nil
}

// Result returns the last finished episode's outcome.
func (e *Env) Result() Result { return e.result }

// FitShape returns per-group preserve ratios proportional to shape, scaled
// by the largest factor whose policy meets the budget (constrained
// protocol), each within [LowerBound, 1]. Hand-crafted baselines use it.
func (e *Env) FitShape(shape []float64) ([]float64, error) {
	if len(shape) != len(e.units) {
		return nil, fmt.Errorf("env: shape has %d entries for %d groups", len(shape), len(e.units))
	}
	policy := func(s float64) ([]float64, []int) {
		r := make([]float64, len(shape))
		c := make([]int, len(shape))
		for i, v := range shape {
			r[i] = math.Min(1, math.Max(e.cfg.LowerBound, s*v))
			c[i] = max(e.minCounts[i], e.countFor(i, r[i]))
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

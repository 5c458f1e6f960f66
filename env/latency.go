package env

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
)

// LatencyTable predicts the Go engine's latency of a pruned network from
// its kept channel counts. It is measured once per task: for every group
// and a grid of counts, the whole network with only that group cut is
// compiled and timed; a policy's latency is the unpruned latency plus each
// group's measured change, interpolated linearly between grid counts. The
// model is exact for groups whose layers do not interact (ResNet's block-
// internal groups) and an approximation otherwise; the harness measures the
// final network to confirm.
type LatencyTable struct {
	Batch   int         `json:"batch"`
	Workers int         `json:"workers"`
	Full    float64     `json:"full_seconds"` // unpruned network
	Counts  [][]int     `json:"counts"`       // per group: grid of kept counts, ascending, the last the full width
	Seconds [][]float64 `json:"seconds"`      // per group: latency with only this group cut to Counts
	// Scale multiplies the sum of the groups' changes: the per-group changes
	// are measured one group at a time, and cutting several groups saves a
	// little more or less than the sum (cache and overheads). It is fitted by
	// least squares on whole networks with random counts (Checks); 0 or 1:
	// the plain sum.
	Scale float64 `json:"scale,omitempty"`
	// Checks are the whole networks timed to fit Scale: predicted (plain
	// sum) and measured ratios to Full.
	Checks [][2]float64 `json:"checks,omitempty"`
	// CheckCounts and CheckSeconds, in a table measured elsewhere (amc
	// latency-grid writes the counts), are whole networks with random
	// counts and their measured latencies: FitScale fits Scale on them.
	CheckCounts  [][]int   `json:"check_counts,omitempty"`
	CheckSeconds []float64 `json:"check_seconds,omitempty"`
	// MinCounts and Points are what the grid was built from.
	MinCounts []int `json:"min_counts"`
	Points    int   `json:"points"`
	// MeasureSec is how long building the table took.
	MeasureSec float64 `json:"measure_seconds"`
}

// LatencyOptions control MeasureLatencyTable.
type LatencyOptions struct {
	Batch   int // samples per forward pass (1)
	Workers int // goroutines of the engine (0: GOMAXPROCS)
	Points  int // grid counts per group (8)
	Repeats int // timed runs per measurement, median taken (15)
}

// MeasureLatency compiles g and returns its latency in seconds: the
// fastest of repeats forward passes after warm-up, the estimate least
// disturbed by other processes.
func MeasureLatency(g *nn.Graph, p nn.Params, batch, workers, repeats int) (float64, error) {
	pl, err := nn.Compile(g, p, workers)
	if err != nil {
		return 0, err
	}
	d, err := pl.MinLatency(batch, 3, repeats)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}

// MeasureLatencyTable builds the table. The unpruned network is timed as a
// whole; for every group and opt.Points counts between the smallest allowed
// (minCounts) and the full width, the network with only that group cut is
// profiled step by step, and the group's entry is the unpruned latency plus
// the change in the steps whose shapes the cut changes (each step's fastest
// time over the repeats). Timing only the changed steps keeps the noise of
// the rest of the network out of every entry.
func MeasureLatencyTable(a *prune.Analysis, params nn.Params, minCounts []int, opt LatencyOptions) (*LatencyTable, error) {
	if opt.Batch < 1 {
		opt.Batch = 1
	}
	if opt.Points < 2 {
		opt.Points = 8
	}
	if opt.Repeats < 1 {
		opt.Repeats = 15
	}
	start := time.Now()
	full := a.FullCounts()
	baseShapes, err := a.Graph.Shapes()
	if err != nil {
		return nil, fmt.Errorf("latency table: %w", err)
	}
	basePlan, err := nn.Compile(a.Graph, params, opt.Workers)
	if err != nil {
		return nil, fmt.Errorf("latency table: %w", err)
	}
	var fulls []float64
	for k := 0; k < 3; k++ {
		d, err := basePlan.MinLatency(opt.Batch, 3, opt.Repeats)
		if err != nil {
			return nil, fmt.Errorf("latency table: %w", err)
		}
		fulls = append(fulls, d.Seconds())
	}
	sort.Float64s(fulls)
	baseSteps, err := basePlan.Profile(opt.Batch, 3, opt.Repeats)
	if err != nil {
		return nil, fmt.Errorf("latency table: %w", err)
	}
	t := &LatencyTable{Batch: opt.Batch, Workers: opt.Workers, Full: fulls[1], MinCounts: append([]int(nil), minCounts...), Points: opt.Points}
	for i, grp := range a.Groups {
		var grid []int
		for k := 0; k < opt.Points; k++ {
			c := minCounts[i] + int(math.Round(float64(k)*float64(grp.Channels-minCounts[i])/float64(opt.Points-1)))
			if len(grid) == 0 || c > grid[len(grid)-1] {
				grid = append(grid, c)
			}
		}
		secs := make([]float64, len(grid))
		counts := append([]int(nil), full...)
		for k, c := range grid[:len(grid)-1] {
			counts[i] = c
			kept := a.Select(params, counts, prune.L1In{})
			g, p, err := a.Apply(params, kept)
			if err != nil {
				return nil, fmt.Errorf("latency table: group %s at %d channels: %w", grp.Name, c, err)
			}
			shapes, err := g.Shapes()
			if err != nil {
				return nil, fmt.Errorf("latency table: group %s at %d channels: %w", grp.Name, c, err)
			}
			if len(shapes) != len(baseShapes) {
				return nil, fmt.Errorf("latency table: group %s at %d channels: the pruned graph has %d nodes, the original %d", grp.Name, c, len(shapes), len(baseShapes))
			}
			pl, err := nn.Compile(g, p, opt.Workers)
			if err != nil {
				return nil, fmt.Errorf("latency table: group %s at %d channels: %w", grp.Name, c, err)
			}
			steps, err := pl.Profile(opt.Batch, 3, opt.Repeats)
			if err != nil {
				return nil, fmt.Errorf("latency table: group %s at %d channels: %w", grp.Name, c, err)
			}
			delta := 0.0
			for j, n := range g.Nodes {
				changed := shapes[j] != baseShapes[j]
				for _, in := range n.Inputs {
					changed = changed || shapes[in] != baseShapes[in]
				}
				if d, ok := steps[n.Name]; ok && changed {
					delta += (d - baseSteps[n.Name]).Seconds()
				}
			}
			secs[k] = t.Full + delta
		}
		flatten(secs, t.Full)
		t.Counts = append(t.Counts, grid)
		t.Seconds = append(t.Seconds, secs)
	}
	// Fit Scale on whole networks with random counts between the bounds.
	checks := CheckCounts(a, minCounts, 6)
	secs := make([]float64, len(checks))
	for k, counts := range checks {
		if secs[k], err = MeasurePruned(a, params, counts, opt.Batch, opt.Workers, opt.Repeats); err != nil {
			return nil, fmt.Errorf("latency table: %w", err)
		}
	}
	t.fitScale(checks, secs)
	t.MeasureSec = time.Since(start).Seconds()
	return t, nil
}

// CheckCounts are n whole-network count vectors, each group's count drawn
// uniformly between minCounts and its full width (a fixed seed per model):
// the networks Scale is fitted on.
func CheckCounts(a *prune.Analysis, minCounts []int, n int) [][]int {
	full := a.FullCounts()
	rng := rand.New(rand.NewPCG(uint64(len(a.Groups)), 7))
	out := make([][]int, n)
	for k := range out {
		counts := make([]int, len(full))
		for i := range counts {
			counts[i] = minCounts[i] + rng.IntN(full[i]-minCounts[i]+1)
		}
		out[k] = counts
	}
	return out
}

// fitScale sets Scale by least squares through the origin of the measured
// latency changes on the predicted ones (clamped to [0.5, 2]) and records
// the checks as ratios to Full.
func (t *LatencyTable) fitScale(counts [][]int, secs []float64) {
	t.Scale, t.Checks = 0, nil
	var num, den float64
	for k, c := range counts {
		pred := t.Predict(c) - t.Full
		meas := secs[k] - t.Full
		num += pred * meas
		den += pred * pred
		t.Checks = append(t.Checks, [2]float64{1 + pred/t.Full, secs[k] / t.Full})
	}
	if den > 0 {
		t.Scale = math.Min(2, math.Max(0.5, num/den))
	}
}

// flatten makes a group's latencies, ascending in the kept count, what
// they must be: the full width's is full (the unpruned network), and
// latency never falls when a group keeps more channels, so noise that says
// otherwise is flattened (running maximum from the smallest, capped at
// full).
func flatten(secs []float64, full float64) {
	secs[len(secs)-1] = full
	for k := range secs {
		if k > 0 {
			secs[k] = math.Max(secs[k], secs[k-1])
		}
		secs[k] = math.Min(secs[k], full)
	}
}

// UseExternal prepares a checked table measured elsewhere: each group's
// full-width entry is Full (the same network; separate timings of it would
// add their noise once per group), latency never falls as a group keeps
// more channels (running maximum, capped at Full, as for the Go engine's
// tables), and where the file has whole-network checks Scale is fitted on
// them.
func (t *LatencyTable) UseExternal() {
	for _, secs := range t.Seconds {
		flatten(secs, t.Full)
	}
	if len(t.CheckCounts) > 0 {
		t.fitScale(t.CheckCounts, t.CheckSeconds)
	}
}

// Predict returns the predicted latency (seconds) of the network pruned to
// counts.
func (t *LatencyTable) Predict(counts []int) float64 {
	var change float64
	for i, c := range counts {
		change += t.at(i, c) - t.Full
	}
	if t.Scale > 0 {
		change *= t.Scale
	}
	return t.Full + change
}

// MeasurePruned times the whole network pruned to counts (MeasureLatency
// of the pruned graph).
func MeasurePruned(a *prune.Analysis, params nn.Params, counts []int, batch, workers, repeats int) (float64, error) {
	kept := a.Select(params, counts, prune.L1In{})
	g, p, err := a.Apply(params, kept)
	if err != nil {
		return 0, err
	}
	return MeasureLatency(g, p, batch, workers, repeats)
}

func (t *LatencyTable) at(i, c int) float64 {
	grid, s := t.Counts[i], t.Seconds[i]
	if c <= grid[0] {
		return s[0]
	}
	k := sort.SearchInts(grid, c) // grid[k-1] < c <= grid[k]
	if k >= len(grid) {
		return s[len(s)-1]
	}
	f := float64(c-grid[k-1]) / float64(grid[k]-grid[k-1])
	return s[k-1] + f*(s[k]-s[k-1])
}

// Check reports whether the table fits an analysis's groups.
func (t *LatencyTable) Check(a *prune.Analysis) error {
	if len(t.Counts) != len(a.Groups) || len(t.Seconds) != len(a.Groups) {
		return fmt.Errorf("latency table has %d groups, the model %d", len(t.Counts), len(a.Groups))
	}
	for i, g := range a.Groups {
		grid := t.Counts[i]
		if len(grid) == 0 || len(t.Seconds[i]) != len(grid) || grid[len(grid)-1] != g.Channels {
			return fmt.Errorf("latency table: group %s does not fit (%d channels)", g.Name, g.Channels)
		}
		for k, c := range grid {
			if c < 1 || (k > 0 && c <= grid[k-1]) {
				return fmt.Errorf("latency table: group %s: counts %v are not ascending from 1", g.Name, grid)
			}
			if sec := t.Seconds[i][k]; !(sec > 0) || math.IsInf(sec, 0) {
				return fmt.Errorf("latency table: group %s: %v seconds at %d channels", g.Name, sec, c)
			}
		}
	}
	if !(t.Full > 0) || math.IsInf(t.Full, 0) {
		return fmt.Errorf("latency table: no unpruned latency (full_seconds %v)", t.Full)
	}
	if math.IsNaN(t.Scale) || math.IsInf(t.Scale, 0) || t.Scale < 0 {
		return fmt.Errorf("latency table: scale %v", t.Scale)
	}
	if len(t.CheckCounts) != len(t.CheckSeconds) {
		return fmt.Errorf("latency table: %d check networks, %d check times", len(t.CheckCounts), len(t.CheckSeconds))
	}
	for k, counts := range t.CheckCounts {
		if len(counts) != len(a.Groups) {
			return fmt.Errorf("latency table: check network %d has %d counts, the model %d groups", k, len(counts), len(a.Groups))
		}
		for i, c := range counts {
			if c < 1 || c > a.Groups[i].Channels {
				return fmt.Errorf("latency table: check network %d: %d channels in group %s of %d", k, c, a.Groups[i].Name, a.Groups[i].Channels)
			}
		}
		if sec := t.CheckSeconds[k]; !(sec > 0) || math.IsInf(sec, 0) {
			return fmt.Errorf("latency table: check network %d: %v seconds", k, sec)
		}
	}
	return nil
}

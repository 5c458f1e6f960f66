package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// GroupEstimator is a statistic of one strategy's scores on several tasks:
// groups[t] holds its per-seed scores on task t.
type GroupEstimator func(groups [][]float64) float64

// Pooled turns a one-sample estimator into a GroupEstimator over every
// task's scores together (rliable's aggregate IQM, mean and median over
// runs x tasks).
func Pooled(f Estimator) GroupEstimator {
	return func(groups [][]float64) float64 {
		var all []float64
		for _, g := range groups {
			all = append(all, g...)
		}
		return f(all)
	}
}

// TaskMean turns a one-sample estimator into a GroupEstimator that weighs
// every task alike: the mean over tasks of f of each task's scores (a task
// with more seeds counts no more than one with fewer).
func TaskMean(f Estimator) GroupEstimator {
	return func(groups [][]float64) float64 {
		var s float64
		for _, g := range groups {
			s += f(g)
		}
		return s / float64(len(groups))
	}
}

// StratifiedBootstrap is f of the groups with rliable's stratified
// percentile bootstrap interval: every resample draws, within each group
// (a task), as many scores as the group has, with replacement, so that no
// task's weight changes. A group of one value (a fixed policy, or one seed)
// is not resampled; when no group varies there is no interval. Bootstrap
// is its one-task case.
func StratifiedBootstrap(groups [][]float64, f GroupEstimator, opt Options) (Interval, error) {
	if err := opt.check(); err != nil {
		return Interval{}, err
	}
	if len(groups) == 0 {
		return Interval{}, fmt.Errorf("compare: no groups")
	}
	varies := false
	for i, g := range groups {
		if len(g) == 0 {
			return Interval{}, fmt.Errorf("compare: group %d has no values", i)
		}
		varies = varies || slices.Min(g) != slices.Max(g)
	}
	iv := Interval{Point: f(groups), Lo: math.NaN(), Hi: math.NaN()}
	if !varies {
		return iv, nil
	}
	r := rand.New(rand.NewPCG(opt.Seed, 0x616d63)) // Bootstrap's stream: one group resamples as Bootstrap does
	bufs := make([][]float64, len(groups))
	for i, g := range groups {
		bufs[i] = make([]float64, len(g))
	}
	stats := make([]float64, opt.Resamples)
	for k := range stats {
		for i, g := range groups {
			for j := range bufs[i] {
				bufs[i][j] = g[r.IntN(len(g))]
			}
		}
		stats[k] = f(bufs)
	}
	iv.Lo, iv.Hi = percentiles(stats, opt.Confidence)
	return iv, nil
}

// StratifiedProfile is a performance profile over tasks: for each
// threshold, the fraction of a task's runs scoring above it, averaged over
// the tasks (with equal runs per task: the fraction of all runs, rliable's
// profile), with a stratified bootstrap interval (StratifiedBootstrap).
func StratifiedProfile(groups [][]float64, taus []float64, opt Options) ([]Interval, error) {
	out := make([]Interval, len(taus))
	for i, tau := range taus {
		iv, err := StratifiedBootstrap(groups, TaskMean(func(v []float64) float64 { return FractionAbove(v, tau) }), opt)
		if err != nil {
			return nil, err
		}
		out[i] = iv
	}
	return out, nil
}

// ProbImprovementTasks is rliable's average probability of improvement over
// tasks: the mean over tasks t of P(X_t > Y_t) (ProbImprovement's statistic
// on task t), with a stratified percentile bootstrap interval that
// resamples both strategies' seeds within each task. xs[t] and ys[t] are
// the two strategies' scores on task t; with one value in every group there
// is no interval. ProbImprovement is its one-task case.
func ProbImprovementTasks(xs, ys [][]float64, opt Options) (Interval, error) {
	if err := opt.check(); err != nil {
		return Interval{}, err
	}
	if len(xs) == 0 || len(xs) != len(ys) {
		return Interval{}, fmt.Errorf("compare: %d and %d tasks: want the same number, at least one", len(xs), len(ys))
	}
	point, varies := 0.0, false
	for t := range xs {
		if len(xs[t]) == 0 || len(ys[t]) == 0 {
			return Interval{}, fmt.Errorf("compare: task %d has no values", t)
		}
		point += probImprovement(xs[t], ys[t])
		varies = varies || len(xs[t]) > 1 || len(ys[t]) > 1
	}
	iv := Interval{Point: point / float64(len(xs)), Lo: math.NaN(), Hi: math.NaN()}
	if !varies {
		return iv, nil
	}
	r := rand.New(rand.NewPCG(opt.Seed, 0x706f69))
	bx, by := make([][]float64, len(xs)), make([][]float64, len(ys))
	for t := range xs {
		bx[t], by[t] = make([]float64, len(xs[t])), make([]float64, len(ys[t]))
	}
	stats := make([]float64, opt.Resamples)
	for k := range stats {
		var s float64
		for t := range xs {
			for i := range bx[t] {
				bx[t][i] = xs[t][r.IntN(len(xs[t]))]
			}
			for i := range by[t] {
				by[t][i] = ys[t][r.IntN(len(ys[t]))]
			}
			s += probImprovement(bx[t], by[t])
		}
		stats[k] = s / float64(len(xs))
	}
	iv.Lo, iv.Hi = percentiles(stats, opt.Confidence)
	return iv, nil
}

// Package compare holds the statistics amc reports when it compares
// strategies over seeds, after rliable (Agarwal et al., "Deep Reinforcement
// Learning at the Edge of the Statistical Precipice", NeurIPS 2021): point
// estimates (mean, median, interquartile mean) with percentile bootstrap
// confidence intervals, and the probability that one strategy improves on
// another, with its interval. Resampling is stratified by task (a report
// section is one task, so one stratum) and seeded, so a report is
// reproducible.
package compare

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Options set the bootstrap.
type Options struct {
	Resamples  int     // at least 10,000 in reports (DefaultOptions)
	Confidence float64 // 0.95
	Seed       uint64
}

// DefaultOptions are the report's: 10,000 resamples, 95% intervals, seed 1.
func DefaultOptions() Options { return Options{Resamples: 10000, Confidence: 0.95, Seed: 1} }

// Interval is a point estimate with its confidence interval. Lo and Hi are
// NaN when there is no interval (a single value: a fixed policy, one seed).
type Interval struct {
	Point, Lo, Hi float64
}

// HasInterval reports whether the interval was estimated.
func (iv Interval) HasInterval() bool { return !math.IsNaN(iv.Lo) }

func (iv Interval) String() string {
	if !iv.HasInterval() {
		return fmt.Sprintf("%.2f", iv.Point)
	}
	return fmt.Sprintf("%.2f [%.2f, %.2f]", iv.Point, iv.Lo, iv.Hi)
}

// OneValue keeps one of a fixed policy's per-seed scores when they are all
// the same (every seed gave the same network): one value, no interval.
func OneValue(x []float64) []float64 {
	if len(x) > 1 && slices.Min(x) == slices.Max(x) {
		return x[:1]
	}
	return x
}

// Mean is the arithmetic mean.
func Mean(x []float64) float64 { return stat.Mean(x, nil) }

// Median is the middle value (the mean of the two middle values for an
// even count).
func Median(x []float64) float64 {
	s := slices.Sorted(slices.Values(x))
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// IQM is the interquartile mean: the mean of the values left after cutting
// floor(n/4) from each end of the sorted values (scipy.stats.trim_mean(x,
// 0.25), what rliable computes). With fewer than four values it is the mean.
func IQM(x []float64) float64 {
	s := slices.Sorted(slices.Values(x))
	cut := len(s) / 4
	return stat.Mean(s[cut:len(s)-cut], nil)
}

// Estimator is a statistic of one strategy's per-seed scores.
type Estimator func([]float64) float64

// Bootstrap is the statistic f of x with a percentile bootstrap interval:
// x resampled with replacement opt.Resamples times. One value (or
// identical values) has no interval.
func Bootstrap(x []float64, f Estimator, opt Options) (Interval, error) {
	if err := opt.check(); err != nil {
		return Interval{}, err
	}
	if len(x) == 0 {
		return Interval{}, fmt.Errorf("compare: no values")
	}
	return StratifiedBootstrap([][]float64{x}, TaskMean(f), opt) // one task
}

// ProbImprovement is P(X > Y): the chance that a run of strategy x scores
// above a run of strategy y (ties count half; the Mann-Whitney U statistic
// over len(x)*len(y)), with a percentile bootstrap interval that resamples
// both strategies' seeds. A strategy with one value (a fixed policy) is not
// resampled; two single values have no interval.
func ProbImprovement(x, y []float64, opt Options) (Interval, error) {
	if err := opt.check(); err != nil {
		return Interval{}, err
	}
	if len(x) == 0 || len(y) == 0 {
		return Interval{}, fmt.Errorf("compare: no values")
	}
	return ProbImprovementTasks([][]float64{x}, [][]float64{y}, opt) // one task
}

func probImprovement(x, y []float64) float64 {
	var s float64
	for _, a := range x {
		for _, b := range y {
			switch {
			case a > b:
				s++
			case a == b:
				s += 0.5
			}
		}
	}
	return s / float64(len(x)*len(y))
}

// Verdict reads a probability of improvement of a over b: "better" when its
// interval lies above 1/2, "worse" when below, "not distinguishable"
// otherwise; without an interval (one value each) the point decides and
// the verdict says so.
func Verdict(p Interval) string {
	switch {
	case !p.HasInterval() && p.Point > 0.5:
		return "better (one value each: no interval)"
	case !p.HasInterval() && p.Point < 0.5:
		return "worse (one value each: no interval)"
	case !p.HasInterval():
		return "equal (one value each)"
	case p.Lo > 0.5:
		return "better"
	case p.Hi < 0.5:
		return "worse"
	}
	return "not distinguishable"
}

// percentiles are the (1-c)/2 and (1+c)/2 quantiles of s (linear
// interpolation between order statistics, numpy's default, which
// scipy.stats.bootstrap's percentile method uses).
func percentiles(s []float64, c float64) (float64, float64) {
	slices.Sort(s)
	q := func(p float64) float64 {
		h := p * float64(len(s)-1)
		i := int(math.Floor(h))
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (h-float64(i))*(s[i+1]-s[i])
	}
	return q((1 - c) / 2), q((1 + c) / 2)
}

func (o Options) check() error {
	if o.Resamples < 100 {
		return fmt.Errorf("compare: %d resamples: want at least 100 (reports use 10,000)", o.Resamples)
	}
	if !(o.Confidence > 0 && o.Confidence < 1) {
		return fmt.Errorf("compare: confidence %v: want a number in (0, 1)", o.Confidence)
	}
	return nil
}

package compare

import (
	"fmt"
	"slices"
)

// FractionAbove is the fraction of x strictly above tau.
func FractionAbove(x []float64, tau float64) float64 {
	n := 0
	for _, v := range x {
		if v > tau {
			n++
		}
	}
	return float64(n) / float64(len(x))
}

// Profile is a performance profile (rliable's run-score distribution): for
// each threshold tau, the fraction of runs scoring above it, with a
// percentile bootstrap interval over the runs (one value: none). Unlike a
// point estimate it shows the whole spread of outcomes, a strategy that is
// sometimes excellent and sometimes at chance included.
func Profile(x []float64, taus []float64, opt Options) ([]Interval, error) {
	if err := opt.check(); err != nil {
		return nil, err
	}
	if len(x) == 0 {
		return nil, fmt.Errorf("compare: no values")
	}
	return StratifiedProfile([][]float64{x}, taus, opt) // one task
}

// Thresholds is n evenly spaced thresholds spanning the values of every
// strategy (all its scores), from just below the smallest to the largest.
func Thresholds(scores [][]float64, n int) []float64 {
	var all []float64
	for _, s := range scores {
		all = append(all, s...)
	}
	if len(all) == 0 || n < 2 {
		return nil
	}
	lo, hi := slices.Min(all), slices.Max(all)
	pad := 0.02 * (hi - lo)
	if pad == 0 {
		pad = 0.5
	}
	lo, hi = lo-pad, hi+pad
	t := make([]float64, n)
	for i := range t {
		t[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return t
}

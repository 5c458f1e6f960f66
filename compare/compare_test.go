package compare

import (
	"encoding/json"
	"math"
	"os/exec"
	"testing"

	"github.com/amcbench/amc/internal/testpython"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPointEstimates(t *testing.T) {
	cases := []struct {
		x                 []float64
		mean, median, iqm float64
	}{
		{[]float64{3}, 3, 3, 3},
		{[]float64{1, 2, 3}, 2, 2, 2},                   // fewer than 4: nothing cut
		{[]float64{10, 1, 2, 3}, 4, 2.5, 2.5},           // cut 1 each end: mean of 2, 3
		{[]float64{100, 1, 2, 3, 4, -50}, 10, 2.5, 2.5}, // cut 1 each end of 6
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8}, 4.5, 4.5, 4.5},
	}
	for _, c := range cases {
		assert.InDelta(t, c.mean, Mean(c.x), 1e-12, "%v", c.x)
		assert.InDelta(t, c.median, Median(c.x), 1e-12, "%v", c.x)
		assert.InDelta(t, c.iqm, IQM(c.x), 1e-12, "%v", c.x)
	}
}

// exactQuantiles enumerates every one of the n^n equally likely resamples
// of x and returns the interval the bootstrap estimates.
func exactQuantiles(x []float64, f Estimator, c float64) (float64, float64) {
	n := len(x)
	total := int(math.Pow(float64(n), float64(n)))
	all := make([]float64, 0, total)
	idx := make([]int, n)
	buf := make([]float64, n)
	for k := 0; k < total; k++ {
		for i, j := range idx {
			buf[i] = x[j]
		}
		all = append(all, f(buf))
		for i := range idx { // next index tuple
			if idx[i]++; idx[i] < n {
				break
			}
			idx[i] = 0
		}
	}
	return percentiles(all, c)
}

// On samples small enough to enumerate every resample, the bootstrap
// interval converges to the exact one.
func TestBootstrapMatchesEnumeration(t *testing.T) {
	for _, c := range []struct {
		name string
		x    []float64
		f    Estimator
	}{
		{"mean of 5", []float64{70.1, 71.4, 69.8, 72.6, 70.9}, Mean},
		{"IQM of 6", []float64{70.1, 71.4, 69.8, 72.6, 70.9, 75.0}, IQM},
		{"median of 5", []float64{1, 2, 4, 8, 16}, Median},
	} {
		lo, hi := exactQuantiles(c.x, c.f, 0.95)
		iv, err := Bootstrap(c.x, c.f, Options{Resamples: 200000, Confidence: 0.95, Seed: 3})
		require.NoError(t, err)
		tol := 0.02 * (hi - lo)
		assert.InDelta(t, lo, iv.Lo, tol, c.name)
		assert.InDelta(t, hi, iv.Hi, tol, c.name)
		assert.Equal(t, c.f(c.x), iv.Point, c.name)
	}
}

func TestBootstrapIsSeededAndRefusesNonsense(t *testing.T) {
	x := []float64{1, 5, 2, 8, 3}
	a, err := Bootstrap(x, IQM, DefaultOptions())
	require.NoError(t, err)
	b, err := Bootstrap(x, IQM, DefaultOptions())
	require.NoError(t, err)
	assert.Equal(t, a, b, "same seed, same interval")
	one, err := Bootstrap([]float64{4}, Mean, DefaultOptions())
	require.NoError(t, err)
	assert.False(t, one.HasInterval(), "one value (a fixed policy): no interval")
	same, err := Bootstrap([]float64{3, 3, 3}, Mean, DefaultOptions())
	require.NoError(t, err)
	assert.False(t, same.HasInterval(), "identical values: no interval")
	assert.Equal(t, "4.00", one.String())
	_, err = Bootstrap(nil, Mean, DefaultOptions())
	assert.Error(t, err)
	_, err = Bootstrap(x, Mean, Options{Resamples: 10, Confidence: 0.95})
	assert.ErrorContains(t, err, "resamples")
	_, err = Bootstrap(x, Mean, Options{Resamples: 1000, Confidence: math.NaN()})
	assert.ErrorContains(t, err, "confidence")
}

func TestProbImprovement(t *testing.T) {
	opt := DefaultOptions()
	cases := []struct {
		name    string
		x, y    []float64
		point   float64
		verdict string
	}{
		{"every run above", []float64{80, 81, 82}, []float64{70, 71, 72}, 1, "better"},
		{"every run below", []float64{60, 61}, []float64{70, 71, 72}, 0, "worse"},
		{"same runs", []float64{70, 71, 72}, []float64{70, 71, 72}, 0.5, "not distinguishable"},
		{"overlapping", []float64{70, 73, 76}, []float64{71, 72, 74}, 5.0 / 9, "not distinguishable"},
		{"against a fixed policy", []float64{80, 81, 82, 83, 84}, []float64{75}, 1, "better"},
		{"two fixed policies", []float64{75}, []float64{70}, 1, "better (one value each: no interval)"},
		{"tie of fixed policies", []float64{70}, []float64{70}, 0.5, "equal (one value each)"},
	}
	for _, c := range cases {
		p, err := ProbImprovement(c.x, c.y, opt)
		require.NoError(t, err, c.name)
		assert.InDelta(t, c.point, p.Point, 1e-12, c.name)
		assert.Equal(t, c.verdict, Verdict(p), c.name)
		if p.HasInterval() {
			assert.LessOrEqual(t, p.Lo, p.Point, c.name)
			assert.GreaterOrEqual(t, p.Hi, p.Point, c.name)
		}
	}
}

// amc's percentile bootstrap against scipy.stats.bootstrap (method
// "percentile", 10,000 resamples): two Monte Carlo estimates of the same
// interval from different random streams, which agree within 10% of the
// interval's width (the median's bootstrap distribution has atoms, where
// the estimates differ most: 0.10 of a 1.8-point interval when measured).
func TestBootstrapAgreesWithSciPy(t *testing.T) {
	py := testpython.Find(t, "the scipy cross-check (Debian: python3-scipy python3-numpy; make test installs them as root)", "scipy.stats", "numpy")
	x := []float64{71.2, 70.8, 72.5, 69.9, 71.7, 70.3, 72.0, 71.1, 68.4, 73.0}
	script := `
import json, sys, numpy as np, scipy.stats as st
x = np.array(json.loads(sys.argv[1]))
out = {}
for name, f in [("mean", np.mean), ("median", np.median), ("iqm", lambda a, axis: st.trim_mean(a, 0.25, axis=axis))]:
    ci = st.bootstrap((x,), f, method="percentile", n_resamples=10000, confidence_level=0.95, random_state=0).confidence_interval
    out[name] = [ci.low, ci.high]
print(json.dumps(out))
`
	arg, _ := json.Marshal(x)
	b, err := exec.Command(py, "-c", script, string(arg)).Output()
	require.NoError(t, err)
	var want map[string][2]float64
	require.NoError(t, json.Unmarshal(b, &want))
	for name, f := range map[string]Estimator{"mean": Mean, "median": Median, "iqm": IQM} {
		iv, err := Bootstrap(x, f, DefaultOptions())
		require.NoError(t, err)
		w := want[name]
		tol := 0.10 * (w[1] - w[0])
		assert.InDelta(t, w[0], iv.Lo, tol, "%s: amc %v, scipy %v", name, iv, w)
		assert.InDelta(t, w[1], iv.Hi, tol, "%s: amc %v, scipy %v", name, iv, w)
	}
}

func TestOneValue(t *testing.T) {
	for _, c := range []struct {
		in, want []float64
	}{
		{[]float64{75.28, 75.28, 75.28}, []float64{75.28}},
		{[]float64{75.28, 75.29}, []float64{75.28, 75.29}},
		{[]float64{1}, []float64{1}},
		{nil, nil},
	} {
		assert.Equal(t, c.want, OneValue(c.in), "%v", c.in)
	}
}

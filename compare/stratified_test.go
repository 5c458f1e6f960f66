package compare

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exactStratified enumerates every equally likely stratified resample: the
// product of each group's n^n resamples.
func exactStratified(groups [][]float64, f GroupEstimator) []float64 {
	per := make([][][]float64, len(groups)) // every resample of each group
	for gi, g := range groups {
		n := len(g)
		idx := make([]int, n)
		for {
			buf := make([]float64, n)
			for i, j := range idx {
				buf[i] = g[j]
			}
			per[gi] = append(per[gi], buf)
			i := 0
			for ; i < n; i++ {
				if idx[i]++; idx[i] < n {
					break
				}
				idx[i] = 0
			}
			if i == n {
				break
			}
		}
	}
	var all []float64
	cur := make([][]float64, len(groups))
	var walk func(gi int)
	walk = func(gi int) {
		if gi == len(groups) {
			all = append(all, f(cur))
			return
		}
		for _, r := range per[gi] {
			cur[gi] = r
			walk(gi + 1)
		}
	}
	walk(0)
	return all
}

// The stratified bootstrap converges to the exact distribution of the
// resamples, never mixes tasks, and has no interval where nothing varies.
func TestStratifiedBootstrap(t *testing.T) {
	groups := [][]float64{{0.80, 0.84, 0.83}, {0.61, 0.66, 0.70, 0.64}}
	for _, c := range []struct {
		name string
		f    GroupEstimator
	}{
		{"pooled mean", Pooled(Mean)},
		{"pooled IQM", Pooled(IQM)},
		{"fraction above 0.65", Pooled(func(v []float64) float64 { return FractionAbove(v, 0.65) })},
		{"mean over tasks of the IQM", TaskMean(IQM)},
	} {
		all := exactStratified(groups, c.f)
		iv, err := StratifiedBootstrap(groups, c.f, Options{Resamples: 200000, Confidence: 0.95, Seed: 5})
		require.NoError(t, err)
		// The exact distribution has atoms (7 values take few distinct
		// statistics), so the check is on probabilities: the interval's
		// ends lie within one point of their exact 2.5% and 97.5% quantiles.
		q := func(p float64) float64 { lo, _ := percentiles(all, 1-2*p); return lo }
		assert.GreaterOrEqual(t, iv.Lo, q(0.015), c.name)
		assert.LessOrEqual(t, iv.Lo, q(0.035), c.name)
		assert.GreaterOrEqual(t, iv.Hi, q(0.965), c.name)
		assert.LessOrEqual(t, iv.Hi, q(0.985), c.name)
		assert.Less(t, q(0.015), q(0.985), c.name)
		assert.Equal(t, c.f(groups), iv.Point, c.name)
	}
	// Strata keep their sizes: a pooled statistic that counts the second
	// task's values is the same in every resample.
	count := func(g [][]float64) float64 { return float64(len(g[1])) }
	iv, err := StratifiedBootstrap(groups, count, Options{Resamples: 500, Confidence: 0.95, Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, [3]float64{4, 4, 4}, [3]float64{iv.Point, iv.Lo, iv.Hi})

	one := []float64{70.1, 71.4, 69.8, 72.6, 70.9}
	a, err := Bootstrap(one, IQM, DefaultOptions())
	require.NoError(t, err)
	b, err := StratifiedBootstrap([][]float64{one}, Pooled(IQM), DefaultOptions())
	require.NoError(t, err)
	assert.Equal(t, a, b, "one group is Bootstrap, draw for draw")

	fixed, err := StratifiedBootstrap([][]float64{{75.3}, {68.5}}, Pooled(Mean), DefaultOptions())
	require.NoError(t, err)
	assert.False(t, fixed.HasInterval(), "one value per task: no interval")
	assert.InDelta(t, 71.9, fixed.Point, 1e-9)

	_, err = StratifiedBootstrap(nil, Pooled(Mean), DefaultOptions())
	assert.Error(t, err)
	_, err = StratifiedBootstrap([][]float64{{1}, {}}, Pooled(Mean), DefaultOptions())
	assert.ErrorContains(t, err, "group 1")

	// Tasks weigh alike: 3 of 3 above 0.65 on the first, 2 of 4 on the
	// second: (1 + 0.5) / 2, not 5 of 7.
	p, err := StratifiedProfile(groups, []float64{0.5, 0.65, 0.9}, Options{Resamples: 2000, Confidence: 0.95, Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, 1.0, p[0].Point)
	assert.InDelta(t, 0.75, p[1].Point, 1e-12)
	assert.Equal(t, 0.0, p[2].Point)
	assert.InDelta(t, (Mean(groups[0])+Mean(groups[1]))/2, TaskMean(Mean)(groups), 1e-12)
}

// The average probability of improvement over tasks is ProbImprovement on
// one task, draw for draw, and the mean of the tasks' statistics on several.
func TestProbImprovementTasks(t *testing.T) {
	x, y := []float64{76.1, 75.2, 77.0, 76.4}, []float64{75.0, 75.6, 74.8}
	one, err := ProbImprovement(x, y, DefaultOptions())
	require.NoError(t, err)
	tasks, err := ProbImprovementTasks([][]float64{x}, [][]float64{y}, DefaultOptions())
	require.NoError(t, err)
	assert.Equal(t, one, tasks)

	// Task 2: x always above y; task 1 as before: the mean of the two.
	xs, ys := [][]float64{x, {90, 91}}, [][]float64{y, {80, 81, 82}}
	iv, err := ProbImprovementTasks(xs, ys, DefaultOptions())
	require.NoError(t, err)
	assert.InDelta(t, (probImprovement(x, y)+1)/2, iv.Point, 1e-12)
	assert.True(t, iv.HasInterval())
	assert.GreaterOrEqual(t, iv.Lo, 0.5, "task 2 alone gives at least a half")

	fixed, err := ProbImprovementTasks([][]float64{{1}, {3}}, [][]float64{{2}, {2}}, DefaultOptions())
	require.NoError(t, err)
	assert.False(t, fixed.HasInterval())
	assert.Equal(t, 0.5, fixed.Point)

	_, err = ProbImprovementTasks([][]float64{x}, [][]float64{y, y}, DefaultOptions())
	assert.ErrorContains(t, err, "same number")
	_, err = ProbImprovementTasks([][]float64{{}}, [][]float64{y}, DefaultOptions())
	assert.ErrorContains(t, err, "task 0")
}

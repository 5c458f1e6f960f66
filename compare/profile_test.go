package compare

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProfile(t *testing.T) {
	x := []float64{10, 70, 72, 74, 76} // one run at chance, four good ones
	taus := []float64{5, 10, 50, 73, 80}
	p, err := Profile(x, taus, Options{Resamples: 2000, Confidence: 0.95, Seed: 3})
	require.NoError(t, err)
	want := []float64{1, 0.8, 0.8, 0.4, 0}
	for i, iv := range p {
		assert.InDelta(t, want[i], iv.Point, 1e-12, "tau %v", taus[i])
		if iv.HasInterval() {
			assert.LessOrEqual(t, iv.Lo, iv.Point)
			assert.GreaterOrEqual(t, iv.Hi, iv.Point)
		}
		if i > 0 {
			assert.LessOrEqual(t, iv.Point, p[i-1].Point, "a profile never rises")
		}
	}
	assert.Equal(t, [2]float64{1, 1}, [2]float64{p[0].Lo, p[0].Hi}, "every resample has all runs above 5")
	assert.True(t, p[2].HasInterval())
	assert.Greater(t, p[2].Hi-p[2].Lo, 0.2, "five runs leave a wide interval")
	_, err = Profile(nil, taus, DefaultOptions())
	assert.Error(t, err)
	_, err = Profile(x, taus, Options{Resamples: 0, Confidence: 0.95})
	assert.Error(t, err)

	th := Thresholds([][]float64{{10, 20}, {30}}, 5)
	require.Len(t, th, 5)
	assert.Less(t, th[0], 10.0)
	assert.Greater(t, th[4], 30.0)
	assert.True(t, math.Abs((th[1]-th[0])-(th[4]-th[3])) < 1e-9)
	assert.Nil(t, Thresholds(nil, 5))
}

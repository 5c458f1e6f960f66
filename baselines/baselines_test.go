package baselines

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShapes(t *testing.T) {
	cases := []struct {
		name        string
		first, last float64
	}{{"uniform", 1, 1}, {"deep", 1, 0.5}, {"shallow", 0.5, 1}}
	for _, c := range cases {
		s, err := Shape(c.name, 5)
		require.NoError(t, err)
		assert.Equal(t, c.first, s[0], c.name)
		assert.Equal(t, c.last, s[4], c.name)
	}
	one, err := Shape("deep", 1)
	require.NoError(t, err)
	assert.Equal(t, []float64{1}, one)
	_, err = Shape("deeep", 3)
	assert.ErrorContains(t, err, `did you mean "deep"`)
}

func TestRandomIsSeededAndRestorable(t *testing.T) {
	a, b := NewRandom(0.2, 7), NewRandom(0.2, 7)
	for i := 0; i < 10; i++ {
		x := a.Act(nil, i, true)
		assert.Equal(t, x, b.Act(nil, i, true))
		assert.True(t, x >= 0.2 && x <= 1)
	}
	st, err := a.State()
	require.NoError(t, err)
	c := NewRandom(0.2, 99)
	require.NoError(t, c.Restore(st))
	assert.Equal(t, a.Act(nil, 0, true), c.Act(nil, 0, true))
	assert.NotEqual(t, NewRandom(0.2, 1).Act(nil, 0, true), NewRandom(0.2, 2).Act(nil, 0, true))
}

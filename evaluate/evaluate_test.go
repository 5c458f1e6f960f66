package evaluate

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRank(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		scores []float32
		label  int
		want   int
	}{
		{[]float32{0.1, 0.9, 0.5}, 1, 0},
		{[]float32{0.1, 0.9, 0.5}, 2, 1},
		{[]float32{0.1, 0.9, 0.5}, 0, 2},
		{[]float32{1, 1, 1}, 0, 0},
		{[]float32{1, 1, 1}, 2, 2},
		{[]float32{nan, 1, 1}, 0, 3},
		{[]float32{nan, 1, 0}, 1, 1},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, rank(c.scores, c.label), "%v label %d", c.scores, c.label)
	}
}

package numcheck

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRanges(t *testing.T) {
	cases := []struct {
		name string
		r    Range
		v    float64
		want string // "" when accepted
	}{
		{"at least 1", AtLeast(1).Ints(), 1, ""},
		{"below", AtLeast(1).Ints(), 0, "--x 0: want an integer >= 1"},
		{"negative", AtLeast(0).Ints().Means("0: all"), -5, "--x -5: want an integer >= 0 (0: all)"},
		{"not whole", AtLeast(0).Ints(), 0.5, "--x 0.5: want an integer >= 0"},
		{"NaN", AtLeast(0), math.NaN(), "--x NaN: want a number >= 0"},
		{"+Inf", AtLeast(0), math.Inf(1), "--x +Inf: want a number >= 0"},
		{"-Inf any", Any(), math.Inf(-1), "--x -Inf: want a finite number"},
		{"any", Any(), -1e300, ""},
		{"any int", Any().Ints(), 2.5, "--x 2.5: want an integer"},
		{"fraction top", Fraction(), 1, ""},
		{"fraction zero", Fraction(), 0, "--x 0: want a number in (0, 1]"},
		{"fraction NaN", Fraction(), math.NaN(), "--x NaN: want a number in (0, 1]"},
		{"above", Above(0), 1e-9, ""},
		{"above zero", Above(0), 0, "--x 0: want a number > 0"},
		{"between", Between(1, 1024).Ints(), 1025, "--x 1025: want an integer in [1, 1024]"},
		{"half open", Range{Min: 0, Max: 1, MaxOpen: true}, 1, "--x 1: want a number in [0, 1)"},
	}
	for _, c := range cases {
		err := c.r.Check("--x", c.v)
		if c.want == "" {
			assert.NoError(t, err, c.name)
			continue
		}
		require.Error(t, err, c.name)
		assert.Equal(t, c.want, err.Error(), c.name)
		var e *Error
		assert.True(t, errors.As(err, &e), c.name)
	}
}

func TestIntValuesPrintExactly(t *testing.T) {
	err := AtLeast(0).Ints().CheckInt("episodes", math.MinInt64)
	assert.EqualError(t, err, "episodes -9223372036854775808: want an integer >= 0")
	assert.NoError(t, Any().Ints().CheckInt("seed", math.MaxInt64))
	assert.EqualError(t, Between(0, 10).Ints().CheckUint("seed", math.MaxUint64), "seed 18446744073709551615: want an integer in [0, 10]")
	assert.NoError(t, All(nil, nil))
	assert.EqualError(t, All(nil, errors.New("a"), errors.New("b")), "a\nb")
}

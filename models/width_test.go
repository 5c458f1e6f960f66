package models

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A width that is not a number in (0, 4] is refused, NaN included (it
// used to pass both comparisons and build a 1-channel network).
func TestParseNameWidth(t *testing.T) {
	cases := []struct {
		name  string
		width float64 // 0: refused
	}{
		{"resnet20", 1},
		{"mobilenet_v2@0.5", 0.5},
		{"resnet20@4", 4},
		{"resnet20@NaN", 0},
		{"resnet20@nan", 0},
		{"resnet20@Inf", 0},
		{"resnet20@+Inf", 0},
		{"resnet20@-1", 0},
		{"resnet20@0", 0},
		{"resnet20@4.5", 0},
		{"resnet20@", 0},
		{"resnet20@abc", 0},
	}
	for _, c := range cases {
		_, w, err := ParseName(c.name)
		if c.width == 0 {
			require.Error(t, err, c.name)
			assert.Contains(t, err.Error(), "must be a number in (0, 4]", c.name)
			_, err = Build(c.name)
			assert.Error(t, err, c.name)
			continue
		}
		require.NoError(t, err, c.name)
		assert.Equal(t, c.width, w, c.name)
	}
}

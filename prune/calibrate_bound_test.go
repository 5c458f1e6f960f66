package prune

import (
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// No layer samples more positions per image than its output map has
// (--calib-positions 100000 grew to 6.6 GB): asking for more takes every
// position once, so 5,000 and 1,024 positions give the same statistics
// on a network whose largest map is 32x32.
func TestCalibrationPositionsBoundedByMaps(t *testing.T) {
	g, p := build(t, "resnet20@0.25")
	a, err := Analyze(g, Options{})
	require.NoError(t, err)
	im := fakeImages(3, 1)
	big, err := Calibrate(a, p, im, datasets.ImageNetNorm, 3, 5000, 1)
	require.NoError(t, err)
	for i, l := range big.layers {
		out := a.Shapes[i]
		assert.LessOrEqual(t, l.nrows, 3*out.H*out.W, "layer %s", g.Nodes[i].Name)
	}
	all, err := Calibrate(a, p, im, datasets.ImageNetNorm, 3, 1024, 1)
	require.NoError(t, err)
	for i, l := range big.layers {
		assert.Equal(t, all.layers[i].g, l.g, "layer %s", g.Nodes[i].Name)
		assert.Equal(t, all.layers[i].nrows, l.nrows, "layer %s", g.Nodes[i].Name)
	}
}

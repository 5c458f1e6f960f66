package models

import (
	"testing"

	"github.com/amcbench/amc/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The table of ../shared/docs/imagenet-models.md: convolution and linear
// MACs for one 224x224 image, and parameters (batch-norm affine included,
// running statistics not), measured with torchvision 0.14.
func TestImageNetZooMatchesReferenceTable(t *testing.T) {
	for _, c := range []struct {
		name         string
		macs, params int64
	}{
		{"imagenet_resnet50", 4089184256, 25557032},
		{"imagenet_vgg16", 15470264320, 138357544},
		{"imagenet_vgg16_bn", 15470264320, 138365992},
		{"imagenet_mobilenet_v2", 300774272, 3504872},
		{"imagenet_mobilenet_v1", 568740352, 4231976},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := Build(c.name)
			require.NoError(t, err)
			cnt, err := g.Count()
			require.NoError(t, err)
			assert.Equal(t, c.macs, cnt.MACs, "MACs")
			assert.Equal(t, c.params, cnt.Params, "params")
			shapes, err := g.Shapes()
			require.NoError(t, err)
			assert.Equal(t, nn.Shape{C: 1000, H: 1, W: 1}, shapes[g.Output()])
		})
	}
}

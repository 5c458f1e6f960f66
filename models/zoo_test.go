package models

import (
	"testing"

	"github.com/amcbench/amc/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The table of ../shared/docs/cifar-models.md.
func TestZooMatchesReferenceTable(t *testing.T) {
	cases := []struct {
		name                 string
		macs, params, convLn int64
		entries              int
	}{
		{"resnet20", 40551040, 269722, 268346, 116},
		{"resnet32", 68862592, 464154, 461882, 188},
		{"resnet44", 97174144, 658586, 655418, 260},
		{"resnet56", 125485696, 853018, 848954, 332},
		{"resnet110", 252887680, 1727962, 1719866, 656},
		{"plain20", 40551040, 269722, 268346, 116},
		{"vgg16", 313201664, 14724042, 14715594, 80},
		{"mobilenet_v1", 46354432, 3217226, 3195338, 164},
		{"mobilenet_v1@0.75", 26508288, 1824250, 1807834, 164},
		{"mobilenet_v1@0.5", 12167168, 823722, 812778, 164},
		{"mobilenet_v2", 89025024, 2237770, 2203594, 320},
		{"mobilenet_v2@0.75", 59899904, 1368858, 1342170, 320},
		{"mobilenet_v2@0.5", 28231168, 700778, 682202, 320},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Build(c.name)
			require.NoError(t, err)
			cnt, err := g.Count()
			require.NoError(t, err)
			assert.Equal(t, c.macs, cnt.MACs, "MACs")
			assert.Equal(t, c.params, cnt.Params, "params")
			assert.Equal(t, c.convLn, cnt.ConvLinearParams, "conv+linear params")
			entries := len(g.ParamSpecs())
			for _, n := range g.Nodes {
				if n.Op == nn.OpBatchNorm {
					entries++ // num_batches_tracked
				}
			}
			assert.Equal(t, c.entries, entries, "state-dict entries")
			shapes, err := g.Shapes()
			require.NoError(t, err)
			assert.Equal(t, nn.Shape{C: 10, H: 1, W: 1}, shapes[g.Output()])
		})
	}
}

func TestUnknownModelSuggests(t *testing.T) {
	cases := []struct{ in, wantSub string }{
		{"resnet57", `did you mean "resnet56"`},
		{"mobilenetv2", `did you mean "mobilenet_v2"`},
		{"alexnet", "valid models: imagenet_mobilenet_v1"},
		{"resnet20@abc", "width"},
		{"resnet20@0", "width"},
	}
	for _, c := range cases {
		_, err := Build(c.in)
		require.Error(t, err, c.in)
		assert.Contains(t, err.Error(), c.wantSub)
	}
}

func TestNamesListed(t *testing.T) {
	assert.Equal(t, []string{"imagenet_mobilenet_v1", "imagenet_mobilenet_v2", "imagenet_resnet50", "imagenet_vgg16", "imagenet_vgg16_bn",
		"mobilenet_v1", "mobilenet_v2", "plain20", "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "vgg16"}, Names())
}

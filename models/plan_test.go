package models

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/amcbench/amc/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The compiled fast path (folded batch norm, fused activations, NHWC,
// im2col + SGEMM) computes what the plain reference interpreter computes, on
// every zoo network with random weights, batch-norm statistics and inputs.
func TestFastPathMatchesReferenceOnZoo(t *testing.T) {
	names := append(CIFARNames(), "mobilenet_v2@0.5", "resnet20@0.75")
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			g, err := Build(name)
			require.NoError(t, err)
			p := g.InitParams(7)
			rng := rand.New(rand.NewPCG(11, 13))
			for k, v := range p {
				switch {
				case strings.HasSuffix(k, "running_mean"), strings.HasSuffix(k, ".bias"):
					for i := range v.Data {
						v.Data[i] = float32(rng.NormFloat64() * 0.1)
					}
				case strings.HasSuffix(k, "running_var"):
					for i := range v.Data {
						v.Data[i] = float32(0.5 + rng.Float64())
					}
				}
			}
			const n = 2
			x := make([]float32, n*g.Input.Size())
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			want, err := nn.Reference(g, p, x, n)
			require.NoError(t, err)
			pl, err := nn.Compile(g, p, 2)
			require.NoError(t, err)
			got, err := pl.Forward(x, n)
			require.NoError(t, err)
			require.Len(t, got, n*10)
			scale := 1.0
			var maxDiff float64
			for i := range want {
				scale = math.Max(scale, math.Abs(float64(want[i])))
				maxDiff = math.Max(maxDiff, math.Abs(float64(want[i]-got[i])))
			}
			assert.LessOrEqual(t, maxDiff, 1e-4*scale, "max abs difference (output scale %.3g)", scale)
		})
	}
}

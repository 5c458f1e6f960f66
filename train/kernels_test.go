package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/amcbench/amc/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// closeTo asserts that got equals want within float32 rounding of sums of
// a few hundred terms.
func closeTo[T float32 | float64](t *testing.T, want, got []T, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		if math.IsNaN(w) || math.IsNaN(g) {
			if math.IsNaN(w) != math.IsNaN(g) {
				assert.Failf(t, "differs", "%s: [%d] want %g got %g", msg, i, w, g)
				return
			}
			continue
		}
		tol := 1e-4 * (1 + math.Abs(w))
		if math.Abs(g-w) > tol {
			assert.Failf(t, "differs", "%s: [%d] want %g got %g", msg, i, want[i], got[i])
			return
		}
	}
}

// The kernels in use (vectorised C in the cgo build) compute what their Go
// versions compute, on channel counts that are not multiples of the vector
// width and on row counts past a batch-norm block. Without cgo the kernels
// in use are the Go versions and the test compares them with themselves.
func TestKernelsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, C := range []int{1, 6, 13, 32} {
		rows := 150 // more than two bnBlocks
		n := rows * C
		x, dy := randSlice(rng, n), randSlice(rng, n)
		pc := func() []float32 { return randSlice(rng, C) }
		mean, invstd, scale, shift, k, ka, kb := pc(), pc(), pc(), pc(), pc(), pc(), pc()

		s1, q1, s2, q2 := make([]float64, C), make([]float64, C), make([]float64, C), make([]float64, C)
		bnStatsGo(x, C, s1, q1, make([]float32, C), make([]float32, C))
		bnStatsImpl(x, C, s2, q2, make([]float32, C), make([]float32, C))
		closeTo(t, s1, s2, "bnStats sums")
		closeTo(t, q1, q2, "bnStats squares")

		// Outputs of a fused activation: values inside and outside ReLU6's
		// linear range, exact zeros and sixes, and a NaN.
		out := randSlice(rng, n)
		for j := range out {
			out[j] *= 8
		}
		out[0], out[1%n] = 0, 6
		if n > 2 {
			out[2] = float32(math.NaN())
		}
		for _, act := range []actKind{actNone, actReLU, actReLU6} {
			name := fmt.Sprintf("C=%d act=%d", C, act)
			ya, yb := make([]float32, n), make([]float32, n)
			bnNormGo(x, ya, C, scale, shift, act)
			bnNormImpl(x, yb, C, scale, shift, act)
			closeTo(t, ya, yb, "bnNorm "+name)

			g1, b1, g2, b2 := make([]float64, C), make([]float64, C), make([]float64, C), make([]float64, C)
			bnGradStatsGo(dy, out, x, C, mean, invstd, act, g1, b1, make([]float32, C), make([]float32, C))
			bnGradStatsImpl(dy, out, x, C, mean, invstd, act, g2, b2, make([]float32, C), make([]float32, C))
			closeTo(t, g1, g2, "bnGradStats g*xhat "+name)
			closeTo(t, b1, b2, "bnGradStats g "+name)

			for _, first := range []bool{true, false} {
				da, db := slices.Clone(x), slices.Clone(x)
				bnDXGo(da, x, dy, out, C, mean, invstd, k, ka, kb, act, first)
				bnDXImpl(db, x, dy, out, C, mean, invstd, k, ka, kb, act, first)
				closeTo(t, da, db, "bnDX "+name)
			}
		}
		// The fused kernels compute what the separate passes compute: the
		// activation of the norm's output, and the norm's sums over the
		// activation's masked gradient.
		for _, act := range []actKind{actReLU, actReLU6} {
			relu6 := act == actReLU6
			fused, plain, sep := make([]float32, n), make([]float32, n), make([]float32, n)
			bnNormGo(x, fused, C, scale, shift, act)
			bnNormGo(x, plain, C, scale, shift, actNone)
			actGo(sep, plain, relu6)
			assert.Equal(t, sep, fused, "fused norm and activation")
			masked := make([]float32, n)
			actGradGo(masked, out, dy, relu6, true)
			g1, b1, g2, b2 := make([]float64, C), make([]float64, C), make([]float64, C), make([]float64, C)
			bnGradStatsGo(dy, out, x, C, mean, invstd, act, g1, b1, make([]float32, C), make([]float32, C))
			bnGradStatsGo(masked, nil, x, C, mean, invstd, actNone, g2, b2, make([]float32, C), make([]float32, C))
			assert.Equal(t, g2, g1, "fused gradient statistics")
			assert.Equal(t, b2, b1, "fused gradient sums")
		}
	}
	n := 1000
	x := randSlice(rng, n)
	for i := range x {
		x[i] *= 5 // values past ReLU6's cap
	}
	nan := float32(math.NaN())
	x[0], x[1], x[2], x[3] = 0, float32(math.Copysign(0, -1)), nan, -nan // NaN passes in both

	dy := randSlice(rng, n)
	for _, relu6 := range []bool{false, true} {
		a, b := make([]float32, n), make([]float32, n)
		actGo(a, x, relu6)
		actImpl(b, x, relu6)
		closeTo(t, a, b, "act")
		assert.True(t, math.IsNaN(float64(b[2])) && math.IsNaN(float64(b[3])), "NaN must pass the activation")
		for _, first := range []bool{true, false} {
			da, db := slices.Clone(x), slices.Clone(x)
			actGradGo(da, a, dy, relu6, first)
			actGradImpl(db, a, dy, relu6, first)
			closeTo(t, da, db, "actGrad")
		}
	}
	a, b := make([]float32, n), make([]float32, n)
	addGo(a, x, dy)
	addImpl(b, x, dy)
	closeTo(t, a, b, "add")
	addGo(a, x, nil)
	addImpl(b, x, nil)
	closeTo(t, a, b, "add into")
}

// The convolution kernels (col2im, depthwise forward (nn.DepthwiseRows) and
// backward) match their Go versions on padded, strided and odd-sized geometries.
func TestConvKernelsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct{ H, W, C, K, stride, pad int }{
		{7, 7, 5, 3, 1, 1}, {8, 8, 16, 3, 2, 1}, {5, 6, 3, 1, 1, 0}, {9, 9, 12, 5, 2, 2},
	} {
		b := 3
		Ho, Wo := (c.H+2*c.pad-c.K)/c.stride+1, (c.W+2*c.pad-c.K)/c.stride+1
		in, out := nn.Shape{C: c.C, H: c.H, W: c.W}, nn.Shape{C: c.C, H: Ho, W: Wo}
		cols := randSlice(rng, b*Ho*Wo*c.K*c.K*c.C)
		base := randSlice(rng, b*in.Size())
		d1, d2 := slices.Clone(base), slices.Clone(base)
		col2imGo(d1, cols, b, in, out, c.K, c.stride, c.pad)
		col2imImpl(d2, cols, b, in, out, c.K, c.stride, c.pad)
		closeTo(t, d1, d2, "col2im")

		g := dwGeom{H: c.H, W: c.W, Ho: Ho, Wo: Wo, C: c.C, K: c.K, stride: c.stride, pad: c.pad}
		x, wt := randSlice(rng, b*in.Size()), randSlice(rng, c.K*c.K*c.C)
		y1, y2 := make([]float32, b*out.Size()), make([]float32, b*out.Size())
		dwForwardRef(y1, x, wt, g, 1, b)
		nn.DepthwiseRows(y2, x, wt, make([]float32, c.C), in, out, c.K, c.stride, c.pad, Ho*Wo, b*Ho*Wo)
		closeTo(t, y1, y2, "depthwise forward")

		dy := randSlice(rng, b*out.Size())
		for _, withDX := range []bool{true, false} {
			for _, zero := range []bool{false, true} {
				w1, w2 := make([]float32, len(wt)), make([]float32, len(wt))
				var x1, x2 []float32
				if withDX {
					x1, x2 = slices.Clone(base), slices.Clone(base)
				}
				dwBackwardGo(w1, x1, x, dy, wt, g, 0, b, zero)
				dwBackwardImpl(w2, x2, x, dy, wt, g, 0, b, zero)
				closeTo(t, w1, w2, "depthwise weight gradient")
				closeTo(t, x1, x2, "depthwise input gradient")
				if withDX && zero { // zero writes what adding into a cleared buffer gives
					x3 := make([]float32, len(base))
					dwBackwardGo(make([]float32, len(wt)), x3, x, dy, wt, g, 0, b, false)
					assert.Equal(t, x3, x1, "depthwise input gradient written")
				}
			}
		}
	}
}

// dwForwardRef writes the depthwise convolution of samples s0..s1 (wt as
// [ky][kx][c]) plainly, for comparison with nn.DepthwiseRows.
func dwForwardRef(out, in, wt []float32, g dwGeom, s0, s1 int) {
	C, K := g.C, g.K
	for s := s0; s < s1; s++ {
		for oy := 0; oy < g.Ho; oy++ {
			for ox := 0; ox < g.Wo; ox++ {
				dst := out[((s*g.Ho+oy)*g.Wo+ox)*C:][:C]
				clear(dst)
				for ky := 0; ky < K; ky++ {
					iy := oy*g.stride - g.pad + ky
					if iy < 0 || iy >= g.H {
						continue
					}
					for kx := 0; kx < K; kx++ {
						ix := ox*g.stride - g.pad + kx
						if ix < 0 || ix >= g.W {
							continue
						}
						src := in[((s*g.H+iy)*g.W+ix)*C:][:C]
						w := wt[(ky*K+kx)*C:][:C]
						for c, v := range src {
							dst[c] += v * w[c]
						}
					}
				}
			}
		}
	}
}

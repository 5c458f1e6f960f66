package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWinogradMatchesReference runs 3x3 convolutions that take the Winograd
// path (odd and even sizes, 1x1 maps, channel counts a pruned network has,
// folded batch norm, a fused residual add and activation) against the
// float64 reference.
func TestWinogradMatchesReference(t *testing.T) {
	cases := []struct {
		c, k, h, w int
		residual   bool
		op         OpKind
	}{
		{4, 4, 8, 8, false, OpReLU},
		{16, 16, 32, 32, true, OpReLU},
		{5, 11, 7, 5, false, OpReLU6},
		{13, 13, 3, 3, true, OpReLU},
		{9, 6, 1, 1, false, OpReLU},
		{6, 7, 2, 9, false, OpInput},
		{64, 40, 6, 6, false, OpReLU},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%d_%dto%d_res%v_%s", tc.h, tc.w, tc.c, tc.k, tc.residual, tc.op), func(t *testing.T) {
			require.True(t, winogradOK(3, 1, 1, 1, tc.c, tc.k))
			g := NewGraph(Shape{C: tc.c, H: tc.h, W: tc.w})
			x := g.Conv("c", 0, tc.c, tc.k, 3, 1, 1, 1)
			x = g.BN("b", x, tc.k)
			if tc.residual {
				x = g.Add(&Node{Name: "add", Op: OpAdd, Inputs: []int{x, 0}})
			}
			if tc.op != OpInput { // OpInput: no activation
				g.Act("r", tc.op, x)
			}
			p := g.InitParams(1)
			randomize(p, 7)
			defer func(v int) { winogradMinTiles = v }(winogradMinTiles)
			winogradMinTiles = 1
			for _, workers := range []int{1, 2} {
				pl, err := Compile(g, p, workers)
				require.NoError(t, err)
				for _, n := range []int{1, 3} {
					in := randInput(n, g.Input, uint64(n+tc.c))
					want, err := Reference(g, p, in, n)
					require.NoError(t, err)
					got, err := pl.Forward(in, n)
					require.NoError(t, err)
					require.True(t, pl.steps[0].wino, "the convolution took the Winograd path")
					require.Len(t, got, len(want))
					scale := 0.0
					for _, v := range want {
						scale = math.Max(scale, math.Abs(float64(v)))
					}
					for i := range want {
						assert.InDelta(t, want[i], got[i], 1e-5*scale+1e-6, "workers %d batch %d output %d", workers, n, i)
					}
				}
			}
		})
	}
}

// TestWinogradSpansTasks checks a batch whose tiles span several tasks, each
// sample's edge tiles included, against the im2col path.
func TestWinogradSpansTasks(t *testing.T) {
	g := NewGraph(Shape{C: 8, H: 9, W: 11})
	x := g.Conv("c", 0, 8, 8, 3, 1, 1, 1)
	g.Act("r", OpReLU, x)
	p := g.InitParams(1)
	randomize(p, 9)
	n := 17 // 510 tiles: more than one task holds
	in := randInput(n, g.Input, 5)
	pl, err := Compile(g, p, 2)
	require.NoError(t, err)
	got, err := pl.Forward(in, n)
	require.NoError(t, err)
	require.True(t, pl.steps[0].wino)
	require.Greater(t, n*30, pl.winogradTiles(&pl.steps[0], n))
	got = append([]float32(nil), got...)
	defer func(v int) { winogradMinC = v }(winogradMinC)
	winogradMinC = math.MaxInt
	ref, err := Compile(g, p, 2)
	require.NoError(t, err)
	want, err := ref.Forward(in, n)
	require.NoError(t, err)
	require.False(t, ref.steps[0].wino)
	for i := range want {
		require.InDelta(t, want[i], got[i], 1e-4, "output %d", i)
	}
}

// The Winograd weight gradient (WinogradWeightGrad over every task, then
// WinogradGradWeights) equals the direct sum in float64 over output pixels
// of dy times the input patch, on odd map sizes and channel counts that are
// not multiples of the vector width; the last case has tasks of more tiles
// than one of WinogradWeightGrad's parts with amc's AVX-512 products.
func TestWinogradWeightGradMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, c := range []struct{ n, H, W, C, K int }{{3, 7, 5, 5, 13}, {2, 8, 8, 16, 16}, {1, 3, 4, 4, 9}, {4, 31, 33, 5, 13}} {
		in, out := Shape{C: c.C, H: c.H, W: c.W}, Shape{C: c.K, H: c.H, W: c.W}
		x := make([]float32, c.n*in.Size())
		dy := make([]float32, c.n*out.Size())
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		for i := range dy {
			dy[i] = float32(rng.NormFloat64())
		}
		per, tasks, size := WinogradGradTasks(in, out, c.n)
		du := make([]float32, 16*c.C*c.K)
		s := make([]float32, size)
		for task := 0; task < tasks; task++ {
			WinogradWeightGrad(du, x, dy, s, in, out, c.n, per, task)
		}
		got := WinogradGradWeights(du, c.C, c.K) // (ky, kx, c) x K
		var worst, scale float64
		for ky := 0; ky < 3; ky++ {
			for kx := 0; kx < 3; kx++ {
				for ci := 0; ci < c.C; ci++ {
					for k := 0; k < c.K; k++ {
						var want float64
						for b := 0; b < c.n; b++ {
							for y := 0; y < c.H; y++ {
								for xx := 0; xx < c.W; xx++ {
									iy, ix := y+ky-1, xx+kx-1
									if iy < 0 || ix < 0 || iy >= c.H || ix >= c.W {
										continue
									}
									want += float64(dy[((b*c.H+y)*c.W+xx)*c.K+k]) * float64(x[((b*c.H+iy)*c.W+ix)*c.C+ci])
								}
							}
						}
						g := float64(got[((ky*3+kx)*c.C+ci)*c.K+k])
						worst = math.Max(worst, math.Abs(g-want))
						scale = math.Max(scale, math.Abs(want))
					}
				}
			}
		}
		assert.LessOrEqual(t, worst, 1e-4*scale, "n %d %dx%d C %d K %d", c.n, c.H, c.W, c.C, c.K)
	}
}

// Wide 3x3 layers whose transformed weights exceed winogradCachedU take
// im2col + SGEMM (winogradNow), at batch 1 and at batch 16 alike; narrow ones
// keep Winograd; both give the reference's outputs.
func TestWinogradNowSkipsWideLayersWithFewTiles(t *testing.T) {
	for _, tc := range []struct {
		c    int
		wino bool
	}{{64, true}, {192, false}} {
		g := NewGraph(Shape{C: tc.c, H: 8, W: 8})
		g.Conv("c", 0, tc.c, tc.c, 3, 1, 1, 1)
		p := g.InitParams(1)
		randomize(p, 13)
		pl, err := Compile(g, p, 2)
		require.NoError(t, err)
		for _, n := range []int{1, 16} {
			in := randInput(n, g.Input, 3)
			want, err := Reference(g, p, in, n)
			require.NoError(t, err)
			got, err := pl.Forward(in, n)
			require.NoError(t, err)
			assert.Equal(t, tc.wino, pl.steps[0].wino, "%d channels, batch %d", tc.c, n)
			for i := range want {
				require.InDelta(t, want[i], got[i], 1e-3, "%d channels, batch %d, output %d", tc.c, n, i)
			}
		}
	}
}

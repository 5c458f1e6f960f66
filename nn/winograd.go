package nn

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// Winograd F(2x2, 3x3) for dense 3x3, stride-1, pad-1 convolutions: each
// 2x2 block of output pixels comes from a 4x4 input tile through
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
// so that the work in the middle is 16 matrix products (one per position of
// the 4x4 transformed tile, tiles x C times C x K) of 16 multiply-adds per
// tile and channel pair, against 36 for im2col + SGEMM on the same 2x2
// pixels: 2.25x fewer. The transforms' coefficients are 0, ±1 and ½, so the
// rounding error stays at float32's level (the float64 reference check of
// the zoo covers this path). Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", CVPR 2016.
//
// Layout of one task's scratch: V[ξ][t][c] (16 matrices of Tp x C, Tp = T
// rounded up to 4, each starting Tp*C+16 values after the last), M[ξ][t][k]
// (16 of Tp x Kp, Kp = K rounded up to 8, Tp*Kp+16 apart), then a zero row of max(C, K) values (input padding, missing
// residual) and a discard row of K values (output pixels past an odd edge).

// winogradMinC is the smallest input channel count given to the Winograd
// path: with fewer (a network's RGB input) the 16 products are too thin
// for SGEMM and im2col is faster (measured on ResNet-20's first layer).
var winogradMinC = 4

// winogradMaxCK bounds input plus output channels on the Winograd path.
// It was 256 when VGG-16's 512-channel layers measured slower than im2col;
// since the cache-line offsets of the 16 matrices and the AVX-512 products,
// they are faster (VGG-16 forward, batch 100, 2026-12-03: 256 -> 1024 took
// 312 -> 370 img/s with AVX2 products and 327 -> 486 with AVX-512; batch 1
// within noise), so every layer of the zoo up to 512 + 512 channels could
// take it. With amc's own AVX-512 SGEMM, winogradNow sends the layers whose
// transformed weights exceed 1 MiB (more than about 128 + 128 channels) back
// to im2col; the trainer (WinogradApplies) keeps its own bound.
const winogradMaxCK = 1024

// winogradOK says whether a convolution takes the Winograd path.
func winogradOK(k, stride, pad, groups, inC, outC int) bool {
	return k == 3 && stride == 1 && pad == 1 && groups == 1 && inC >= winogradMinC && inC+outC <= winogradMaxCK
}

// winoPad rounds a channel count up to the Winograd products' column block.
func winoPad(k int) int { return (k + 7) &^ 7 }

// winogradWeights turns a step's weights, (ky, kx, c) x K row-major with the
// batch-norm scale folded in, into U[ξ][c][k] = (G g Gᵀ)[ξ] (16 x C x Kp,
// Kp = winoPad(K), zero past K), computed in float64.
func winogradWeights(w []float32, C, K int) []float32 {
	return winogradWeightsInto(make([]float32, 16*C*winoPad(K)), w, C, K)
}

// winogradWeightsInto is winogradWeights writing into u (16 x C x Kp floats,
// overwritten, zeros included), which it returns.
func winogradWeightsInto(u, w []float32, C, K int) []float32 {
	g := [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
	Kp := winoPad(K)
	u = u[:16*C*Kp]
	clear(u)
	var kern [3][3]float64
	for c := 0; c < C; c++ {
		for k := 0; k < K; k++ {
			for ky := 0; ky < 3; ky++ {
				for kx := 0; kx < 3; kx++ {
					kern[ky][kx] = float64(w[((ky*3+kx)*C+c)*K+k])
				}
			}
			var tmp [4][3]float64 // G g
			for i := 0; i < 4; i++ {
				for j := 0; j < 3; j++ {
					for l := 0; l < 3; l++ {
						tmp[i][j] += g[i][l] * kern[l][j]
					}
				}
			}
			for i := 0; i < 4; i++ {
				for j := 0; j < 4; j++ {
					var s float64 // (G g) Gᵀ
					for l := 0; l < 3; l++ {
						s += tmp[i][l] * g[j][l]
					}
					u[((i*4+j)*C+c)*Kp+k] = float32(s)
				}
			}
		}
	}
	return u
}

// winogradMinTiles is the fewest 2x2 output tiles (over the batch) for which
// a convolution runs the Winograd path: below it (small maps at small
// batches) reading the 16 transformed weight matrices costs more than the
// products save, and im2col + SGEMM is faster (measured on VGG-16 at batch 1).
var winogradMinTiles = 16

// winogradNow says whether step st runs the Winograd path for n samples.
//
// A task reads all of the transformed weights U (16 x C x Kp floats, Kp = K
// rounded up to 8) for its few tiles: WinogradTasks keeps a task's tiles in
// L2, at most 5120 / (C + K) of them (5 for 512 + 512 channels), so U
// larger than winogradCachedU streams from memory once per task, while
// im2col + amc's SGEMM reads the 9 x C x K weights once per tile of up to
// 512 pixels. Layers with such a U take SGEMM at every batch size. Measured
// on ResNet-50 at 224x224, batch 1 (its 14x14 and 7x7 3x3 layers move), in
// three interleaved runs here: 30.3-32.5 -> 34.4-34.7 images/s; VGG-16 (its
// 256- and 512-channel layers move) at batch 100 504 and 516 -> 550 and 521,
// at batch 1 within noise; ResNet-50 at batch 32 34.5 and 36.5 -> 36.9 and
// 37.3. The CIFAR ResNets' U (at most 256 KB) fits and does not move.
func (pl *Plan) winogradNow(st *step, n int) bool {
	return st.wu != nil && winoTiles(st.out, n) >= winogradMinTiles && 4*len(st.wu) <= winogradCachedU
}

// winogradCachedU bounds the transformed weights' bytes on the Winograd path
// (see winogradNow): about half of this machine's 2 MiB L2 per core.
const winogradCachedU = 1 << 20

// winoGrid is the number of 2x2 output tiles down and across one sample.
func winoGrid(out Shape) (th, tw int) { return (out.H + 1) / 2, (out.W + 1) / 2 }

// winoTiles is the number of 2x2 output tiles over n samples.
func winoTiles(out Shape, n int) int {
	th, tw := winoGrid(out)
	return n * th * tw
}

// winogradTiles is how many 2x2 output tiles one task covers: V and M
// (16 x T x (C + K) floats, 320 KiB) should stay in a core's L2 cache,
// and every worker should get a task.
func (pl *Plan) winogradTiles(st *step, n int) int {
	per, _, _ := WinogradTasks(st.in, st.out, n, pl.workers)
	return per
}

// winogradTile runs tiles t0..t1 (counted over the batch, row-major within
// each sample) of a Winograd convolution step.
func (pl *Plan) winogradTile(worker, task int, st *step, src, dst []float32, n int) {
	T := pl.winogradTiles(st, n)
	t0 := task * T
	t1 := min(winoTiles(st.out, n), t0+T)
	s := pl.scratchFor(worker, winogradScratch(st.in.C, st.out.C, T))
	var res []float32
	if st.res >= 0 {
		res = pl.bufs[st.res][:n*st.out.Size()]
	}
	winogradRange(dst, src, res, st.wu, st.bias, s, st.in, st.out, t0, t1, st.act)
}

// winogradScratch is the scratch (floats) one task of T tiles needs.
func winogradScratch(C, K, T int) int {
	Tp, Kp := (T+3)&^3, winoPad(K)
	return 16*(Tp*C+16+Tp*Kp+16) + max(C, K) + K
}

// winogradRange computes output tiles t0..t1 of a Winograd convolution with
// transformed weights u, plus bias (nil: none) and res (nil: none),
// activated; s is scratch of winogradScratch(in.C, out.C, t1-t0) floats.
func winogradRange(dst, src, res, u, bias, s []float32, in, out Shape, t0, t1 int, a act) {
	C, K := in.C, out.C
	th, tw := winoGrid(out)
	T := t1 - t0
	Tp, Kp := (T+3)&^3, winoPad(K) // the products run on blocks of 4 tiles x 8 columns
	// The 16 matrices' starts are offset by a cache line so that the
	// transforms' 16 streams do not map to one cache set.
	vs, ms := Tp*C+16, Tp*Kp+16
	zw := max(C, K)
	v, m := s[:16*vs], s[16*vs:16*(vs+ms)]
	zero, trash := s[16*(vs+ms):16*(vs+ms)+zw], s[16*(vs+ms)+zw:]
	clear(zero)
	if bias == nil {
		bias = zero[:K]
	}
	winoInImpl(v, src, zero, in, th, tw, t0, t1, vs)
	winoMulImpl(m, v, u, Tp, C, Kp, vs, ms)
	winoOutImpl(dst, m, res, zero, trash, bias, out, th, tw, t0, t1, ms, Kp, a)
}

// WinogradApplies says whether a dense convolution with these geometry and
// channels has a Winograd F(2x2, 3x3) path, and whether it is worth taking
// for n samples (for callers outside Plan, such as the trainer).
func WinogradApplies(kernel, stride, pad, groups, inC, outC int, out Shape, n int) bool {
	return winogradOK(kernel, stride, pad, groups, inC, outC) && winoTiles(out, n) >= winogradMinTiles
}

// WinogradWeights transforms a 3x3 convolution's weights, given as
// (ky, kx, c) x K row-major (C input, K output channels), for WinogradRun.
func WinogradWeights(w []float32, C, K int) []float32 { return winogradWeights(w, C, K) }

// WinogradWeightsInto is WinogradWeights writing into u, which must hold
// WinogradWeightsLen(C, K) floats; it returns u.
func WinogradWeightsInto(u, w []float32, C, K int) []float32 {
	if n := WinogradWeightsLen(C, K); len(u) < n {
		panic(fmt.Sprintf("nn: WinogradWeightsInto: %d floats for %d", len(u), n))
	}
	return winogradWeightsInto(u, w, C, K)
}

// WinogradWeightsLen is the length of WinogradWeights' result for C input
// and K output channels.
func WinogradWeightsLen(C, K int) int { return 16 * C * winoPad(K) }

// WinogradTasks splits the 2x2 output tiles of n samples into tasks for
// workers goroutines: per tiles per task, tasks in all, scratch floats per
// task.
func WinogradTasks(in, out Shape, n, workers int) (per, tasks, scratch int) {
	total := winoTiles(out, n)
	per = max(4, min(256, (320<<10)/(64*(in.C+out.C)), ((total+workers-1)/workers+3)&^3))
	return per, (total + per - 1) / per, winogradScratch(in.C, out.C, per)
}

// WinogradGradTasks is WinogradTasks for WinogradWeightGrad: longer tasks,
// since its 16 products per task are C x K matrices summed over the task's
// tiles, and OpenBLAS runs those faster over more tiles than fit in L2 (at
// least two tasks, for two cores). The split does not depend on the number
// of workers, so that the sums, and so the gradient's rounding, are the same
// on every machine with the same CPU features (AVX-512F or not, AMC_AVX512)
// and OpenBLAS kernel.
func WinogradGradTasks(in, out Shape, n int) (per, tasks, scratch int) {
	total := winoTiles(out, n)
	per = max(4, min(winoGradTiles, winoGradBytes/(64*(in.C+out.C)), ((total+1)/2+3)&^3))
	return per, (total + per - 1) / per, winogradScratch(in.C, out.C, per)
}

// winoGradTiles caps WinogradGradTasks's tiles per task: measured on
// ResNet-20/56 training steps at batch 128, 2048 ran 10-15% faster than the
// L2-sized tasks of WinogradTasks (at most 256 tiles); 512 and 8192 ran
// between the two. With amc's AVX-512 products in place of OpenBLAS's,
// 512 was again slower than 2048 on ResNet-20 (interleaved runs).
// winoGradBytes caps a task's scratch (16 x tiles x (C +
// K) floats) at 8 MiB: wide layers get fewer tiles.
const (
	winoGradTiles = 2048
	winoGradBytes = 8 << 20
)

// WinogradRun computes task t (of WinogradTasks's split) of the 3x3,
// stride-1, pad-1 convolution of NHWC src (n samples of shape in) with
// transformed weights u into dst (shape out), adding res unless it is nil;
// res may be dst itself (accumulation). s is the task's scratch.
func WinogradRun(dst, src, res, u, s []float32, in, out Shape, n, per, t int) {
	t0 := t * per
	t1 := min(winoTiles(out, n), t0+per)
	if t1 <= t0 {
		return
	}
	winogradRange(dst[:n*out.Size()], src[:n*in.Size()], res, u, nil, s[:winogradScratch(in.C, out.C, t1-t0)], in, out, t0, t1, actNone)
}

// WinogradWeightGrad adds into du (16 matrices of C x K, one per position
// of the 4x4 transformed tile) task t's share of the transformed weight
// gradient of the convolution WinogradRun computes: with V = Bᵀ d B the
// input tiles and dM = A dY Aᵀ the output gradient's, du[ξ] += V[ξ]ᵀ dM[ξ]
// summed over the task's tiles. WinogradGradWeights turns the sum over all
// tasks into the kernel's gradient. s is the task's scratch
// (WinogradGradTasks).
func WinogradWeightGrad(du, src, dy, s []float32, in, out Shape, n, per, t int) {
	C, K := in.C, out.C
	th, tw := winoGrid(out)
	t0 := t * per
	t1 := min(winoTiles(out, n), t0+per)
	T := t1 - t0
	if T <= 0 {
		return
	}
	vs, ms := T*C+16, T*K+16
	v, dm := s[:16*vs], s[16*vs:16*(vs+ms)]
	zero := s[16*(vs+ms) : 16*(vs+ms)+max(C, K)]
	clear(zero)
	sub := T
	if winoWGradInPlace() {
		// amc's own products run as fast on a few hundred tiles as on
		// thousands, so the task goes in parts whose transformed tiles stay
		// in L2 between the transforms that write them and the products that
		// read them. The sums run over the tiles in the same order.
		sub = max(16, winoGradL2/(64*(C+K)))
	}
	for a := t0; a < t1; a += sub {
		b := min(t1, a+sub)
		winoInImpl(v, src[:n*in.Size()], zero, in, th, tw, a, b, vs)
		winoDyImpl(dm, dy[:n*out.Size()], zero, out, th, tw, a, b, ms)
		winoWGradImpl(du, v, dm, b-a, C, K, vs, ms)
	}
}

// winoGradL2 is the bytes of transformed tiles (16 x tiles x (C + K)
// floats) WinogradWeightGrad keeps in L2 at a time with amc's own products.
const winoGradL2 = 512 << 10

// winoWGradGo adds the weight gradient's 16 products du[ξ] += V[ξ]ᵀ dM[ξ]
// (C x T times T x K) through SGEMM; the cgo build uses its own AVX-512
// kernel where the CPU has one (amc_wino_wgrad in kernels_c.h).
func winoWGradGo(du, v, dm []float32, T, C, K, vs, ms int) {
	for xi := 0; xi < 16; xi++ {
		blas32.Implementation().Sgemm(blas.Trans, blas.NoTrans, C, K, T, 1, v[xi*vs:xi*vs+T*C], C,
			dm[xi*ms:xi*ms+T*K], K, 1, du[xi*C*K:(xi+1)*C*K], K)
	}
}

// WinogradGradWeights turns the transformed weight gradient du (16 x C x K,
// summed over every task) into the kernel's gradient, Gᵀ du G, as (ky, kx,
// c) x K row-major: the transpose of the weights' transform.
func WinogradGradWeights(du []float32, C, K int) []float32 {
	g := [4][3]float64{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
	dw := make([]float32, 9*C*K)
	for c := 0; c < C; c++ {
		for k := 0; k < K; k++ {
			var tmp [3][4]float64 // Gᵀ du
			for i := 0; i < 3; i++ {
				for j := 0; j < 4; j++ {
					for l := 0; l < 4; l++ {
						tmp[i][j] += g[l][i] * float64(du[((l*4+j)*C+c)*K+k])
					}
				}
			}
			for i := 0; i < 3; i++ {
				for j := 0; j < 3; j++ {
					var s float64 // (Gᵀ du) G
					for l := 0; l < 4; l++ {
						s += tmp[i][l] * g[l][j]
					}
					dw[((i*3+j)*C+c)*K+k] = float32(s)
				}
			}
		}
	}
	return dw
}

// winoDyGo writes dM = A dY Aᵀ for output-gradient tiles t0..t1 (dm[ξ]
// starts at ξ x ms, tiles K apart); pixels past an odd edge read zero.
func winoDyGo(dm, dy, zero []float32, out Shape, th, tw, t0, t1, ms int) {
	K := out.C
	for t := t0; t < t1; t++ {
		b, p := t/(th*tw), t%(th*tw)
		y0, x0 := 2*(p/tw), 2*(p%tw)
		var r [4][]float32
		for q := 0; q < 4; q++ {
			y, x := y0+q/2, x0+q%2
			if y >= out.H || x >= out.W {
				r[q] = zero[:K]
			} else {
				r[q] = dy[((b*out.H+y)*out.W+x)*K:][:K]
			}
		}
		o := (t - t0) * K
		for k := 0; k < K; k++ {
			a := [4][2]float32{ // A dY
				{r[0][k], r[1][k]},
				{r[0][k] + r[2][k], r[1][k] + r[3][k]},
				{r[0][k] - r[2][k], r[1][k] - r[3][k]},
				{-r[2][k], -r[3][k]},
			}
			for i := 0; i < 4; i++ { // (A dY) Aᵀ
				dm[(i*4)*ms+o+k] = a[i][0]
				dm[(i*4+1)*ms+o+k] = a[i][0] + a[i][1]
				dm[(i*4+2)*ms+o+k] = a[i][0] - a[i][1]
				dm[(i*4+3)*ms+o+k] = -a[i][1]
			}
		}
	}
}

// winoMulGo computes M[ξ] = V[ξ] U[ξ] for the 16 positions: Tp x C times
// C x Kp each; V[ξ] starts at ξ x vs, M[ξ] at ξ x ms.
func winoMulGo(m, v, u []float32, Tp, C, Kp, vs, ms int) {
	for xi := 0; xi < 16; xi++ {
		sgemm(false, Tp, Kp, C, v[xi*vs:xi*vs+Tp*C], C, u[xi*C*Kp:(xi+1)*C*Kp], Kp, m[xi*ms:xi*ms+Tp*Kp], Kp)
	}
}

// winoInGo writes V = Bᵀ d B for tiles t0..t1 (V[ξ] starts at ξ x vs): tile
// (b, ty, tx) reads input rows 2ty-1..2ty+2 and columns 2tx-1..2tx+2, zero
// outside the image.
func winoInGo(v, src, zero []float32, in Shape, th, tw, t0, t1, vs int) {
	C := in.C
	var rows [16][]float32
	for t := t0; t < t1; t++ {
		b, p := t/(th*tw), t%(th*tw)
		y0, x0 := 2*(p/tw)-1, 2*(p%tw)-1
		for i := 0; i < 4; i++ {
			for j := 0; j < 4; j++ {
				y, x := y0+i, x0+j
				if y < 0 || x < 0 || y >= in.H || x >= in.W {
					rows[i*4+j] = zero[:C]
				} else {
					rows[i*4+j] = src[((b*in.H+y)*in.W+x)*C:][:C]
				}
			}
		}
		o := (t - t0) * C
		for c := 0; c < C; c++ {
			var d, r [4][4]float32
			for i := 0; i < 16; i++ {
				d[i/4][i%4] = rows[i][c]
			}
			for j := 0; j < 4; j++ { // Bᵀ d
				r[0][j] = d[0][j] - d[2][j]
				r[1][j] = d[1][j] + d[2][j]
				r[2][j] = d[2][j] - d[1][j]
				r[3][j] = d[1][j] - d[3][j]
			}
			for i := 0; i < 4; i++ { // (Bᵀ d) B
				base := (i * 4) * vs
				v[base+o+c] = r[i][0] - r[i][2]
				v[base+vs+o+c] = r[i][1] + r[i][2]
				v[base+2*vs+o+c] = r[i][2] - r[i][1]
				v[base+3*vs+o+c] = r[i][1] - r[i][3]
			}
		}
	}
}

// winoOutGo writes Y = Aᵀ M A plus bias (and the residual), activated, for
// tiles t0..t1 (M[ξ] starts at ξ x ms, rows ld apart); pixels past the
// output's edge (odd sizes) are dropped.
func winoOutGo(dst, m, res, zero, trash, bias []float32, out Shape, th, tw, t0, t1, ms, ld int, a act) {
	K := out.C
	for t := t0; t < t1; t++ {
		b, p := t/(th*tw), t%(th*tw)
		y0, x0 := 2*(p/tw), 2*(p%tw)
		var d, rs [4][]float32
		for q := 0; q < 4; q++ {
			y, x := y0+q/2, x0+q%2
			if y >= out.H || x >= out.W {
				d[q], rs[q] = trash[:K], zero[:K]
				continue
			}
			off := ((b*out.H+y)*out.W + x) * K
			d[q] = dst[off : off+K]
			if res != nil {
				rs[q] = res[off : off+K]
			}
		}
		o := (t - t0) * ld
		for k := 0; k < K; k++ {
			var mm [4][4]float32
			for i := 0; i < 16; i++ {
				mm[i/4][i%4] = m[i*ms+o+k]
			}
			var s [2][4]float32 // Aᵀ M
			for j := 0; j < 4; j++ {
				s[0][j] = mm[0][j] + mm[1][j] + mm[2][j]
				s[1][j] = mm[1][j] - mm[2][j] - mm[3][j]
			}
			y := [4]float32{ // (Aᵀ M) A
				s[0][0] + s[0][1] + s[0][2], s[0][1] - s[0][2] - s[0][3],
				s[1][0] + s[1][1] + s[1][2], s[1][1] - s[1][2] - s[1][3],
			}
			for q := 0; q < 4; q++ {
				val := y[q] + bias[k]
				if res != nil {
					val += rs[q][k]
				}
				switch a {
				case actReLU:
					val = max(val, 0)
				case actReLU6:
					val = min(max(val, 0), 6)
				}
				d[q][k] = val
			}
		}
	}
}

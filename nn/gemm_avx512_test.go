//go:build openblas && cgo

package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// amc's AVX-512 product C = op(A) op(B) (+ C) agrees with a float64 product
// for every transpose and with and without accumulation, on shapes that
// cover every row block (12, 4, 1 rows; 16, 4, 1 for narrow panels), full
// and half column blocks and masked ones in either half of a 32-column
// panel, k of 0, one and more than one panel of AMC_GEMM_KC rows, and
// leading dimensions wider than the matrices; it writes nothing outside C's
// m x n window; and splitting the rows or the columns (at multiples of 32)
// changes no output bit.
func TestSgemmAVX512MatchesReference(t *testing.T) {
	if !cpuAVX512() {
		t.Skip("this CPU has no AVX-512F: the engine uses OpenBLAS's product")
	}
	defer setWinoAVX512(winoAVX512())
	setWinoAVX512(true)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, s := range []struct{ m, n, k int }{
		{1, 1, 1}, {3, 7, 5}, {12, 32, 9}, {13, 33, 256}, {17, 16, 257}, {29, 48, 600}, {49, 200, 64},
		{4, 15, 0}, {40, 64, 513}, {16, 100, 3}, {13, 57, 300}, {5, 25, 7}, {26, 23, 40},
	} {
		for _, op := range []struct{ tA, tB, acc bool }{
			{false, false, false}, {false, true, false}, {true, false, false}, {true, true, false},
			{false, false, true}, {false, true, true}, {true, false, true}, {true, true, true},
		} {
			t.Run(fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_acc%v", s.m, s.n, s.k, op.tA, op.tB, op.acc), func(t *testing.T) {
				// A is stored m x k (k x m when tA), B k x n (n x k when tB), with padding.
				ar, ac, br, bc := s.m, s.k, s.k, s.n
				if op.tA {
					ar, ac = s.k, s.m
				}
				if op.tB {
					br, bc = s.n, s.k
				}
				lda, ldb, ldc := ac+3, bc+5, s.n+7
				a := make([]float32, max(ar, 1)*lda)
				b := make([]float32, max(br, 1)*ldb)
				for i := range a {
					a[i] = float32(rng.NormFloat64())
				}
				for i := range b {
					b[i] = float32(rng.NormFloat64())
				}
				opA := func(i, q int) float32 {
					if op.tA {
						return a[q*lda+i]
					}
					return a[i*lda+q]
				}
				opB := func(q, j int) float32 {
					if op.tB {
						return b[j*ldb+q]
					}
					return b[q*ldb+j]
				}
				const guard = -12345
				c := make([]float32, s.m*ldc+16)
				for i := range c {
					c[i] = guard
				}
				c0 := make([]float32, len(c))
				for i := 0; i < s.m; i++ {
					for j := 0; j < s.n; j++ {
						if op.acc {
							c[i*ldc+j] = float32(rng.NormFloat64())
						}
					}
				}
				copy(c0, c)
				require.True(t, gemmC(op.tA, op.tB, s.m, s.n, s.k, a, lda, b, ldb, op.acc, c, ldc))
				for i := 0; i < s.m; i++ {
					for j := 0; j < ldc; j++ {
						got := c[i*ldc+j]
						if j >= s.n {
							require.Equal(t, float32(guard), got, "row %d column %d is outside C", i, j)
							continue
						}
						var want, scale float64
						if op.acc {
							want, scale = float64(c0[i*ldc+j]), math.Abs(float64(c0[i*ldc+j]))
						}
						for l := 0; l < s.k; l++ {
							p := float64(opA(i, l)) * float64(opB(l, j))
							want += p
							scale += math.Abs(p)
						}
						require.InDelta(t, want, float64(got), 1e-5*(scale+1), "row %d column %d", i, j)
					}
				}
				for _, g := range c[s.m*ldc:] {
					require.Equal(t, float32(guard), g, "after C")
				}
				// The same product in pieces: rows split at every 5th row, columns at
				// every 32nd and, as the trainer's splits may, at every 7th.
				for _, cw := range []int{32, 7} {
					parts := append([]float32(nil), c0...)
					for r0 := 0; r0 < s.m; r0 += 5 {
						r1 := min(s.m, r0+5)
						for j0 := 0; j0 < s.n; j0 += cw {
							j1 := min(s.n, j0+cw)
							aOff, bOff := r0*lda, j0
							if op.tA {
								aOff = r0
							}
							if op.tB {
								bOff = j0 * ldb
							}
							gemmC(op.tA, op.tB, r1-r0, j1-j0, s.k, a[aOff:], lda, b[bOff:], ldb, op.acc, parts[r0*ldc+j0:], ldc)
						}
					}
					for i := 0; i < s.m; i++ {
						assert.Equal(t, c[i*ldc:i*ldc+s.n], parts[i*ldc:i*ldc+s.n], "columns every %d, row %d", cw, i)
					}
				}
			})
		}
	}
}

// Gemm falls back to BLAS for a beta other than 0 and 1, and to it entirely
// with AMC_AVX512's switch off; both agree with the kernel to rounding, with
// A stored as is or transposed, and beta 0, 1 and 0.5.
func TestGemmFallsBack(t *testing.T) {
	defer setWinoAVX512(winoAVX512())
	rng := rand.New(rand.NewPCG(23, 24))
	m, n, k := 9, 40, 70
	a, b := make([]float32, m*k), make([]float32, n*k)
	for i := range a {
		a[i] = float32(rng.NormFloat64())
	}
	for i := range b {
		b[i] = float32(rng.NormFloat64())
	}
	want := make([]float32, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for l := 0; l < k; l++ {
				s += float64(a[i*k+l]) * float64(b[j*k+l])
			}
			want[i*n+j] = float32(s)
		}
	}
	at := make([]float32, k*m) // A stored transposed
	for i := 0; i < m; i++ {
		for l := 0; l < k; l++ {
			at[l*m+i] = a[i*k+l]
		}
	}
	for _, on := range []bool{true, false} {
		setWinoAVX512(on)
		c := make([]float32, m*n)
		Gemm(false, true, m, n, k, a, k, b, k, 0, c, n)
		assert.InDeltaSlice(t, want, c, 1e-3, "AVX-512 %v, beta 0", on)
		Gemm(true, true, m, n, k, at, m, b, k, 1, c, n) // c = Aᵀᵀ Bᵀ + c
		for i := range c {
			require.InDelta(t, 2*want[i], c[i], 2e-3, "AVX-512 %v, tA, beta 1, element %d", on, i)
		}
		Gemm(false, true, m, n, k, a, k, b, k, 0.5, c, n) // c = A Bᵀ + c/2
		for i := range c {
			require.InDelta(t, 2*want[i], c[i], 2e-3, "AVX-512 %v, beta 0.5, element %d", on, i)
		}
	}
}

// BenchmarkSgemmNN compares amc's AVX-512 product with OpenBLAS's on the
// shapes of ResNet-50's 1x1 convolutions at batch 1 (rows: one tile of
// pixels; 56x56 in tiles of 512, 14x14 and 7x7 whole) and a CIFAR im2col.
func BenchmarkSgemmNN(b *testing.B) {
	if !cpuAVX512() {
		b.Skip("no AVX-512F")
	}
	defer setWinoAVX512(winoAVX512())
	for _, s := range []struct{ m, n, k int }{{512, 256, 64}, {196, 1024, 256}, {49, 2048, 512}, {49, 512, 2048}, {512, 64, 576}} {
		for _, impl := range []string{"amc", "openblas"} {
			b.Run(fmt.Sprintf("%s/m%d_n%d_k%d", impl, s.m, s.n, s.k), func(b *testing.B) {
				a, w, c := make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
				for i := range a {
					a[i] = float32(i%7) * 0.1
				}
				setWinoAVX512(impl == "amc")
				for i := 0; i < b.N; i++ {
					gemmNNC(s.m, s.n, s.k, a, s.k, w, s.n, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkGemmTraining compares amc's AVX-512 product with OpenBLAS's on
// the trainer's shapes at batch 128 (Gemm; rows split in two as its two
// workers do): a MobileNet-V1 pointwise layer at 8x8 (128 -> 256 channels)
// forward (A Bᵀ), weight gradient (Aᵀ B, accumulated) and input gradient
// (A B), and VGG-16's 256-channel 3x3 im2col at 8x8.
func BenchmarkGemmTraining(b *testing.B) {
	if !cpuAVX512() {
		b.Skip("no AVX-512F")
	}
	defer setWinoAVX512(winoAVX512())
	type shape struct {
		name     string
		tA, tB   bool
		m, n, k  int
		beta     float32
		lda, ldb int
	}
	for _, s := range []shape{
		{"pw-forward", false, true, 4096, 256, 128, 0, 128, 128},
		{"pw-wgrad", true, false, 256, 128, 4096, 1, 256, 128},
		{"pw-dx", false, false, 4096, 128, 256, 0, 256, 128},
		{"vgg-im2col-forward", false, true, 4096, 256, 2304, 0, 2304, 2304},
		{"vgg-im2col-wgrad", true, false, 256, 2304, 4096, 1, 256, 2304},
	} {
		for _, impl := range []string{"amc", "openblas"} {
			b.Run(impl+"/"+s.name, func(b *testing.B) {
				asz, bsz := s.m*s.lda, s.k*s.ldb
				if s.tA {
					asz = s.k * s.lda
				}
				if s.tB {
					bsz = s.n * s.ldb
				}
				a, w, c := make([]float32, asz), make([]float32, bsz), make([]float32, s.m*s.n)
				for i := range a {
					a[i] = float32(i%7) * 0.1
				}
				setWinoAVX512(impl == "amc")
				for i := 0; i < b.N; i++ {
					Gemm(s.tA, s.tB, s.m, s.n, s.k, a, s.lda, w, s.ldb, s.beta, c, s.n)
				}
				b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

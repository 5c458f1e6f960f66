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

// amc's AVX-512 product C = A B agrees with a float64 product on shapes that
// cover every row block (12, 4, 1 rows; 16, 4, 1 for narrow panels), full
// and half column blocks and masked ones in either half of a 32-column
// panel, k of 0, one and more than one panel of
// AMC_GEMM_KC rows, and leading dimensions wider than the matrices; it
// writes nothing outside C's m x n window; and splitting the rows or the
// columns (at multiples of 32) changes no output bit.
func TestSgemmNNAVX512MatchesReference(t *testing.T) {
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
		t.Run(fmt.Sprintf("m%d_n%d_k%d", s.m, s.n, s.k), func(t *testing.T) {
			lda, ldb, ldc := s.k+3, s.n+5, s.n+7
			a := make([]float32, s.m*lda)
			b := make([]float32, max(s.k, 1)*ldb)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			const guard = -12345
			c := make([]float32, s.m*ldc+16)
			for i := range c {
				c[i] = guard
			}
			gemmNNC(s.m, s.n, s.k, a, lda, b, ldb, c, ldc)
			for i := 0; i < s.m; i++ {
				for j := 0; j < ldc; j++ {
					got := c[i*ldc+j]
					if j >= s.n {
						require.Equal(t, float32(guard), got, "row %d column %d is outside C", i, j)
						continue
					}
					var want, scale float64
					for l := 0; l < s.k; l++ {
						p := float64(a[i*lda+l]) * float64(b[l*ldb+j])
						want += p
						scale += math.Abs(p)
					}
					require.InDelta(t, want, float64(got), 1e-5*(scale+1), "row %d column %d", i, j)
				}
			}
			for _, g := range c[s.m*ldc:] {
				require.Equal(t, float32(guard), g, "after C")
			}
			// The same product in pieces: rows split at every 5th row, columns at 32.
			parts := make([]float32, len(c))
			for r0 := 0; r0 < s.m; r0 += 5 {
				r1 := min(s.m, r0+5)
				for j0 := 0; j0 < s.n; j0 += 32 {
					j1 := min(s.n, j0+32)
					gemmNNC(r1-r0, j1-j0, s.k, a[r0*lda:], lda, b[j0:], ldb, parts[r0*ldc+j0:], ldc)
				}
			}
			for i := 0; i < s.m; i++ {
				assert.Equal(t, c[i*ldc:i*ldc+s.n], parts[i*ldc:i*ldc+s.n], "row %d", i)
			}
		})
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

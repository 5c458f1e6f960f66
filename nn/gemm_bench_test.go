package nn

import (
	"fmt"
	"testing"
)

// BenchmarkSgemm measures one single-threaded matrix product of the shapes
// ResNet convolutions produce (rows = output pixels of one tile).
func BenchmarkSgemm(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{512, 16, 144}, {512, 32, 288}, {512, 64, 576}, {256, 64, 576}, {6400, 64, 576}} {
		b.Run(fmt.Sprintf("m%d_n%d_k%d", s.m, s.n, s.k), func(b *testing.B) {
			a := make([]float32, s.m*s.k)
			w := make([]float32, s.k*s.n)
			c := make([]float32, s.m*s.n)
			for i := range a {
				a[i] = float32(i%7) * 0.1
			}
			for i := 0; i < b.N; i++ {
				sgemm(false, s.m, s.n, s.k, a, s.k, w, s.n, c, s.n)
			}
			b.ReportMetric(2*float64(s.m*s.n*s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

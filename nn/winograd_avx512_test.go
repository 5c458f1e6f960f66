//go:build openblas && cgo

package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The AVX-512 Winograd products give bit for bit the AVX2 ones (the same
// chain of fused multiply-adds per output), on column counts that end in a
// full, a half and a masked block.
func TestWinogradAVX512MatchesAVX2(t *testing.T) {
	if !cpuAVX512() {
		t.Skip("this CPU has no AVX-512F: only the AVX2 products run here")
	}
	defer setWinoAVX512(winoAVX512())
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ Tp, C, Kp int }{{4, 3, 8}, {8, 16, 16}, {12, 24, 24}, {16, 64, 64}, {4, 5, 40}, {8, 32, 56}} {
		vs, ms := c.Tp*c.C+16, c.Tp*c.Kp+16
		v := make([]float32, 16*vs)
		u := make([]float32, 16*c.C*c.Kp)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		for i := range u {
			u[i] = float32(rng.NormFloat64())
		}
		m512, m256 := make([]float32, 16*ms), make([]float32, 16*ms)
		setWinoAVX512(true)
		winoMulC(m512, v, u, c.Tp, c.C, c.Kp, vs, ms)
		setWinoAVX512(false)
		winoMulC(m256, v, u, c.Tp, c.C, c.Kp, vs, ms)
		require.Equal(t, m256, m512, "Tp %d C %d Kp %d", c.Tp, c.C, c.Kp)
	}
}

// The AVX-512 Winograd transforms give bit for bit the AVX2 ones (additions
// and subtractions in the same order), on channel counts that mix 16-, 8-
// and single-channel blocks (20: a 16-block, then single channels), odd map
// sizes, a residual and ReLU6.
func TestWinogradTransformsAVX512MatchAVX2(t *testing.T) {
	if !cpuAVX512() {
		t.Skip("this CPU has no AVX-512F: only the AVX2 transforms run here")
	}
	defer setWinoAVX512(winoAVX512())
	rng := rand.New(rand.NewPCG(15, 16))
	randn := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	for _, c := range []int{13, 20, 24, 40} {
		n, in := 2, Shape{C: c, H: 7, W: 6}
		th, tw := winoGrid(in)
		T := n * th * tw
		vs := T*c + 16
		src, zero := randn(n*in.Size()), make([]float32, c)
		var v [2][]float32
		for i, on := range []bool{true, false} {
			setWinoAVX512(on)
			v[i] = make([]float32, 16*vs)
			winoInC(v[i], src, zero, in, th, tw, 0, T, vs)
		}
		require.Equal(t, v[1], v[0], "input transform, C %d", c)

		ms := T*c + 16
		m, res, bias := randn(16*ms), randn(n*in.Size()), randn(c)
		var d [2][]float32
		for i, on := range []bool{true, false} {
			setWinoAVX512(on)
			d[i] = make([]float32, n*in.Size())
			winoOutC(d[i], m, res, zero, make([]float32, c), bias, in, th, tw, 0, T, ms, c, actReLU6)
		}
		require.Equal(t, d[1], d[0], "output transform, K %d", c)
	}
}

// The AVX-512 weight-gradient products (du += Vᵀ dM per position) agree
// with SGEMM's to float32 rounding (the sums run in another order), add
// into what du held, and leave du's neighbours alone, on row and column
// counts that end in full, partial and masked blocks.
func TestWinogradWeightGradAVX512MatchesSgemm(t *testing.T) {
	if !cpuAVX512() {
		t.Skip("this CPU has no AVX-512F: the weight gradient's products are SGEMM here")
	}
	defer setWinoAVX512(winoAVX512())
	setWinoAVX512(true)
	rng := rand.New(rand.NewPCG(17, 18))
	for _, c := range []struct{ T, C, K int }{{1, 1, 1}, {5, 3, 7}, {64, 16, 16}, {101, 13, 37}, {300, 64, 64}, {33, 24, 48}, {17, 9, 17}, {40, 8, 33}, {29, 7, 70}, {50, 35, 16}, {21, 18, 5}, {9, 67, 130}, {700, 13, 37}, {23, 11, 100}, {19, 10, 52}, {40, 2040, 20}} {
		vs, ms := c.T*c.C+5, c.T*c.K+3
		v, dm := make([]float32, 16*vs), make([]float32, 16*ms)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		for i := range dm {
			dm[i] = float32(rng.NormFloat64())
		}
		n := 16 * c.C * c.K
		start := make([]float32, n+8)
		for i := range start {
			start[i] = float32(rng.NormFloat64())
		}
		got, want := append([]float32(nil), start...), append([]float32(nil), start...)
		winoWGradC(got[:n], v, dm, c.T, c.C, c.K, vs, ms)
		winoWGradGo(want[:n], v, dm, c.T, c.C, c.K, vs, ms)
		require.Equal(t, start[n:], got[n:], "T %d C %d K %d: wrote past du", c.T, c.C, c.K)
		for i := range want[:n] {
			require.InDelta(t, want[i], got[i], 1e-5*(1+float64(c.T)), "T %d C %d K %d, element %d", c.T, c.C, c.K, i)
		}
	}
}

// BenchmarkWinogradWeightGradProducts times the weight gradient's 16
// products for one task of WinogradGradTasks's size on ResNet-20's
// channel counts, as WinogradWeightGrad calls them: SGEMM on the whole
// task, the AVX-512 kernel on its L2-sized parts.
func BenchmarkWinogradWeightGradProducts(b *testing.B) {
	if !cpuAVX512() {
		b.Skip("no AVX-512F")
	}
	for _, ch := range []int{16, 32, 64} {
		T := 2048
		vs, ms := T*ch+16, T*ch+16
		v, dm, du := make([]float32, 16*vs), make([]float32, 16*ms), make([]float32, 16*ch*ch)
		for i := range v {
			v[i], dm[i] = float32(i%7)-3, float32(i%5)-2
		}
		sub := max(16, winoGradL2/(64*2*ch))
		for _, impl := range []struct {
			name string
			part int
			f    func(du, v, dm []float32, T, C, K, vs, ms int)
		}{{"sgemm", T, winoWGradGo}, {"avx512", sub, winoWGradC}} {
			b.Run(impl.name+"/"+string(rune('0'+ch/16)), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					for a := 0; a < T; a += impl.part {
						n := min(impl.part, T-a)
						impl.f(du, v[a*ch:], dm[a*ch:], n, ch, ch, vs, ms)
					}
				}
				b.ReportMetric(float64(2*16*T*ch*ch)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// The AVX-512 output-gradient transform of the weight gradient gives bit
// for bit the AVX2 one and the Go one, signed zeros included (NaN stays
// NaN), on
// channel counts with full and masked 16-blocks and odd map sizes.
func TestWinogradDyAVX512MatchesAVX2(t *testing.T) {
	if !cpuAVX512() {
		t.Skip("this CPU has no AVX-512F: only the AVX2 transform runs here")
	}
	defer setWinoAVX512(winoAVX512())
	rng := rand.New(rand.NewPCG(19, 20))
	for _, k := range []int{1, 5, 16, 20, 33, 64} {
		n, out := 2, Shape{C: k, H: 5, W: 7}
		th, tw := winoGrid(out)
		T := n * th * tw
		ms := T*k + 3
		dy := make([]float32, n*out.Size())
		for i := range dy {
			switch i % 11 {
			case 3:
				dy[i] = float32(math.Copysign(0, -1))
			case 7:
				dy[i] = float32(math.NaN())
			default:
				dy[i] = float32(rng.NormFloat64())
			}
		}
		zero := make([]float32, k)
		var d [3][]float32
		for i := range d {
			d[i] = make([]float32, 16*ms)
		}
		setWinoAVX512(true)
		winoDyC(d[0], dy, zero, out, th, tw, 1, T, ms)
		setWinoAVX512(false)
		winoDyC(d[1], dy, zero, out, th, tw, 1, T, ms)
		winoDyGo(d[2], dy, zero, out, th, tw, 1, T, ms)
		for i, got := range d[0] {
			for j, name := range []string{"AVX2", "Go"} {
				want := d[j+1][i]
				if want != want { // a NaN's sign and payload follow the operand order the compiler chose
					require.True(t, got != got, "K %d, element %d: AVX-512 %v, %s NaN", k, i, got, name)
					continue
				}
				require.Equal(t, math.Float32bits(want), math.Float32bits(got), "K %d, element %d: AVX-512 vs %s", k, i, name)
			}
		}
	}
}

// BenchmarkWinogradProducts times the forward products M = V U of one
// WinogradTasks task (256 tiles) on ResNet-20's channel counts.
func BenchmarkWinogradProducts(b *testing.B) {
	for _, ch := range []int{16, 32, 64} {
		Tp := 256
		vs, ms := Tp*ch+16, Tp*ch+16
		v, u, m := make([]float32, 16*vs), make([]float32, 16*ch*ch), make([]float32, 16*ms)
		for i := range v {
			v[i] = float32(i%7) - 3
		}
		for i := range u {
			u[i] = float32(i%5) - 2
		}
		b.Run(string(rune('0'+ch/16)), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				winoMulC(m, v, u, Tp, ch, ch, vs, ms)
			}
			b.ReportMetric(float64(2*16*Tp*ch*ch)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

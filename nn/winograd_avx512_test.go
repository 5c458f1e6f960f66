//go:build openblas && cgo

package nn

import (
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

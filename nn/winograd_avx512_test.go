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
	defer setWinoAVX512(true)
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

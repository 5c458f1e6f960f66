package agent

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The one-step bandit of the DDPG test: the policy's mean moves close to
// the best action.
func TestREINFORCELearnsABandit(t *testing.T) {
	cfg := DefaultREINFORCE()
	cfg.LR, cfg.Seed = 3e-3, 4
	r, err := NewREINFORCE(cfg, 3)
	require.NoError(t, err)
	state := []float64{0.5, 0.2, 0.9}
	start := r.Act(state, 0, false)
	for ep := 0; ep < 600; ep++ {
		var trs []Transition
		var reward float64
		for k := 0; k < 4; k++ {
			a := r.Act(state, k, true)
			reward -= math.Abs(math.Min(1, math.Max(0.2, a)) - 0.7)
			trs = append(trs, Transition{State: state, Requested: a, Action: a})
		}
		require.NoError(t, r.Observe(Episode{Index: ep, Transitions: trs, Reward: reward / 4}))
	}
	greedy := r.Act(state, 0, false)
	assert.InDelta(t, 0.7, greedy, 0.08, "greedy action %.3f (started at %.3f)", greedy, start)
	assert.InDelta(t, cfg.SigmaMin, r.Sigma(), 1e-9)
}

func TestREINFORCEStateRoundTripAndDeterminism(t *testing.T) {
	mk := func() *REINFORCE {
		r, err := NewREINFORCE(DefaultREINFORCE(), 2)
		require.NoError(t, err)
		return r
	}
	s := []float64{0.1, 0.2}
	play := func(r *REINFORCE, eps int) []float64 {
		var out []float64
		for ep := 0; ep < eps; ep++ {
			x, y := r.Act(s, 0, true), r.Act(s, 1, true)
			out = append(out, x, y)
			require.NoError(t, r.Observe(Episode{Transitions: []Transition{{State: s, Requested: x}, {State: s, Requested: y}}, Reward: -x - y}))
		}
		return out
	}
	a := mk()
	play(a, 5)
	blob, err := a.State()
	require.NoError(t, err)
	b := mk()
	require.NoError(t, b.Restore(blob))
	assert.Equal(t, play(a, 5), play(b, 5), "the same actions after a restore")
	assert.Equal(t, play(mk(), 8), play(mk(), 8), "deterministic")
	assert.Error(t, b.Restore([]byte("garbage")))
	b.Act(s, 0, true)
	assert.ErrorContains(t, b.Observe(Episode{}), "transitions")
}

package agent

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A one-step bandit: the reward is highest for actions near 0.7. After
// warm-up and training, the actor's greedy action moves close to it.
func TestDDPGLearnsABandit(t *testing.T) {
	cfg := DefaultDDPG()
	cfg.Hidden, cfg.Warmup, cfg.Batch, cfg.Seed = 32, 30, 32, 3
	cfg.ActorLR, cfg.CriticLR = 1e-2, 1e-2
	d, err := NewDDPG(cfg, 3)
	require.NoError(t, err)
	state := []float64{0.5, 0.2, 0.9}
	for ep := 0; ep < 400; ep++ {
		a := d.Act(state, 0, true)
		assert.True(t, a >= cfg.LowerBound && a <= 1, "action %v within bounds", a)
		reward := -math.Abs(a - 0.7)
		var trs []Transition
		for k := 0; k < 4; k++ { // several updates per episode
			trs = append(trs, Transition{State: state, Requested: a, Action: a})
		}
		require.NoError(t, d.Observe(Episode{Index: ep, Transitions: trs, Reward: reward}))
	}
	greedy := d.Act(state, 0, false)
	assert.InDelta(t, 0.7, greedy, 0.1, "greedy action %.3f", greedy)
	assert.InDelta(t, cfg.SigmaMin, d.Sigma(), 1e-9, "noise decays to its floor, not to zero")
}

func TestDDPGStateRoundTrip(t *testing.T) {
	cfg := DefaultDDPG()
	cfg.Hidden, cfg.Warmup, cfg.Batch = 16, 2, 4
	mk := func() *DDPG {
		d, err := NewDDPG(cfg, 2)
		require.NoError(t, err)
		return d
	}
	a := mk()
	s := []float64{0.1, 0.2}
	for ep := 0; ep < 6; ep++ {
		x := a.Act(s, 0, true)
		require.NoError(t, a.Observe(Episode{Transitions: []Transition{{State: s, Action: x}, {State: s, Action: x}}, Reward: -x}))
	}
	blob, err := a.State()
	require.NoError(t, err)
	b := mk()
	require.NoError(t, b.Restore(blob))
	// Both keep learning (Adam's moments included) in lockstep.
	for ep := 0; ep < 6; ep++ {
		x, y := a.Act(s, 0, true), b.Act(s, 0, true)
		require.Equal(t, x, y, "episode %d: same noise and weights after restore", ep)
		require.NoError(t, a.Observe(Episode{Transitions: []Transition{{State: s, Action: x}, {State: s, Action: x}}, Reward: -x}))
		require.NoError(t, b.Observe(Episode{Transitions: []Transition{{State: s, Action: y}, {State: s, Action: y}}, Reward: -y}))
	}
	assert.Equal(t, a.Act(s, 0, false), b.Act(s, 0, false))
	assert.Error(t, b.Restore([]byte("garbage")))
}

func TestDDPGIsDeterministic(t *testing.T) {
	run := func() []float64 {
		cfg := DefaultDDPG()
		cfg.Hidden, cfg.Warmup, cfg.Batch = 16, 3, 4
		d, err := NewDDPG(cfg, 2)
		require.NoError(t, err)
		var out []float64
		s := []float64{0.3, 0.4}
		for ep := 0; ep < 8; ep++ {
			x := d.Act(s, 0, true)
			out = append(out, x)
			require.NoError(t, d.Observe(Episode{Transitions: []Transition{{State: s, Action: x}}, Reward: -x}))
		}
		return out
	}
	assert.Equal(t, run(), run())
}

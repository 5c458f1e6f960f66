package agent

import (
	"bytes"
	"encoding/gob"
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
	for _, critic := range []string{CriticMC, CriticTD} {
		t.Run(critic, func(t *testing.T) {
			cfg := DefaultDDPG()
			cfg.Hidden, cfg.Warmup, cfg.Batch, cfg.Critic = 16, 2, 4, critic
			mk := func() *DDPG {
				d, err := NewDDPG(cfg, 2)
				require.NoError(t, err)
				return d
			}
			a := mk()
			s, s2 := []float64{0.1, 0.2}, []float64{0.6, 0.3}
			episode := func(x float64) Episode { // two steps: the first has a next state
				return Episode{Transitions: []Transition{{State: s, Action: x, Next: s2}, {State: s2, Action: x}}, Reward: -x}
			}
			for ep := 0; ep < 6; ep++ {
				require.NoError(t, a.Observe(episode(a.Act(s, 0, true))))
			}
			blob, err := a.State()
			require.NoError(t, err)
			b := mk()
			require.NoError(t, b.Restore(blob))
			// Both keep learning (Adam's moments and target networks included) in lockstep.
			for ep := 0; ep < 6; ep++ {
				x, y := a.Act(s, 0, true), b.Act(s, 0, true)
				require.Equal(t, x, y, "episode %d: same noise and weights after restore", ep)
				require.NoError(t, a.Observe(episode(x)))
				require.NoError(t, b.Observe(episode(y)))
			}
			assert.Equal(t, a.Act(s, 0, false), b.Act(s, 0, false))
			assert.Equal(t, a.targetCritic, b.targetCritic)
			assert.Error(t, b.Restore([]byte("garbage")))
			other := cfg
			other.Critic = map[string]string{CriticMC: CriticTD, CriticTD: CriticMC}[critic]
			c, err := NewDDPG(other, 2)
			require.NoError(t, err)
			before := c.Act(s, 0, false)
			assert.Error(t, c.Restore(blob), "a state of the other critic is refused")
			assert.Equal(t, before, c.Act(s, 0, false), "and changes nothing")
			// A state whose critic (or optimiser) does not fit is refused before
			// the actor or the noise change.
			for name, damage := range map[string]func(*ddpgState){
				"critic":    func(x *ddpgState) { x.Critic[0] = x.Critic[0][:1] },
				"optimiser": func(x *ddpgState) { x.CriticAdam.V = x.CriticAdam.V[:1] },
				"buffer":    func(x *ddpgState) { x.Buffer[0].S = x.Buffer[0].S[:1] },
				"position":  func(x *ddpgState) { x.Next = cfg.Capacity },
			} {
				var cp ddpgState
				require.NoError(t, gob.NewDecoder(bytes.NewReader(blob)).Decode(&cp))
				damage(&cp)
				var buf bytes.Buffer
				require.NoError(t, gob.NewEncoder(&buf).Encode(cp))
				d := mk()
				before, noise := d.Act(s, 0, false), *d.src
				assert.Error(t, d.Restore(buf.Bytes()), name)
				assert.Equal(t, before, d.Act(s, 0, false), "%s: the actor is unchanged", name)
				assert.Equal(t, noise, *d.src, "%s: the noise state is unchanged", name)
			}
		})
	}
}

// On one-step episodes every step is an episode's last: the bootstrapped
// critic's target is the reward, and the two critics act alike.
func TestDDPGCriticsAgreeOnOneStepEpisodes(t *testing.T) {
	actions := func(critic string) []float64 {
		cfg := DefaultDDPG()
		cfg.Hidden, cfg.Warmup, cfg.Batch, cfg.Critic = 16, 3, 4, critic
		d, err := NewDDPG(cfg, 2)
		require.NoError(t, err)
		var out []float64
		s := []float64{0.3, 0.4}
		for ep := 0; ep < 12; ep++ {
			x := d.Act(s, 0, true)
			out = append(out, x)
			require.NoError(t, d.Observe(Episode{Transitions: []Transition{{State: s, Action: x}}, Reward: -x}))
		}
		return out
	}
	assert.Equal(t, actions(CriticMC), actions(CriticTD))
}

// Before an episode's last step the bootstrapped critic regresses onto the
// target networks' value of the next state under the target actor, not
// onto the episode's reward; after each update the targets move by tau
// towards the trained weights.
func TestDDPGTDTargetBootstraps(t *testing.T) {
	cfg := DefaultDDPG()
	cfg.Hidden, cfg.Warmup, cfg.Batch, cfg.Critic, cfg.Tau = 8, 0, 2, CriticTD, 0.25
	d, err := NewDDPG(cfg, 2)
	require.NoError(t, err)
	next := []float64{0.7, 0.1}
	mu := 1 / (1 + math.Exp(-forwardMLP(d.targetActor, next, cfg.Hidden)))
	want := forwardMLP(d.targetCritic, []float64{0.7, 0.1, mu}, cfg.Hidden)
	assert.Equal(t, want, d.target(stored{S: []float64{0, 0}, A: 0.5, R: 3, N: next}))
	assert.Equal(t, 3.0, d.target(stored{S: []float64{0, 0}, A: 0.5, R: 3}), "the last step's target is its reward")
	assert.Equal(t, weightsOf(d.critic.net), d.targetCritic, "the targets start as copies")

	s := []float64{0.2, 0.9}
	d.cfg.Warmup = 10 // fill the buffer without learning
	require.NoError(t, d.Observe(Episode{Transitions: []Transition{{State: s, Action: 0.5, Next: next}, {State: next, Action: 0.4}}, Reward: 1}))
	for k := 0; k < 2; k++ {
		prev := weightsOf(d.critic.net)
		prevTarget := [][]float64{append([]float64(nil), d.targetCritic[0]...), append([]float64(nil), d.targetCritic[5]...)}
		require.NoError(t, d.update())
		now := weightsOf(d.critic.net)
		require.NotEqual(t, prev[0], now[0], "update %d: the critic learned", k)
		for j, i := range []int{0, 5} { // w1 and b3
			for x := range now[i] {
				assert.InDelta(t, 0.25*now[i][x]+0.75*prevTarget[j][x], d.targetCritic[i][x], 1e-15, "update %d: tensor %d[%d]", k, i, x)
			}
		}
	}
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

// replay_episodes sizes the buffer as the official code's rmsize does: that
// many episodes' worth of transitions, steps per episode times the count.
// Given neither it nor capacity, the buffer follows the run's length.
func TestReplayEpisodesSizeTheBuffer(t *testing.T) {
	ddpg, err := Lookup("ddpg")
	require.NoError(t, err)
	for _, c := range []struct {
		params   Params
		episodes int
		steps    int
		want     int
		msg      string
	}{
		{nil, 300, 9, 50 * 9, ""},   // a sixth of the run
		{nil, 120, 19, 20 * 19, ""}, // Plain-20's 120-episode runs: the measured fix
		{nil, 800, 9, 100 * 9, ""},  // the official schedule's buffer
		{nil, 4, 9, 64, ""},         // a tiny run's default rounds up to a batch
		{Params{"capacity": 100000}, 300, 9, LegacyCapacity, ""},
		{Params{"capacity": 190}, 300, 9, 190, ""},
		{Params{"capacity": 100000, "replay_episodes": 0}, 300, 9, LegacyCapacity, ""},
		{Params{"replay_episodes": 100}, 300, 9, 900, ""},
		{Params{"replay_episodes": 20}, 300, 19, 380, ""},
		{Params{"replay_episodes": 5}, 300, 9, 0, "45 transitions, under the batch of 64"},
		{Params{"replay_episodes": 20, "capacity": 500}, 300, 9, 0, "give one"},
		{Params{"replay_episodes": 20, "capacity": 100000}, 300, 9, 0, "give one"},
	} {
		p, err := ddpg.DecodeParams(c.params, c.episodes)
		if err == nil {
			var a Agent
			a, err = ddpg.New(Setting{StateSize: 4, Steps: c.steps, LowerBound: 0.2, Seed: 1, Episodes: c.episodes}, p)
			if err == nil {
				assert.Empty(t, c.msg, "%v", c.params)
				assert.Equal(t, c.want, a.(*DDPG).cfg.Capacity, "%v", c.params)
				continue
			}
		}
		assert.ErrorContains(t, err, c.msg, "%v", c.params)
		assert.NotEmpty(t, c.msg, "%v", c.params)
	}
}

// Resolving twice (DecodeParams, then New) keeps the given/default
// distinction of the first: the default buffer is not "both given".
func TestDDPGParamsResolveTwice(t *testing.T) {
	ddpg, err := Lookup("ddpg")
	require.NoError(t, err)
	p, err := ddpg.DecodeParams(nil, 120)
	require.NoError(t, err)
	dp := p.(*DDPGParams)
	dp.Resolve(120)
	assert.NoError(t, dp.Validate())
	assert.Equal(t, 20, *dp.ReplayEpisodes)
}

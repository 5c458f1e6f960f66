package agent

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistryListsTheBuiltInAgents(t *testing.T) {
	names := Names()
	for _, n := range []string{"ddpg", "reinforce", "cem"} {
		assert.Contains(t, names, n)
	}
	_, err := Lookup("ddgp")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `did you mean "ddpg"`)
	assert.Contains(t, err.Error(), "reinforce")
	assert.Panics(t, func() { Register(Strategy{Name: "ddpg", New: func(Setting, any) (Agent, error) { return nil, nil }}) })
	assert.Panics(t, func() { Register(Strategy{Name: "no-new"}) })
}

func TestDecodeParams(t *testing.T) {
	ddpg, err := Lookup("ddpg")
	require.NoError(t, err)
	for _, c := range []struct {
		name     string
		params   Params
		episodes int
		warmup   int
		key, msg string // a ParamError on key, its message containing msg
	}{
		{"defaults, long run", nil, 300, 100, "", ""},
		{"defaults, short run: a third", nil, 60, 20, "", ""},
		{"explicit warm-up", Params{"warmup": 7}, 60, 7, "", ""},
		{"warm-up 0 is expressible", Params{"warmup": 0}, 300, 0, "", ""},
		{"a YAML float that is an integer", Params{"warmup": 5.0}, 300, 5, "", ""},
		{"unknown key, suggestion", Params{"warmpu": 5}, 300, 0, "warmpu", `did you mean "warmup"`},
		{"wrong type", Params{"warmup": "many"}, 300, 0, "warmup", "string"},
		{"not an integer", Params{"warmup": 2.5}, 300, 0, "warmup", "2.5 (a number 2.5) where a int belongs"},
		{"a list", Params{"hidden": []any{1}}, 300, 0, "hidden", "[1] (a array) where a int belongs"},
		{"too large to build", Params{"hidden": 1 << 30}, 300, 0, "hidden", "want an integer in [1, 4096]"},
		{"out of range", Params{"warmup": -1}, 300, 0, "warmup", "want"},
		{"capacity below batch", Params{"capacity": 10}, 300, 0, "capacity", "at least batch"},
		{"the official replay buffer: episodes' worth", Params{"replay_episodes": 100}, 300, 100, "", ""},
		{"replay_episodes with capacity", Params{"replay_episodes": 100, "capacity": 900}, 300, 0, "replay_episodes", "give one"},
		{"negative replay_episodes", Params{"replay_episodes": -1}, 300, 0, "replay_episodes", "want"},
		{"NaN", Params{"actor_lr": math.NaN()}, 300, 0, "actor_lr", "finite"},
		{"infinite", Params{"sigma": math.Inf(1)}, 300, 0, "sigma", "finite"},
		{"the bootstrapped critic", Params{"critic": "td", "tau": 0.05}, 300, 100, "", ""},
		{"an unknown critic", Params{"critic": "q"}, 300, 0, "critic", `"q": want mc`},
		{"tau 0 never moves the targets", Params{"critic": "td", "tau": 0}, 300, 0, "tau", "want"},
		{"tau without target networks", Params{"tau": 0.05}, 300, 0, "tau", "goes with critic: td"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ddpg.DecodeParams(c.params, c.episodes)
			if c.key != "" {
				var pe *ParamError
				require.True(t, errors.As(err, &pe), "%v", err)
				assert.Equal(t, c.key, pe.Key)
				assert.Contains(t, err.Error(), "strategy ddpg")
				assert.Contains(t, err.Error(), c.msg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.warmup, *got.(*DDPGParams).Warmup)
		})
	}
	random, err := Lookup("cem")
	require.NoError(t, err)
	_, err = random.DecodeParams(Params{"population": 1}, 10)
	assert.ErrorContains(t, err, "population")
}

// Every registered strategy builds from its defaults, acts inside
// [lower bound, 1] (fixed policies aside, which the harness fits), and
// restores its state exactly.
func TestEveryRegisteredStrategyBuildsAndRestores(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			s, _ := Lookup(name)
			params, err := s.DecodeParams(nil, 20)
			require.NoError(t, err)
			set := Setting{StateSize: 11, Steps: 3, LowerBound: 0.2, Seed: 5, Episodes: 20,
				FitShape: func(shape []float64) ([]float64, error) { return shape, nil }}
			a, err := s.New(set, params)
			if err != nil && s.Kind == Fixed {
				t.Skipf("fixed policy %s needs the harness: %v", name, err)
			}
			require.NoError(t, err)
			state := make([]float64, 11)
			play := func(ag Agent, ep int) []float64 {
				var tr []Transition
				var acts []float64
				for step := 0; step < 3; step++ {
					a := ag.Act(state, step, true)
					acts = append(acts, a)
					tr = append(tr, Transition{State: state, Requested: a, Action: a})
				}
				require.NoError(t, ag.Observe(Episode{Index: ep, Transitions: tr, Reward: float64(ep%4) / 4}))
				return acts
			}
			for ep := 0; ep < 12; ep++ {
				for _, v := range play(a, ep) { // REINFORCE leaves clamping to the environment
					if s.Kind != Fixed {
						assert.True(t, v >= 0.2-1e-9 && v <= 1+1e-9 || name == "reinforce", "%s acted %v", name, v)
					}
				}
			}
			b, err := a.State()
			require.NoError(t, err)
			a2, err := s.New(set, params)
			require.NoError(t, err)
			require.NoError(t, a2.Restore(b))
			for ep := 12; ep < 15; ep++ {
				assert.Equal(t, play(a, ep), play(a2, ep), fmt.Sprintf("%s episode %d after restore", name, ep))
			}
		})
	}
}

// The cross-entropy method moves towards the best policies it sees.
func TestCEMMovesTowardsTheRewardedRatios(t *testing.T) {
	c, err := NewCEM(CEMParams{Population: 10, Elite: 0.2, InitStd: 0.25, MinStd: 0.02, Smoothing: 0.7}, 2, 0.2, 1)
	require.NoError(t, err)
	for ep := 0; ep < 200; ep++ {
		a0, a1 := c.Act(nil, 0, true), c.Act(nil, 1, true)
		// reward peaks at ratios (0.3, 0.9)
		r := -((a0-0.3)*(a0-0.3) + (a1-0.9)*(a1-0.9))
		require.NoError(t, c.Observe(Episode{Index: ep, Reward: r, Transitions: []Transition{{Action: a0}, {Action: a1}}}))
	}
	assert.InDelta(t, 0.3, c.Act(nil, 0, false), 0.05)
	assert.InDelta(t, 0.9, c.Act(nil, 1, false), 0.05)
}

// Package baselines holds the strategies AMC is compared with, behind the
// same agent.Agent interface as the RL agents: the paper's hand-crafted
// policies (uniform, deep, shallow) and random search. docs/deviations.md
// defines the hand-crafted shapes.
package baselines

import (
	"fmt"
	"math/rand/v2"

	"github.com/amcbench/amc/agent"
	"github.com/amcbench/amc/internal/suggest"
)

// Names lists the baseline strategies.
var Names = []string{"uniform", "deep", "shallow", "random"}

// Shape returns a hand-crafted policy's relative preserve ratio per group,
// before the environment scales it to the budget: uniform keeps the same
// fraction everywhere; deep keeps more of the shallow layers and prunes
// deep ones harder (linearly from 1 to 0.5 of the scale); shallow is the
// mirror image.
func Shape(name string, groups int) ([]float64, error) {
	s := make([]float64, groups)
	for t := range s {
		x := 0.0
		if groups > 1 {
			x = float64(t) / float64(groups-1)
		}
		switch name {
		case "uniform":
			s[t] = 1
		case "deep":
			s[t] = 1 - 0.5*x
		case "shallow":
			s[t] = 0.5 + 0.5*x
		default:
			return nil, fmt.Errorf("no hand-crafted shape %q%s; valid: uniform, deep, shallow", name,
				suggest.DidYouMean(name, []string{"uniform", "deep", "shallow"}))
		}
	}
	return s, nil
}

// Fixed replays one policy every episode (the hand-crafted baselines).
type Fixed struct {
	Label  string
	Ratios []float64
}

// Name implements agent.Agent.
func (f *Fixed) Name() string { return f.Label }

// Act implements agent.Agent.
func (f *Fixed) Act(_ []float64, t int, _ bool) float64 { return f.Ratios[t] }

// Observe implements agent.Agent; a fixed policy learns nothing.
func (f *Fixed) Observe(agent.Episode) error { return nil }

// State implements agent.Agent; the policy is rebuilt from the task.
func (f *Fixed) State() ([]byte, error) { return nil, nil }

// Restore implements agent.Agent.
func (f *Fixed) Restore([]byte) error { return nil }

// Random samples every preserve ratio uniformly in [lower, 1].
type Random struct {
	lower float64
	src   *rand.PCG
	rng   *rand.Rand
}

// NewRandom returns a seeded random-search strategy.
func NewRandom(lower float64, seed uint64) *Random {
	src := rand.NewPCG(seed, 0x72616e64)
	return &Random{lower: lower, src: src, rng: rand.New(src)}
}

// Name implements agent.Agent.
func (r *Random) Name() string { return "random" }

// Act implements agent.Agent.
func (r *Random) Act(_ []float64, _ int, _ bool) float64 {
	return r.lower + (1-r.lower)*r.rng.Float64()
}

// Observe implements agent.Agent.
func (r *Random) Observe(agent.Episode) error { return nil }

// State implements agent.Agent: the generator's state.
func (r *Random) State() ([]byte, error) { return r.src.MarshalBinary() }

// Restore implements agent.Agent.
func (r *Random) Restore(b []byte) error { return r.src.UnmarshalBinary(b) }

func init() {
	for _, s := range []struct{ name, doc string }{
		{"uniform", "the same preserve ratio in every group, scaled to the budget"},
		{"deep", "hand-crafted: keeps more of the shallow groups, prunes deep ones harder (docs/deviations.md)"},
		{"shallow", "hand-crafted: the mirror image of deep"},
	} {
		name := s.name
		agent.Register(agent.Strategy{Name: name, Doc: s.doc, Kind: agent.Fixed,
			New: func(set agent.Setting, _ any) (agent.Agent, error) {
				shape, err := Shape(name, set.Steps)
				if err != nil {
					return nil, err
				}
				if set.FitShape == nil {
					return nil, fmt.Errorf("%s: the harness gave no way to fit the shape to the budget", name)
				}
				ratios, err := set.FitShape(shape)
				if err != nil {
					return nil, err
				}
				return &Fixed{Label: name, Ratios: ratios}, nil
			}})
	}
	agent.Register(agent.Strategy{Name: "random", Doc: "random search: every preserve ratio uniform in [lower bound, 1]", Kind: agent.Sampler,
		New: func(set agent.Setting, _ any) (agent.Agent, error) { return NewRandom(set.LowerBound, set.Seed), nil }})
}

package agent

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/amcbench/amc/internal/numcheck"
)

// This file is the whole of the cross-entropy method strategy ("cem"): its
// params, the agent and its registration. Adding it touched no other file;
// docs/adding-an-agent.md walks through it.

// CEMParams are the cross-entropy method's params.
type CEMParams struct {
	Population int     `json:"population"` // episodes per generation (10)
	Elite      float64 `json:"elite"`      // fraction of a generation that updates the distribution (0.2)
	InitStd    float64 `json:"init_std"`   // initial standard deviation of every ratio (0.25)
	MinStd     float64 `json:"min_std"`    // floor, so that the search never stops exploring (0.02)
	Smoothing  float64 `json:"smoothing"`  // new = smoothing * elite statistics + (1 - smoothing) * old (0.7)
}

// Validate implements Validator.
func (p *CEMParams) Validate() error {
	for _, err := range []error{
		numcheck.Between(2, 100000).Ints().CheckInt("population", int64(p.Population)),
		numcheck.Fraction().Check("elite", p.Elite),
		numcheck.Above(0).Check("init_std", p.InitStd),
		numcheck.AtLeast(0).Check("min_std", p.MinStd),
		numcheck.Fraction().Check("smoothing", p.Smoothing),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// CEM is the cross-entropy method over whole policies: an independent
// Gaussian per step (group) over preserve ratios. Each generation samples
// Population policies; the Elite best by reward move the means and standard
// deviations towards theirs. Its greedy policy is the means. It ignores the
// state features: a black-box baseline between random search and RL.
type CEM struct {
	p     CEMParams
	lower float64
	st    cemState
	src   *rand.PCG
	rng   *rand.Rand
}

// cemState is everything that changes during a run (State saves it).
type cemState struct {
	Mean, Std []float64
	Pop       [][]float64 // this generation's applied ratios
	Rewards   []float64
	RNG       []byte
}

// NewCEM starts the search with every mean at the middle of [lower, 1].
func NewCEM(p CEMParams, steps int, lower float64, seed uint64) (*CEM, error) {
	if steps < 1 {
		return nil, fmt.Errorf("cem: %d steps", steps)
	}
	c := &CEM{p: p, lower: lower, src: rand.NewPCG(seed, 0xce3)}
	c.rng = rand.New(c.src)
	c.st.Mean, c.st.Std = make([]float64, steps), make([]float64, steps)
	for t := range c.st.Mean {
		c.st.Mean[t], c.st.Std[t] = (lower+1)/2, p.InitStd
	}
	return c, nil
}

// Name implements Agent.
func (c *CEM) Name() string { return "cem" }

// Act implements Agent: a sample of step t's Gaussian, clamped to
// [lower, 1], or its mean when not exploring.
func (c *CEM) Act(_ []float64, t int, explore bool) float64 {
	if t >= len(c.st.Mean) {
		return 1
	}
	if !explore {
		return c.st.Mean[t]
	}
	return math.Min(1, math.Max(c.lower, c.st.Mean[t]+c.st.Std[t]*c.rng.NormFloat64()))
}

// Observe implements Agent: records the episode's applied ratios and
// reward, and updates the distribution after each generation.
func (c *CEM) Observe(ep Episode) error {
	acts := make([]float64, len(c.st.Mean))
	for t := range acts {
		acts[t] = c.st.Mean[t]
		if t < len(ep.Transitions) {
			acts[t] = ep.Transitions[t].Action
		}
	}
	c.st.Pop, c.st.Rewards = append(c.st.Pop, acts), append(c.st.Rewards, ep.Reward)
	if len(c.st.Pop) < c.p.Population {
		return nil
	}
	idx := make([]int, len(c.st.Pop))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return c.st.Rewards[idx[a]] > c.st.Rewards[idx[b]] })
	k := max(1, int(math.Round(c.p.Elite*float64(len(idx)))))
	for t := range c.st.Mean {
		var mu, v float64
		for _, i := range idx[:k] {
			mu += c.st.Pop[i][t]
		}
		mu /= float64(k)
		for _, i := range idx[:k] {
			v += (c.st.Pop[i][t] - mu) * (c.st.Pop[i][t] - mu)
		}
		sd := math.Sqrt(v / float64(k))
		a := c.p.Smoothing
		c.st.Mean[t] = a*mu + (1-a)*c.st.Mean[t]
		c.st.Std[t] = math.Max(c.p.MinStd, a*sd+(1-a)*c.st.Std[t])
	}
	c.st.Pop, c.st.Rewards = nil, nil
	return nil
}

// State implements Agent.
func (c *CEM) State() ([]byte, error) {
	var err error
	if c.st.RNG, err = c.src.MarshalBinary(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = gob.NewEncoder(&b).Encode(c.st)
	return b.Bytes(), err
}

// Restore implements Agent.
func (c *CEM) Restore(b []byte) error {
	var st cemState
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&st); err != nil {
		return fmt.Errorf("cem: restore: %w", err)
	}
	if len(st.Mean) != len(c.st.Mean) || len(st.Std) != len(c.st.Std) {
		return fmt.Errorf("cem: restore: state for %d steps, the task has %d", len(st.Mean), len(c.st.Mean))
	}
	if err := c.src.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("cem: restore: %w", err)
	}
	c.st = st
	return nil
}

func init() {
	Register(Strategy{Name: "cem", Doc: "cross-entropy method: a Gaussian per group over preserve ratios, refit to each generation's elite (agent/cem.go)",
		Kind:   Learner,
		Params: func() any { return &CEMParams{Population: 10, Elite: 0.2, InitStd: 0.25, MinStd: 0.02, Smoothing: 0.7} },
		New: func(s Setting, params any) (Agent, error) {
			return NewCEM(*params.(*CEMParams), s.Steps, s.LowerBound, s.Seed)
		}})
}

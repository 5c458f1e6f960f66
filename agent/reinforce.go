package agent

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/amcbench/amc/internal/numcheck"
)

// REINFORCE is a second RL agent for the harness: a Gaussian policy whose
// mean is a small MLP of the layer's state, trained by the policy gradient
// with a moving-average reward baseline (Williams, 1992). AMC's episodes
// have one reward, at the end, for a handful of decisions; a policy
// gradient optimises that expected reward directly, without DDPG's critic
// that has to learn Q(state, action) from the same single number. It is
// written in plain Go (forward, backward and Adam on a 2-layer MLP) so that
// the whole agent reads in one file: docs/adding-an-agent.md uses it as the
// example.
type REINFORCE struct {
	cfg   ReinforceConfig
	src   *rand.PCG
	rng   *rand.Rand
	st    reinforceState
	trace []step // the current episode's states and sampled actions
}

// ReinforceConfig holds the agent's settings.
type ReinforceConfig struct {
	Hidden     int     // units per hidden layer (64)
	LR         float64 // Adam learning rate (1e-3)
	Sigma      float64 // initial standard deviation of the Gaussian policy (0.25)
	SigmaDecay float64 // per episode (0.99)
	SigmaMin   float64 // floor (0.03)
	Baseline   float64 // moving average of rewards: b = a*b + (1-a)*R (0.9)
	LowerBound float64 // the environment's lower bound, for the greedy action
	Seed       uint64
}

// DefaultREINFORCE returns the settings used in the harness's comparisons.
func DefaultREINFORCE() ReinforceConfig {
	return ReinforceConfig{Hidden: 64, LR: 1e-3, Sigma: 0.25, SigmaDecay: 0.99, SigmaMin: 0.03, Baseline: 0.9, LowerBound: 0.2, Seed: 1}
}

// reinforceState is everything that changes during a run (State saves it).
type reinforceState struct {
	W        [][]float64 // w1 (in x h), b1 (h), w2 (h x h), b2 (h), w3 (h), b3 (1)
	M, V     [][]float64 // Adam moments
	Iter     int
	Sigma    float64
	Baseline float64
	RewardSq float64 // moving average of squared advantages, to scale the step
	Episodes int
	RNG      []byte
}

type step struct {
	s []float64
	a float64
}

// NewREINFORCE builds the agent for states of stateSize features.
func NewREINFORCE(cfg ReinforceConfig, stateSize int) (*REINFORCE, error) {
	if cfg.Hidden < 1 || !(cfg.LR > 0) || !(cfg.Sigma > 0) {
		return nil, fmt.Errorf("reinforce: hidden, learning rate and sigma must be positive")
	}
	r := &REINFORCE{cfg: cfg, src: rand.NewPCG(cfg.Seed, 0x5e1f)}
	r.rng = rand.New(r.src)
	h := cfg.Hidden
	shapes := [][2]int{{stateSize, h}, {1, h}, {h, h}, {1, h}, {h, 1}, {1, 1}}
	fanIn := []int{stateSize, stateSize, h, h, h, h}
	for i, sh := range shapes {
		w := make([]float64, sh[0]*sh[1])
		bound := 1 / math.Sqrt(float64(fanIn[i]))
		for j := range w {
			w[j] = (2*r.rng.Float64() - 1) * bound
		}
		r.st.W = append(r.st.W, w)
		r.st.M = append(r.st.M, make([]float64, len(w)))
		r.st.V = append(r.st.V, make([]float64, len(w)))
	}
	r.st.Sigma = cfg.Sigma
	return r, nil
}

// Name implements Agent.
func (r *REINFORCE) Name() string { return "reinforce" }

// Sigma is the policy's current standard deviation.
func (r *REINFORCE) Sigma() float64 { return r.st.Sigma }

// forward returns the policy mean (a sigmoid, in (0, 1)) and the hidden
// activations needed by the backward pass.
func (r *REINFORCE) forward(s []float64) (mu float64, h1, h2 []float64) {
	w := r.st.W
	H := r.cfg.Hidden
	h1 = make([]float64, H)
	copy(h1, w[1])
	for i, x := range s {
		for j := 0; j < H; j++ {
			h1[j] += x * w[0][i*H+j]
		}
	}
	for j := range h1 {
		h1[j] = math.Max(0, h1[j])
	}
	h2 = make([]float64, H)
	copy(h2, w[3])
	for i, x := range h1 {
		for j := 0; j < H; j++ {
			h2[j] += x * w[2][i*H+j]
		}
	}
	for j := range h2 {
		h2[j] = math.Max(0, h2[j])
	}
	z := w[5][0]
	for i, x := range h2 {
		z += x * w[4][i]
	}
	return 1 / (1 + math.Exp(-z)), h1, h2
}

// Act implements Agent: a sample of N(mu(state), sigma) when exploring (the
// environment clamps it to its bounds), the mean otherwise.
func (r *REINFORCE) Act(state []float64, _ int, explore bool) float64 {
	mu, _, _ := r.forward(state)
	if !explore {
		return math.Min(1, math.Max(r.cfg.LowerBound, mu))
	}
	a := mu + r.st.Sigma*r.rng.NormFloat64()
	r.trace = append(r.trace, step{s: append([]float64(nil), state...), a: a})
	return a
}

// Observe implements Agent: one policy-gradient step on the episode,
// with advantage (reward - baseline) scaled by a running RMS so that the
// step size does not depend on the reward's units.
func (r *REINFORCE) Observe(ep Episode) error {
	trace := r.trace
	r.trace = nil
	if len(trace) != len(ep.Transitions) {
		return fmt.Errorf("reinforce: %d actions sampled, %d transitions observed (was Act called with explore?)", len(trace), len(ep.Transitions))
	}
	if r.st.Episodes == 0 {
		r.st.Baseline = ep.Reward
	}
	adv := ep.Reward - r.st.Baseline
	r.st.Baseline = r.cfg.Baseline*r.st.Baseline + (1-r.cfg.Baseline)*ep.Reward
	r.st.RewardSq = r.cfg.Baseline*r.st.RewardSq + (1-r.cfg.Baseline)*adv*adv
	r.st.Episodes++
	if r.st.RewardSq > 0 {
		adv /= math.Sqrt(r.st.RewardSq) + 1e-8
	}
	grads := make([][]float64, len(r.st.W))
	for i, w := range r.st.W {
		grads[i] = make([]float64, len(w))
	}
	H := r.cfg.Hidden
	w := r.st.W
	for _, t := range trace {
		mu, h1, h2 := r.forward(t.s)
		// Loss -adv * log N(a; mu, sigma): d/dmu = -adv * (a - mu) / sigma^2,
		// through the sigmoid mu = sig(z).
		dz := -adv * (t.a - mu) / (r.st.Sigma * r.st.Sigma) * mu * (1 - mu)
		grads[5][0] += dz
		dh2 := make([]float64, H)
		for i := range h2 {
			grads[4][i] += dz * h2[i]
			if h2[i] > 0 {
				dh2[i] = dz * w[4][i]
			}
		}
		dh1 := make([]float64, H)
		for i, x := range h1 {
			for j, g := range dh2 {
				grads[2][i*H+j] += x * g
				if x > 0 {
					dh1[i] += g * w[2][i*H+j]
				}
			}
		}
		for j, g := range dh2 {
			grads[3][j] += g
		}
		for i, x := range t.s {
			for j, g := range dh1 {
				grads[0][i*H+j] += x * g
			}
		}
		for j, g := range dh1 {
			grads[1][j] += g
		}
	}
	// Adam.
	r.st.Iter++
	c1 := 1 - math.Pow(0.9, float64(r.st.Iter))
	c2 := 1 - math.Pow(0.999, float64(r.st.Iter))
	for i, g := range grads {
		for j, gj := range g {
			gj /= float64(len(trace))
			r.st.M[i][j] = 0.9*r.st.M[i][j] + 0.1*gj
			r.st.V[i][j] = 0.999*r.st.V[i][j] + 0.001*gj*gj
			w[i][j] -= r.cfg.LR * (r.st.M[i][j] / c1) / (math.Sqrt(r.st.V[i][j]/c2) + 1e-8)
		}
	}
	r.st.Sigma = math.Max(r.cfg.SigmaMin, r.st.Sigma*r.cfg.SigmaDecay)
	return nil
}

// State implements Agent: weights, Adam's moments, sigma, baseline and the
// random state.
func (r *REINFORCE) State() ([]byte, error) {
	var err error
	if r.st.RNG, err = r.src.MarshalBinary(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(r.st); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Restore implements Agent.
func (r *REINFORCE) Restore(b []byte) error {
	var st reinforceState
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&st); err != nil {
		return fmt.Errorf("reinforce: restore: %w", err)
	}
	if len(st.W) != len(r.st.W) || len(st.M) != len(st.W) || len(st.V) != len(st.W) {
		return fmt.Errorf("reinforce: restore: %d weight tensors, want %d", len(st.W), len(r.st.W))
	}
	for i := range st.W {
		if len(st.W[i]) != len(r.st.W[i]) || len(st.M[i]) != len(st.W[i]) || len(st.V[i]) != len(st.W[i]) {
			return fmt.Errorf("reinforce: restore: tensor %d does not fit", i)
		}
	}
	if err := r.src.UnmarshalBinary(st.RNG); err != nil {
		return err
	}
	r.st, r.trace = st, nil
	return nil
}

// ReinforceParams are REINFORCE's strategy params; left out, each is
// DefaultREINFORCE's.
type ReinforceParams struct {
	Hidden     int     `json:"hidden"`
	LR         float64 `json:"lr"`
	Sigma      float64 `json:"sigma"`
	SigmaDecay float64 `json:"sigma_decay"`
	SigmaMin   float64 `json:"sigma_min"`
	Baseline   float64 `json:"baseline"`
}

// Validate implements Validator (one error: the first param out of range).
func (p *ReinforceParams) Validate() error {
	for _, err := range []error{
		numcheck.Between(1, 4096).Ints().CheckInt("hidden", int64(p.Hidden)), numcheck.Above(0).Check("lr", p.LR),
		numcheck.Above(0).Check("sigma", p.Sigma), numcheck.Between(0, 1).Check("sigma_decay", p.SigmaDecay),
		numcheck.AtLeast(0).Check("sigma_min", p.SigmaMin), numcheck.Range{Min: 0, Max: 1, MaxOpen: true}.Check("baseline", p.Baseline),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

func init() {
	Register(Strategy{Name: "reinforce", Doc: "policy gradient with a Gaussian policy and a moving-average baseline (agent/reinforce.go)", Kind: Learner,
		Params: func() any {
			d := DefaultREINFORCE()
			return &ReinforceParams{Hidden: d.Hidden, LR: d.LR, Sigma: d.Sigma, SigmaDecay: d.SigmaDecay, SigmaMin: d.SigmaMin, Baseline: d.Baseline}
		},
		New: func(s Setting, params any) (Agent, error) {
			p := params.(*ReinforceParams)
			c := DefaultREINFORCE()
			c.Hidden, c.LR, c.Sigma, c.SigmaDecay, c.SigmaMin, c.Baseline = p.Hidden, p.LR, p.Sigma, p.SigmaDecay, p.SigmaMin, p.Baseline
			c.LowerBound, c.Seed = s.LowerBound, s.Seed
			return NewREINFORCE(c, s.StateSize)
		}})
}

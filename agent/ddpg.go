package agent

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/amcbench/amc/internal/numcheck"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// DDPGConfig holds the paper's DDPG settings (defaults from the official
// code) and this project's fixes; docs/deviations.md lists the differences.
type DDPGConfig struct {
	Hidden        int     // units in each of the two hidden layers (300)
	ActorLR       float64 // Adam learning rate of the actor (1e-4)
	CriticLR      float64 // Adam learning rate of the critic (1e-3)
	Batch         int     // minibatch (64)
	Warmup        int     // episodes of uniformly random actions (100)
	Sigma         float64 // initial exploration noise (0.5)
	SigmaDecay    float64 // per episode after warm-up (0.95)
	SigmaMin      float64 // floor, so exploration never dies out (0.05)
	BaselineAlpha float64 // moving average of episode rewards: b = a*b + (1-a)*R (0.95)
	Capacity      int     // replay buffer transitions (LegacyCapacity; the registered strategy sizes it by the run: DDPGParams)
	LowerBound    float64 // smallest preserve ratio (0.2)
	Seed          uint64
	// Critic is the critic's regression target: CriticMC (the default),
	// each stored step's episode reward minus the baseline; or CriticTD, a
	// bootstrapped target with target networks as in the official code
	// (which also adds the reward at every step): the episode's reward at
	// the last step and, before it, Q'(s', mu'(s')), so that the critic
	// values the actor's own policy, not the policies that filled the
	// replay buffer (the warm-up's random actions). mu'(s') is the target
	// actor's output as it is, unclamped (results/ddpg-critic).
	Critic string
	Tau    float64 // CriticTD: soft update of the target networks, t = tau w + (1-tau) t (0.01)
}

// The critic's targets (DDPGConfig.Critic).
const (
	CriticMC = "mc"
	CriticTD = "td"
)

// DefaultDDPG returns the paper's settings.
func DefaultDDPG() DDPGConfig {
	return DDPGConfig{Hidden: 300, ActorLR: 1e-4, CriticLR: 1e-3, Batch: 64, Warmup: 100, Sigma: 0.5,
		SigmaDecay: 0.95, SigmaMin: 0.05, BaselineAlpha: 0.95, Capacity: LegacyCapacity, LowerBound: 0.2, Seed: 1,
		Critic: CriticMC, Tau: 0.01}
}

// DDPG is the paper's agent: an actor mapping a layer's state to a
// preserve ratio and a critic estimating the episode's reward (minus a
// moving-average baseline) of a state and action, both MLPs with two
// hidden layers, trained with Adam on minibatches from a replay buffer.
type DDPG struct {
	cfg       DDPGConfig
	stateSize int
	src       *rand.PCG
	rng       *rand.Rand
	sigma     float64
	baseline  float64
	episodes  int
	buffer    []stored
	next      int // ring-buffer position once full

	critic critic
	actor  actorTrainer
	// CriticTD's target networks: the actor's and the critic's weights in
	// mlp.nodes order, trailing the trained ones by soft updates.
	targetActor, targetCritic [][]float64
}

type stored struct {
	S []float64
	A float64
	R float64
	// CriticTD only: the next state, nil at the episode's last step.
	N []float64
}

// mlp holds the six weight nodes of a 2-hidden-layer MLP in one graph.
type mlp struct{ w1, b1, w2, b2, w3, b3 *G.Node }

func (m mlp) nodes() G.Nodes { return G.Nodes{m.w1, m.b1, m.w2, m.b2, m.w3, m.b3} }

// forward builds relu(relu(x w1 + b1) w2 + b2) w3 + b3.
func (m mlp) forward(x *G.Node) *G.Node {
	h := G.Must(G.Rectify(G.Must(G.BroadcastAdd(G.Must(G.Mul(x, m.w1)), m.b1, nil, []byte{0}))))
	h = G.Must(G.Rectify(G.Must(G.BroadcastAdd(G.Must(G.Mul(h, m.w2)), m.b2, nil, []byte{0}))))
	return G.Must(G.BroadcastAdd(G.Must(G.Mul(h, m.w3)), m.b3, nil, []byte{0}))
}

// newMLP adds an MLP's weights to g; with rng they are initialised like
// PyTorch's Linear (uniform in +-1/sqrt(fan_in)), from the agent's seed.
func newMLP(g *G.ExprGraph, prefix string, in, hidden int, rng *rand.Rand) mlp {
	mk := func(name string, r, c int, fanIn int) *G.Node {
		opts := []G.NodeConsOpt{G.WithShape(r, c), G.WithName(prefix + name)}
		if rng != nil {
			b := 1 / math.Sqrt(float64(fanIn))
			v := make([]float64, r*c)
			for i := range v {
				v[i] = (2*rng.Float64() - 1) * b
			}
			opts = append(opts, G.WithValue(tensor.New(tensor.WithShape(r, c), tensor.WithBacking(v))))
		}
		return G.NewMatrix(g, tensor.Float64, opts...)
	}
	return mlp{mk("w1", in, hidden, in), mk("b1", 1, hidden, in), mk("w2", hidden, hidden, hidden),
		mk("b2", 1, hidden, hidden), mk("w3", hidden, 1, hidden), mk("b3", 1, 1, hidden)}
}

type critic struct {
	g       *G.ExprGraph
	net     mlp
	s, a, y *G.Node
	vm      G.VM
	opt     *adam
}

type actorTrainer struct {
	g      *G.ExprGraph
	net    mlp
	frozen mlp // the critic's weights, copied in before each update
	s      *G.Node
	vm     G.VM
	opt    *adam
}

// NewDDPG builds the agent for states of stateSize features.
func NewDDPG(cfg DDPGConfig, stateSize int) (*DDPG, error) {
	if cfg.Hidden < 1 || cfg.Batch < 1 || cfg.Capacity < cfg.Batch {
		return nil, fmt.Errorf("ddpg: hidden, batch and capacity must be positive, capacity >= batch")
	}
	switch cfg.Critic {
	case "":
		cfg.Critic = CriticMC
	case CriticMC:
	case CriticTD:
		if !(cfg.Tau > 0 && cfg.Tau <= 1) {
			return nil, fmt.Errorf("ddpg: tau %v: want (0, 1]", cfg.Tau)
		}
	default:
		return nil, fmt.Errorf("ddpg: critic %q: want %s or %s", cfg.Critic, CriticMC, CriticTD)
	}
	d := &DDPG{cfg: cfg, stateSize: stateSize, sigma: cfg.Sigma}
	d.src = rand.NewPCG(cfg.Seed, 0xddb9)
	d.rng = rand.New(d.src)
	B, S, H := cfg.Batch, stateSize, cfg.Hidden

	c := &d.critic
	c.g = G.NewGraph()
	c.s = G.NewMatrix(c.g, tensor.Float64, G.WithShape(B, S), G.WithName("s"))
	c.a = G.NewMatrix(c.g, tensor.Float64, G.WithShape(B, 1), G.WithName("a"))
	c.y = G.NewMatrix(c.g, tensor.Float64, G.WithShape(B, 1), G.WithName("y"))
	c.net = newMLP(c.g, "critic.", S+1, H, d.rng)
	q := c.net.forward(G.Must(G.Concat(1, c.s, c.a)))
	loss := G.Must(G.Mean(G.Must(G.Square(G.Must(G.Sub(q, c.y))))))
	if _, err := G.Grad(loss, c.net.nodes()...); err != nil {
		return nil, fmt.Errorf("ddpg: critic gradient: %w", err)
	}
	c.vm = G.NewTapeMachine(c.g, G.BindDualValues(c.net.nodes()...))
	c.opt = newAdam(cfg.CriticLR)

	a := &d.actor
	a.g = G.NewGraph()
	a.s = G.NewMatrix(a.g, tensor.Float64, G.WithShape(B, S), G.WithName("s"))
	a.net = newMLP(a.g, "actor.", S, H, d.rng)
	a.frozen = newMLP(a.g, "frozen.", S+1, H, nil)
	mu := G.Must(G.Sigmoid(a.net.forward(a.s)))
	qa := a.frozen.forward(G.Must(G.Concat(1, a.s, mu)))
	aloss := G.Must(G.Neg(G.Must(G.Mean(qa))))
	if _, err := G.Grad(aloss, a.net.nodes()...); err != nil {
		return nil, fmt.Errorf("ddpg: actor gradient: %w", err)
	}
	a.vm = G.NewTapeMachine(a.g, G.BindDualValues(a.net.nodes()...))
	a.opt = newAdam(cfg.ActorLR)
	if cfg.Critic == CriticTD { // the targets start as copies (the official hard update)
		d.targetActor, d.targetCritic = weightsOf(a.net), weightsOf(c.net)
	}
	return d, nil
}

// weightsOf copies an MLP's weights, in mlp.nodes order.
func weightsOf(m mlp) [][]float64 {
	var w [][]float64
	for _, n := range m.nodes() {
		w = append(w, append([]float64(nil), values(n)...))
	}
	return w
}

// softUpdate moves target towards m's weights: t = tau w + (1-tau) t.
func softUpdate(target [][]float64, m mlp, tau float64) {
	for i, n := range m.nodes() {
		for j, v := range values(n) {
			target[i][j] = tau*v + (1-tau)*target[i][j]
		}
	}
}

// forwardMLP runs a 2-hidden-layer MLP given as weights (mlp.nodes order)
// on one input in plain Go.
func forwardMLP(w [][]float64, x []float64, hidden int) float64 {
	h1 := dense(x, w[0], w[1], hidden, true)
	h2 := dense(h1, w[2], w[3], hidden, true)
	return dense(h2, w[4], w[5], 1, false)[0]
}

// target is a stored step's regression target for the critic.
func (d *DDPG) target(st stored) float64 {
	if d.cfg.Critic != CriticTD || st.N == nil {
		return st.R // Monte Carlo, or the last step of an episode
	}
	mu := 1 / (1 + math.Exp(-forwardMLP(d.targetActor, st.N, d.cfg.Hidden)))
	return forwardMLP(d.targetCritic, append(append(make([]float64, 0, len(st.N)+1), st.N...), mu), d.cfg.Hidden)
}

// Name implements Agent.
func (d *DDPG) Name() string { return "ddpg" }

// Sigma is the current exploration noise.
func (d *DDPG) Sigma() float64 {
	if d.episodes < d.cfg.Warmup {
		return math.NaN() // uniform random actions
	}
	return d.sigma
}

func values(n *G.Node) []float64 { return n.Value().Data().([]float64) }

// policy runs the actor on one state in plain Go (the graph is built for
// minibatches).
func (d *DDPG) policy(s []float64) float64 {
	n := d.actor.net
	out := forwardMLP([][]float64{values(n.w1), values(n.b1), values(n.w2), values(n.b2), values(n.w3), values(n.b3)}, s, d.cfg.Hidden)
	return 1 / (1 + math.Exp(-out))
}

func dense(x, w, b []float64, out int, relu bool) []float64 {
	y := append([]float64(nil), b[:out]...)
	for i, v := range x {
		row := w[i*out : (i+1)*out]
		for j, wv := range row {
			y[j] += v * wv
		}
	}
	if relu {
		for j := range y {
			y[j] = math.Max(0, y[j])
		}
	}
	return y
}

// Act implements Agent: random during warm-up, then the actor's output
// with truncated-normal noise inside [LowerBound, 1] when exploring.
func (d *DDPG) Act(state []float64, _ int, explore bool) float64 {
	lo := d.cfg.LowerBound
	if explore && d.episodes < d.cfg.Warmup {
		return lo + (1-lo)*d.rng.Float64()
	}
	mu := d.policy(state)
	if !explore {
		return math.Min(1, math.Max(lo, mu))
	}
	for i := 0; i < 100; i++ { // truncated normal by rejection
		a := mu + d.sigma*d.rng.NormFloat64()
		if a >= lo && a <= 1 {
			return a
		}
	}
	return math.Min(1, math.Max(lo, mu))
}

// Observe implements Agent: every transition is stored with the episode's
// reward minus the moving average of earlier episodes' rewards; after the
// warm-up, the networks take one minibatch step per transition.
func (d *DDPG) Observe(ep Episode) error {
	if d.episodes == 0 {
		d.baseline = ep.Reward
	}
	adv := ep.Reward - d.baseline
	d.baseline = d.cfg.BaselineAlpha*d.baseline + (1-d.cfg.BaselineAlpha)*ep.Reward
	for _, tr := range ep.Transitions {
		st := stored{S: append([]float64(nil), tr.State...), A: tr.Action, R: adv}
		if d.cfg.Critic == CriticTD && tr.Next != nil {
			st.N = append([]float64(nil), tr.Next...)
		}
		if len(d.buffer) < d.cfg.Capacity {
			d.buffer = append(d.buffer, st)
		} else {
			d.buffer[d.next] = st
			d.next = (d.next + 1) % d.cfg.Capacity
		}
	}
	d.episodes++
	if d.episodes <= d.cfg.Warmup || len(d.buffer) < d.cfg.Batch {
		return nil
	}
	for range ep.Transitions {
		if err := d.update(); err != nil {
			return err
		}
	}
	d.sigma = math.Max(d.cfg.SigmaMin, d.sigma*d.cfg.SigmaDecay)
	return nil
}

// update takes one critic and one actor step on a random minibatch. With
// CriticMC the critic regresses onto the stored return: with a single
// reward at the end of an episode and discount 1, the return of every step
// is that reward (of the policy that played it). With CriticTD it regresses
// onto target: the reward at an episode's last step, the target networks'
// value of the next state under the target actor before it; the target
// networks then follow by a soft update.
func (d *DDPG) update() error {
	B, S := d.cfg.Batch, d.stateSize
	sb := make([]float64, B*S)
	ab := make([]float64, B)
	yb := make([]float64, B)
	for i := 0; i < B; i++ {
		st := d.buffer[d.rng.IntN(len(d.buffer))]
		copy(sb[i*S:], st.S)
		ab[i], yb[i] = st.A, d.target(st)
	}
	c := &d.critic
	G.Let(c.s, tensor.New(tensor.WithShape(B, S), tensor.WithBacking(sb)))
	G.Let(c.a, tensor.New(tensor.WithShape(B, 1), tensor.WithBacking(ab)))
	G.Let(c.y, tensor.New(tensor.WithShape(B, 1), tensor.WithBacking(yb)))
	if err := c.vm.RunAll(); err != nil {
		return fmt.Errorf("ddpg critic: %w", err)
	}
	if err := c.opt.step(c.net.nodes()); err != nil {
		return fmt.Errorf("ddpg critic: %w", err)
	}
	c.vm.Reset()

	a := &d.actor
	for i, n := range a.frozen.nodes() {
		src := c.net.nodes()[i]
		v := append([]float64(nil), values(src)...)
		G.Let(n, tensor.New(tensor.WithShape(src.Shape()...), tensor.WithBacking(v)))
	}
	G.Let(a.s, tensor.New(tensor.WithShape(B, S), tensor.WithBacking(append([]float64(nil), sb...))))
	if err := a.vm.RunAll(); err != nil {
		return fmt.Errorf("ddpg actor: %w", err)
	}
	if err := a.opt.step(a.net.nodes()); err != nil {
		return fmt.Errorf("ddpg actor: %w", err)
	}
	a.vm.Reset()
	if d.cfg.Critic == CriticTD {
		softUpdate(d.targetCritic, c.net, d.cfg.Tau)
		softUpdate(d.targetActor, a.net, d.cfg.Tau)
	}
	return nil
}

// ddpgState is what State serialises.
type ddpgState struct {
	Actor, Critic [][]float64
	Buffer        []stored
	Next          int
	RNG           []byte
	Sigma         float64
	Baseline      float64
	Episodes      int
	ActorAdam     adam
	CriticAdam    adam
	// CriticTD's target networks (absent otherwise).
	TargetActor, TargetCritic [][]float64
}

// State implements Agent: weights, Adam's moments, replay buffer, random
// state, noise and baseline: everything a resumed run needs to continue
// exactly as an uninterrupted one.
func (d *DDPG) State() ([]byte, error) {
	st := ddpgState{Buffer: d.buffer, Next: d.next, Sigma: d.sigma, Baseline: d.baseline, Episodes: d.episodes,
		ActorAdam: *d.actor.opt, CriticAdam: *d.critic.opt, TargetActor: d.targetActor, TargetCritic: d.targetCritic}
	for _, n := range d.actor.net.nodes() {
		st.Actor = append(st.Actor, append([]float64(nil), values(n)...))
	}
	for _, n := range d.critic.net.nodes() {
		st.Critic = append(st.Critic, append([]float64(nil), values(n)...))
	}
	var err error
	if st.RNG, err = d.src.MarshalBinary(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(st); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Restore implements Agent.
func (d *DDPG) Restore(b []byte) error {
	var st ddpgState
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&st); err != nil {
		return fmt.Errorf("ddpg: restore: %w", err)
	}
	// Everything is checked before anything changes: a state that does not
	// fit leaves the agent as it was.
	fits := func(what string, nodes G.Nodes, vals [][]float64) error {
		if len(vals) != len(nodes) {
			return fmt.Errorf("ddpg: restore: %d %s tensors for %d weights", len(vals), what, len(nodes))
		}
		for i, n := range nodes {
			if len(vals[i]) != len(values(n)) {
				return fmt.Errorf("ddpg: restore: %s %s has %d values, want %d", what, n.Name(), len(vals[i]), len(values(n)))
			}
		}
		return nil
	}
	if d.cfg.Critic == CriticTD {
		if len(st.TargetActor) != len(d.actor.net.nodes()) || len(st.TargetCritic) != len(d.critic.net.nodes()) {
			return fmt.Errorf("ddpg: restore: the state has no target networks for critic %s (%d and %d tensors for %d and %d weights)", CriticTD,
				len(st.TargetActor), len(st.TargetCritic), len(d.actor.net.nodes()), len(d.critic.net.nodes()))
		}
		for _, t := range []struct {
			src [][]float64
			n   G.Nodes
		}{{st.TargetActor, d.actor.net.nodes()}, {st.TargetCritic, d.critic.net.nodes()}} {
			if err := fits("target weight", t.n, t.src); err != nil {
				return err
			}
		}
	} else if st.TargetActor != nil {
		return fmt.Errorf("ddpg: restore: the state is a critic %s agent's, this one's critic is %s", CriticTD, d.cfg.Critic)
	}
	if err := fits("actor weight", d.actor.net.nodes(), st.Actor); err != nil {
		return err
	}
	if err := fits("critic weight", d.critic.net.nodes(), st.Critic); err != nil {
		return err
	}
	opts := []struct {
		dst *adam
		src adam
		n   G.Nodes
	}{{d.actor.opt, st.ActorAdam, d.actor.net.nodes()}, {d.critic.opt, st.CriticAdam, d.critic.net.nodes()}}
	for _, o := range opts {
		if o.src.M == nil && o.src.V == nil {
			continue // no step taken yet
		}
		if err := fits("optimiser moment", o.n, o.src.M); err != nil {
			return err
		}
		if err := fits("optimiser moment", o.n, o.src.V); err != nil {
			return err
		}
	}
	if len(st.Buffer) > d.cfg.Capacity || st.Next < 0 || st.Next >= d.cfg.Capacity {
		return fmt.Errorf("ddpg: restore: a replay buffer of %d transitions at position %d, capacity %d", len(st.Buffer), st.Next, d.cfg.Capacity)
	}
	for k, tr := range st.Buffer {
		if len(tr.S) != d.stateSize || (tr.N != nil && len(tr.N) != d.stateSize) {
			return fmt.Errorf("ddpg: restore: replay transition %d has a state of %d values, want %d", k, len(tr.S), d.stateSize)
		}
	}
	if !(st.Sigma >= 0) || math.IsInf(st.Sigma, 0) {
		return fmt.Errorf("ddpg: restore: noise sigma %v", st.Sigma)
	}
	rng := *d.src
	if err := rng.UnmarshalBinary(st.RNG); err != nil {
		return fmt.Errorf("ddpg: restore: random state: %w", err)
	}
	for _, c := range []struct {
		nodes G.Nodes
		vals  [][]float64
	}{{d.actor.net.nodes(), st.Actor}, {d.critic.net.nodes(), st.Critic}} {
		for i, n := range c.nodes {
			copy(values(n), c.vals[i])
		}
	}
	*d.src = rng
	for _, o := range opts {
		o.dst.Iter, o.dst.M, o.dst.V = o.src.Iter, o.src.M, o.src.V
	}
	if d.cfg.Critic == CriticTD {
		d.targetActor, d.targetCritic = st.TargetActor, st.TargetCritic
	}
	d.buffer, d.next, d.sigma, d.baseline, d.episodes = st.Buffer, st.Next, st.Sigma, st.Baseline, st.Episodes
	return nil
}

// DDPGParams are DDPG's strategy params (spec `params:`, CLI --param);
// left out, each is the paper's setting (DefaultDDPG).
type DDPGParams struct {
	Warmup        *int    `json:"warmup"` // episodes of random actions; default min(100, episodes/3)
	Hidden        int     `json:"hidden"`
	ActorLR       float64 `json:"actor_lr"`
	CriticLR      float64 `json:"critic_lr"`
	Batch         int     `json:"batch"`
	Sigma         float64 `json:"sigma"`
	SigmaDecay    float64 `json:"sigma_decay"`
	SigmaMin      float64 `json:"sigma_min"`
	BaselineAlpha float64 `json:"baseline_alpha"`
	// Capacity (transitions) and ReplayEpisodes (episodes' worth of
	// transitions, as the official code's rmsize: 100 there, times the
	// prunable layers) size the replay buffer; give one. Given neither,
	// the buffer holds DefaultReplayEpisodes(episodes); replay_episodes: 0
	// alone leaves it to capacity's default, LegacyCapacity.
	Capacity       *int    `json:"capacity"`
	ReplayEpisodes *int    `json:"replay_episodes"`
	both           bool    // both given, the buffer by episodes: an error
	replayDefault  bool    // ReplayEpisodes is the default: a tiny run's buffer rounds up to a batch
	resolved       bool    // Resolve ran: the pointers hold values, not what was given
	Critic         string  `json:"critic"` // mc (default) or td: DDPGConfig.Critic
	Tau            float64 `json:"tau"`    // td: the target networks' soft update
}

// DefaultWarmup is DDPG's warm-up when none is given: the official 100
// random episodes, but at most a third of a shorter run.
func DefaultWarmup(episodes int) int { return min(100, episodes/3) }

// LegacyCapacity is the replay buffer (transitions) DDPG had by default
// before the buffer followed the run's length: runs that give it make what
// the harness's default DDPG made then, fingerprints included.
const LegacyCapacity = 100000

// DefaultReplayEpisodes is DDPG's replay buffer, in episodes, when neither
// capacity nor replay_episodes is given: the official code's 100 episodes
// for its 800-episode schedule, and about a sixth of a shorter run (20 of
// 120 episodes), the size that removed the collapse after the warm-up on
// Plain-20 and lifted ResNet-20's best networks (results/ddpg-collapse,
// results/ddpg-critic).
func DefaultReplayEpisodes(episodes int) int { return min(100, max(1, episodes/6)) }

// Resolve implements Resolver: the warm-up's and the replay buffer's
// defaults depend on the run.
func (p *DDPGParams) Resolve(episodes int) {
	if p.Warmup == nil {
		w := DefaultWarmup(episodes)
		p.Warmup = &w
	}
	if p.resolved {
		return
	}
	p.resolved = true
	p.both = p.Capacity != nil && p.ReplayEpisodes != nil && *p.ReplayEpisodes != 0
	if p.ReplayEpisodes == nil {
		r := 0 // capacity given: it sizes the buffer
		if p.Capacity == nil {
			r, p.replayDefault = DefaultReplayEpisodes(episodes), true
		}
		p.ReplayEpisodes = &r
	}
	if p.Capacity == nil {
		c := LegacyCapacity // unused while replay_episodes sizes the buffer
		p.Capacity = &c
	}
}

// Validate implements Validator (one error: the first param out of range).
func (p *DDPGParams) Validate() error {
	if p.Critic != CriticMC && p.Critic != CriticTD {
		return &ParamError{"ddpg", "critic", fmt.Errorf("%q: want %s (Monte Carlo: each episode's reward) or %s (bootstrapped from target networks)", p.Critic, CriticMC, CriticTD)}
	}
	if p.both {
		return &ParamError{"ddpg", "replay_episodes", fmt.Errorf("and capacity both size the replay buffer; give one")}
	}
	if p.Critic == CriticMC && p.Tau != DefaultDDPG().Tau {
		return &ParamError{"ddpg", "tau", fmt.Errorf("goes with critic: %s (the default critic has no target networks)", CriticTD)}
	}
	for _, err := range []error{
		numcheck.AtLeast(0).Ints().CheckInt("warmup", int64(*p.Warmup)),
		numcheck.Between(1, 4096).Ints().CheckInt("hidden", int64(p.Hidden)),
		numcheck.Above(0).Check("actor_lr", p.ActorLR), numcheck.Above(0).Check("critic_lr", p.CriticLR),
		numcheck.Between(1, 65536).Ints().CheckInt("batch", int64(p.Batch)),
		numcheck.AtLeast(0).Check("sigma", p.Sigma), numcheck.Between(0, 1).Check("sigma_decay", p.SigmaDecay),
		numcheck.AtLeast(0).Check("sigma_min", p.SigmaMin), numcheck.Range{Min: 0, Max: 1, MaxOpen: true}.Check("baseline_alpha", p.BaselineAlpha),
		numcheck.Between(float64(p.Batch), 100000).Ints().Means("at least batch").CheckInt("capacity", int64(*p.Capacity)),
		numcheck.Fraction().Check("tau", p.Tau),
		numcheck.Between(0, 100000).Ints().CheckInt("replay_episodes", int64(*p.ReplayEpisodes)),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

func init() {
	Register(Strategy{Name: "ddpg", Doc: "AMC's agent (the paper): DDPG actor-critic, truncated-normal exploration; warmup defaults to min(100, episodes/3), the replay buffer to min(100, episodes/6) episodes' transitions (capacity: 100000 for the harness's earlier default)", Kind: Learner,
		// Fingerprints leave out the defaults as they were before the
		// buffer followed the run: a default run now is another run.
		FingerprintParams: Params{"capacity": LegacyCapacity},
		Params: func() any {
			d := DefaultDDPG()
			return &DDPGParams{Hidden: d.Hidden, ActorLR: d.ActorLR, CriticLR: d.CriticLR, Batch: d.Batch, Sigma: d.Sigma,
				SigmaDecay: d.SigmaDecay, SigmaMin: d.SigmaMin, BaselineAlpha: d.BaselineAlpha, Critic: d.Critic, Tau: d.Tau}
		},
		New: func(s Setting, params any) (Agent, error) {
			p := params.(*DDPGParams)
			p.Resolve(s.Episodes)
			c := DefaultDDPG()
			c.Warmup, c.Hidden, c.ActorLR, c.CriticLR, c.Batch = *p.Warmup, p.Hidden, p.ActorLR, p.CriticLR, p.Batch
			c.Sigma, c.SigmaDecay, c.SigmaMin, c.BaselineAlpha, c.Capacity = p.Sigma, p.SigmaDecay, p.SigmaMin, p.BaselineAlpha, *p.Capacity
			c.Critic, c.Tau = p.Critic, p.Tau
			c.LowerBound, c.Seed = s.LowerBound, s.Seed
			if r := *p.ReplayEpisodes; r > 0 {
				c.Capacity = r * max(1, s.Steps)
				if c.Capacity < c.Batch {
					if !p.replayDefault {
						return nil, fmt.Errorf("ddpg: replay_episodes %d x %d steps is a replay buffer of %d transitions, under the batch of %d", r, s.Steps, c.Capacity, c.Batch)
					}
					c.Capacity = c.Batch // a run too short for the default's episodes to fill a batch
				}
			}
			return NewDDPG(c, s.StateSize)
		}})
}

// Package agent defines what a compression strategy implements to run in
// the harness: the paper's DDPG agent, the baselines, and any new RL agent.
package agent

// Transition is one step of an episode: the state the strategy saw, the
// preserve ratio it asked for, the ratio the environment applied (after
// the bounds and the budget cap), and the next state (nil at the end).
type Transition struct {
	State     []float64
	Requested float64
	Action    float64
	Next      []float64
}

// Episode is a finished episode.
type Episode struct {
	Index       int
	Transitions []Transition
	Reward      float64
}

// Agent is a compression strategy. Act is called once per prunable group,
// in order; Observe once per episode, after the reward is known.
type Agent interface {
	// Name identifies the strategy in results ("ddpg", "uniform", ...).
	Name() string
	// Act returns a preserve ratio for the state of group t (the
	// environment clamps it to [lower bound, 1] and caps it to keep the
	// budget reachable; Transition.Action is what it applied); explore is
	// false when the harness wants the agent's best policy.
	Act(state []float64, t int, explore bool) float64
	// Observe learns from a finished episode.
	Observe(ep Episode) error
	// State serialises everything the agent needs to continue (weights,
	// replay buffer, random state); Restore reads it back.
	State() ([]byte, error)
	Restore(b []byte) error
}

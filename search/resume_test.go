package search

import (
	"errors"
	"math"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/agent"
	"github.com/amcbench/amc/baselines"
	"github.com/amcbench/amc/env"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withoutClock blanks the wall-clock columns, the only ones allowed to differ
// between an interrupted and an uninterrupted run.
func withoutClock(rows []EpisodeRow) []EpisodeRow {
	out := append([]EpisodeRow(nil), rows...)
	for i := range out {
		out[i].ActSec, out[i].PruneSec, out[i].ReconSec, out[i].EvalSec, out[i].WallSec = 0, 0, 0, 0, 0
		if math.IsNaN(out[i].Sigma) { // NaN (no noise during warm-up) never equals itself
			out[i].Sigma = -1
		}
	}
	return out
}

// A run stopped after some episodes and resumed from its checkpoint gives
// the same rows and best episode as one that ran straight through, for the
// DDPG agent (weights, Adam, replay buffer, noise) and random search.
func TestResumeEqualsUninterrupted(t *testing.T) {
	cfg := env.Config{Protocol: env.Constrained, Budget: env.Budget{Kind: "macs", Fraction: 0.5}, LowerBound: 0.2, Batch: 20}
	agents := map[string]func() agent.Agent{
		"ddpg": func() agent.Agent {
			c := agent.DefaultDDPG()
			c.Hidden, c.Warmup, c.Batch, c.Seed = 16, 2, 8, 5
			d, err := agent.NewDDPG(c, env.StateSize)
			require.NoError(t, err)
			return d
		},
		"random": func() agent.Agent { return baselines.NewRandom(0.2, 5) },
	}
	const episodes = 8
	for name, mk := range agents {
		for _, stopAfter := range []int{1, 5} {
			var straight []EpisodeRow
			full, err := Run(newEnv(t, cfg), mk(), Options{Episodes: episodes, Log: func(r EpisodeRow) error { straight = append(straight, r); return nil }})
			require.NoError(t, err)

			path := filepath.Join(t.TempDir(), "checkpoint")
			killed := errors.New("killed")
			_, err = Run(newEnv(t, cfg), mk(), Options{Episodes: episodes, Checkpoint: func(c *Checkpoint) error {
				require.NoError(t, SaveCheckpoint(path, c))
				if len(c.Rows) == stopAfter {
					return killed
				}
				return nil
			}})
			require.ErrorIs(t, err, killed)
			cp, err := LoadCheckpoint(path)
			require.NoError(t, err)
			require.Len(t, cp.Rows, stopAfter)

			var resumed []EpisodeRow
			best, err := Run(newEnv(t, cfg), mk(), Options{Episodes: episodes, Resume: cp,
				Log: func(r EpisodeRow) error { resumed = append(resumed, r); return nil }})
			require.NoError(t, err)
			assert.Equal(t, withoutClock(straight), withoutClock(resumed), "%s stopped after %d", name, stopAfter)
			assert.Equal(t, full.Episode, best.Episode, name)
			assert.Equal(t, full.Result.MACs, best.Result.MACs, name)
			assert.Equal(t, full.Result.Ratios, best.Result.Ratios, name)
			require.NotNil(t, best.Result.PrunedGraph, "the best network is rebuilt after a resume")
		}
	}
}

func TestCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadCheckpoint(filepath.Join(dir, "none"))
	assert.True(t, IsNotExist(err))
	bad := filepath.Join(dir, "bad")
	require.NoError(t, SaveCheckpoint(bad, &Checkpoint{Rows: []EpisodeRow{{Episode: 1}}}))
	_, err = LoadCheckpoint(bad)
	assert.ErrorContains(t, err, "damaged")
}

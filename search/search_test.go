package search

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/agent"
	"github.com/amcbench/amc/baselines"
	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/env"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/prune"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func fakeSet(n int) *datasets.Images {
	im := &datasets.Images{N: n, H: 32, W: 32, C: 3, Labels: make([]uint16, n), Pixels: make([]uint8, n*3072), Classes: datasets.CIFAR10Classes}
	for i := range im.Pixels {
		im.Pixels[i] = uint8(i * 7)
	}
	for i := range im.Labels {
		im.Labels[i] = uint16(i % 10)
	}
	return im
}

func newEnv(t *testing.T, cfg env.Config) *env.Env {
	g, err := models.Build("resnet20")
	require.NoError(t, err)
	p := g.InitParams(1)
	a, err := prune.Analyze(g, prune.Options{})
	require.NoError(t, err)
	e, err := env.New(cfg, a, p, nil, fakeSet(20), datasets.ImageNetNorm)
	require.NoError(t, err)
	return e
}

// Random search under a MACs budget: every episode meets the budget, rows
// are logged to Parquet and read back, and the same seed gives the same rows.
func TestRandomSearchMeetsBudgetAndLogs(t *testing.T) {
	cfg := env.Config{Protocol: env.Constrained, Budget: env.Budget{Kind: "macs", Fraction: 0.5}, LowerBound: 0.2, Multiple: 1, Batch: 20}
	run := func(path string) []EpisodeRow {
		e := newEnv(t, cfg)
		log, err := CreateEpisodeLog(path)
		require.NoError(t, err)
		best, err := Run(e, baselines.NewRandom(0.2, 3), Options{Spec: "test", Seed: 3, Episodes: 6, Log: log.Write})
		require.NoError(t, err)
		require.NoError(t, log.Close())
		assert.GreaterOrEqual(t, best.Episode, 0)
		rows, err := ReadEpisodes(path)
		require.NoError(t, err)
		return rows
	}
	dir := t.TempDir()
	a := run(filepath.Join(dir, "a.parquet"))
	b := run(filepath.Join(dir, "b.parquet"))
	require.Len(t, a, 6)
	for i := range a {
		assert.LessOrEqual(t, a[i].MACsRatio, 0.5)
		assert.Greater(t, a[i].MACsRatio, 0.40, "the cap lands close to the budget")
		assert.Len(t, a[i].Ratios, 9)
		assert.Equal(t, a[i].Ratios, b[i].Ratios, "same seed, same policies")
		assert.Equal(t, a[i].Reward, b[i].Reward)
		for _, r := range a[i].Ratios {
			assert.GreaterOrEqual(t, r, 0.2-1e-9)
			assert.LessOrEqual(t, r, 1.0)
		}
	}
}

func TestHandCraftedShapesMeetBudget(t *testing.T) {
	for _, f := range []float64{0.3, 0.5, 0.8} {
		cfg := env.Config{Protocol: env.Constrained, Budget: env.Budget{Kind: "macs", Fraction: f}, LowerBound: 0.2, Batch: 20}
		e := newEnv(t, cfg)
		for _, name := range []string{"uniform", "deep", "shallow"} {
			shape, err := baselines.Shape(name, e.Groups())
			require.NoError(t, err)
			ratios, err := e.FitShape(shape)
			require.NoError(t, err)
			best, err := Run(e, &baselines.Fixed{Label: name, Ratios: ratios}, Options{Episodes: 1})
			require.NoError(t, err)
			got := float64(best.Result.MACs) / float64(e.BaseMACs())
			assert.LessOrEqual(t, got, f, name)
			assert.Greater(t, got, f-0.05, "%s at %.1f: the budget is nearly used", name, f)
			for i := range ratios { // not capped: only rounded to whole channels (groups have >= 16)
				assert.InDelta(t, ratios[i], best.Result.Ratios[i], 1.0/16+1e-9, "%s group %d", name, i)
			}
		}
	}
}

func TestBudgetErrors(t *testing.T) {
	g, _ := models.Build("resnet20")
	a, _ := prune.Analyze(g, prune.Options{})
	_, err := env.New(env.Config{Protocol: env.Constrained, Budget: env.Budget{Kind: "macs", Fraction: 0.05}, LowerBound: 0.2}, a, g.InitParams(1), nil, fakeSet(2), datasets.ImageNetNorm)
	assert.ErrorContains(t, err, "smallest reachable is macs=")
	for _, s := range []string{"macs=1.5", "latency=abc", "flops=0.5", "macs"} {
		_, err := env.ParseBudget(s)
		assert.Error(t, err, s)
	}
	b, err := env.ParseBudget("params=0.3")
	require.NoError(t, err)
	assert.Equal(t, env.Budget{Kind: "params", Fraction: 0.3}, b)
}

// The sigma logged with an episode is the noise that episode explored with:
// NaN through the warm-up (uniform random actions), then the agent's noise.
func TestSigmaLoggedWithItsEpisode(t *testing.T) {
	cfg := env.Config{Protocol: env.Constrained, Budget: env.Budget{Kind: "macs", Fraction: 0.5}, LowerBound: 0.2, Multiple: 1, Batch: 20}
	e := newEnv(t, cfg)
	c := agent.DefaultDDPG()
	c.Warmup, c.Hidden = 2, 16
	ag, err := agent.NewDDPG(c, env.StateSize)
	require.NoError(t, err)
	var rows []EpisodeRow
	_, err = Run(e, ag, Options{Spec: "t", Seed: 1, Episodes: 4, Log: func(r EpisodeRow) error { rows = append(rows, r); return nil }})
	require.NoError(t, err)
	require.Len(t, rows, 4)
	assert.True(t, math.IsNaN(rows[0].Sigma))
	assert.True(t, math.IsNaN(rows[1].Sigma), "the last warm-up episode was random too")
	assert.Equal(t, c.Sigma, rows[2].Sigma, "the first noisy episode")
}

// A learning agent's final, noise-free policy is played once after the
// search (explore false, not learned from) and competes for the best.
func TestGreedyEpisodeAfterTheSearch(t *testing.T) {
	cfg := env.Config{Protocol: env.Constrained, Budget: env.Budget{Kind: "macs", Fraction: 0.5}, LowerBound: 0.2, Multiple: 1, Batch: 20}
	c := agent.DefaultDDPG()
	c.Warmup, c.Hidden = 2, 16
	play := func(greedy bool) ([]EpisodeRow, Best) {
		ag, err := agent.NewDDPG(c, env.StateSize)
		require.NoError(t, err)
		var rows []EpisodeRow
		best, err := Run(newEnv(t, cfg), ag, Options{Spec: "t", Seed: 1, Episodes: 3, Greedy: greedy,
			Log: func(r EpisodeRow) error { rows = append(rows, r); return nil }})
		require.NoError(t, err)
		return rows, best
	}
	rows, best := play(true)
	require.Len(t, rows, 4)
	for _, r := range rows[:3] {
		assert.True(t, r.Explore)
	}
	g := rows[3]
	assert.False(t, g.Explore)
	assert.Equal(t, int64(3), g.Episode)
	assert.LessOrEqual(t, g.MACsRatio, 0.5, "the greedy policy meets the budget too")
	for _, r := range rows {
		assert.LessOrEqual(t, r.Reward, best.Reward)
	}
	plain, _ := play(false)
	assert.Equal(t, withoutClock(plain), withoutClock(rows[:3]), "the greedy episode changes nothing before it")
}

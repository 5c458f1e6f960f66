package env

import (
	"math"
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/prune"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tiny(n int) *datasets.Images {
	im := &datasets.Images{N: n, H: 32, W: 32, C: 3, Labels: make([]uint8, n), Pixels: make([]uint8, n*3072), Classes: datasets.CIFAR10Classes}
	for i := range im.Pixels {
		im.Pixels[i] = uint8(i * 13)
	}
	return im
}

func newEnv(t *testing.T, model string, cfg Config) *Env {
	g, err := models.Build(model)
	require.NoError(t, err)
	a, err := prune.Analyze(g, prune.Options{})
	require.NoError(t, err)
	e, err := New(cfg, a, g.InitParams(1), nil, tiny(10), datasets.ImageNetNorm)
	require.NoError(t, err)
	return e
}

func TestStateFeatures(t *testing.T) {
	e := newEnv(t, "resnet56", Config{Protocol: Constrained, Budget: Budget{"macs", 0.5}, LowerBound: 0.2, Batch: 10})
	s := e.Reset()
	var prevReduced float64
	for step := 0; s != nil; step++ {
		require.Len(t, s, StateSize)
		for i, v := range s {
			assert.True(t, v >= 0 && v <= 1, "step %d feature %d = %v", step, i, v)
		}
		assert.InDelta(t, float64(step)/float64(e.Groups()-1), s[0], 1e-9, "index feature")
		assert.GreaterOrEqual(t, s[8], prevReduced, "MACs removed only grow")
		prevReduced = s[8]
		_, next, err := e.Step(0.3)
		require.NoError(t, err)
		if next != nil {
			assert.Greater(t, next[10], 0.0, "previous action is recorded")
		}
		s = next
	}
	r := e.Result()
	assert.LessOrEqual(t, float64(r.MACs), 0.5*float64(e.BaseMACs()))
	_, _, err := e.Step(0.5)
	assert.ErrorContains(t, err, "episode is over")
}

// With every action at 1, the cap alone decides: the budget is met, and
// the early groups keep everything while the late ones are cut.
func TestCapFrontLoads(t *testing.T) {
	e := newEnv(t, "resnet20", Config{Protocol: Constrained, Budget: Budget{"macs", 0.6}, LowerBound: 0.2, Batch: 10})
	for s := e.Reset(); s != nil; {
		_, s, _ = e.Step(1)
	}
	r := e.Result()
	assert.LessOrEqual(t, float64(r.MACs), 0.6*float64(e.BaseMACs()))
	assert.Equal(t, 1.0, r.Ratios[0])
	assert.Less(t, r.Ratios[len(r.Ratios)-1], 1.0)
}

func TestAccuracyProtocolRewards(t *testing.T) {
	for _, c := range []struct {
		reward string
		cost   func(Result) float64
	}{
		{"flops", func(r Result) float64 { return math.Log(float64(r.MACs)) }},
		{"params", func(r Result) float64 { return math.Log(float64(r.Params)) }},
	} {
		e := newEnv(t, "resnet20", Config{Protocol: Accuracy, Reward: c.reward, LowerBound: 0.2, Batch: 10})
		for s := e.Reset(); s != nil; {
			_, s, _ = e.Step(1) // no cap in this protocol
		}
		r := e.Result()
		assert.Equal(t, e.BaseMACs(), r.MACs)
		assert.InDelta(t, -(1-r.Top1/100)*c.cost(r), r.Reward, 1e-9, c.reward)
	}
	g, _ := models.Build("resnet20")
	a, _ := prune.Analyze(g, prune.Options{})
	_, err := New(Config{Protocol: "greedy", LowerBound: 0.2}, a, g.InitParams(1), nil, tiny(2), datasets.ImageNetNorm)
	assert.ErrorContains(t, err, "unknown protocol")
	_, err = New(Config{Protocol: Accuracy, Reward: "latency", LowerBound: 0.2}, a, g.InitParams(1), nil, tiny(2), datasets.ImageNetNorm)
	assert.ErrorContains(t, err, "unknown reward")
}

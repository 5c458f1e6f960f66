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
	im := &datasets.Images{N: n, H: 32, W: 32, C: 3, Labels: make([]uint16, n), Pixels: make([]uint8, n*3072), Classes: datasets.CIFAR10Classes}
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
	for _, lb := range []float64{0, -0.1, 1.5, math.NaN()} {
		_, err = New(Config{Protocol: Constrained, Budget: Budget{"macs", 0.5}, LowerBound: lb}, a, g.InitParams(1), nil, tiny(2), datasets.ImageNetNorm)
		assert.ErrorContains(t, err, "lower bound", "lower bound %v", lb)
	}
}

// Fine-grained episodes walk the conv and linear layers; the zeros match
// the densities, nonzero params match the reported params, the budget is
// met, and the channel structure is untouched.
func TestFineGrainedEpisode(t *testing.T) {
	cases := []struct {
		name   string
		budget Budget
		action float64
	}{
		{"params budget, greedy agent", Budget{"params", 0.3}, 1},
		{"macs budget, greedy agent", Budget{"macs", 0.5}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, "resnet20", Config{Granularity: Fine, Protocol: Constrained, Budget: c.budget, LowerBound: 0.05, Batch: 10})
			layers := prune.Layers(e.a.Graph)
			require.Equal(t, layers, e.GroupNames(), "one step per conv/linear layer")
			steps := 0
			for s := e.Reset(); s != nil; steps++ {
				require.Len(t, s, StateSize)
				var err error
				_, s, err = e.Step(c.action)
				require.NoError(t, err)
			}
			assert.Equal(t, len(layers), steps)
			r := e.Result()
			assert.Nil(t, r.Kept)
			assert.Same(t, e.a.Graph, r.PrunedGraph, "no channels removed")
			removed := int64(0)
			used := float64(r.Params) / float64(e.BaseParams())
			if c.budget.Kind == "macs" {
				used = float64(r.MACs) / float64(e.BaseMACs())
			}
			assert.LessOrEqual(t, used, c.budget.Fraction)
			assert.Greater(t, used, c.budget.Fraction-0.05, "the cap spends the budget")
			for i, name := range layers {
				w := r.PrunedParam[name+".weight"].Data
				nz := 0
				for _, v := range w {
					if v != 0 {
						nz++
					}
				}
				assert.Equal(t, r.Counts[i], nz, name)
				removed += int64(len(w) - nz)
				assert.InDelta(t, r.Ratios[i], r.Density[name], 1e-12, name)
				assert.GreaterOrEqual(t, r.Ratios[i], 0.05-1e-9, name)
			}
			assert.Equal(t, e.BaseParams()-removed, r.Params, "reported params are those left")
		})
	}
}

func TestFineGrainedRejects(t *testing.T) {
	g, err := models.Build("resnet20")
	require.NoError(t, err)
	a, err := prune.Analyze(g, prune.Options{})
	require.NoError(t, err)
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Granularity: "weights", Protocol: Accuracy, LowerBound: 0.2}, `unknown granularity "weights"`},
		{Config{Granularity: Fine, Protocol: Constrained, Budget: Budget{"latency", 0.5}, LowerBound: 0.2}, "latency"},
		{Config{Granularity: Fine, Protocol: Constrained, Budget: Budget{"params", 0.01}, LowerBound: 0.2}, "cannot be met"},
	} {
		_, err := New(c.cfg, a, g.InitParams(1), nil, tiny(4), datasets.ImageNetNorm)
		assert.ErrorContains(t, err, c.want)
	}
}

// Fixed shapes fit a fine-grained budget as they do a channel one.
func TestFineGrainedFitShape(t *testing.T) {
	e := newEnv(t, "resnet20", Config{Granularity: Fine, Protocol: Constrained, Budget: Budget{"params", 0.2}, LowerBound: 0.02, Batch: 10})
	shape := make([]float64, e.Groups())
	for i := range shape {
		shape[i] = 1
	}
	ratios, err := e.FitShape(shape)
	require.NoError(t, err)
	r, err := replay(e, ratios)
	require.NoError(t, err)
	assert.LessOrEqual(t, float64(r.Params), 0.2*float64(e.BaseParams()))
	assert.Greater(t, float64(r.Params), 0.19*float64(e.BaseParams()))
	for _, v := range r.Ratios[1:] {
		assert.InDelta(t, r.Ratios[0], v, 0.01, "uniform density")
	}
}

func replay(e *Env, ratios []float64) (Result, error) {
	s := e.Reset()
	for t := 0; s != nil; t++ {
		var err error
		if _, s, err = e.Step(ratios[t]); err != nil {
			return Result{}, err
		}
	}
	return e.Result(), nil
}

func TestFineGrainedRefusesSparseBase(t *testing.T) {
	g, err := models.Build("resnet20")
	require.NoError(t, err)
	a, err := prune.Analyze(g, prune.Options{})
	require.NoError(t, err)
	p, err := prune.Sparsify(g, g.InitParams(1), map[string]float64{"layer2.0.conv1": 0.5})
	require.NoError(t, err)
	_, err = New(Config{Granularity: Fine, Protocol: Accuracy, Reward: "params", LowerBound: 0.05}, a, p, nil, tiny(4), datasets.ImageNetNorm)
	assert.ErrorContains(t, err, "layer2.0.conv1 is already sparse")
}

package env

import (
	"math/rand/v2"
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/prune"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The latency table is monotone per group, predicts the unpruned latency
// at full width, and a latency budget is met by every episode's predicted
// latency, whatever the agent asks for.
func TestLatencyTableAndBudget(t *testing.T) {
	g, err := models.Build("resnet20")
	require.NoError(t, err)
	a, err := prune.Analyze(g, prune.Options{})
	require.NoError(t, err)
	p := g.InitParams(1)
	probe, err := New(Config{Protocol: Accuracy, LowerBound: 0.2}, a, p, nil, tiny(4), datasets.ImageNetNorm)
	require.NoError(t, err)
	lt, err := MeasureLatencyTable(a, p, probe.MinCounts(), LatencyOptions{Batch: 1, Points: 3, Repeats: 3})
	require.NoError(t, err)
	require.NoError(t, lt.Check(a))
	assert.Greater(t, lt.Full, 0.0)
	assert.InDelta(t, lt.Full, lt.Predict(a.FullCounts()), 1e-12)
	for i := range lt.Seconds {
		for k := 1; k < len(lt.Seconds[i]); k++ {
			assert.GreaterOrEqual(t, lt.Seconds[i][k], lt.Seconds[i][k-1], "group %d monotone", i)
		}
		assert.Equal(t, a.Groups[i].Channels, lt.Counts[i][len(lt.Counts[i])-1])
	}
	assert.LessOrEqual(t, lt.Predict(probe.MinCounts()), lt.Full)
	assert.Len(t, lt.Checks, 6, "whole networks timed to fit the scale")
	assert.True(t, lt.Scale >= 0.5 && lt.Scale <= 2, "scale %v", lt.Scale)

	_, err = New(Config{Protocol: Constrained, Budget: Budget{"latency", 0.5}, LowerBound: 0.2}, a, p, nil, tiny(4), datasets.ImageNetNorm)
	assert.ErrorContains(t, err, "latency table")
	// The smallest reachable latency, as a budget, is met; below it, refused
	// with the value.
	low := lt.Predict(probe.MinCounts()) / lt.Full
	_, err = New(Config{Protocol: Constrained, Budget: Budget{"latency", low * 0.9}, LowerBound: 0.2, Latency: lt}, a, p, nil, tiny(4), datasets.ImageNetNorm)
	assert.ErrorContains(t, err, "smallest reachable is latency=")

	frac := (1 + low) / 2
	e, err := New(Config{Protocol: Constrained, Budget: Budget{"latency", frac}, LowerBound: 0.2, Batch: 4, Latency: lt}, a, p, nil, tiny(4), datasets.ImageNetNorm)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	for ep := 0; ep < 5; ep++ {
		s := e.Reset()
		for s != nil {
			_, s, err = e.Step(rng.Float64())
			require.NoError(t, err)
		}
		r := e.Result()
		assert.LessOrEqual(t, r.Latency, frac*lt.Full*(1+1e-12), "episode %d", ep)
		assert.InDelta(t, lt.Predict(r.Counts), r.Latency, 1e-15)
	}

	bad := *lt
	bad.Counts = bad.Counts[:3]
	assert.ErrorContains(t, bad.Check(a), "groups")
}

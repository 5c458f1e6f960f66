package prune

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func build(t *testing.T, name string) (*nn.Graph, nn.Params) {
	t.Helper()
	g, err := models.Build(name)
	require.NoError(t, err)
	p := g.InitParams(3)
	rng := rand.New(rand.NewPCG(5, 7))
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := p[k]
		if strings.HasSuffix(k, "running_var") {
			for i := range v.Data {
				v.Data[i] = float32(0.5 + rng.Float64())
			}
		}
		if strings.HasSuffix(k, "running_mean") || strings.HasSuffix(k, "bn1.bias") {
			for i := range v.Data {
				v.Data[i] = float32(0.1 * rng.NormFloat64())
			}
		}
	}
	return g, p
}

func input(g *nn.Graph, n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*g.Input.Size())
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func forward(t *testing.T, g *nn.Graph, p nn.Params, x []float32, n int) []float32 {
	t.Helper()
	pl, err := nn.Compile(g, p, 2)
	require.NoError(t, err)
	y, err := pl.Forward(x, n)
	require.NoError(t, err)
	return append([]float32(nil), y...)
}

func TestGroupsOfZoo(t *testing.T) {
	cases := []struct {
		model         string
		residual      bool
		groups        int
		first, last   string
		firstChannels int
	}{
		{"resnet20", false, 9, "layer1.0.conv1", "layer3.2.conv1", 16},
		{"resnet56", false, 27, "layer1.0.conv1", "layer3.8.conv1", 16},
		{"resnet20", true, 12, "residual:conv1", "layer3.2.conv1", 16},
		{"plain20", false, 19, "conv1", "layer3.2.conv2", 16},
		{"vgg16", false, 13, "features.0", "features.40", 64},
		{"mobilenet_v1", false, 14, "conv1", "layers.12.conv2", 32},
		{"mobilenet_v2", false, 17 + 4, "conv1", "conv2", 32},
		{"mobilenet_v2", true, 17 + 4 + 5, "conv1", "conv2", 32},
	}
	for _, c := range cases {
		g, err := models.Build(c.model)
		require.NoError(t, err)
		a, err := Analyze(g, Options{Residual: c.residual})
		require.NoError(t, err)
		names := []string{}
		for _, grp := range a.Groups {
			names = append(names, grp.Name)
			assert.NotEmpty(t, grp.Producers, grp.Name)
			assert.Positive(t, grp.MACs, grp.Name)
		}
		assert.Len(t, a.Groups, c.groups, "%s residual=%v: %v", c.model, c.residual, names)
		assert.Equal(t, c.first, names[0], c.model)
		assert.Equal(t, c.last, names[len(names)-1], c.model)
		assert.Equal(t, c.firstChannels, a.Groups[0].Channels)
	}
}

func TestUniformHalfOnEveryZooModel(t *testing.T) {
	for _, name := range models.CIFARNames() {
		for _, residual := range []bool{false, true} {
			g, p := build(t, name)
			a, err := Analyze(g, Options{Residual: residual})
			require.NoError(t, err)
			counts, err := a.Counts(a.Uniform(0.5), 1)
			require.NoError(t, err)
			kept := a.Select(p, counts, L1In{})
			pg, pp, err := a.Apply(p, kept)
			require.NoError(t, err, name)
			before, _ := g.Count()
			after, err := pg.Count()
			require.NoError(t, err)
			assert.Less(t, after.MACs, before.MACs, name)
			assert.Less(t, after.Params, before.Params, name)
			assert.Equal(t, a.PredictMACs(counts), after.MACs, "%s residual=%v: predicted MACs", name, residual)
			y := forward(t, pg, pp, input(g, 2, 1), 2)
			assert.Len(t, y, 20)
		}
	}
}

func TestKeepAllReproducesOutputs(t *testing.T) {
	for _, name := range []string{"resnet20", "mobilenet_v2", "vgg16"} {
		g, p := build(t, name)
		a, err := Analyze(g, Options{Residual: true})
		require.NoError(t, err)
		counts, err := a.Counts(a.Uniform(1), 1)
		require.NoError(t, err)
		pg, pp, err := a.Apply(p, a.Select(p, counts, L1In{}))
		require.NoError(t, err)
		x := input(g, 3, 2)
		want, got := forward(t, g, p, x, 3), forward(t, pg, pp, x, 3)
		for i := range want {
			assert.InDelta(t, want[i], got[i], 1e-5, name)
		}
	}
}

// Property: for random policies, the MACs counted on the pruned graph equal
// the prediction exactly, the pruned network runs and matches the reference
// interpreter, and lowering one ratio never adds MACs.
func TestRandomPoliciesProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 42))
	for trial := 0; trial < 24; trial++ {
		name := []string{"resnet20", "mobilenet_v2@0.5", "mobilenet_v1@0.5", "vgg16@0.25", "plain20"}[trial%5]
		g, p := build(t, name)
		a, err := Analyze(g, Options{Residual: trial%2 == 0})
		require.NoError(t, err)
		pol := Policy{}
		for _, grp := range a.Groups {
			pol[grp.Name] = 0.05 + 0.95*rng.Float64()
		}
		multiple := []int{1, 2, 4, 8}[rng.IntN(4)]
		counts, err := a.Counts(pol, multiple)
		require.NoError(t, err)
		pg, pp, err := a.Apply(p, a.Select(p, counts, L1In{}))
		require.NoError(t, err, name)
		cnt, err := pg.Count()
		require.NoError(t, err)
		assert.Equal(t, a.PredictMACs(counts), cnt.MACs, name)
		assert.Equal(t, a.PredictParams(counts), cnt.Params, name)
		x := input(g, 1, uint64(trial))
		want, err := nn.Reference(pg, pp, x, 1)
		require.NoError(t, err)
		got := forward(t, pg, pp, x, 1)
		for i := range want {
			assert.InDelta(t, want[i], got[i], 1e-4*math.Max(1, math.Abs(float64(want[i]))), name)
		}
		// Monotone: lowering one group's count never raises MACs.
		k := rng.IntN(len(counts))
		if counts[k] > 1 {
			lower := append([]int(nil), counts...)
			lower[k]--
			assert.LessOrEqual(t, a.PredictMACs(lower), a.PredictMACs(counts), name)
		}
	}
}

// Channels that nothing reads can be removed without changing the output.
func TestPruningDeadChannelsKeepsOutputs(t *testing.T) {
	g, p := build(t, "resnet20")
	a, err := Analyze(g, Options{})
	require.NoError(t, err)
	w := p["layer1.0.conv2.weight"] // reads group layer1.0.conv1's channels
	for o := 0; o < 16; o++ {
		for c := 8; c < 16; c++ {
			for k := 0; k < 9; k++ {
				w.Data[(o*16+c)*9+k] = 0
			}
		}
	}
	pol := Policy{"layer1.0.conv1": 0.5}
	counts, err := a.Counts(pol, 1)
	require.NoError(t, err)
	kept := a.Select(p, counts, L1In{})
	assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, kept[0])
	pg, pp, err := a.Apply(p, kept)
	require.NoError(t, err)
	x := input(g, 2, 3)
	want, got := forward(t, g, p, x, 2), forward(t, pg, pp, x, 2)
	for i := range want {
		assert.InDelta(t, want[i], got[i], 1e-4)
	}
}

func TestPolicyErrors(t *testing.T) {
	g, _ := models.Build("resnet20")
	a, err := Analyze(g, Options{})
	require.NoError(t, err)
	_, err = a.Counts(Policy{"layer1.0.conv3": 0.5}, 1)
	assert.ErrorContains(t, err, `did you mean "layer1.0.conv1"`)
	_, err = a.Counts(Policy{"layer1.0.conv1": 1.5}, 1)
	assert.ErrorContains(t, err, "(0, 1]")
	_, _, err = ParseUniform("uniform:abc")
	assert.Error(t, err)
	assert.Equal(t, 8, KeepCount(16, 0.5, 1))
	assert.Equal(t, 8, KeepCount(16, 0.4, 8))
	assert.Equal(t, 8, KeepCount(16, 0.01, 8))
	assert.Equal(t, 4, KeepCount(4, 0.1, 8))
	assert.Equal(t, 1, KeepCount(16, 0.001, 1))
}

// The ImageNet networks' channel groups: ResNet-50's are its stem and the
// insides of its 16 bottlenecks (conv1, conv2), and with residual groups
// also its 4 stages' joined channels; MobileNet-V2's its stem, its 16
// expansions, the two projections no add joins and the last 1x1; VGG-16's
// its 13 convolutions. Uniform halving predicts the pruned graph's MACs
// exactly.
func TestImageNetGroups(t *testing.T) {
	for _, c := range []struct {
		name             string
		groups, residual int
	}{
		{"imagenet_resnet50", 1 + 2*16, 1 + 2*16 + 4},
		{"imagenet_mobilenet_v2", 1 + 16 + 2 + 1, 0},
		{"imagenet_vgg16@0.125", 13, 0}, // the groups do not depend on the width; 1/8 keeps the weights small
	} {
		g, err := models.Build(c.name)
		require.NoError(t, err)
		p := g.InitParams(1)
		for _, residual := range []bool{false, true} {
			a, err := Analyze(g, Options{Residual: residual})
			require.NoError(t, err, c.name)
			if residual && c.residual > 0 {
				assert.Len(t, a.Groups, c.residual, "%s residual groups", c.name)
			} else if !residual {
				assert.Len(t, a.Groups, c.groups, "%s groups", c.name)
			}
			counts, err := a.Counts(a.Uniform(0.5), 1)
			require.NoError(t, err)
			pg, _, err := a.Apply(p, a.Select(p, counts, L1In{}))
			require.NoError(t, err, c.name)
			after, err := pg.Count()
			require.NoError(t, err)
			assert.Equal(t, a.PredictMACs(counts), after.MACs, "%s residual=%v: predicted MACs", c.name, residual)
		}
	}
	// A pruned VGG-16 still runs: its flatten of a 7x7 map feeds the
	// classifier (at width 1/8, to stay small).
	g, p := build(t, "imagenet_vgg16@0.125")
	a, err := Analyze(g, Options{})
	require.NoError(t, err)
	counts, err := a.Counts(a.Uniform(0.5), 1)
	require.NoError(t, err)
	pg, pp, err := a.Apply(p, a.Select(p, counts, L1In{}))
	require.NoError(t, err)
	assert.Len(t, forward(t, pg, pp, input(g, 2, 1), 2), 2*1000)
}

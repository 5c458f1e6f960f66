package prune

import (
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cutSpec cuts name's random network to a uniform ratio and records it as
// amc prune does.
func cutSpec(t *testing.T, name string, residual bool, ratio float64) (*Spec, *Analysis, [][]int) {
	t.Helper()
	g, p := build(t, name)
	a, err := Analyze(g, Options{Residual: residual})
	require.NoError(t, err)
	counts, err := a.Counts(a.Uniform(ratio), 1)
	require.NoError(t, err)
	kept := a.Select(p, counts, L1In{})
	pg, _, err := a.Apply(p, kept)
	require.NoError(t, err)
	cnt, _ := pg.Count()
	spec := &Spec{BaseModel: name, Normalization: datasets.ImageNetNorm, Layers: LayerSpecs(g, pg), Residual: residual, MACs: cnt.MACs, Params: cnt.Params}
	for i, grp := range a.Groups {
		spec.Groups = append(spec.Groups, GroupSpec{Name: grp.Name, Channels: grp.Channels, Ratio: ratio, Kept: kept[i]})
	}
	return spec, a, kept
}

func TestReplayRemakesTheCut(t *testing.T) {
	for _, tc := range []struct {
		model    string
		residual bool
	}{{"resnet20", false}, {"resnet20", true}, {"mobilenet_v2@0.5", false}, {"vgg16", false}} {
		spec, a, kept := cutSpec(t, tc.model, tc.residual, 0.4)
		g, p := build(t, tc.model)
		_, gotKept, pg, pp, err := Replay(spec, g, p)
		require.NoError(t, err, tc.model)
		assert.Equal(t, kept, gotKept, tc.model)
		wg, wp, err := a.Apply(p, kept)
		require.NoError(t, err)
		x := input(g, 2, 3)
		assert.Equal(t, forward(t, wg, wp, x, 2), forward(t, pg, pp, x, 2), "%s residual %v", tc.model, tc.residual)
	}
}

func TestReplayFineGrainedIsTheUnprunedNetwork(t *testing.T) {
	g, p := build(t, "resnet20")
	spec := &Spec{BaseModel: "resnet20", Density: map[string]float64{"conv1": 0.5}}
	_, kept, pg, pp, err := Replay(spec, g, p)
	require.NoError(t, err)
	assert.Nil(t, kept)
	assert.Same(t, g, pg)
	assert.Equal(t, p, pp)
}

func TestReplayRefusesSpecsOfAnotherNetwork(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *Spec)
		want   string
	}{
		{"residual option differs", func(s *Spec) { s.Residual = true }, "groups"},
		{"group renamed", func(s *Spec) { s.Groups[0].Name = "layer9.conv1" }, "layer9.conv1"},
		{"group width", func(s *Spec) { s.Groups[1].Channels = 99 }, "99 channels"},
		{"kept index out of range", func(s *Spec) { s.Groups[0].Kept = []int{0, 16} }, "increasing indices below 16"},
		{"kept indices repeated", func(s *Spec) { s.Groups[0].Kept = []int{3, 3} }, "increasing indices"},
		{"no channel kept", func(s *Spec) { s.Groups[2].Kept = nil }, "keeps no channels"},
		{"layers disagree with kept", func(s *Spec) { s.Groups[0].Kept = s.Groups[0].Kept[:1] }, "other layer widths"},
		{"groups missing", func(s *Spec) { s.Groups = nil }, "records no group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, _, _ := cutSpec(t, "resnet20", false, 0.5)
			tc.change(spec)
			g, p := build(t, "resnet20")
			_, _, _, _, err := Replay(spec, g, p)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

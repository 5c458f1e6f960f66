package prune

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, name := range []string{"resnet20", "mobilenet_v2@0.5"} {
		g, p := build(t, name)
		a, err := Analyze(g, Options{Residual: true})
		require.NoError(t, err)
		counts, err := a.Counts(a.Uniform(0.4), 2)
		require.NoError(t, err)
		kept := a.Select(p, counts, L1In{})
		pg, pp, err := a.Apply(p, kept)
		require.NoError(t, err)
		dir := filepath.Join(t.TempDir(), "pruned")
		cnt, _ := pg.Count()
		spec := &Spec{BaseModel: name, Normalization: datasets.ImageNetNorm, Layers: LayerSpecs(g, pg), MACs: cnt.MACs}
		require.NoError(t, Save(dir, spec, pp))
		spec2, g2, p2, err := Load(dir)
		require.NoError(t, err)
		assert.Equal(t, name, spec2.BaseModel)
		cnt2, _ := g2.Count()
		assert.Equal(t, cnt.MACs, cnt2.MACs)
		x := input(g, 2, 5)
		want, got := forward(t, pg, pp, x, 2), forward(t, g2, p2, x, 2)
		assert.Equal(t, want, got, name)
	}
}

func TestLoadRejectsBadFolders(t *testing.T) {
	dir := t.TempDir()
	_, _, _, err := Load(dir)
	assert.ErrorContains(t, err, "written by amc prune")
	require.NoError(t, os.WriteFile(filepath.Join(dir, SpecFile), []byte(`{"format":"other"}`), 0o644))
	_, _, _, err = Load(dir)
	assert.ErrorContains(t, err, "format")
	spec := `{"format":"amc-pruned/1","base_model":"resnet20","normalization":{"mean":[0,0,0],"std":[1,1,1]},"layers":{"layer1.0.conv1":{"in_channels":16,"out_channels":5}}}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, SpecFile), []byte(spec), 0o644))
	_, _, _, err = Load(dir)
	assert.ErrorContains(t, err, "does not describe a valid resnet20") // bn1 still has 16 channels
}

func TestSparsify(t *testing.T) {
	g, p := build(t, "resnet20")
	before := Sparsity(g, p)
	d := map[string]float64{}
	want := before.Nonzero
	for _, l := range Layers(g) {
		d[l] = 0.3
		n := len(p[l+".weight"].Data)
		want += int64(math.Round(0.3*float64(n))) - int64(n)
	}
	sp, err := Sparsify(g, p, d)
	require.NoError(t, err)
	after := Sparsity(g, sp)
	assert.Equal(t, before.Params, after.Params)
	assert.Equal(t, want, after.Nonzero)
	assert.Less(t, after.SparseBytes, before.DenseBytes)
	// The largest weights survive.
	w, sw := p["layer2.0.conv1.weight"].Data, sp["layer2.0.conv1.weight"].Data
	var maxV float32
	var at int
	for i, v := range w {
		if abs32(v) > maxV {
			maxV, at = abs32(v), i
		}
	}
	assert.Equal(t, w[at], sw[at])
	assert.NotEqual(t, p["layer2.0.conv1.weight"], sp["layer2.0.conv1.weight"], "copy, not in place")
	_, err = Sparsify(g, p, map[string]float64{"layer1.0.bn1": 0.5})
	assert.ErrorContains(t, err, "not a conv or linear")
	// A sparse network still runs and differs from the dense one.
	x := input(g, 1, 1)
	assert.NotEqual(t, forward(t, g, p, x, 1), forward(t, g, sp, x, 1))
	var _ nn.Params = sp
}

func TestUniformForMACs(t *testing.T) {
	g, _ := build(t, "resnet56")
	a, err := Analyze(g, Options{})
	require.NoError(t, err)
	base, _ := g.Count()
	for _, f := range []float64{0.5, 0.7} {
		r, counts, err := a.UniformForMACs(f, 1)
		require.NoError(t, err)
		m := a.PredictMACs(counts)
		assert.LessOrEqual(t, m, int64(f*float64(base.MACs)))
		up, _ := a.Counts(a.Uniform(r+0.002), 1)
		assert.Greater(t, a.PredictMACs(up), int64(f*float64(base.MACs)), "the largest such ratio")
	}
	_, _, err = a.UniformForMACs(0.002, 1)
	assert.ErrorContains(t, err, "smallest reaches")
}

// Orders computed once give exactly Sparsify's weights; an order that does
// not fit its layer is refused.
func TestSparsifyOrderedEqualsSparsify(t *testing.T) {
	g, p := build(t, "resnet20")
	orders := map[string][]int{}
	d := map[string]float64{}
	for i, l := range Layers(g) {
		orders[l] = MagnitudeOrder(p[l+".weight"].Data)
		d[l] = 0.05 + 0.9*float64(i)/float64(len(Layers(g)))
	}
	want, err := Sparsify(g, p, d)
	require.NoError(t, err)
	got, err := SparsifyOrdered(g, p, d, orders)
	require.NoError(t, err)
	for _, l := range Layers(g) {
		assert.Equal(t, want[l+".weight"].Data, got[l+".weight"].Data, l)
	}
	orders["conv1"] = orders["conv1"][:10]
	_, err = SparsifyOrdered(g, p, d, orders)
	assert.ErrorContains(t, err, "magnitude order of 10 weights")
}

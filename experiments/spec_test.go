package experiments

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShippedSpecsLoad(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		s, err := Load(f)
		require.NoError(t, err, f)
		assert.NotEmpty(t, s.Strategies, f)
		_, err = os.Stat(s.Weights)
		assert.NoError(t, err, "%s: weights resolve relative to the spec", f)
	}
	// Specs waiting for weights parse too.
	pending, err := filepath.Glob("pending/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, pending)
	for _, f := range pending {
		s, err := Load(f)
		require.NoError(t, err, f)
		assert.NotNil(t, s.FineTune, f)
	}
}

func TestBadSpecs(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown field", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\nepisdoes: 3\n", "line 6: field episdoes not found"},
		{"wrong type", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nseeds: one\nstrategies: [{name: ddpg}]\n", "line 5"},
		{"no strategies", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\n", "strategies"},
		{"bad name", "name: a/b\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\n", "name"},
		{"no budget", "name: x\nmodel: resnet20\nweights: w\nstrategies: [{name: ddpg}]\n", "budget is required"},
		{"twice", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}, {name: ddpg}]\n", "twice"},
		{"finetune without epochs", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\nfinetune: {lr: 0.1}\n", "finetune: epochs"},
		{"bad granularity", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\ngranularity: weights\nstrategies: [{name: ddpg}]\n", "granularity \"weights\""},
		{"finetune unknown field", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\nfinetune: {epochs: 2, lrr: 0.1}\n", "field lrr not found"},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), "spec.yaml")
		require.NoError(t, os.WriteFile(p, []byte(c.yaml), 0o644))
		_, err := Load(p)
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
		assert.Contains(t, err.Error(), p, c.name)
	}
}

func TestApplyOverrides(t *testing.T) {
	s, err := Load("resnet20-adapted-macs50.yaml")
	require.NoError(t, err)
	s.ApplyOverrides(12, []int64{1}, 500, 1000)
	assert.Equal(t, []int64{1}, s.Seeds)
	assert.Equal(t, 500, s.RewardImages)
	assert.Equal(t, 1000, s.FinalImages)
	for _, st := range s.Strategies {
		assert.Equal(t, 12, st.Episodes, st.Name)
		assert.LessOrEqual(t, st.Warmup, 4, st.Name)
	}
	p, err := Load("resnet20-adapted-macs50.yaml")
	require.NoError(t, err)
	p.ApplyOverrides(12, nil, 0, 0)
	assert.Equal(t, 1, p.FineTune.Epochs)
	assert.Equal(t, 2000, p.FineTune.TrainImages)
	assert.Equal(t, []int64{1, 2, 3}, p.Seeds, "unset overrides keep the spec's values")
	g, err := Load("resnet20-fine-params30.yaml")
	require.NoError(t, err)
	assert.Equal(t, "fine", g.Granularity)
}

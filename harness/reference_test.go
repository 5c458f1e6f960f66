package harness

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/report"
	"github.com/amcbench/amc/search"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A spec's reference networks are evaluated on its runs' images: the
// unpruned network itself as a reference reads exactly the runs' "unpruned"
// figures at ratio 1; references are gathered into references.parquet,
// kept on a rerun, refused when stale, removed when the spec drops them,
// and tabled by the report.
func TestReferencesEvaluatedOnTheRunsImages(t *testing.T) {
	dir := t.TempDir()
	s := quickSpec("refs")
	s.RewardImages, s.FinalImages, s.Seeds = 50, 20, []int64{1}
	s.Strategies = []experiments.Strategy{{Name: "uniform"}}
	r56 := filepath.Join("..", "checkpoints", "cifar10", "resnet56.safetensors")
	s.References = []experiments.Reference{{Name: "self", Model: "resnet20", Weights: clean20}, {Model: "resnet56", Weights: r56}}
	require.NoError(t, s.Check())
	var log bytes.Buffer
	_, err := RunSpecs([]*experiments.Spec{s}, dir, Options{DataDir: dataDir, Log: &log})
	require.NoError(t, err)
	f := filepath.Join(dir, "refs", "uniform-s1", "summary.json")
	b, err := os.ReadFile(f)
	require.NoError(t, err)
	sum, err := readSummary(f, b)
	require.NoError(t, err)

	read := func(name string) search.ReferenceRow {
		b, err := os.ReadFile(ReferencePath(dir, "refs", name))
		require.NoError(t, err, name)
		var r search.ReferenceRow
		require.NoError(t, json.Unmarshal(b, &r))
		return r
	}
	self := read("self")
	assert.Equal(t, sum.BaseUnseenTop1, self.UnseenTop1, "the same unseen held-out images as the runs")
	assert.Equal(t, sum.BaseTestTop1, self.TestTop1, "the same test images as the runs")
	assert.EqualValues(t, 50, self.RewardImages)
	assert.EqualValues(t, sum.UnseenImages, self.UnseenImages)
	assert.EqualValues(t, 20, self.TestImages)
	assert.Equal(t, 1.0, self.MACsRatio)
	assert.Equal(t, 1.0, self.ParamsRatio)
	assert.Greater(t, self.LatencyRatio, 0.0)
	assert.Equal(t, sum.TaskFingerprint, self.TaskFingerprint)
	deep := read("resnet56")
	count := func(name string) nn.Count {
		g, err := models.Build(name)
		require.NoError(t, err)
		c, err := g.Count()
		require.NoError(t, err)
		return c
	}
	c56, c20 := count("resnet56"), count("resnet20")
	assert.Equal(t, c56.MACs, deep.MACs)
	assert.Equal(t, float64(c56.MACs)/float64(c20.MACs), deep.MACsRatio)
	assert.Equal(t, float64(c56.Params)/float64(c20.Params), deep.ParamsRatio)
	assert.Greater(t, deep.MACsRatio, 2.5)
	rows, err := parquet.ReadFile[search.ReferenceRow](filepath.Join(dir, ReferencesFile))
	require.NoError(t, err)
	assert.Len(t, rows, 2)

	// A rerun keeps them.
	log.Reset()
	_, err = RunSpecs([]*experiments.Spec{s}, dir, Options{DataDir: dataDir, Log: &log})
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(log.String(), "evaluated before, kept"), log.String())

	// A task prepared by its runs evaluates a reference the same way.
	tk, err := NewTask(s, Options{DataDir: dataDir})
	require.NoError(t, err)
	require.NoError(t, tk.Prepare())
	again, err := tk.Reference(s.References[1], filepath.Join(t.TempDir(), "r.json"))
	require.NoError(t, err)
	assert.Equal(t, []float64{deep.RewardTop1, deep.UnseenTop1, deep.TestTop1}, []float64{again.RewardTop1, again.UnseenTop1, again.TestTop1})

	require.NoError(t, report.Write(dir))
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "Reference networks: trained at their own size")
	assert.Contains(t, string(md), "| self | resnet20 |")

	// One evaluated for another task (the spec changed since) is refused.
	stale := read("self")
	stale.TaskFingerprint = "other"
	b, _ = json.Marshal(stale)
	require.NoError(t, os.WriteFile(ReferencePath(dir, "refs", "self"), b, 0o644))
	_, err = Collect(dir)
	assert.ErrorContains(t, err, "another task")
	// ... and measured again by the next run of the spec.
	_, err = RunSpecs([]*experiments.Spec{s}, dir, Options{DataDir: dataDir})
	require.NoError(t, err)
	assert.Equal(t, sum.TaskFingerprint, read("self").TaskFingerprint)

	// A reference the spec no longer lists leaves the folder.
	s.References = s.References[:1]
	_, err = RunSpecs([]*experiments.Spec{s}, dir, Options{DataDir: dataDir})
	require.NoError(t, err)
	assert.NoFileExists(t, ReferencePath(dir, "refs", "resnet56"))
	rows, err = parquet.ReadFile[search.ReferenceRow](filepath.Join(dir, ReferencesFile))
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, "self", rows[0].Name)
}

// The run fingerprints of committed results are what the harness computes
// now: changing how a RunID is built would silently make every finished run
// "another run".
func TestCommittedRunFingerprintsStable(t *testing.T) {
	s, err := experiments.Load(filepath.Join("..", "experiments", "agents-resnet56-clean.yaml"))
	require.NoError(t, err)
	tk, err := NewTask(s, Options{DataDir: dataDir})
	require.NoError(t, err)
	for _, st := range s.Strategies {
		if st.RunName() != "ddpg" && st.RunName() != "py-td3" {
			continue
		}
		f := filepath.Join("..", "results", "agents-resnet56-clean", "agents-resnet56-clean", st.RunName()+"-s2", "summary.json")
		sum, err := ReadSummary(f)
		require.NoError(t, err)
		id, err := tk.ID(Run{Strategy: st, Seed: 2})
		require.NoError(t, err)
		assert.Equal(t, sum.Fingerprint, id.Fingerprint(), st.RunName())
		assert.Equal(t, sum.TaskFingerprint, id.TaskFingerprint(), st.RunName())
	}
}

// A reference that cannot be loaded stops the sweep before any search.
func TestBadReferenceFailsBeforeTheSearches(t *testing.T) {
	dir := t.TempDir()
	s := quickSpec("badref")
	s.Strategies = []experiments.Strategy{{Name: "uniform"}}
	s.References = []experiments.Reference{{Name: "r56", Model: "resnet56", Weights: clean20}}
	require.NoError(t, s.Check())
	_, err := RunSpecs([]*experiments.Spec{s}, dir, Options{DataDir: dataDir})
	require.ErrorContains(t, err, "reference r56")
	_, err = os.Stat(filepath.Join(dir, "badref", "uniform-s1"))
	assert.True(t, os.IsNotExist(err), "no search ran")
}

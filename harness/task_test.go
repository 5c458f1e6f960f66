package harness

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/search"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	shared  = filepath.Join("..", "..", "shared")
	dataDir = filepath.Join(shared, "data")
	clean20 = filepath.Join(shared, "weights", "cifar10-clean", "resnet20.safetensors")
)

// dataFree are the tests that need no data: the only ones run where
// ../shared, the data and weights beside the repository, is missing.
const dataFree = "^(TestDiffRunsNamesFields|TestNewTaskRefusesBudgetList|TestIDRefusesSpecShorthands|TestFitNeedsAModel|TestImageNetSpecsRunOnSyntheticData|TestOpenDataSharedWithinASweep)$"

func TestMain(m *testing.M) {
	flag.Parse()
	if _, err := os.Stat(clean20); err != nil {
		fmt.Printf("harness: no ../shared beside the repository (%v): running only the tests that need no data\n", err)
		flag.Set("test.run", dataFree) // examples too
	}
	os.Setenv("AMC_CACHE", filepath.Join(os.TempDir(), "amc-test-cache"))
	os.Exit(m.Run())
}

// The spec file's shorthands are applied by experiments.Load and
// Spec.Check, not silently ignored by a spec built in code.
func TestIDRefusesSpecShorthands(t *testing.T) {
	tk, err := NewTask(quickSpec("short"), Options{})
	require.NoError(t, err)
	for _, st := range []experiments.Strategy{{Name: "ddpg", Episodes: 10, Warmup: 5}, {Name: "ddpg", Schedule: "official"}} {
		_, err := tk.ID(Run{Strategy: st, Seed: 1})
		assert.ErrorContains(t, err, "Spec.Check")
	}
	s := quickSpec("checked")
	s.Strategies = []experiments.Strategy{{Name: "ddpg", Schedule: "official"}}
	require.NoError(t, s.Check())
	assert.Equal(t, experiments.Strategy{Name: "ddpg", Episodes: 800, Params: map[string]any{"warmup": 100, "replay_episodes": 100}}, s.Strategies[0])
}

func TestFitNeedsAModel(t *testing.T) {
	_, err := Fit(Training{Out: t.TempDir()}, Options{})
	assert.ErrorContains(t, err, "no model")
}

func TestDiffRunsNamesFields(t *testing.T) {
	a := RunID{Model: "resnet20", Budget: "macs=0.5", FinalImages: 50}
	b := a
	b.FinalImages = 60
	assert.Equal(t, "differs in FinalImages 50 there, 60 here", diffRuns(a.describe(), b))
	assert.Contains(t, diffRuns("ddpg seed 1, 300 episodes", b), "older amc")
}

// quickSpec is a small constrained task on the clean ResNet-20, built in
// code (no defaults filled).
func quickSpec(name string) *experiments.Spec {
	return &experiments.Spec{Name: name, Model: "resnet20", Weights: clean20, Data: "cifar10", Protocol: "constrained",
		Budget: "macs=0.5", RewardImages: 300, Calibration: experiments.Calib{Images: 50, Positions: 5},
		LowerBound: 0.2, Ridge: 1e-6, Multiple: 1, FinalImages: 50}
}

// Data roles never overlap: the reward set and the unseen held-out images
// split the held-out split between them, with no image in both.
func TestRewardSetAndUnseenHeldoutAreDisjoint(t *testing.T) {
	tk, err := NewTask(quickSpec("roles"), Options{DataDir: dataDir})
	require.NoError(t, err)
	require.NoError(t, tk.Prepare())
	pr := tk.prep
	require.Equal(t, 300, pr.rewardSet.N)
	require.Equal(t, pr.held.N-300, pr.unseen.N)
	px := func(im *datasets.Images, i int) string {
		n := im.H * im.W * im.C
		return string(im.Pixels[i*n : (i+1)*n])
	}
	reward := map[string]bool{}
	for i := 0; i < pr.rewardSet.N; i++ {
		reward[px(pr.rewardSet, i)] = true
	}
	for i := 0; i < pr.unseen.N; i++ {
		require.False(t, reward[px(pr.unseen, i)], "unseen image %d is in the reward set", i)
	}
	all := map[string]bool{}
	for i := 0; i < pr.held.N; i++ {
		all[px(pr.held, i)] = true
	}
	assert.Len(t, all, len(reward)+pr.unseen.N, "together they are the held-out split")
}

// A library caller gets ErrDifferentRun for a folder of another run, with
// the differing fields named and no command-line flags; Overwrite replaces
// it. A finished run is returned again without running.
func TestRunRefusesAnotherRunWithoutCLIWords(t *testing.T) {
	dir := t.TempDir()
	uniform := experiments.Strategy{Name: "uniform", Episodes: 1}
	s := quickSpec("lib")
	s.RewardImages, s.FinalImages = 50, 20
	tk, err := NewTask(s, Options{DataDir: dataDir})
	require.NoError(t, err)
	first, err := tk.Run(Run{Strategy: uniform, Seed: 1, Dir: dir})
	require.NoError(t, err)
	again, err := tk.Run(Run{Strategy: uniform, Seed: 1, Dir: dir})
	require.NoError(t, err)
	assert.Equal(t, first.Fingerprint, again.Fingerprint)
	assert.Equal(t, first.SearchSeconds, again.SearchSeconds, "the finished run is read back, not run again")

	_, err = tk.Run(Run{Strategy: uniform, Seed: 2, Dir: dir})
	require.ErrorIs(t, err, ErrDifferentRun)
	assert.Contains(t, err.Error(), "Seed 1 there, 2 here")
	assert.NotContains(t, err.Error(), "--", "library errors name no command-line flags")

	over, err := NewTask(s, Options{DataDir: dataDir, Overwrite: true})
	require.NoError(t, err)
	second, err := over.Run(Run{Strategy: uniform, Seed: 2, Dir: dir})
	require.NoError(t, err)
	assert.EqualValues(t, 2, second.Seed)
	assert.NotEqual(t, first.Fingerprint, second.Fingerprint)
}

func TestNewTaskRefusesBudgetList(t *testing.T) {
	s := quickSpec("front")
	s.Budget, s.Budgets = "", []string{"macs=0.4", "macs=0.6"}
	_, err := NewTask(s, Options{})
	assert.ErrorContains(t, err, "Spec.Expand")
	_, err = NewTask(nil, Options{})
	assert.Error(t, err)
}

// Within a sweep (Options.sets, set by RunSpecs) a data set is opened once
// for all its tasks; outside one, each call opens its own.
func TestOpenDataSharedWithinASweep(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, datasets.WriteSyntheticImageFolder(root, 2, 6, 1, 1))
	opt := Options{DataDir: root, CacheDir: t.TempDir()}
	a, err := opt.openData("imagenet")
	require.NoError(t, err)
	b, err := opt.openData("imagenet")
	require.NoError(t, err)
	assert.NotSame(t, a, b)
	opt.sets = &openSets{m: map[string]datasets.Dataset{}}
	a, err = opt.openData("imagenet")
	require.NoError(t, err)
	b, err = opt.openData("imagenet")
	require.NoError(t, err)
	assert.Same(t, a, b)
	_, err = opt.openData("imagenett")
	assert.ErrorContains(t, err, "unknown dataset")
}

// A labelled entry runs its agent under a name of its own: its own folder,
// its own strategy in the summary and the rows, a fingerprint apart from
// the unlabelled entry's, and the agent's name kept in the run id.
func TestLabelledStrategyRunsApart(t *testing.T) {
	dir := t.TempDir()
	s := quickSpec("label")
	s.RewardImages, s.FinalImages, s.Seeds = 50, 20, []int64{1}
	s.Strategies = []experiments.Strategy{{Name: "uniform"}, {Name: "uniform", Label: "uniform-again"}}
	require.NoError(t, s.Check())
	sw, err := RunSpecs([]*experiments.Spec{s}, dir, Options{DataDir: dataDir})
	require.NoError(t, err)
	assert.Equal(t, 2, sw.Runs)
	var ids []RunID
	for _, name := range []string{"uniform", "uniform-again"} {
		f := filepath.Join(dir, "label", name+"-s1", "summary.json")
		b, err := os.ReadFile(f)
		require.NoError(t, err, name)
		sum, err := readSummary(f, b)
		require.NoError(t, err, name)
		assert.Equal(t, name, sum.Strategy)
		require.NotNil(t, sum.RunID)
		assert.Equal(t, "uniform", sum.RunID.Strategy, "the agent that ran")
		ids = append(ids, *sum.RunID)
		rows, err := search.ReadEpisodes(filepath.Join(dir, "label", name+"-s1", "episodes.parquet"))
		require.NoError(t, err)
		require.NotEmpty(t, rows)
		for _, r := range rows {
			assert.Equal(t, name, r.Strategy, "the run's rows carry its name")
		}
	}
	collected := func() map[string]int { // rows per strategy in the collected episodes.parquet
		all, err := search.ReadEpisodes(filepath.Join(dir, "episodes.parquet"))
		require.NoError(t, err)
		per := map[string]int{}
		for _, r := range all {
			per[r.Strategy]++
		}
		return per
	}
	assert.Equal(t, map[string]int{"uniform": 1, "uniform-again": 1}, collected())

	// Rows written before they carried the label (the agent's name) are
	// collected under the run's name, its summary's.
	f := filepath.Join(dir, "label", "uniform-again-s1", "episodes.parquet")
	rows, err := search.ReadEpisodes(f)
	require.NoError(t, err)
	l, err := search.CreateEpisodeLog(f)
	require.NoError(t, err)
	for _, r := range rows {
		r.Strategy = "uniform"
		require.NoError(t, l.Write(r))
	}
	require.NoError(t, l.Close())
	_, err = Collect(dir)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"uniform": 1, "uniform-again": 1}, collected())
	assert.Equal(t, "", ids[0].Label)
	assert.Equal(t, "uniform-again", ids[1].Label)
	assert.NotEqual(t, ids[0].Fingerprint(), ids[1].Fingerprint())
	assert.Equal(t, ids[0].TaskFingerprint(), ids[1].TaskFingerprint(), "one task")
}

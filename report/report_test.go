package report

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amcbench/amc/compare"
	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/search"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInputsSayWhichImagesTheWeightsSaw(t *testing.T) {
	const (
		aka56   = "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367"
		clean20 = "1b011799e398ad430c0311ca88dee97b592c49f92419f0b30948f4a83607e1a9"
		scratch = "6476be020f664a6fa41ebca9e27c7213eb04692c0278fe985c2fed623c944a68"
	)
	cases := []struct {
		name, sha, rule string
		want            []string
		memorised       bool
		source          string
	}{
		{"akamaster on the content split", aka56, datasets.HeldoutByContent, []string{"akamaster-cifar10/resnet56-4bfd9763.th", "all 50,000"}, true, ""},
		{"clean on the content split", clean20, datasets.HeldoutByContent, []string{"cifar10-clean/resnet20.safetensors"}, false, ""},
		{"JPEG scratch on its own split", scratch, datasets.HeldoutLastTenth, []string{"cifar10-jpeg-scratch"}, false, ""},
		{"JPEG scratch on the content split", scratch, datasets.HeldoutByContent, []string{"cifar10-jpeg-scratch"}, true, ""},
		{"unknown weights", strings.Repeat("ab", 32), datasets.HeldoutByContent, []string{"weights sha256 abababababababab;"}, false, ""},
		{"runs from before inputs were recorded", "", "", nil, false, ""},
		{"a float16 copy of akamaster's", strings.Repeat("cd", 32), datasets.HeldoutByContent, []string{"converted from akamaster-cifar10/resnet56-4bfd9763.th"}, true, aka56},
	}
	for _, c := range cases {
		var b strings.Builder
		writeInputs(&b, Run{Model: "resnet20", Data: "cifar10", WeightsSHA256: c.sha, WeightsSourceSHA256: c.source, DataFingerprint: "sha256:00", HeldoutRule: c.rule})
		if c.sha == "" {
			assert.Empty(t, b.String(), c.name)
			continue
		}
		for _, w := range c.want {
			assert.Contains(t, b.String(), w, c.name)
		}
		assert.Equal(t, c.memorised, strings.Contains(b.String(), "memorisation"), c.name)
	}

	// Weights that saw the held-out images: the table ranks on test, where
	// the order differs from the memorised held-out column's.
	dir := t.TempDir()
	var runs []Run
	var eps []search.EpisodeRow
	for seed, d := range []float64{0, 0.3, -0.2} {
		for _, st := range []struct {
			name         string
			unseen, test float64
		}{{"memoriser", 95, 80}, {"generaliser", 90, 84}} {
			runs = append(runs, Run{Spec: "s", Strategy: st.name, Seed: int64(seed + 1), Episodes: 2, RewardTop1: st.unseen + d, UnseenTop1: st.unseen + d,
				UnseenImages: 4000, TestTop1: st.test + d, MACsRatio: 0.5, ParamsRatio: 0.5, BaseUnseenTop1: 99.97, BaseTestTop1: 93.39,
				WeightsSHA256: aka56, HeldoutRule: datasets.HeldoutByContent, Groups: []string{"g"}, Ratios: []float64{0.5}})
			eps = append(eps, search.EpisodeRow{Spec: "s", Strategy: st.name, Seed: int64(seed + 1), Groups: []string{"g"}, Ratios: []float64{0.5},
				RewardTop1: st.unseen, MACsRatio: 0.5, Explore: true})
		}
	}
	md := writeReport(t, dir, runs, eps)
	assert.Contains(t, md, "Ranked on test;")
	assert.Less(t, strings.Index(md, "| generaliser | 3 |"), strings.Index(md, "| memoriser | 3 |"))
}

// The table ranks strategies on the held-out images the search never saw,
// not on the reward set that selected their policies, and gives intervals
// and verdicts from the compare package.
func TestReportRanksOnUnseenImages(t *testing.T) {
	dir := t.TempDir()
	var runs []Run
	var eps []search.EpisodeRow
	add := func(strategy string, seed int64, reward, unseen, test float64) {
		runs = append(runs, Run{Spec: "s", Strategy: strategy, Seed: seed, Episodes: 2, RewardTop1: reward, UnseenTop1: unseen,
			UnseenImages: 3000, TestTop1: test, MACsRatio: 0.5, ParamsRatio: 0.5, BaseUnseenTop1: 90, BaseTestTop1: 89,
			Groups: []string{"g"}, Ratios: []float64{0.5}})
		for e := int64(0); e < 2; e++ {
			eps = append(eps, search.EpisodeRow{Spec: "s", Strategy: strategy, Seed: seed, Episode: e, Groups: []string{"g"},
				Ratios: []float64{0.5}, RewardTop1: reward - float64(e), Reward: -1, MACsRatio: 0.5, Explore: true})
		}
	}
	for seed, d := range []float64{0, 0.4, -0.3, 0.2, -0.1} {
		add("overfit", int64(seed+1), 80+d, 70+d, 69+d) // best on the reward set, worse unseen
		add("steady", int64(seed+1), 75+d, 74+d, 73+d)
	}
	add("uniform", 1, 60, 60, 60)
	md := writeReport(t, dir, runs, eps)
	assert.Contains(t, md, "held-out unseen by the search (3000 images)")
	steady, overfit := strings.Index(md, "| steady | 5 |"), strings.Index(md, "| overfit | 5 |")
	require.Positive(t, steady)
	require.Positive(t, overfit)
	assert.Less(t, steady, overfit, "ranked on unseen images, not on the reward set")
	assert.Contains(t, md, "| overfit | 5 | 2 | 70.03 [")
	assert.Contains(t, md, "0.00 [0.00, 0.00]: worse")
	assert.Contains(t, md, "| uniform | 1 | 2 | 60.00 | 60.00 |", "one run: one value, no interval")
	assert.Contains(t, md, "![sample efficiency](s-efficiency.png)")
	assert.Contains(t, md, "| overfit | 10 | 10 | 0 |", "episodes at chance level after warm-up")
	assert.FileExists(t, filepath.Join(dir, "s-efficiency.png"))
	assert.NotContains(t, md, "at-budget", "no budget in these runs: no strip plot")
}

// Under a MACs or params budget the report adds the accuracy-at-the-budget
// strip plot; under the accuracy protocol it does not.
func TestReportStripPlotUnderABudget(t *testing.T) {
	for _, c := range []struct{ budget, want string }{{"macs=0.5", "s-at-budget.png"}, {"params=0.3", "s-at-budget.png"}, {"", ""}} {
		dir := t.TempDir()
		runs := []Run{{Spec: "s", Strategy: "ddpg", Seed: 1, Episodes: 3, Budget: c.budget, RewardTop1: 70, UnseenTop1: 70, TestTop1: 70,
			MACsRatio: 0.5, ParamsRatio: 0.4, Params: 400, Groups: []string{"g"}, Ratios: []float64{0.5}}}
		var eps []search.EpisodeRow
		for e := int64(0); e < 3; e++ {
			eps = append(eps, search.EpisodeRow{Spec: "s", Strategy: "ddpg", Seed: 1, Episode: e, Groups: []string{"g"}, Ratios: []float64{0.5},
				RewardTop1: 60 + float64(e), MACsRatio: 0.5, Params: 300 + 50*e, Explore: true, Sigma: []float64{math.NaN(), 0.5, 0.4}[e]})
		}
		md := writeReport(t, dir, runs, eps)
		if c.want == "" {
			assert.NotContains(t, md, "at-budget")
			continue
		}
		assert.Contains(t, md, "![accuracy at the budget]("+c.want+")", c.budget)
		assert.FileExists(t, filepath.Join(dir, c.want))
	}
}

// Every known strategy has its own colour and marker, the same in every plot.
func TestStrategyStylesAreFixedAndDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, s := range strategyOrder {
		c, g := style(s)
		key := fmt.Sprintf("%v %T", c, g)
		_, dup := seen[key]
		assert.False(t, dup, "%s shares its style with %s", s, seen[key])
		seen[key] = s
		c2, g2 := style(s)
		assert.Equal(t, c, c2)
		assert.Equal(t, g, g2)
	}
	c1, g1 := style("my-agent")
	c2, g2 := style("my-agent")
	assert.Equal(t, c1, c2, "an unknown strategy's style depends on its name only")
	assert.Equal(t, g1, g2)
	tk := integerTicks{}.Ticks(0, 299)
	for _, x := range tk {
		assert.NotContains(t, x.Label, ".", "episode ticks are integers")
	}
}

func TestChanceLevelEpisodesCountedAfterWarmup(t *testing.T) {
	nan := math.NaN()
	var eps []search.EpisodeRow
	for i, c := range []struct {
		sigma, top1 float64
		explore     bool
	}{{nan, 9, true}, {nan, 50, true}, {0.5, 10, true}, {0.5, 60, true}, {0.4, 11.9, true}, {0, 5, false}} {
		eps = append(eps, search.EpisodeRow{Spec: "s", Strategy: "ddpg", Episode: int64(i), Sigma: c.sigma, RewardTop1: c.top1, Explore: c.explore})
	}
	var b strings.Builder
	writeChance(&b, "s", []string{"ddpg"}, eps)
	assert.Contains(t, b.String(), "| ddpg | 5 | 3 | 2 |", "warm-up and the greedy episode are not counted")
}

func TestBudgetLine(t *testing.T) {
	assert.Equal(t, 0.5, budgetLine("macs=0.5", "macs"))
	assert.True(t, math.IsNaN(budgetLine("params=0.5", "macs")), "a params budget draws no line on a MACs axis")
	assert.True(t, math.IsNaN(budgetLine("", "macs")), "the accuracy protocol has no budget")
	assert.Equal(t, 0.7, budgetLine("latency=0.7", "latency"))
}

// The front's table puts each value under its own budget, "-" where a
// strategy has no run; reward sets as large as the held-out split leave
// no unseen column ("-"), never zeros.
func TestFrontColumnsAndMissingUnseen(t *testing.T) {
	dir := t.TempDir()
	mk := func(spec, budget, strategy string, top1 float64) Run {
		return Run{Spec: spec, Family: "f", Budget: budget, Strategy: strategy, Seed: 1, Episodes: 1, RewardTop1: top1,
			TestTop1: top1, MACsRatio: 0.5, ParamsRatio: 0.5, BaseTestTop1: 90, Groups: []string{"g"}, Ratios: []float64{0.5}}
	}
	runs := []Run{mk("f-macs0.3", "macs=0.3", "uniform", 30), mk("f-macs0.5", "macs=0.5", "uniform", 70), mk("f-macs0.5", "macs=0.5", "deep", 60)}
	eps := []search.EpisodeRow{{Spec: "f-macs0.3", Strategy: "uniform", Groups: []string{"g"}, Ratios: []float64{0.5}, MACsRatio: 0.3, RewardTop1: 30, Explore: true},
		{Spec: "f-macs0.5", Strategy: "uniform", Groups: []string{"g"}, Ratios: []float64{0.5}, MACsRatio: 0.5, RewardTop1: 70, Explore: true}}
	md := writeReport(t, dir, runs, eps)
	assert.Contains(t, md, "| strategy | macs=0.3 | macs=0.5 |")
	assert.Contains(t, md, "| deep | - | 60.00 at 0.500 |", "deep has no run at 0.3")
	assert.Contains(t, md, "| uniform | 1 | 1 | - | 30.00 |", "no unseen images: the column says -, not 0")
	assert.Contains(t, md, "| unpruned (before) | - | - | - | 90.00 |")
	assert.FileExists(t, filepath.Join(dir, "f-front.png"))
}

// writeReport writes runs and episodes as Parquet in dir, runs Write and
// returns report.md.
func writeReport(t *testing.T, dir string, runs []Run, eps []search.EpisodeRow) string {
	t.Helper()
	require.NoError(t, parquet.WriteFile(filepath.Join(dir, "runs.parquet"), runs))
	require.NoError(t, parquet.WriteFile(filepath.Join(dir, "episodes.parquet"), eps))
	require.NoError(t, Write(dir))
	b, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	return string(b)
}

// A report over several tasks pools each strategy's runs, scored against
// its own task's unpruned network, with intervals that resample seeds
// within a task; strategies missing from a task are named and left out.
func TestAcrossTasksAggregate(t *testing.T) {
	dir := t.TempDir()
	var runs []Run
	var eps []search.EpisodeRow
	add := func(spec, strategy string, seed, episodes int64, test, base float64) {
		runs = append(runs, Run{Spec: spec, Strategy: strategy, Seed: seed, Episodes: episodes, RewardTop1: test, UnseenTop1: test,
			UnseenImages: 3000, TestTop1: test, MACsRatio: 0.5, ParamsRatio: 0.5, BaseUnseenTop1: base, BaseTestTop1: base,
			Groups: []string{"g"}, Ratios: []float64{0.5}})
		for e := int64(0); e < episodes; e++ {
			eps = append(eps, search.EpisodeRow{Spec: spec, Strategy: strategy, Seed: seed, Episode: e, Groups: []string{"g"},
				Ratios: []float64{0.5}, RewardTop1: test, MACsRatio: 0.5, Explore: true})
		}
	}
	for seed, d := range []float64{0, 1, -1} {
		add("a", "learner", int64(seed+1), 4, 80+d, 90)
		add("b", "learner", int64(seed+1), 4, 40+d, 50)
		add("a", "uniform", int64(seed+1), 1, 72, 90)
		add("b", "uniform", int64(seed+1), 1, 45, 50)
		add("a", "only-a", int64(seed+1), 4, 85, 90)
	}
	md := writeReport(t, dir, runs, eps)
	require.Contains(t, md, "## Across tasks: a, b")
	assert.Contains(t, md, "Not in every task, so left out here: only-a.")
	// uniform: 72/90 = 80% and 45/50 = 90%, one value per task.
	assert.Contains(t, md, "| uniform | 1 + 1 | 85.00 | 85.00 | 85.00 | - |")
	// learner vs uniform: on task a every learner run (88-90%) beats
	// uniform's 80%, on task b none (78-82% against 90%): 1/2 on average,
	// in every resample.
	assert.Contains(t, md, "| 0.50 [0.50, 0.50]: not distinguishable |")
	// learner: 80/90 +- 1/90 and 40/50 +- 1/50, IQM per task, then averaged.
	a, bb := []float64{7900.0 / 90, 8000.0 / 90, 8100.0 / 90}, []float64{3900.0 / 50, 4000.0 / 50, 4100.0 / 50}
	assert.Contains(t, md, fmt.Sprintf("| learner | 3 + 3 | %.2f [", (compare.IQM(a)+compare.IQM(bb))/2))
	uni, learn := strings.Index(md, "| uniform | 1 + 1"), strings.Index(md, "| learner | 3 + 3")
	assert.Less(t, uni, learn, "ranked by IQM: uniform's 85% above learner's 84.4%")
	assert.Contains(t, md, "![performance profile over tasks](across-tasks-profile.png)")
	assert.FileExists(t, filepath.Join(dir, "across-tasks-profile.png"))

	// Two fixed policies: a count of tasks, not a verdict.
	var fixed []Run
	for _, r := range runs {
		if r.Strategy == "uniform" {
			fixed = append(fixed, r)
			r.Strategy, r.TestTop1 = "deep", r.TestTop1+map[string]float64{"a": 1, "b": -1}[r.Spec]
			fixed = append(fixed, r)
		}
	}
	for i := range fixed {
		fixed[i].Seed = int64(i + 1)
	}
	md = writeReport(t, t.TempDir(), fixed, eps[:0])
	assert.Contains(t, md, "| deep | 1 + 1 |")
	assert.Contains(t, md, "0.50: above on 1 of 2 tasks (one value per task: no interval)")

	// One task: no such section.
	md = writeReport(t, t.TempDir(), runs[:3], eps)
	assert.NotContains(t, md, "Across tasks")
}

// Reference networks are ordered against the strategies by MACs and
// accuracy, before fine-tuning (IQM on the ranking column) and after it
// (the fine-tuned test top-1), and appear in the front over budgets.
func TestReferencesAgainstStrategies(t *testing.T) {
	dir := t.TempDir()
	mk := func(spec, budget, strategy string, macs, unseen, ftTest float64) Run {
		r := Run{Spec: spec, Family: "f", Budget: budget, Strategy: strategy, Seed: 1, Episodes: 5, RewardTop1: unseen, UnseenTop1: unseen,
			UnseenImages: 100, TestTop1: unseen, MACsRatio: macs, ParamsRatio: macs, BaseUnseenTop1: 90, BaseTestTop1: 90,
			Groups: []string{"g"}, Ratios: []float64{macs}}
		if ftTest > 0 {
			r.FineTuneEpochs, r.FineTunedTest = 30, ftTest
		}
		return r
	}
	seed2 := mk("f-macs0.5", "macs=0.5", "ddpg", 0.7, 70, 0)
	seed2.Seed = 2
	runs := []Run{mk("f-macs0.5", "macs=0.5", "ddpg", 0.5, 80, 89.5), seed2, mk("f-macs0.5", "macs=0.5", "uniform", 0.5, 75, 88),
		mk("f-macs0.3", "macs=0.3", "ddpg", 0.3, 60, 0)}
	eps := []search.EpisodeRow{{Spec: "f-macs0.5", Strategy: "ddpg", Groups: []string{"g"}, Ratios: []float64{0.5}, MACsRatio: 0.5, RewardTop1: 80, Explore: true},
		{Spec: "f-macs0.3", Strategy: "ddpg", Groups: []string{"g"}, Ratios: []float64{0.3}, MACsRatio: 0.3, RewardTop1: 60, Explore: true}}
	refs := []Reference{}
	for _, spec := range []string{"f-macs0.3", "f-macs0.5"} {
		refs = append(refs,
			Reference{Spec: spec, Family: "f", Name: "w0.75", Model: "m@0.75", UnseenTop1: 88.5, UnseenImages: 100, TestTop1: 88.7, RewardTop1: 88, MACsRatio: 0.56, ParamsRatio: 0.56, LatencyRatio: 0.6},
			Reference{Spec: spec, Family: "f", Name: "w0.25", Model: "m@0.25", UnseenTop1: 70, UnseenImages: 100, TestTop1: 70, RewardTop1: 70, MACsRatio: 0.07, ParamsRatio: 0.07, LatencyRatio: 0.2})
	}
	require.NoError(t, parquet.WriteFile(filepath.Join(dir, "references.parquet"), refs))
	md := writeReport(t, dir, runs, eps)
	assert.Contains(t, md, "| w0.75 | m@0.75 | 88.50 | 88.70 | 88.00 | 0.560 | 0.560 | 0.600 | less accurate with no fewer MACs: ddpg (75.00 at 0.600) | "+
		"more accurate with no more MACs: ddpg (89.50 at 0.500) |",
		"before fine-tuning DDPG's seeds average more MACs and less accuracy, uniform's fewer MACs and less accuracy (no order); "+
			"after it the fine-tuned seed, at its own MACs, beats the reference")
	assert.Contains(t, md, "| w0.25 | m@0.25 | 70.00 | 70.00 | 70.00 | 0.070 | 0.070 | 0.200 | - | - |")
	assert.Contains(t, md, "| w0.25 | m@0.25 | 70.00 | 70.00 | 70.00 | 0.070 | 0.070 | 0.200 | less accurate with no fewer MACs: ddpg (60.00 at 0.300) | - |", "the 0.3 budget's table")
	assert.Contains(t, md, "| reference w0.75 (m@0.75, trained at its size) | 88.50 at 0.560 | |", "the front's table")
	assert.FileExists(t, filepath.Join(dir, "f-front.png"))
	assert.FileExists(t, filepath.Join(dir, "f-macs0.5-pareto.png"))
}

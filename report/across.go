package report

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/amcbench/amc/compare"
)

// writeAcrossTasks adds rliable's aggregates over tasks when a report spans
// several specs: each run's test top-1 as a percentage of its unpruned
// network's (so that tasks of different accuracy scales compare), per
// strategy (matched by name) over every task it ran on: the IQM, mean and
// median over seeds within each task, averaged over the tasks so that every
// task weighs alike whatever its seed count, with stratified bootstrap
// intervals (seeds resampled within each task), and a performance profile.
// Only strategies present in every task take part, and only when at least
// two are and one has three runs of a task: with fewer the aggregate says
// nothing the per-spec tables do not.
func writeAcrossTasks(b *strings.Builder, dir string, runs []Run) error {
	base := map[string]float64{}
	has := map[string]map[string][]float64{} // strategy -> spec -> scores
	var noBase []string
	for _, r := range runs {
		if r.BaseTestTop1 > 0 {
			base[r.Spec] = r.BaseTestTop1
		}
	}
	fixed := map[string]bool{}
	for _, r := range runs {
		if base[r.Spec] == 0 {
			if !slices.Contains(noBase, r.Spec) {
				noBase = append(noBase, r.Spec)
			}
			continue
		}
		if has[r.Strategy] == nil {
			has[r.Strategy] = map[string][]float64{}
		}
		has[r.Strategy][r.Spec] = append(has[r.Strategy][r.Spec], 100*r.TestTop1/base[r.Spec])
		if r.Episodes == 1 {
			fixed[r.Strategy] = true
		}
	}
	sort.Strings(noBase)
	specs := make([]string, 0, len(base))
	for s := range base {
		specs = append(specs, s)
	}
	sort.Strings(specs)
	if len(specs) < 2 {
		return nil
	}
	var order, left []string
	most := 0
	for st, per := range has {
		if len(per) < len(specs) {
			left = append(left, st)
			continue
		}
		order = append(order, st)
		for _, x := range per {
			most = max(most, len(x))
		}
	}
	if len(order) < 2 || most < 3 {
		return nil
	}
	sort.Strings(left)
	groups := make(map[string][][]float64, len(order))
	for _, st := range order {
		for _, sp := range specs {
			x := has[st][sp]
			if fixed[st] {
				x = compare.OneValue(x)
			}
			groups[st] = append(groups[st], x)
		}
	}
	opt := compare.DefaultOptions()
	iqm := map[string]compare.Interval{}
	for _, st := range order {
		iv, err := compare.StratifiedBootstrap(groups[st], compare.TaskMean(compare.IQM), opt)
		if err != nil {
			return err
		}
		iqm[st] = iv
	}
	sort.SliceStable(order, func(i, j int) bool {
		if iqm[order[i]].Point != iqm[order[j]].Point {
			return iqm[order[i]].Point > iqm[order[j]].Point
		}
		return order[i] < order[j]
	})
	fmt.Fprintf(b, "\n## Across tasks: %s\n\n", strings.Join(specs, ", "))
	fmt.Fprintf(b, "Each run's test top-1 as a percentage of its task's unpruned network's test top-1 (test: the one column no "+
		"search saw on every task, whichever images its weights trained on). Per strategy (matched by name across the tasks), "+
		"the IQM, mean and median over seeds within each task, averaged over the tasks, so that each task weighs alike whatever "+
		"its seed count; 95%% stratified bootstrap intervals (%d resamples, each task's seeds resampled within the task, as "+
		"rliable). A fixed policy is one value per task.", opt.Resamples)
	if len(left) > 0 {
		fmt.Fprintf(b, " Not in every task, so left out here: %s.", strings.Join(left, ", "))
	}
	if len(noBase) > 0 {
		fmt.Fprintf(b, " Specs without the unpruned network's test accuracy, left out: %s.", strings.Join(noBase, ", "))
	}
	top := order[0]
	fmt.Fprintf(b, " The last column: P(a run of the strategy scores above a run of %s on the same task), averaged over the tasks "+
		"(rliable's average probability of improvement), with its interval and what the interval says.", top)
	fmt.Fprintf(b, "\n\n| strategy | runs (per task) | IQM (%% of unpruned) | mean | median | P(better than %s) |\n|---|---|---:|---:|---:|---|\n", top)
	for _, st := range order {
		var n []string
		for _, g := range groups[st] {
			n = append(n, fmt.Sprint(len(g)))
		}
		cells := []string{iqm[st].String()}
		for _, f := range []compare.Estimator{compare.Mean, compare.Median} {
			iv, err := compare.StratifiedBootstrap(groups[st], compare.TaskMean(f), opt)
			if err != nil {
				return err
			}
			cells = append(cells, iv.String())
		}
		verdict := "-"
		if st != top {
			p, err := compare.ProbImprovementTasks(groups[st], groups[top], opt)
			if err != nil {
				return err
			}
			if p.HasInterval() {
				verdict = fmt.Sprintf("%s: %s", p, compare.Verdict(p))
			} else { // one value per task on both sides: a count of tasks, not a verdict
				verdict = fmt.Sprintf("%s: above on %s of %d tasks (one value per task: no interval)", p,
					strconv.FormatFloat(p.Point*float64(len(specs)), 'f', -1, 64), len(specs))
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", st, strings.Join(n, " + "), strings.Join(cells, " | "), verdict)
	}
	gs := make([][][]float64, len(order))
	for i, st := range order {
		gs[i] = groups[st]
	}
	prof, err := plotProfile(dir, "across-tasks-profile.png", fmt.Sprintf("performance profile over %d tasks", len(specs)),
		"threshold: test top-1 (% of the unpruned network's)", order, gs)
	if err != nil {
		return err
	}
	fmt.Fprintf(b, "\nPerformance profile over the tasks: for each threshold, the fraction of a task's runs above it, averaged "+
		"over the tasks, with its stratified bootstrap interval (shaded).\n\n![performance profile over tasks](%s)\n", prof)
	return nil
}

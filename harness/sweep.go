package harness

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/env"
	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/internal/outlock"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/amcbench/amc/report"
	"github.com/amcbench/amc/search"
	"github.com/amcbench/amc/train"
	"github.com/parquet-go/parquet-go"
)

// Sweep is what RunSpecs did.
type Sweep struct {
	Cells   int // strategy x seed cells of this shard
	Skipped int // of them, finished before
	Runs    int // finished runs now gathered in the folder (runs.parquet)
}

// RunSpecs runs every strategy x seed of the specs (budgets: lists
// expanded) into out/<spec>/<strategy>-s<seed>/, fine-tunes each
// strategy's best seed where a spec asks for it, and gathers the finished
// runs into out/runs.parquet and out/episodes.parquet. Finished runs are
// skipped and interrupted ones resumed; every cell is checked before any
// runs, so a folder of another run, or runs of another task under a spec's
// name, are refused before hours of searching. It holds out's lock.
func RunSpecs(specs []*experiments.Spec, out string, opt Options) (Sweep, error) {
	var sw Sweep
	if out == "" {
		return sw, errors.New("harness: no output folder")
	}
	k, n := opt.Shard, max(1, opt.Shards)
	if k < 0 || k >= n {
		return sw, fmt.Errorf("harness: shard %d of %d: want 0 <= shard < shards", k, n)
	}
	var all []*experiments.Spec
	names := map[string]string{}
	for _, s := range specs {
		if len(s.Budgets) > 0 { // the family's name is taken too (the report's front)
			if prev, dup := names[s.Name]; dup {
				return sw, fmt.Errorf("specs %s and %s share the name %q", prev, s.Path, s.Name)
			}
			names[s.Name] = s.Path
		}
		for _, e := range s.Expand() {
			if prev, dup := names[e.Name]; dup {
				return sw, fmt.Errorf("specs %s and %s share the name %q", prev, s.Path, e.Name)
			}
			names[e.Name] = s.Path
			all = append(all, e)
		}
	}
	log := opt.log()
	lock, err := LockOut(out, log)
	if err != nil {
		return sw, err
	}
	defer lock.Release()
	type cellRun struct {
		spec *experiments.Spec
		t    *Task
		run  Run
	}
	var todo []cellRun
	var tasks []*Task // all's
	cell := -1
	if opt.sets == nil { // one copy of each data set for every task of the sweep
		opt.sets = &openSets{m: map[string]datasets.Dataset{}}
	}
	for _, s := range all {
		topt := opt
		topt.LatencyFile = filepath.Join(out, s.Name, "latency-table.json")
		t, err := NewTask(s, topt)
		if err != nil {
			return sw, err
		}
		tasks = append(tasks, t)
		if n == 1 {
			// A reference that cannot be loaded fails now, not after the searches.
			for _, ref := range s.References {
				if _, err := LoadModel(ref.Model, ref.Weights); err != nil {
					return sw, fmt.Errorf("spec %s: reference %s: %w", s.Path, ref.Name, err)
				}
			}
		}
		checked := false
		for _, st := range s.Strategies {
			for _, seed := range s.Seeds {
				if cell++; cell%n != k {
					continue // another shard's cell
				}
				sw.Cells++
				run := Run{Strategy: st, Seed: seed, Dir: filepath.Join(out, s.Name, fmt.Sprintf("%s-s%d", st.RunName(), seed))}
				if !checked {
					id, err := t.ID(run)
					if err != nil {
						return sw, fmt.Errorf("spec %s: %w", s.Path, err)
					}
					if err := checkSpecFolder(filepath.Join(out, s.Name), id); err != nil {
						return sw, fmt.Errorf("spec %s: %w", s.Path, err)
					}
					checked = true
				}
				done, err := t.Check(run)
				if err != nil {
					return sw, fmt.Errorf("spec %s: %w", s.Path, err)
				}
				if done != nil {
					sw.Skipped++
					fmt.Fprintf(log, "%s: done, skipped\n", run.Dir)
					continue
				}
				todo = append(todo, cellRun{s, t, run})
			}
		}
	}
	for i, c := range todo {
		if _, err := c.t.Run(c.run); err != nil {
			return sw, fmt.Errorf("spec %s, %s seed %d: %w", c.spec.Path, c.run.Strategy.RunName(), c.run.Seed, err)
		}
		if i+1 == len(todo) || todo[i+1].t != c.t {
			c.t.release() // a task's cells are consecutive: its prepared state is done with
		}
	}
	for i, s := range all {
		if len(s.References) == 0 {
			continue
		}
		if n > 1 {
			if k == 0 {
				fmt.Fprintf(log, "spec %s: reference networks are evaluated after the sweep: merge the shards' folders, then run the specs again on the merged folder\n", s.Name)
			}
			continue
		}
		for _, ref := range s.References {
			if _, err := tasks[i].Reference(ref, ReferencePath(out, s.Name, ref.Name)); err != nil {
				return sw, fmt.Errorf("spec %s: %w", s.Path, err)
			}
		}
		tasks[i].release()
	}
	if n == 1 {
		// A reference no longer in its spec leaves the folder's tables.
		for _, s := range all {
			if err := removeOldReferences(out, s, log); err != nil {
				return sw, err
			}
		}
	}
	for _, s := range all {
		if s.FineTune == nil {
			continue
		}
		if n > 1 {
			fmt.Fprintf(log, "spec %s: fine-tuning runs after the sweep: merge the shards' folders, then run the specs again on the merged folder\n", s.Name)
			continue
		}
		if err := fineTuneBest(s, out, opt); err != nil {
			return sw, fmt.Errorf("spec %s: fine-tuning: %w", s.Path, err)
		}
	}
	if sw.Cells == 0 && n > 1 {
		fmt.Fprintf(log, "shard %d/%d: no cells (the sweep has %d)\n", k, n, cell+1)
		return sw, nil
	}
	sw.Runs, err = Collect(out)
	return sw, err
}

// Merge joins the outputs of sharded sweeps (their finished runs) into out
// and gathers them there (Collect); it returns the runs copied and the runs
// now in out. It holds out's lock.
func Merge(srcs []string, out string, log io.Writer) (copied, runs int, err error) {
	if log == nil {
		log = io.Discard
	}
	lock, err := LockOut(out, log)
	if err != nil {
		return 0, 0, err
	}
	defer lock.Release()
	if copied, err = merge(srcs, out, log); err != nil {
		return copied, 0, err
	}
	runs, err = Collect(out)
	return copied, runs, err
}

// Report gathers the runs under dir (Collect) and writes dir/report.md with
// its plots. It holds dir's lock.
func Report(dir string, log io.Writer) error {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("report: %s is not a folder of search outputs", dir)
	}
	lock, err := LockOut(dir, log)
	if err != nil {
		return err
	}
	defer lock.Release()
	if _, err := Collect(dir); err != nil {
		return err
	}
	return report.Write(dir)
}

// Collect gathers every finished run under dir into dir/runs.parquet and
// dir/episodes.parquet, in a stable order, and returns how many there are.
// It refuses two tasks under one spec name and two runs of one strategy
// and seed under one spec (a report would count them as seeds).
func Collect(dir string) (int, error) {
	// RunSpecs writes DIR/<spec>/<run>/; single searches gathered in one
	// folder are DIR/<run>/.
	sums, err := filepath.Glob(filepath.Join(dir, "*", "*", "summary.json"))
	if err != nil {
		return 0, err
	}
	flat, err := filepath.Glob(filepath.Join(dir, "*", "summary.json"))
	if err != nil {
		return 0, err
	}
	sums = append(sums, flat...)
	if len(sums) == 0 {
		return 0, fmt.Errorf("no finished runs (summary.json) under %s", dir)
	}
	sort.Strings(sums)
	var runs []search.RunRow
	var eps []search.EpisodeRow
	seen := taskSeen{}
	runOf := map[string]string{} // spec, strategy, seed -> run folder
	for _, f := range sums {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		if isTrainSummary(b) {
			// A trained or fine-tuned model's summary (amc train/finetune
			// --out, a spec's <run>/finetuned), not a search run.
			continue
		}
		sp, err := readSummary(f, b)
		if err != nil {
			return 0, err
		}
		s := *sp
		if err := seen.check(sp, filepath.Dir(f)); err != nil {
			return 0, err
		}
		rows, err := search.ReadEpisodes(filepath.Join(filepath.Dir(f), "episodes.parquet"))
		if err != nil {
			return 0, err
		}
		for i := range rows {
			// The run's name is its summary's: a labelled run's rows
			// written before rows carried the label name the agent.
			rows[i].Strategy = s.Strategy
		}
		eps = append(eps, rows...)
		var table string
		if s.RunID != nil {
			table = s.RunID.LatencyFileSHA256
		}
		r := search.RunRow{LatencyTableSHA256: table, Spec: s.Spec, Family: s.Family, Budget: budgetText(s.Budget), Model: s.Model, Data: s.Data, WeightsSHA256: s.WeightsSHA256, WeightsSourceSHA256: s.WeightsSource, DataFingerprint: s.DataFingerprint,
			HeldoutRule: s.HeldoutRule, TaskFingerprint: s.TaskFingerprint, RunFingerprint: s.Fingerprint, Strategy: s.Strategy, Granularity: granularity(s.Granularity), Seed: s.Seed, Episodes: int64(s.Episodes), BestEpisode: int64(s.BestEpisode),
			BestReward: s.BestReward, RewardTop1: s.RewardTop1, UnseenTop1: s.UnseenTop1, UnseenImages: int64(s.UnseenImages), HeldoutTop1: s.HeldoutTop1, TestTop1: s.TestTop1,
			MACs: s.MACs, Params: s.Params, MACsRatio: s.MACsRatio, ParamsRatio: s.ParamsRatio, SearchSec: s.SearchSeconds,
			RunDir:    filepath.Dir(f),
			LatencyMS: s.LatencyMS, BaseLatencyMS: s.BaseLatencyMS, LatencyRatio: s.LatencyRatio, PredLatencyRatio: s.PredLatencyRatio,
			BareForwardSec: s.BareForwardSec, BaseUnseenTop1: s.BaseUnseenTop1, BaseHeldoutTop1: s.BaseHeldoutTop1, BaseTestTop1: s.BaseTestTop1}
		if len(rows) > 0 {
			if r.Spec == "" { // summaries written before specs existed
				r.Spec = rows[0].Spec
			}
			r.Groups = rows[0].Groups
			for _, g := range r.Groups {
				r.Ratios = append(r.Ratios, s.BestPolicy[g])
			}
		}
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(f), "finetuned", "summary.json")); err == nil {
			var ft TrainSummary
			if err := json.Unmarshal(b, &ft); err != nil {
				return 0, fmt.Errorf("%s: %w", filepath.Join(filepath.Dir(f), "finetuned", "summary.json"), err)
			}
			r.FineTuneEpochs, r.FineTunedHeldout, r.FineTunedTest = int64(len(ft.Epochs)), ft.HeldoutTop1, ft.TestTop1
		}
		if rel, err := filepath.Rel(dir, filepath.Dir(f)); err == nil {
			r.RunDir = rel
		}
		// Two runs of one strategy and seed under one spec (say 300 and
		// 800 episodes) are different runs, not two seeds.
		key := fmt.Sprintf("%s\x00%s\x00%d", r.Spec, r.Strategy, r.Seed)
		if prev, dup := runOf[key]; dup {
			return 0, fmt.Errorf("%s and %s are two runs of %s seed %d under spec %q (other episodes or parameters); a report would count them as one strategy's seeds: keep them in separate folders",
				prev, r.RunDir, r.Strategy, r.Seed, r.Spec)
		}
		runOf[key] = r.RunDir
		runs = append(runs, r)
	}
	refs, err := collectReferences(dir, runs) // checked before anything is written
	if err != nil {
		return 0, err
	}
	if err := writeParquet(filepath.Join(dir, "runs.parquet"), runs); err != nil {
		return 0, err
	}
	refsPath := filepath.Join(dir, ReferencesFile)
	if len(refs) == 0 {
		if err := os.Remove(refsPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	} else if err := writeParquet(refsPath, refs); err != nil {
		return 0, err
	}
	return len(runs), writeParquet(filepath.Join(dir, "episodes.parquet"), eps)
}

// removeOldReferences deletes the evaluations under out/<spec>/references/
// of references the spec no longer lists.
func removeOldReferences(out string, s *experiments.Spec, log io.Writer) error {
	dir := filepath.Join(out, s.Name, ReferencesDir)
	entries, err := os.ReadDir(dir) // not a glob: out may hold glob characters
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		f, name := filepath.Join(dir, e.Name()), strings.TrimSuffix(e.Name(), ".json")
		if slices.ContainsFunc(s.References, func(r experiments.Reference) bool { return r.Name == name }) {
			continue
		}
		if err := os.Remove(f); err != nil {
			return err
		}
		fmt.Fprintf(log, "%s: reference %s is no longer in spec %s: removed\n", f, name, s.Path)
	}
	return nil
}

// ReferencesFile is the sweep folder's gathered reference evaluations.
const ReferencesFile = "references.parquet"

// collectReferences reads the reference networks' evaluations
// (DIR/<spec>/references/*.json). A reference evaluated for another task
// than its spec's runs (the spec changed since) is refused.
func collectReferences(dir string, runs []search.RunRow) ([]search.ReferenceRow, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", ReferencesDir, "*.json"))
	if err != nil || len(files) == 0 {
		return nil, err
	}
	sort.Strings(files)
	task := map[string]string{} // spec -> its runs' task fingerprint
	for _, r := range runs {
		task[r.Spec] = r.TaskFingerprint
	}
	var rows []search.ReferenceRow
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var r search.ReferenceRow
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		spec := filepath.Base(filepath.Dir(filepath.Dir(f)))
		if r.Spec != spec || r.Name+".json" != filepath.Base(f) {
			return nil, fmt.Errorf("%s holds reference %s of spec %s, not this folder's (DIR/<spec>/%s/<name>.json): run the spec again, or delete the file", f, r.Name, r.Spec, ReferencesDir)
		}
		if fp, ok := task[spec]; ok && fp != "" && fp != r.TaskFingerprint {
			return nil, fmt.Errorf("%s was evaluated for another task than spec %s's runs (the spec changed since): run the spec again to measure it anew, or delete the file", f, spec)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func writeParquet[T any](path string, rows []T) error {
	return atomicfile.Write(path, func(w io.Writer) error { return parquet.Write(w, rows, search.Compression) })
}

// merge copies every finished run folder (DIR/<spec>/<run>/ with a
// summary.json) of the sources into out, with the spec's latency table.
// A run already in out is kept if it is the same run and refused otherwise;
// unfinished runs are reported and left out. Everything is checked before
// anything is copied, so a refused merge leaves out as it was: one spec name
// must be one task across the sources and out, one run folder one run, and
// a spec's latency tables identical.
func merge(srcs []string, out string, warn io.Writer) (int, error) {
	type job struct{ runDir, dst, table, dstTable string }
	var jobs []job
	seen := taskSeen{}
	if have, err := filepath.Glob(filepath.Join(out, "*", "*", "summary.json")); err == nil {
		for _, f := range have {
			b, err := os.ReadFile(f)
			if err != nil || isTrainSummary(b) {
				continue
			}
			s, err := readSummary(f, b)
			if err != nil {
				return 0, fmt.Errorf("merge: %w", err)
			}
			if err := seen.check(s, filepath.Dir(f)); err != nil {
				return 0, fmt.Errorf("merge: %w", err)
			}
		}
	}
	seenSrc := map[string]bool{}
	srcs = slices.DeleteFunc(slices.Clone(srcs), func(p string) bool { // each source once
		dup := seenSrc[mustAbs(p)]
		seenSrc[mustAbs(p)] = true
		return dup
	})
	planned := map[string]string{} // destination run folder -> run fingerprint
	tables := map[string][]byte{}  // destination latency table -> contents
	for _, src := range srcs {
		if st, err := os.Stat(src); err != nil || !st.IsDir() {
			return 0, fmt.Errorf("merge: %s is not a folder of sweep outputs (DIR/<spec>/<run>/)", src)
		}
		if same, _ := filepath.Abs(src); same == mustAbs(out) {
			return 0, fmt.Errorf("merge: %s is also the destination", src)
		}
		// A source still being written (a shard's amc run) is refused: its
		// finished runs may be fine-tuned or collected right now.
		// (A source amc cannot lock, read-only for example, is read as it is.)
		if l, err := outlock.Acquire(src); errors.Is(err, outlock.ErrBusy) {
			return 0, fmt.Errorf("merge: source %w", err)
		} else if err == nil {
			defer l.Release()
		}
		if refs, _ := filepath.Glob(filepath.Join(src, "*", ReferencesDir, "*.json")); len(refs) > 0 {
			fmt.Fprintf(warn, "merge: %s holds reference evaluations; they are not merged: run the specs again on the merged folder to evaluate them there\n", src)
		}
		cps, _ := filepath.Glob(filepath.Join(src, "*", "*", CheckpointFile))
		for _, c := range cps {
			if _, err := os.Stat(filepath.Join(filepath.Dir(c), "summary.json")); err != nil {
				fmt.Fprintf(warn, "merge: %s is not finished (run its shard again to resume it); left out\n", filepath.Dir(c))
			}
		}
		sums, err := filepath.Glob(filepath.Join(src, "*", "*", "summary.json"))
		if err != nil {
			return 0, err
		}
		if len(sums) == 0 {
			return 0, fmt.Errorf("merge: no finished runs (DIR/<spec>/<run>/summary.json) under %s", src)
		}
		for _, f := range sums {
			runDir := filepath.Dir(f)
			rel, _ := filepath.Rel(src, runDir)
			dst := filepath.Join(out, rel)
			b, err := os.ReadFile(f)
			if err != nil {
				return 0, fmt.Errorf("merge: %w", err)
			}
			if isTrainSummary(b) {
				continue // amc train/finetune output, not a search run
			}
			s, err := readSummary(f, b)
			if err != nil {
				return 0, fmt.Errorf("merge: %w", err)
			}
			if err := seen.check(s, runDir); err != nil {
				return 0, fmt.Errorf("merge: %w", err)
			}
			other, ok := planned[dst]
			if !ok {
				if b, err := os.ReadFile(filepath.Join(dst, "summary.json")); err == nil {
					var y Summary
					if json.Unmarshal(b, &y) == nil {
						other, ok = y.Fingerprint, true
					} else {
						other, ok = "", true
					}
				}
			}
			if ok {
				if other != s.Fingerprint || other == "" { // runs without fingerprints cannot be matched
					return 0, fmt.Errorf("merge: %s and %s hold different runs under the same name; merge them into separate folders", runDir, dst)
				}
				continue // the same run twice
			}
			planned[dst] = s.Fingerprint
			j := job{runDir: runDir, dst: dst}
			lt := filepath.Join(filepath.Dir(runDir), "latency-table.json")
			if cur, err := os.ReadFile(lt); err == nil {
				dlt := filepath.Join(filepath.Dir(dst), "latency-table.json")
				old, known := tables[dlt]
				if !known {
					if b, err := os.ReadFile(dlt); err == nil {
						old, known = b, true
					}
				}
				if known && !bytes.Equal(old, cur) {
					return 0, fmt.Errorf("merge: %s and %s differ: the shards measured their own latency tables, so their runs are not comparable; measure the table once and copy it into every shard's folder before the sweep", lt, dlt)
				}
				if !known {
					tables[dlt] = cur
					j.table, j.dstTable = lt, dlt
				}
			}
			jobs = append(jobs, j)
		}
	}
	copied := 0
	for _, j := range jobs {
		if j.table != "" {
			if err := copyFile(j.table, j.dstTable); err != nil {
				return copied, fmt.Errorf("merge: %w", err)
			}
		}
		if err := copyTree(j.runDir, j.dst); err != nil {
			return copied, fmt.Errorf("merge: %w", err)
		}
		copied++
	}
	return copied, nil
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// copyTree copies a run folder (files and sub-folders) to dst, each file
// atomically; the summary is copied last so that an interrupted merge never
// leaves a folder that looks finished.
func copyTree(src, dst string) error {
	var last string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if rel == "summary.json" {
			last = p
			return nil
		}
		if rel == CheckpointFile || strings.HasSuffix(rel, ".partial") {
			return nil
		}
		return copyFile(p, filepath.Join(dst, rel))
	})
	if err != nil {
		return err
	}
	return copyFile(last, filepath.Join(dst, "summary.json"))
}

func copyFile(src, dst string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return atomicfile.Write(dst, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	})
}

// fineTuneBest fine-tunes, with the spec's recipe, the best policy (best
// seed by reward-set accuracy) of every strategy whose seeds have all
// finished, into DIR/<spec>/<strategy>-s<seed>/finetuned/ (resumable; done
// ones are skipped).
func fineTuneBest(s *experiments.Spec, outDir string, opt Options) error {
	log := opt.log()
	for _, st := range s.Strategies {
		bestDir, best := "", -1.0
		for _, seed := range s.Seeds {
			dir := filepath.Join(outDir, s.Name, fmt.Sprintf("%s-s%d", st.RunName(), seed))
			b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
			if err != nil {
				bestDir = ""
				break // not every seed has finished
			}
			var sum Summary
			if err := json.Unmarshal(b, &sum); err != nil {
				return fmt.Errorf("%s: %w", dir, err)
			}
			// The best seed is picked on the reward set, the only images
			// whose role is selection.
			if sum.RewardTop1 > best {
				bestDir, best = dir, sum.RewardTop1
			}
		}
		if bestDir == "" {
			continue
		}
		ftDir := filepath.Join(bestDir, "finetuned")
		spec, g, p, err := prune.Load(filepath.Join(bestDir, "best"))
		if err != nil {
			return err
		}
		f := s.FineTune
		cfg := train.DefaultConfig()
		cfg.Epochs, cfg.LR, cfg.Batch, cfg.WeightDecay, cfg.TrainImages, cfg.Seed = f.Epochs, f.LR, f.Batch, f.WeightDecay, f.TrainImages, f.Seed
		cfg.WarmupEpochs, cfg.EvalImages = 0, s.FinalImages
		cfg.KeepZeros = len(spec.Density) > 0
		if b, err := os.ReadFile(filepath.Join(ftDir, "summary.json")); err == nil {
			var done TrainSummary
			if err := json.Unmarshal(b, &done); err != nil {
				return fmt.Errorf("%s: %w", filepath.Join(ftDir, "summary.json"), err)
			}
			if done.Recipe != cfg {
				return fmt.Errorf("%s was fine-tuned with another recipe (%+v) than the spec's (%+v); delete it to fine-tune again", ftDir, done.Recipe, cfg)
			}
			fmt.Fprintf(log, "%s: fine-tuned, skipped\n", ftDir)
			continue
		}
		m := &Model{Name: spec.BaseModel + " (" + filepath.Base(bestDir) + ")", Graph: g, Params: p, Norm: spec.Normalization, Pruned: spec}
		fmt.Fprintf(log, "fine-tuning %s (the seed of %s best on the reward set: %.2f%%)\n", bestDir, st.RunName(), best)
		sum, err := Fit(Training{Command: "finetune", Model: m, Data: s.Data, Recipe: cfg, Out: ftDir,
			Save: func(dir string, p nn.Params) error { return prune.Save(dir, spec, p) }}, opt)
		if err != nil {
			return err
		}
		fmt.Fprintf(log, "%s: after fine-tuning: held-out %.2f%%, test %.2f%% (before %.2f%%, %.2f%%)\n", ftDir, sum.HeldoutTop1, sum.TestTop1, sum.BeforeHeldout, sum.BeforeTest)
	}
	return nil
}

// budgetText writes a budget as RESOURCE=F ("" for none).
func budgetText(b env.Budget) string {
	if b.Kind == "" {
		return ""
	}
	return fmt.Sprintf("%s=%g", b.Kind, b.Fraction)
}

package cli

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
	"time"

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
	"github.com/spf13/cobra"
)

func newRunCmd() *cobra.Command {
	var outDir string
	var overwrite bool
	var shard string
	var df dataFlags
	var quick struct {
		episodes, rewardImages, finalImages int
		seeds                               []int64
	}
	cmd := &cobra.Command{
		Use:   "run SPEC.yaml... --out DIR",
		Short: "Run experiment specs: every strategy x seed; finished runs are skipped, interrupted ones resumed; writes runs.parquet and episodes.parquet",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return fmt.Errorf("--out DIR is required")
			}
			var specs []*experiments.Spec
			names := map[string]string{}
			for _, a := range args {
				s, err := experiments.Load(a)
				if err != nil {
					return err
				}
				if prev, dup := names[s.Name]; dup {
					return fmt.Errorf("specs %s and %s share the name %q", prev, a, s.Name)
				}
				names[s.Name] = a
				if quick.episodes > 0 || len(quick.seeds) > 0 || quick.finalImages > 0 || quick.rewardImages > 0 {
					s.ApplyOverrides(quick.episodes, quick.seeds, quick.rewardImages, quick.finalImages)
				}
				expanded := s.Expand()
				if len(s.Budgets) > 0 { // a budgets: list's specs have names of their own
					for _, e := range expanded {
						if prev, dup := names[e.Name]; dup {
							return fmt.Errorf("specs %s and %s share the name %q", prev, a, e.Name)
						}
						names[e.Name] = a
					}
				}
				specs = append(specs, expanded...)
			}
			k, n, err := parseShard(shard)
			if err != nil {
				return err
			}
			lock, err := lockOut(outDir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer lock.Release()
			// Every cell of this shard is checked before any runs: a folder
			// of another run, or runs of another task under a spec's name,
			// are refused now, not after hours of searching.
			type cellRun struct {
				spec *experiments.Spec
				p    *taskParams
				sr   stratRun
				seed int64
				dir  string
			}
			var todo []cellRun
			cell := -1
			for _, s := range specs {
				p := taskParamsOf(s, df, filepath.Join(outDir, s.Name, "latency-table.json"))
				checked := false
				for _, st := range s.Strategies {
					for _, seed := range s.Seeds {
						if cell++; cell%n != k {
							continue // another shard's cell
						}
						dir := filepath.Join(outDir, s.Name, fmt.Sprintf("%s-s%d", st.Name, seed))
						if err := p.identify(); err != nil {
							return fmt.Errorf("spec %s: %w", s.Path, err)
						}
						sr := stratRunOf(s, st)
						id, err := newRunID(*p, sr, seed)
						if err != nil {
							return fmt.Errorf("spec %s: %w", s.Path, err)
						}
						if !checked {
							if err := checkSpecFolder(filepath.Join(outDir, s.Name), id); err != nil {
								return fmt.Errorf("spec %s: %w", s.Path, err)
							}
							checked = true
						}
						out, err := inspectOut(dir, id, overwrite)
						if err != nil {
							return fmt.Errorf("spec %s: %w", s.Path, err)
						}
						if out.done != nil {
							fmt.Fprintf(cmd.ErrOrStderr(), "%s: done, skipped\n", dir)
							continue
						}
						todo = append(todo, cellRun{s, p, sr, seed, dir})
					}
				}
			}
			tasks := map[*taskParams]*task{}
			for _, c := range todo {
				t := tasks[c.p]
				if t == nil {
					if t, err = prepareTask(*c.p, cmd.ErrOrStderr()); err != nil {
						return fmt.Errorf("spec %s: %w", c.spec.Path, err)
					}
					tasks[c.p] = t
				}
				if _, err := t.run(c.sr, c.seed, c.dir, cmd.ErrOrStderr()); err != nil {
					return fmt.Errorf("spec %s, %s seed %d: %w", c.spec.Path, c.sr.Name, c.seed, err)
				}
			}
			for _, s := range specs {
				if s.FineTune == nil {
					continue
				}
				if n > 1 {
					fmt.Fprintf(cmd.ErrOrStderr(), "spec %s: fine-tuning runs after the sweep: merge the shards, then run amc run on the merged folder\n", s.Name)
					continue
				}
				if err := fineTuneBest(s, outDir, df, cmd.ErrOrStderr()); err != nil {
					return fmt.Errorf("spec %s: fine-tuning: %w", s.Path, err)
				}
			}
			if cell >= 0 && n > 1 && k > cell {
				fmt.Fprintf(cmd.ErrOrStderr(), "shard %s: no cells (the sweep has %d)\n", shard, cell+1)
				return nil
			}
			runs, err := collect(outDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d runs in %s (runs.parquet, episodes.parquet)\n", runs, outDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&outDir, "out", "", "output folder")
	cmd.Flags().IntVar(&quick.episodes, "episodes", 0, "override every strategy's episodes (DDPG warm-up: a third of them at most), for quick runs")
	cmd.Flags().Int64SliceVar(&quick.seeds, "seeds", nil, "override the specs' seeds, e.g. --seeds 1")
	cmd.Flags().IntVar(&quick.rewardImages, "reward-images", 0, "override the reward-set size")
	cmd.Flags().IntVar(&quick.finalImages, "final-images", 0, "override the final evaluation's image count")
	cmd.Flags().StringVar(&shard, "shard", "", "K/N: run only the sweep's cells K, K+N, K+2N, ... (K from 0), for array jobs; join the outputs with amc merge")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace runs in --out that do not match the specs (default: refuse)")
	cmd.Flags().StringVar(&df.dataDir, "data-dir", "", "data root (default $AMC_DATA, else ./data, else ../shared/data)")
	cmd.Flags().StringVar(&df.cacheDir, "cache-dir", "", "decoded-data cache")
	limitFlags(cmd, runFlagRanges)
	return cmd
}

// collect gathers every finished run under dir into dir/runs.parquet and
// dir/episodes.parquet, in a stable order.
func collect(dir string) (int, error) {
	// amc run writes DIR/<spec>/<run>/; amc search runs gathered in one
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
		eps = append(eps, rows...)
		r := search.RunRow{Spec: s.Spec, Family: s.Family, Budget: budgetText(s.Budget), Model: s.Model, Data: s.Data, WeightsSHA256: s.WeightsSHA256, WeightsSourceSHA256: s.WeightsSource, DataFingerprint: s.DataFingerprint,
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
			var ft trainSummary
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
	if err := writeParquet(filepath.Join(dir, "runs.parquet"), runs); err != nil {
		return 0, err
	}
	return len(runs), writeParquet(filepath.Join(dir, "episodes.parquet"), eps)
}

func writeParquet[T any](path string, rows []T) error {
	return atomicfile.Write(path, func(w io.Writer) error { return parquet.Write(w, rows, search.Compression) })
}

func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report DIR",
		Short: "Write DIR/report.md and its plots from the runs under DIR (amc run or amc search outputs)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if st, err := os.Stat(args[0]); err != nil || !st.IsDir() {
				return fmt.Errorf("report: %s is not a folder of amc run or amc search outputs", args[0])
			}
			lock, err := lockOut(args[0], cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer lock.Release()
			if _, err := collect(args[0]); err != nil {
				return err
			}
			if err := report.Write(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", filepath.Join(args[0], "report.md"))
			return nil
		},
	}
}

// parseShard reads "K/N" (empty: the whole sweep, 0/1).
func parseShard(s string) (int, int, error) {
	if s == "" {
		return 0, 1, nil
	}
	var k, n int
	if _, err := fmt.Sscanf(s, "%d/%d", &k, &n); err != nil || n < 1 || k < 0 || k >= n || fmt.Sprintf("%d/%d", k, n) != s {
		return 0, 0, fmt.Errorf("--shard %q: want K/N with 0 <= K < N, as in 0/4 (Slurm: $SLURM_ARRAY_TASK_ID/N, Kubernetes: $JOB_COMPLETION_INDEX/N)", s)
	}
	return k, n, nil
}

func newMergeCmd() *cobra.Command {
	var outDir string
	cmd := &cobra.Command{
		Use:   "merge DIR... --out DIR",
		Short: "Join the outputs of sharded amc run calls (finished runs) into one folder with runs.parquet and episodes.parquet",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if outDir == "" {
				return fmt.Errorf("--out DIR is required")
			}
			lock, err := lockOut(outDir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer lock.Release()
			copied, err := mergeRuns(args, outDir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			n, err := collect(outDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "merged %d runs; %d runs in %s (runs.parquet, episodes.parquet)\n", copied, n, outDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&outDir, "out", "", "output folder (may already hold runs; the same run twice is kept once)")
	return cmd
}

// mergeRuns copies every finished run folder (DIR/<spec>/<run>/ with a
// summary.json) of the sources into out, with the spec's latency table.
// A run already in out is kept if it is the same run and refused otherwise;
// unfinished runs are reported and left out. Everything is checked before
// anything is copied, so a refused merge leaves out as it was: one spec name
// must be one task across the sources and out, one run folder one run, and
// a spec's latency tables identical.
func mergeRuns(srcs []string, out string, warn io.Writer) (int, error) {
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
			return 0, fmt.Errorf("merge: %s is not a folder of amc run outputs", src)
		}
		if same, _ := filepath.Abs(src); same == mustAbs(out) {
			return 0, fmt.Errorf("merge: %s is also the --out folder", src)
		}
		// A source still being written (a shard's amc run) is refused: its
		// finished runs may be fine-tuned or collected right now.
		// (A source amc cannot lock, read-only for example, is read as it is.)
		if l, err := outlock.Acquire(src); errors.Is(err, outlock.ErrBusy) {
			return 0, fmt.Errorf("merge: source %w", err)
		} else if err == nil {
			defer l.Release()
		}
		cps, _ := filepath.Glob(filepath.Join(src, "*", "*", checkpointFile))
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
					var y summary
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
		if rel == checkpointFile || strings.HasSuffix(rel, ".partial") {
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
// seed by held-out accuracy) of every strategy whose seeds have all
// finished, into DIR/<spec>/<strategy>-s<seed>/finetuned/ (resumable; done
// ones are skipped).
func fineTuneBest(s *experiments.Spec, outDir string, df dataFlags, log io.Writer) error {
	for _, st := range s.Strategies {
		bestDir, best := "", -1.0
		for _, seed := range s.Seeds {
			dir := filepath.Join(outDir, s.Name, fmt.Sprintf("%s-s%d", st.Name, seed))
			b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
			if err != nil {
				bestDir = ""
				break // not every seed has finished
			}
			var sum summary
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
			var done trainSummary
			if err := json.Unmarshal(b, &done); err != nil {
				return fmt.Errorf("%s: %w", filepath.Join(ftDir, "summary.json"), err)
			}
			if done.Recipe != cfg {
				return fmt.Errorf("%s was fine-tuned with another recipe (%+v) than the spec's (%+v); delete it to fine-tune again", ftDir, done.Recipe, cfg)
			}
			fmt.Fprintf(log, "%s: fine-tuned, skipped\n", ftDir)
			continue
		}
		m := &loadedModel{Name: spec.BaseModel + " (" + filepath.Base(bestDir) + ")", Graph: g, Params: p, Norm: spec.Normalization, Pruned: spec}
		fmt.Fprintf(log, "fine-tuning %s (the seed of %s best on the reward set: %.2f%%)\n", bestDir, st.Name, best)
		sum, err := fitTo(log, "finetune", m, dataFlags{data: s.Data, dataDir: df.dataDir, cacheDir: df.cacheDir}, cfg, ftDir,
			func(dir string, p nn.Params) error { return prune.Save(dir, spec, p) })
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

// stratRunOf is a spec's strategy entry as a run needs it; an external
// agent's command runs in the spec's folder.
func stratRunOf(s *experiments.Spec, st experiments.Strategy) stratRun {
	sr := stratRun{Name: st.Name, Episodes: st.Episodes, Params: st.Params}
	if len(st.Command) > 0 {
		dir, _ := filepath.Abs(filepath.Dir(s.Path))
		sr.Params, sr.Ext = nil, &extAgent{Command: st.Command, Params: st.Params, Timeout: time.Duration(st.Timeout * float64(time.Second)), Dir: dir}
	}
	return sr
}

// taskParamsOf is a spec's task; the data flags give the folders.
func taskParamsOf(s *experiments.Spec, df dataFlags, latencyFile string) *taskParams {
	return &taskParams{Spec: s.Name, Family: s.Family, Model: modelFlags{model: s.Model, weights: s.Weights},
		Data: dataFlags{data: s.Data, dataDir: df.dataDir, cacheDir: df.cacheDir}, Protocol: s.Protocol,
		Budget: s.Budget, Reward: s.Reward, RewardImages: s.RewardImages, CalImages: s.Calibration.Images,
		CalPositions: s.Calibration.Positions, Multiple: s.Multiple, LowerBound: s.LowerBound, Ridge: s.Ridge,
		Residual: s.Residual, NoRecon: s.Reconstruct != nil && !*s.Reconstruct, Granularity: s.Granularity, FinalImages: s.FinalImages,
		LatencyBatch: s.Latency.Batch, LatencyWorkers: s.Latency.Workers, LatencyPoints: s.Latency.Points, LatencyTable: s.Latency.Table,
		LatencyFile: latencyFile}
}

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/report"
	"github.com/amcbench/amc/search"
	"github.com/parquet-go/parquet-go"
	"github.com/spf13/cobra"
)

func newRunCmd() *cobra.Command {
	var outDir string
	var overwrite bool
	var df dataFlags
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
				for _, st := range s.Strategies {
					if err := checkStrategy(st.Name); err != nil {
						return fmt.Errorf("spec %s: %w", a, err)
					}
				}
				specs = append(specs, s)
			}
			for _, s := range specs {
				var t *task
				for _, st := range s.Strategies {
					for _, seed := range s.Seeds {
						dir := filepath.Join(outDir, s.Name, fmt.Sprintf("%s-s%d", st.Name, seed))
						p := taskParams{Spec: s.Name, Model: modelFlags{model: s.Model, weights: s.Weights},
							Data: dataFlags{data: s.Data, dataDir: df.dataDir, cacheDir: df.cacheDir}, Protocol: s.Protocol,
							Budget: s.Budget, Reward: s.Reward, RewardImages: s.RewardImages, CalImages: s.Calibration.Images,
							CalPositions: s.Calibration.Positions, Multiple: s.Multiple, LowerBound: s.LowerBound, Ridge: s.Ridge,
							Residual: s.Residual, NoRecon: s.Reconstruct != nil && !*s.Reconstruct, FinalImages: s.FinalImages,
							LatencyBatch: s.Latency.Batch, LatencyPoints: s.Latency.Points, LatencyTable: s.Latency.Table,
							LatencyFile: filepath.Join(outDir, s.Name, "latency-table.json")}
						out, err := inspectOut(dir, newRunID(p, st.Name, seed, st.Episodes, st.Warmup), overwrite)
						if err != nil {
							return fmt.Errorf("spec %s: %w", s.Path, err)
						}
						if out.done != nil {
							fmt.Fprintf(cmd.ErrOrStderr(), "%s: done, skipped\n", dir)
							continue
						}
						if t == nil {
							if t, err = prepareTask(p, cmd.ErrOrStderr()); err != nil {
								return fmt.Errorf("spec %s: %w", s.Path, err)
							}
						}
						if _, err := t.run(st.Name, seed, st.Episodes, st.Warmup, dir, cmd.ErrOrStderr()); err != nil {
							return fmt.Errorf("spec %s, %s seed %d: %w", s.Path, st.Name, seed, err)
						}
					}
				}
			}
			n, err := collect(outDir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d runs in %s (runs.parquet, episodes.parquet)\n", n, outDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&outDir, "out", "", "output folder")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace runs in --out that do not match the specs (default: refuse)")
	cmd.Flags().StringVar(&df.dataDir, "data-dir", "", "data root (default $AMC_DATA, else ./data, else ../shared/data)")
	cmd.Flags().StringVar(&df.cacheDir, "cache-dir", "", "decoded-data cache")
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
	for _, f := range sums {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		var s summary
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, fmt.Errorf("%s: %w", f, err)
		}
		rows, err := search.ReadEpisodes(filepath.Join(filepath.Dir(f), "episodes.parquet"))
		if err != nil {
			return 0, err
		}
		eps = append(eps, rows...)
		r := search.RunRow{Spec: s.Spec, Strategy: s.Strategy, Seed: s.Seed, Episodes: int64(s.Episodes), BestEpisode: int64(s.BestEpisode),
			BestReward: s.BestReward, RewardTop1: s.RewardTop1, HeldoutTop1: s.HeldoutTop1, TestTop1: s.TestTop1,
			MACs: s.MACs, Params: s.Params, MACsRatio: s.MACsRatio, ParamsRatio: s.ParamsRatio, SearchSec: s.SearchSeconds,
			LatencyMS: s.LatencyMS, BaseLatencyMS: s.BaseLatencyMS, LatencyRatio: s.LatencyRatio, PredLatencyRatio: s.PredLatencyRatio,
			BareForwardSec: s.BareForwardSec}
		if len(rows) > 0 {
			if r.Spec == "" { // summaries written before specs existed
				r.Spec = rows[0].Spec
			}
			r.Groups = rows[0].Groups
			for _, g := range r.Groups {
				r.Ratios = append(r.Ratios, s.BestPolicy[g])
			}
		}
		runs = append(runs, r)
	}
	if err := writeParquet(filepath.Join(dir, "runs.parquet"), runs); err != nil {
		return 0, err
	}
	return len(runs), writeParquet(filepath.Join(dir, "episodes.parquet"), eps)
}

func writeParquet[T any](path string, rows []T) error {
	return atomicfile.Write(path, func(w io.Writer) error { return parquet.Write(w, rows) })
}

func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report DIR",
		Short: "Write DIR/report.md and its plots from the runs under DIR (amc run or amc search outputs)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
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

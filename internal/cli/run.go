package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/harness"
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
			for _, a := range args {
				s, err := experiments.Load(a)
				if err != nil {
					return err
				}
				if quick.episodes > 0 || len(quick.seeds) > 0 || quick.finalImages > 0 || quick.rewardImages > 0 {
					s.ApplyOverrides(quick.episodes, quick.seeds, quick.rewardImages, quick.finalImages)
				}
				specs = append(specs, s)
			}
			k, n, err := parseShard(shard)
			if err != nil {
				return err
			}
			sw, err := harness.RunSpecs(specs, outDir, harness.Options{DataDir: df.dataDir, CacheDir: df.cacheDir, Overwrite: overwrite,
				Shard: k, Shards: n, Log: cmd.ErrOrStderr()})
			if err != nil {
				return withFlagHints(err)
			}
			if sw.Cells == 0 && n > 1 {
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d runs in %s (runs.parquet, episodes.parquet)\n", sw.Runs, outDir)
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

func newReportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "report DIR",
		Short: "Write DIR/report.md and its plots from the runs under DIR (amc run or amc search outputs)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := harness.Report(args[0], cmd.ErrOrStderr()); err != nil {
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
			copied, n, err := harness.Merge(args, outDir, cmd.ErrOrStderr())
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

// withFlagHints adds the flags that resolve a harness error: a folder of
// another run is replaced with --overwrite or avoided with another --out.
func withFlagHints(err error) error {
	switch {
	case errors.Is(err, harness.ErrDifferentRun):
		return fmt.Errorf("%w; pass --overwrite to replace it, or choose another --out", err)
	case errors.Is(err, harness.ErrSpecChanged):
		return fmt.Errorf("%w; or choose another --out", err)
	}
	return err
}

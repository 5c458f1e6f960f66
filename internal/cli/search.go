package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/amcbench/amc/agent"
	"github.com/amcbench/amc/env"
	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/harness"
	"github.com/amcbench/amc/internal/numcheck"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func newSearchCmd() *cobra.Command {
	var (
		spec             experiments.Spec // the flags build the same spec amc run reads
		mf               modelFlags
		df               dataFlags
		noRecon          bool
		strategy, outDir string
		episodes, warmup int
		paramArgs        []string
		seed             int64
		asJSON           bool
		overwrite        bool
	)
	cmd := &cobra.Command{
		Use:   "search --model NAME --weights PATH --budget macs=F --strategy NAME --episodes N --seed K --out DIR",
		Short: "Search a per-group pruning policy with one strategy (AMC's agent or a baseline)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if outDir == "" {
				return fmt.Errorf("--out DIR is required")
			}
			if episodes < 1 {
				return fmt.Errorf("--episodes must be at least 1")
			}
			if mf.pruned != "" {
				return fmt.Errorf("--pruned: a search starts from a zoo model and its weights (--model, --weights); a run's fingerprint names the weights by content, which a pruned folder's are not yet")
			}
			if mf.model == "" {
				return fmt.Errorf("--model is required (see amc models)")
			}
			if mf.weights == "" {
				return fmt.Errorf("--weights is required (a .th/.pt/.pth PyTorch checkpoint or a .safetensors file)")
			}
			st := experiments.Strategy{Name: strategy, Episodes: episodes}
			var err error
			if st.Params, err = parseParams(paramArgs); err != nil {
				return err
			}
			if cmd.Flags().Changed("warmup") {
				if _, both := st.Params["warmup"]; both {
					return fmt.Errorf("--warmup and --param warmup=: give one")
				}
				st.Params["warmup"] = warmup
			}
			if strat, err := agent.Lookup(st.Name); err != nil {
				return err
			} else if _, err := strat.DecodeParams(st.Params, st.Episodes); err != nil {
				return err
			}
			if err := checkPositions("--calib-positions", spec.Calibration.Positions, mf.model); err != nil {
				return err
			}
			if spec.Protocol == env.Accuracy {
				if cmd.Flags().Changed("budget") {
					return fmt.Errorf("--budget %s: a budget only goes with --protocol constrained; the accuracy protocol has none (drop --budget)", spec.Budget)
				}
				spec.Budget = "" // the default budget is not this run's
			}
			if spec.Protocol == env.Constrained {
				if _, err := env.ParseBudget(spec.Budget); err != nil {
					return err
				}
			}
			spec.Name, spec.Model, spec.Weights, spec.Data = "cli", mf.model, mf.weights, df.data
			spec.Strategies, spec.Seeds, spec.Episodes = []experiments.Strategy{st}, []int64{seed}, episodes
			if noRecon {
				no := false
				spec.Reconstruct = &no
			}
			lock, err := harness.LockOut(outDir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer lock.Release()
			t, err := harness.NewTask(&spec, harness.Options{DataDir: df.dataDir, CacheDir: df.cacheDir, Overwrite: overwrite,
				LatencyFile: filepath.Join(outDir, "latency-table.json"), Log: cmd.ErrOrStderr()})
			if err != nil {
				return err
			}
			s, err := t.Run(harness.Run{Strategy: st, Seed: seed, Dir: outDir})
			if err != nil {
				return withFlagHints(err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), s)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: best of %d episodes: MACs %.3f, params %.3f; top-1 on the reward set (selection) %.2f%%, held-out unseen by the search %s, test %.2f%% (%s)\n",
				strategy, s.Episodes, s.MACsRatio, s.ParamsRatio, s.RewardTop1, unseenText(s.UnseenTop1, s.UnseenImages), s.TestTop1, outDir)
			return nil
		},
	}
	df.register(cmd)
	mf.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&spec.Budget, "budget", "macs=0.5", "resource budget as a fraction of the original: macs=F, params=F or latency=F (Go engine)")
	f.IntVar(&spec.Latency.Batch, "latency-batch", 1, "batch of latency measurements (table and final)")
	f.IntVar(&spec.Latency.Workers, "latency-workers", 1, "threads of latency measurements (1: one core, least disturbed by other processes)")
	f.IntVar(&spec.Latency.Points, "latency-points", 8, "latency table: counts measured per group")
	f.BoolVar(&spec.Latency.Table, "latency-table", false, "measure the latency table without a latency budget too (predicted latency per episode)")
	f.StringVar(&strategy, "strategy", "ddpg", "a registered strategy: "+strings.Join(agent.Names(), ", ")+" (amc strategies lists them with their params)")
	f.StringArrayVar(&paramArgs, "param", nil, "strategy param KEY=VALUE (repeatable), as a spec's params: gives it, e.g. --param warmup=50")
	f.IntVar(&warmup, "warmup", 0, "ddpg: episodes of random actions before learning (same as --param warmup=N; default min(100, episodes/3))")
	f.StringVar(&spec.Protocol, "protocol", env.Constrained, "constrained (budget met exactly) or accuracy (accuracy-guaranteed reward)")
	f.StringVar(&spec.Reward, "reward", "", "err (constrained default), flops or params (accuracy-guaranteed)")
	f.IntVar(&episodes, "episodes", 300, "episodes (fixed policies run once)")
	f.Int64Var(&seed, "seed", 1, "random seed of the strategy")
	f.StringVar(&outDir, "out", "", "output folder: summary.json, episodes.parquet, best/")
	f.IntVar(&spec.RewardImages, "reward-images", 2000, "held-out images in the reward set, which scores episodes and picks the best policy (a fixed seeded subset; 0: all 5,000, leaving no unseen held-out images)")
	f.IntVar(&spec.FinalImages, "final-images", 0, "images of the final evaluations of the best policy on the unseen held-out images and on test (0: all)")
	f.IntVar(&spec.Calibration.Images, "calib-images", 3000, "calibration images from the training split")
	f.IntVar(&spec.Calibration.Positions, "calib-positions", 10, "random positions per image and layer")
	f.IntVar(&spec.Multiple, "multiple", 1, "round kept channel counts to this multiple")
	f.Float64Var(&spec.LowerBound, "lbound", 0.2, "smallest preserve ratio")
	f.Float64Var(&spec.Ridge, "ridge", 1e-6, "reconstruction ridge")
	f.BoolVar(&spec.Residual, "residual", false, "also cut channels joined by residual adds")
	f.BoolVar(&noRecon, "no-reconstruct", false, "selection only (no least-squares re-fit)")
	f.StringVar(&spec.Granularity, "granularity", env.Channel, "channel (remove whole channels) or fine (zero single weights by magnitude: actions are densities per conv/linear layer; MACs and params count nonzero weights)")
	f.BoolVar(&asJSON, "json", false, "print the summary as one JSON line")
	f.BoolVar(&overwrite, "overwrite", false, "replace a different run already in --out (default: refuse; the same run is resumed or reported)")
	limitFlags(cmd, map[string]numcheck.Range{
		"latency-batch": batchRange, "latency-workers": threads, "latency-points": numcheck.AtLeast(2).Ints(),
		"warmup": countOrZero, "episodes": count, "seed": anyInt,
		"reward-images": countOrZero.Means("0: all"), "final-images": countOrZero.Means("0: all"),
		"calib-images": count, "calib-positions": count, "multiple": count,
		"lbound": numcheck.Fraction(), "ridge": numcheck.AtLeast(0),
	})
	return cmd
}

// unseenText shows the unseen held-out accuracy, or why there is none.
func unseenText(top1 float64, n int) string {
	if n == 0 {
		return "- (the reward set is the whole held-out split)"
	}
	return fmt.Sprintf("%.2f%% (%d images)", top1, n)
}

// parseParams reads --param KEY=VALUE flags; each value is a YAML scalar
// (50, 0.5, true, text), as in a spec's params:.
func parseParams(args []string) (agent.Params, error) {
	p := agent.Params{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q: want KEY=VALUE, as in --param warmup=50", a)
		}
		if _, dup := p[k]; dup {
			return nil, fmt.Errorf("--param %s given twice", k)
		}
		var val any
		if err := yaml.Unmarshal([]byte(v), &val); err != nil {
			return nil, fmt.Errorf("--param %s: value %q: %w", k, v, err)
		}
		if val == nil {
			return nil, fmt.Errorf("--param %s=%s: give a value (leave the param out for its default)", k, v)
		}
		p[k] = val
	}
	return p, nil
}

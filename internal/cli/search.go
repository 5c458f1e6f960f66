package cli

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/amcbench/amc/agent"
	"github.com/amcbench/amc/env"
	"github.com/amcbench/amc/internal/numcheck"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// summary is DIR/summary.json.
type summary struct {
	Spec        string     `json:"spec"`
	Family      string     `json:"family,omitempty"` // a budgets: list's spec name
	Model       string     `json:"model"`
	Weights     string     `json:"weights"`
	Data        string     `json:"data"`
	Strategy    string     `json:"strategy"`
	Seed        int64      `json:"seed"`
	Protocol    string     `json:"protocol"`
	Budget      env.Budget `json:"budget"`
	Reward      string     `json:"reward"`
	Granularity string     `json:"granularity,omitempty"` // fine; empty for channel pruning
	Episodes    int        `json:"episodes"`
	// BestEpisode is the episode whose policy was chosen; after a latency
	// fit (latency_fit) the policy was scaled from it, and best_policy,
	// best_reward and the accuracies describe the fitted network.
	BestEpisode int                `json:"best_episode"`
	BestPolicy  map[string]float64 `json:"best_policy"`
	BestKept    map[string]int     `json:"best_kept_channels"`
	BestReward  float64            `json:"best_reward"`
	// Data roles: the reward set scored every episode and picked the best
	// policy; the unseen held-out images (the rest of the held-out split)
	// and the test split were never seen by the search.
	RewardTop1   float64 `json:"reward_top1"`
	RewardImages int     `json:"reward_images"`
	UnseenTop1   float64 `json:"unseen_heldout_top1"`
	UnseenImages int     `json:"unseen_heldout_images"`
	// HeldoutTop1 is what summaries before data roles held: all held-out
	// images, the reward set included. Read only.
	HeldoutTop1    float64 `json:"heldout_top1,omitempty"`
	TestTop1       float64 `json:"test_top1"`
	MACs           int64   `json:"macs"`
	Params         int64   `json:"params"`
	MACsRatio      float64 `json:"macs_ratio"`
	ParamsRatio    float64 `json:"params_ratio"`
	CalibSeconds   float64 `json:"calibration_seconds"`
	SearchSeconds  float64 `json:"search_seconds"`
	EpisodeSeconds float64 `json:"seconds_per_episode"`
	BLAS           string  `json:"blas"`
	// Go-engine latency of the best network and of the unpruned one,
	// measured at the end (fastest of repeats, batch LatencyBatch, on
	// LatencyWorkers threads).
	LatencyMS        float64     `json:"latency_ms"`
	BaseLatencyMS    float64     `json:"base_latency_ms"`
	LatencyRatio     float64     `json:"latency_ratio"`
	LatencyBatch     int         `json:"latency_batch"`
	LatencyWorkers   int         `json:"latency_workers"`
	PredLatencyRatio float64     `json:"predicted_latency_ratio,omitempty"` // from the latency table
	LatencyTableSec  float64     `json:"latency_table_seconds,omitempty"`
	BareForwardSec   float64     `json:"bare_forward_seconds"`        // unpruned network over the reward set
	BaseUnseenTop1   float64     `json:"base_unseen_heldout_top1"`    // the unpruned network, same images
	BaseHeldoutTop1  float64     `json:"base_heldout_top1,omitempty"` // before data roles: all held-out images
	BaseTestTop1     float64     `json:"base_test_top1"`
	LatencyFit       *latencyFit `json:"latency_fit,omitempty"`
	Fingerprint      string      `json:"run_fingerprint,omitempty"`
	Run              string      `json:"run,omitempty"`
	// The inputs by content, the task's fingerprint and the run's fields.
	WeightsSHA256   string `json:"weights_sha256,omitempty"`
	WeightsSource   string `json:"weights_source_sha256,omitempty"` // amc convert's source file, when recorded
	DataFingerprint string `json:"data_fingerprint,omitempty"`
	HeldoutRule     string `json:"heldout_rule,omitempty"`
	TaskFingerprint string `json:"task_fingerprint,omitempty"`
	RunID           *runID `json:"run_id,omitempty"`
}

// readSummary parses a search run's summary.json. Valid JSON is not enough:
// a summary names its model and strategy, or it is not a finished search
// (an empty object, null, or a training summary).
func readSummary(path string, b []byte) (*summary, error) {
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v)", path, err)
	}
	if isTrainSummary(b) {
		return nil, fmt.Errorf("%s is the summary of a trained or fine-tuned model, not of a search run", path)
	}
	// Summaries written before specs and fingerprints existed have neither
	// (their spec is taken from the episodes; they are never resumed or
	// skipped: inspectRun compares fingerprints).
	var missing []string
	for _, f := range []struct{ name, v string }{{"model", s.Model}, {"strategy", s.Strategy}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s is not a finished search run's summary (no %s)", path, strings.Join(missing, ", "))
	}
	return &s, nil
}

func newSearchCmd() *cobra.Command {
	var (
		tp               taskParams
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
			sr := stratRun{Name: strategy, Episodes: episodes}
			var err error
			if sr.Params, err = parseParams(paramArgs); err != nil {
				return err
			}
			if cmd.Flags().Changed("warmup") {
				if _, both := sr.Params["warmup"]; both {
					return fmt.Errorf("--warmup and --param warmup=: give one")
				}
				sr.Params["warmup"] = warmup
			}
			if _, _, err := sr.decode(); err != nil {
				return err
			}
			if err := checkPositions("--calib-positions", tp.CalPositions, tp.Model.model); err != nil {
				return err
			}
			if tp.Protocol == env.Accuracy {
				if cmd.Flags().Changed("budget") {
					return fmt.Errorf("--budget %s: a budget only goes with --protocol constrained; the accuracy protocol has none (drop --budget)", tp.Budget)
				}
				tp.Budget = "" // the default budget is not this run's
			}
			tp.Spec = "cli"
			tp.LatencyFile = filepath.Join(outDir, "latency-table.json")
			if tp.Protocol == env.Constrained {
				if _, err := env.ParseBudget(tp.Budget); err != nil {
					return err
				}
			}
			lock, err := lockOut(outDir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer lock.Release()
			if err := tp.identify(); err != nil {
				return err
			}
			id, err := newRunID(tp, sr, seed)
			if err != nil {
				return err
			}
			if _, err := inspectOut(outDir, id, overwrite); err != nil {
				return err
			}
			t, err := prepareTask(tp, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			s, err := t.run(sr, seed, outDir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), s)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: best of %d episodes: MACs %.3f, params %.3f; top-1 on the reward set (selection) %.2f%%, held-out unseen by the search %s, test %.2f%% (%s)\n",
				strategy, s.Episodes, s.MACsRatio, s.ParamsRatio, s.RewardTop1, unseenText(s.UnseenTop1, s.UnseenImages), s.TestTop1, outDir)
			return nil
		},
	}
	tp.Data.register(cmd)
	tp.Model.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&tp.Budget, "budget", "macs=0.5", "resource budget as a fraction of the original: macs=F, params=F or latency=F (Go engine)")
	f.IntVar(&tp.LatencyBatch, "latency-batch", 1, "batch of latency measurements (table and final)")
	f.IntVar(&tp.LatencyWorkers, "latency-workers", 1, "threads of latency measurements (1: one core, least disturbed by other processes)")
	f.IntVar(&tp.LatencyPoints, "latency-points", 8, "latency table: counts measured per group")
	f.BoolVar(&tp.LatencyTable, "latency-table", false, "measure the latency table without a latency budget too (predicted latency per episode)")
	f.StringVar(&strategy, "strategy", "ddpg", "a registered strategy: "+strings.Join(agent.Names(), ", ")+" (amc strategies lists them with their params)")
	f.StringArrayVar(&paramArgs, "param", nil, "strategy param KEY=VALUE (repeatable), as a spec's params: gives it, e.g. --param warmup=50")
	f.IntVar(&warmup, "warmup", 0, "ddpg: episodes of random actions before learning (same as --param warmup=N; default min(100, episodes/3))")
	f.StringVar(&tp.Protocol, "protocol", env.Constrained, "constrained (budget met exactly) or accuracy (accuracy-guaranteed reward)")
	f.StringVar(&tp.Reward, "reward", "", "err (constrained default), flops or params (accuracy-guaranteed)")
	f.IntVar(&episodes, "episodes", 300, "episodes (fixed policies run once)")
	f.Int64Var(&seed, "seed", 1, "random seed of the strategy")
	f.StringVar(&outDir, "out", "", "output folder: summary.json, episodes.parquet, best/")
	f.IntVar(&tp.RewardImages, "reward-images", 2000, "held-out images in the reward set, which scores episodes and picks the best policy (a fixed seeded subset; 0: all 5,000, leaving no unseen held-out images)")
	f.IntVar(&tp.FinalImages, "final-images", 0, "images of the final evaluations of the best policy on the unseen held-out images and on test (0: all)")
	f.IntVar(&tp.CalImages, "calib-images", 3000, "calibration images from the training split")
	f.IntVar(&tp.CalPositions, "calib-positions", 10, "random positions per image and layer")
	f.IntVar(&tp.Multiple, "multiple", 1, "round kept channel counts to this multiple")
	f.Float64Var(&tp.LowerBound, "lbound", 0.2, "smallest preserve ratio")
	f.Float64Var(&tp.Ridge, "ridge", 1e-6, "reconstruction ridge")
	f.BoolVar(&tp.Residual, "residual", false, "also cut channels joined by residual adds")
	f.BoolVar(&tp.NoRecon, "no-reconstruct", false, "selection only (no least-squares re-fit)")
	f.StringVar(&tp.Granularity, "granularity", env.Channel, "channel (remove whole channels) or fine (zero single weights by magnitude: actions are densities per conv/linear layer; MACs and params count nonzero weights)")
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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

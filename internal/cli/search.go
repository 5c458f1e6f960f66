package cli

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/amcbench/amc/agent"
	"github.com/amcbench/amc/baselines"
	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/env"
	"github.com/amcbench/amc/evaluate"
	"github.com/amcbench/amc/internal/suggest"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/amcbench/amc/search"
	"github.com/spf13/cobra"
)

// summary is DIR/summary.json.
type summary struct {
	Model          string             `json:"model"`
	Weights        string             `json:"weights"`
	Data           string             `json:"data"`
	Strategy       string             `json:"strategy"`
	Seed           int64              `json:"seed"`
	Protocol       string             `json:"protocol"`
	Budget         env.Budget         `json:"budget"`
	Reward         string             `json:"reward"`
	Episodes       int                `json:"episodes"`
	BestEpisode    int                `json:"best_episode"`
	BestPolicy     map[string]float64 `json:"best_policy"`
	BestKept       map[string]int     `json:"best_kept_channels"`
	BestReward     float64            `json:"best_reward"`
	RewardTop1     float64            `json:"reward_top1"`
	RewardImages   int                `json:"reward_images"`
	HeldoutTop1    float64            `json:"heldout_top1"`
	TestTop1       float64            `json:"test_top1"`
	MACs           int64              `json:"macs"`
	Params         int64              `json:"params"`
	MACsRatio      float64            `json:"macs_ratio"`
	ParamsRatio    float64            `json:"params_ratio"`
	CalibSeconds   float64            `json:"calibration_seconds"`
	SearchSeconds  float64            `json:"search_seconds"`
	EpisodeSeconds float64            `json:"seconds_per_episode"`
	BLAS           string             `json:"blas"`
}

func newSearchCmd() *cobra.Command {
	var (
		df                                                        dataFlags
		mf                                                        modelFlags
		budgetArg, strategy, protocol, reward, outDir             string
		episodes, rewardImages, calImages, calPositions, multiple int
		seed                                                      int64
		warmup                                                    int
		lower, ridge                                              float64
		residual, noRecon, asJSON                                 bool
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
			valid := append([]string{"ddpg"}, baselines.Names...)
			if !contains(valid, strategy) {
				return fmt.Errorf("unknown strategy %q%s; valid: %v", strategy, suggest.DidYouMean(strategy, valid), valid)
			}
			cfg := env.Config{Protocol: protocol, Reward: reward, LowerBound: lower, Multiple: multiple, Ridge: ridge, Batch: 100}
			if protocol == env.Constrained {
				b, err := env.ParseBudget(budgetArg)
				if err != nil {
					return err
				}
				cfg.Budget = b
			}
			m, err := mf.load(false)
			if err != nil {
				return err
			}
			ds, err := df.open()
			if err != nil {
				return err
			}
			held, err := ds.Load(datasets.Heldout)
			if err != nil {
				return err
			}
			rewardSet := held
			if rewardImages > 0 && rewardImages < held.N {
				// The same subset for every strategy and seed.
				perm := rand.New(rand.NewPCG(1, 1)).Perm(held.N)[:rewardImages]
				rewardSet = held.Subset(perm)
			}
			a, err := prune.Analyze(m.Graph, prune.Options{Residual: residual})
			if err != nil {
				return err
			}
			var cal *prune.Calibration
			if !noRecon {
				train, err := ds.Load(datasets.Train)
				if err != nil {
					return err
				}
				if cal, err = prune.Calibrate(a, m.Params, train, m.Norm, calImages, calPositions, 1); err != nil {
					return err
				}
			}
			e, err := env.New(cfg, a, m.Params, cal, rewardSet, m.Norm)
			if err != nil {
				return err
			}
			var ag agent.Agent
			switch strategy {
			case "ddpg":
				c := agent.DefaultDDPG()
				c.LowerBound, c.Seed, c.Warmup = lower, uint64(seed), warmup
				if ag, err = agent.NewDDPG(c, env.StateSize); err != nil {
					return err
				}
			case "random":
				ag = baselines.NewRandom(lower, uint64(seed))
			default:
				shape, err := baselines.Shape(strategy, e.Groups())
				if err != nil {
					return err
				}
				ratios, err := e.FitShape(shape)
				if err != nil {
					return err
				}
				ag = &baselines.Fixed{Label: strategy, Ratios: ratios}
				episodes = 1 // a fixed policy gives the same episode every time
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			log, err := search.CreateEpisodeLog(filepath.Join(outDir, "episodes.parquet"))
			if err != nil {
				return err
			}
			pr := newProgressUnit(cmd.ErrOrStderr(), episodes, "search "+strategy, "ep")
			start := time.Now()
			best, err := search.Run(e, ag, search.Options{Spec: "cli", Seed: seed, Episodes: episodes, Log: log.Write,
				Progress: func(done, total int, _ float64) { pr.update(done, total) }})
			pr.finish()
			if err != nil {
				log.Close()
				return err
			}
			if err := log.Close(); err != nil {
				return err
			}
			searchSec := time.Since(start).Seconds()
			// The best policy, evaluated on all held-out images and on the test split.
			r := best.Result
			pl, err := nn.Compile(r.PrunedGraph, r.PrunedParam, 0)
			if err != nil {
				return err
			}
			hres, err := evaluate.Run(pl, held, m.Norm, evaluate.Options{})
			if err != nil {
				return err
			}
			test, err := ds.Load(datasets.Test)
			if err != nil {
				return err
			}
			tres, err := evaluate.Run(pl, test, m.Norm, evaluate.Options{})
			if err != nil {
				return err
			}
			s := summary{Model: mf.model, Weights: mf.weights, Data: df.data, Strategy: strategy, Seed: seed, Protocol: protocol,
				Budget: cfg.Budget, Reward: reward, Episodes: episodes, BestEpisode: best.Episode, BestReward: best.Reward,
				RewardTop1: r.Top1, RewardImages: rewardSet.N, HeldoutTop1: hres.Top1, TestTop1: tres.Top1,
				MACs: r.MACs, Params: r.Params, MACsRatio: float64(r.MACs) / float64(e.BaseMACs()),
				ParamsRatio: float64(r.Params) / float64(e.BaseParams()), SearchSeconds: searchSec,
				EpisodeSeconds: searchSec / float64(episodes), BLAS: nn.BLASName,
				BestPolicy: map[string]float64{}, BestKept: map[string]int{}}
			if cal != nil {
				s.CalibSeconds = cal.Seconds
			}
			for i, name := range e.GroupNames() {
				s.BestPolicy[name] = r.Ratios[i]
				s.BestKept[name] = r.Counts[i]
			}
			cnt, _ := m.Graph.Count()
			spec := &prune.Spec{BaseModel: mf.model, SourceWeights: mf.weights, Normalization: m.Norm, Residual: residual,
				Multiple: multiple, Criterion: "l1-in", Layers: prune.LayerSpecs(m.Graph, r.PrunedGraph),
				MACs: r.MACs, Params: r.Params, BaseMACs: cnt.MACs, BaseParams: cnt.Params}
			for i, grp := range a.Groups {
				spec.Groups = append(spec.Groups, prune.GroupSpec{Name: grp.Name, Channels: grp.Channels, Ratio: r.Ratios[i], Kept: r.Kept[i]})
			}
			if err := prune.Save(filepath.Join(outDir, "best"), spec, r.PrunedParam); err != nil {
				return err
			}
			b, _ := json.MarshalIndent(s, "", "  ")
			if err := writeFileAtomic(filepath.Join(outDir, "summary.json"), append(b, '\n')); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), s)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: best of %d episodes: MACs %.3f, params %.3f, reward-set top-1 %.2f%%, held-out %.2f%%, test %.2f%% (%s)\n",
				strategy, episodes, s.MACsRatio, s.ParamsRatio, s.RewardTop1, s.HeldoutTop1, s.TestTop1, outDir)
			return nil
		},
	}
	df.register(cmd)
	mf.register(cmd, true)
	f := cmd.Flags()
	f.StringVar(&budgetArg, "budget", "macs=0.5", "resource budget as a fraction of the original: macs=F or params=F")
	f.StringVar(&strategy, "strategy", "ddpg", "ddpg (AMC's agent), uniform, deep, shallow or random")
	f.IntVar(&warmup, "warmup", 100, "ddpg: episodes of random actions before learning")
	f.StringVar(&protocol, "protocol", env.Constrained, "constrained (budget met exactly) or accuracy (accuracy-guaranteed reward)")
	f.StringVar(&reward, "reward", "", "err (constrained default), flops or params (accuracy-guaranteed)")
	f.IntVar(&episodes, "episodes", 300, "episodes (fixed policies run once)")
	f.Int64Var(&seed, "seed", 1, "random seed of the strategy")
	f.StringVar(&outDir, "out", "", "output folder: summary.json, episodes.parquet, best/")
	f.IntVar(&rewardImages, "reward-images", 2000, "held-out images in the reward set (a fixed seeded subset; 0: all 5,000)")
	f.IntVar(&calImages, "calib-images", 3000, "calibration images from the training split")
	f.IntVar(&calPositions, "calib-positions", 10, "random positions per image and layer")
	f.IntVar(&multiple, "multiple", 1, "round kept channel counts to this multiple")
	f.Float64Var(&lower, "lbound", 0.2, "smallest preserve ratio")
	f.Float64Var(&ridge, "ridge", 1e-6, "reconstruction ridge")
	f.BoolVar(&residual, "residual", false, "also cut channels joined by residual adds")
	f.BoolVar(&noRecon, "no-reconstruct", false, "selection only (no least-squares re-fit)")
	f.BoolVar(&asJSON, "json", false, "print the summary as one JSON line")
	return cmd
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Package search runs a strategy (an agent.Agent) on a compression
// environment for a number of episodes, logs every episode, and keeps the
// best policy.
package search

import (
	"fmt"
	"time"

	"github.com/amcbench/amc/agent"
	"github.com/amcbench/amc/env"
)

// EpisodeRow is one episode as logged to episodes.parquet.
type EpisodeRow struct {
	Spec string `parquet:"spec"`
	// Run is the run's fingerprint: rows of different runs never pass for
	// one run's seeds (empty in logs written before it existed).
	Run        string    `parquet:"run"`
	Strategy   string    `parquet:"strategy"`
	Seed       int64     `parquet:"seed"`
	Episode    int64     `parquet:"episode"`
	Groups     []string  `parquet:"groups,list"`
	Ratios     []float64 `parquet:"ratios,list"`
	Kept       []int64   `parquet:"kept_channels,list"`
	Reward     float64   `parquet:"reward"`
	RewardTop1 float64   `parquet:"reward_top1"` // percent, on the reward set (held-out images)
	MACs       int64     `parquet:"macs"`
	Params     int64     `parquet:"params"`
	MACsRatio  float64   `parquet:"macs_ratio"`
	// LatencyRatio is the predicted latency / unpruned latency, from the
	// task's latency table (0 without one).
	LatencyRatio float64 `parquet:"latency_ratio"`
	Sigma        float64 `parquet:"sigma"` // exploration noise, if the strategy has one
	Explore      bool    `parquet:"explore"`
	ActSec       float64 `parquet:"act_seconds"`
	PruneSec     float64 `parquet:"prune_seconds"`
	ReconSec     float64 `parquet:"reconstruct_seconds"`
	EvalSec      float64 `parquet:"eval_seconds"`
	WallSec      float64 `parquet:"wall_seconds"`
}

// RunRow is one (spec, strategy, seed) run as written to runs.parquet: the
// best policy and its final metrics.
type RunRow struct {
	Spec string `parquet:"spec"`
	// Family is the name of a spec with a budgets: list (Spec is then
	// NAME-BUDGET); empty otherwise.
	Family string `parquet:"family"`
	// What was compressed, by content: the model, the data set, the
	// weights file's SHA-256, the data set's fingerprint and held-out rule;
	// the task's and the run's fingerprints (amc's definition of the same
	// task and the same run).
	Model         string `parquet:"model"`
	Data          string `parquet:"data"`
	WeightsSHA256 string `parquet:"weights_sha256"`
	// WeightsSourceSHA256 is the file the weights were converted from, when
	// they record one (amc convert): its provenance is theirs.
	WeightsSourceSHA256 string `parquet:"weights_source_sha256"`
	DataFingerprint     string `parquet:"data_fingerprint"`
	HeldoutRule         string `parquet:"heldout_rule"`
	TaskFingerprint     string `parquet:"task_fingerprint"`
	RunFingerprint      string `parquet:"run_fingerprint"`
	// Budget is the constrained protocol's budget, RESOURCE=F ("" for
	// the accuracy protocol).
	Budget      string  `parquet:"budget"`
	Strategy    string  `parquet:"strategy"`
	Granularity string  `parquet:"granularity"` // "fine" for weight sparsity; "" for channel pruning
	Seed        int64   `parquet:"seed"`
	Episodes    int64   `parquet:"episodes"`
	BestEpisode int64   `parquet:"best_episode"`
	BestReward  float64 `parquet:"best_reward"`
	// Data roles: the reward set picked the best policy; the unseen
	// held-out images and test were never seen by the search.
	RewardTop1   float64 `parquet:"reward_top1"`
	UnseenTop1   float64 `parquet:"unseen_heldout_top1"`
	UnseenImages int64   `parquet:"unseen_heldout_images"`
	// HeldoutTop1: runs from before data roles only (all held-out images,
	// the reward set included); 0 otherwise.
	HeldoutTop1 float64   `parquet:"heldout_top1"`
	TestTop1    float64   `parquet:"test_top1"`
	MACs        int64     `parquet:"macs"`
	Params      int64     `parquet:"params"`
	MACsRatio   float64   `parquet:"macs_ratio"`
	ParamsRatio float64   `parquet:"params_ratio"`
	Groups      []string  `parquet:"groups,list"`
	Ratios      []float64 `parquet:"best_ratios,list"`
	SearchSec   float64   `parquet:"search_seconds"`
	// Measured Go-engine latency of the best network and the unpruned one.
	LatencyMS        float64 `parquet:"latency_ms"`
	BaseLatencyMS    float64 `parquet:"base_latency_ms"`
	LatencyRatio     float64 `parquet:"latency_ratio"`
	PredLatencyRatio float64 `parquet:"predicted_latency_ratio"`
	// LatencyTableSHA256 names a latency table measured on another device
	// (a spec's latency.file); its runs' latency is PredLatencyRatio, the
	// Go engine's measurement only describing this machine.
	LatencyTableSHA256 string `parquet:"latency_table_sha256"`
	// BareForwardSec is one forward pass of the unpruned network over the
	// reward set, what an episode's cost is compared with.
	BareForwardSec float64 `parquet:"bare_forward_seconds"`
	// The unpruned network's accuracy on the same final images.
	BaseUnseenTop1  float64 `parquet:"base_unseen_heldout_top1"`
	BaseHeldoutTop1 float64 `parquet:"base_heldout_top1"` // runs from before data roles
	BaseTestTop1    float64 `parquet:"base_test_top1"`
	// After fine-tuning (the spec's recipe; the best seed of each strategy
	// only, 0 elsewhere).
	FineTuneEpochs   int64   `parquet:"finetune_epochs"`
	FineTunedHeldout float64 `parquet:"finetuned_heldout_top1"`
	FineTunedTest    float64 `parquet:"finetuned_test_top1"`
	// RunDir is the run's folder, relative to the collected folder.
	RunDir string `parquet:"run_dir"`
}

// ReferenceRow is a spec's reference network (trained at its own size, not
// pruned: experiments.Reference) evaluated on the images of the spec's
// runs, with its resources against the spec's unpruned network: written to
// DIR/<spec>/references/<name>.json and gathered into references.parquet.
type ReferenceRow struct {
	Spec   string `parquet:"spec" json:"spec"`
	Family string `parquet:"family" json:"family,omitempty"`
	Name   string `parquet:"name" json:"name"`
	Model  string `parquet:"model" json:"model"`
	// The reference by content, and the task it was evaluated for (the
	// spec's runs' task fingerprint: the same images).
	WeightsSHA256   string `parquet:"weights_sha256" json:"weights_sha256"`
	Data            string `parquet:"data" json:"data"`
	DataFingerprint string `parquet:"data_fingerprint" json:"data_fingerprint"`
	HeldoutRule     string `parquet:"heldout_rule" json:"heldout_rule"`
	TaskFingerprint string `parquet:"task_fingerprint" json:"task_fingerprint"`
	// The same images as the runs': the reward set, the held-out images the
	// searches never saw, the test split (at most the spec's final_images).
	RewardTop1   float64 `parquet:"reward_top1" json:"reward_top1"`
	RewardImages int64   `parquet:"reward_images" json:"reward_images"`
	UnseenTop1   float64 `parquet:"unseen_heldout_top1" json:"unseen_heldout_top1"`
	UnseenImages int64   `parquet:"unseen_heldout_images" json:"unseen_heldout_images"`
	TestTop1     float64 `parquet:"test_top1" json:"test_top1"`
	TestImages   int64   `parquet:"test_images" json:"test_images"`
	MACs         int64   `parquet:"macs" json:"macs"`
	Params       int64   `parquet:"params" json:"params"`
	// Ratios to the spec's unpruned network; latency measured on the Go
	// engine alternately with it (median of 3, the runs' batch and threads).
	MACsRatio      float64 `parquet:"macs_ratio" json:"macs_ratio"`
	ParamsRatio    float64 `parquet:"params_ratio" json:"params_ratio"`
	LatencyMS      float64 `parquet:"latency_ms" json:"latency_ms"`
	BaseLatencyMS  float64 `parquet:"base_latency_ms" json:"base_latency_ms"`
	LatencyRatio   float64 `parquet:"latency_ratio" json:"latency_ratio"`
	LatencyBatch   int64   `parquet:"latency_batch" json:"latency_batch"`
	LatencyWorkers int64   `parquet:"latency_workers" json:"latency_workers"`
}

// Latency is the run's latency ratio: the prediction of a latency table
// measured on another device where the run had one (LatencyTableSHA256),
// else the Go engine's measurement on this machine (0: none).
func (r RunRow) Latency() float64 {
	if r.LatencyTableSHA256 != "" {
		return r.PredLatencyRatio
	}
	return r.LatencyRatio
}

// Sigma is implemented by strategies that explore with noise.
type Sigma interface {
	Sigma() float64
}

// Best is the best episode of a run.
type Best struct {
	Episode int
	Reward  float64
	Result  env.Result
}

// Options control a run.
type Options struct {
	Spec string
	Run  string // the run's fingerprint, logged with every episode
	// Strategy is the name the rows carry: the run's (a spec entry's
	// label); empty: the agent's own name.
	Strategy string
	// Greedy plays one more episode after the last, with the agent's
	// noise-free policy (Act with explore false), not learned from, and
	// logged with explore false and episode index Episodes: a candidate
	// for the best policy like every other episode. The final policy is
	// always the best episode on the reward set.
	Greedy   bool
	Seed     int64
	Episodes int
	// Log receives every episode's row; an error stops the run.
	Log func(EpisodeRow) error
	// Progress is called after each episode, may be nil.
	Progress func(done, total int, best float64)
	// Resume continues a run from its checkpoint: the agent's state is
	// restored, the recorded rows are passed to Log again, and the run goes
	// on from the next episode.
	Resume *Checkpoint
	// Checkpoint, if set, is called after every episode (after Log) with
	// the run's state; it should save it.
	Checkpoint func(*Checkpoint) error
}

// Run plays opt.Episodes episodes of ag on e and returns the best one.
func Run(e *env.Env, ag agent.Agent, opt Options) (Best, error) {
	rowName := opt.Strategy
	if rowName == "" {
		rowName = ag.Name()
	}
	best := Best{Episode: -1}
	names := e.GroupNames()
	var cp Checkpoint
	var bestRatios []float64 // the best episode's policy, when it was restored
	if opt.Resume != nil {
		cp = *opt.Resume
		if len(cp.Rows) > opt.Episodes {
			return best, fmt.Errorf("checkpoint holds %d episodes, the run has %d", len(cp.Rows), opt.Episodes)
		}
		if err := ag.Restore(cp.Agent); err != nil {
			return best, fmt.Errorf("resume %s: %w", ag.Name(), err)
		}
		for _, row := range cp.Rows {
			if len(row.Ratios) != len(names) {
				return best, fmt.Errorf("resume: episode %d has %d ratios for %d groups", row.Episode, len(row.Ratios), len(names))
			}
			if best.Episode < 0 || row.Reward > best.Reward {
				best = Best{Episode: int(row.Episode), Reward: row.Reward}
				bestRatios = row.Ratios
			}
			if opt.Log != nil {
				if err := opt.Log(row); err != nil {
					return best, err
				}
			}
		}
		cp.Rows = append([]EpisodeRow(nil), cp.Rows...)
		if opt.Progress != nil {
			opt.Progress(len(cp.Rows), opt.Episodes, best.Reward)
		}
	}
	for ep := len(cp.Rows); ep < opt.Episodes; ep++ {
		start := time.Now()
		// The noise this episode explores with, read before the agent's
		// Observe decays it (or ends its warm-up).
		sigma, hasSigma := 0.0, false
		if sg, ok := ag.(Sigma); ok {
			sigma, hasSigma = sg.Sigma(), true
		}
		trs, actSec, err := play(e, ag, true)
		if err != nil {
			return best, fmt.Errorf("episode %d: %w", ep, err)
		}
		r := e.Result()
		t0 := time.Now()
		if err := ag.Observe(agent.Episode{Index: ep, Transitions: trs, Reward: r.Reward}); err != nil {
			return best, fmt.Errorf("episode %d: %s: %w", ep, ag.Name(), err)
		}
		actSec += time.Since(t0).Seconds()
		if best.Episode < 0 || r.Reward > best.Reward {
			best = Best{Episode: ep, Reward: r.Reward, Result: r}
			bestRatios = nil
		}
		row := newRow(opt, rowName, e, names, ep, r, true)
		row.ActSec = actSec
		if hasSigma {
			row.Sigma = sigma
		}
		row.WallSec = time.Since(start).Seconds()
		if opt.Log != nil {
			if err := opt.Log(row); err != nil {
				return best, err
			}
		}
		if opt.Checkpoint != nil {
			cp.Rows = append(cp.Rows, row)
			st, err := ag.State()
			if err != nil {
				return best, fmt.Errorf("episode %d: %s state: %w", ep, ag.Name(), err)
			}
			cp.Agent = st
			if err := opt.Checkpoint(&cp); err != nil {
				return best, fmt.Errorf("episode %d: checkpoint: %w", ep, err)
			}
		}
		if opt.Progress != nil {
			opt.Progress(ep+1, opt.Episodes, best.Reward)
		}
	}
	if opt.Greedy {
		start := time.Now()
		if _, _, err := play(e, ag, false); err != nil {
			return best, fmt.Errorf("greedy episode: %w", err)
		}
		r := e.Result()
		row := newRow(opt, rowName, e, names, opt.Episodes, r, false)
		row.WallSec = time.Since(start).Seconds()
		if opt.Log != nil {
			if err := opt.Log(row); err != nil {
				return best, err
			}
		}
		if r.Reward > best.Reward {
			best, bestRatios = Best{Episode: opt.Episodes, Reward: r.Reward, Result: r}, nil
		}
	}
	if bestRatios != nil { // rebuild the restored best episode's network
		r, err := Replay(e, bestRatios)
		if err != nil {
			return best, fmt.Errorf("resume: best episode %d: %w", best.Episode, err)
		}
		if r.Reward != best.Reward {
			return best, fmt.Errorf("resume: best episode %d replays to reward %v, recorded %v", best.Episode, r.Reward, best.Reward)
		}
		best.Result = r
	}
	return best, nil
}

// play runs one episode of ag on e (explore as given) and returns its
// transitions and the seconds spent in Act; an agent that reports a failure
// (agent.Failer) stops it.
func play(e *env.Env, ag agent.Agent, explore bool) ([]agent.Transition, float64, error) {
	s := e.Reset()
	var trs []agent.Transition
	var actSec float64
	for t := 0; s != nil; t++ {
		t0 := time.Now()
		req := ag.Act(s, t, explore)
		actSec += time.Since(t0).Seconds()
		if f, ok := ag.(agent.Failer); ok && f.Err() != nil {
			return nil, actSec, f.Err()
		}
		applied, next, err := e.Step(req)
		if err != nil {
			return nil, actSec, err
		}
		trs = append(trs, agent.Transition{State: s, Requested: req, Action: applied, Next: next})
		s = next
	}
	return trs, actSec, nil
}

// newRow is episode ep's log row from its result; the caller adds the
// timings and the exploration noise it knows.
func newRow(opt Options, strategy string, e *env.Env, names []string, ep int, r env.Result, explore bool) EpisodeRow {
	row := EpisodeRow{Spec: opt.Spec, Run: opt.Run, Strategy: strategy, Seed: opt.Seed, Episode: int64(ep), Groups: names,
		Ratios: r.Ratios, Reward: r.Reward, RewardTop1: r.Top1, MACs: r.MACs, Params: r.Params,
		MACsRatio: float64(r.MACs) / float64(e.BaseMACs()), Explore: explore,
		PruneSec: r.PruneSec, ReconSec: r.ReconSec, EvalSec: r.EvalSec}
	for _, c := range r.Counts {
		row.Kept = append(row.Kept, int64(c))
	}
	if bl := e.BaseLatency(); bl > 0 {
		row.LatencyRatio = r.Latency / bl
	}
	return row
}

// Replay plays one episode with the given preserve ratios (as applied by
// the environment in an earlier episode) and returns its result.
func Replay(e *env.Env, ratios []float64) (env.Result, error) {
	s := e.Reset()
	for t := 0; s != nil; t++ {
		if t >= len(ratios) {
			return env.Result{}, fmt.Errorf("%d ratios for more groups", len(ratios))
		}
		var err error
		if _, s, err = e.Step(ratios[t]); err != nil {
			return env.Result{}, err
		}
	}
	return e.Result(), nil
}

package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/amcbench/amc/env"
)

// Summary is a finished run's DIR/summary.json.
type Summary struct {
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
	// BestWeightsSHA256 is best/model.safetensors by content: amc prune
	// --rebuild checks the network it makes again against it.
	BestWeightsSHA256 string `json:"best_weights_sha256,omitempty"`
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
	LatencyFit       *LatencyFit `json:"latency_fit,omitempty"`
	Fingerprint      string      `json:"run_fingerprint,omitempty"`
	Run              string      `json:"run,omitempty"`
	// The inputs by content, the task's fingerprint and the run's fields.
	WeightsSHA256   string `json:"weights_sha256,omitempty"`
	WeightsSource   string `json:"weights_source_sha256,omitempty"` // amc convert's source file, when recorded
	DataFingerprint string `json:"data_fingerprint,omitempty"`
	HeldoutRule     string `json:"heldout_rule,omitempty"`
	TaskFingerprint string `json:"task_fingerprint,omitempty"`
	RunID           *RunID `json:"run_id,omitempty"`
}

// readSummary parses a search run's summary.json. Valid JSON is not enough:
// a summary names its model and strategy, or it is not a finished search
// (an empty object, null, or a training summary).
func readSummary(path string, b []byte) (*Summary, error) {
	var s Summary
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

// ReadSummary reads a search run's summary.json (DIR/summary.json).
func ReadSummary(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return readSummary(path, b)
}

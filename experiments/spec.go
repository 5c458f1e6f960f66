// Package experiments reads the declarative experiment specs (YAML files in
// this folder): one spec is the whole description of an experiment, and the
// same spec run twice gives the same rows.
package experiments

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// Spec is one experiment.
type Spec struct {
	Name         string     `yaml:"name"`
	Model        string     `yaml:"model"`
	Weights      string     `yaml:"weights"` // relative paths are relative to the spec file
	Data         string     `yaml:"data"`
	Protocol     string     `yaml:"protocol"`
	Budget       string     `yaml:"budget"`
	Reward       string     `yaml:"reward"`
	RewardImages int        `yaml:"reward_images"`
	Calibration  Calib      `yaml:"calibration"`
	LowerBound   float64    `yaml:"lower_bound"`
	Multiple     int        `yaml:"channel_multiple"`
	Ridge        float64    `yaml:"ridge"`
	Residual     bool       `yaml:"residual_groups"`
	Granularity  string     `yaml:"granularity"` // channel (default) or fine (weight sparsity)
	Reconstruct  *bool      `yaml:"reconstruct"`
	Seeds        []int64    `yaml:"seeds"`
	Episodes     int        `yaml:"episodes"`
	Strategies   []Strategy `yaml:"strategies"`
	FinalImages  int        `yaml:"final_images"` // limit the final held-out/test evaluation (quick runs); 0: all
	Latency      Latency    `yaml:"latency"`
	FineTune     *FineTune  `yaml:"finetune"`
	Path         string     `yaml:"-"`
}

// Calib sizes the reconstruction's calibration samples.
type Calib struct {
	Images    int `yaml:"images"`
	Positions int `yaml:"positions"`
}

// FineTune is the recipe with which each strategy's best policy (its best
// seed by held-out accuracy) is fine-tuned after the searches.
type FineTune struct {
	Epochs      int     `yaml:"epochs"`
	LR          float64 `yaml:"lr"`           // default 0.01
	Batch       int     `yaml:"batch"`        // default 128
	WeightDecay float64 `yaml:"weight_decay"` // default 5e-4
	TrainImages int     `yaml:"train_images"` // per epoch; 0: the whole training split
	Seed        uint64  `yaml:"seed"`         // default 1
}

// Latency sets how Go-engine latency is measured: the per-group table
// (built for latency budgets, or always with table: true) and the final
// measurement of every run's best network.
type Latency struct {
	Batch   int  `yaml:"batch"`   // samples per forward pass (default 1)
	Workers int  `yaml:"workers"` // threads (default 1: one core, least disturbed by other processes)
	Points  int  `yaml:"points"`  // table grid counts per group (default 8)
	Table   bool `yaml:"table"`   // build the table even without a latency budget (predicted latency per episode)
}

// Strategy is one agent or baseline of a spec.
type Strategy struct {
	Name     string `yaml:"name"`
	Episodes int    `yaml:"episodes"` // default: the spec's
	Warmup   int    `yaml:"warmup"`   // ddpg
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Load reads a spec strictly: unknown fields and wrong types are errors
// naming the file, line and field. Defaults fill what the spec leaves out.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("spec %s: %w", path, err)
	}
	s.Path = path
	if err := s.defaults(); err != nil {
		return nil, fmt.Errorf("spec %s: %w", path, err)
	}
	return &s, nil
}

func (s *Spec) defaults() error {
	switch {
	case !nameRE.MatchString(s.Name):
		return fmt.Errorf("name %q: use letters, digits, '.', '_' and '-' (it names the output folder)", s.Name)
	case s.Model == "":
		return fmt.Errorf("model is required")
	case s.Weights == "":
		return fmt.Errorf("weights is required")
	case len(s.Strategies) == 0:
		return fmt.Errorf("strategies: list at least one (ddpg, uniform, deep, shallow, random)")
	}
	if !filepath.IsAbs(s.Weights) {
		s.Weights = filepath.Join(filepath.Dir(s.Path), s.Weights)
	}
	if s.Data == "" {
		s.Data = "cifar10-jpeg"
	}
	if s.Protocol == "" {
		s.Protocol = "constrained"
	}
	switch s.Granularity {
	case "", "channel", "fine":
	default:
		return fmt.Errorf("granularity %q: want channel (remove channels, the default) or fine (zero single weights)", s.Granularity)
	}
	if s.Budget == "" && s.Protocol == "constrained" {
		return fmt.Errorf("budget is required for the constrained protocol (macs=F, params=F or latency=F)")
	}
	if f := s.FineTune; f != nil {
		if f.Epochs < 1 {
			return fmt.Errorf("finetune: epochs must be at least 1")
		}
		if f.LR == 0 {
			f.LR = 0.01
		}
		if f.Batch == 0 {
			f.Batch = 128
		}
		if f.WeightDecay == 0 {
			f.WeightDecay = 5e-4
		}
		if f.Seed == 0 {
			f.Seed = 1
		}
		if f.LR < 0 || f.Batch < 1 || f.TrainImages < 0 {
			return fmt.Errorf("finetune: lr, batch and train_images must be positive")
		}
	}
	if s.Latency.Batch == 0 {
		s.Latency.Batch = 1
	}
	if s.Latency.Workers == 0 {
		s.Latency.Workers = 1
	}
	if s.Latency.Points == 0 {
		s.Latency.Points = 8
	}
	if s.Latency.Batch < 1 || s.Latency.Points < 2 {
		return fmt.Errorf("latency: batch must be at least 1 and points at least 2")
	}
	if s.RewardImages == 0 {
		s.RewardImages = 2000
	}
	if s.Calibration.Images == 0 {
		s.Calibration.Images = 3000
	}
	if s.Calibration.Positions == 0 {
		s.Calibration.Positions = 10
	}
	if s.LowerBound == 0 {
		s.LowerBound = 0.2
	}
	if s.Multiple == 0 {
		s.Multiple = 1
	}
	if s.Ridge == 0 {
		s.Ridge = 1e-6
	}
	if len(s.Seeds) == 0 {
		s.Seeds = []int64{1}
	}
	if s.Episodes == 0 {
		s.Episodes = 300
	}
	seen := map[string]bool{}
	for i := range s.Strategies {
		st := &s.Strategies[i]
		if seen[st.Name] {
			return fmt.Errorf("strategy %q listed twice", st.Name)
		}
		seen[st.Name] = true
		if st.Episodes == 0 {
			st.Episodes = s.Episodes
		}
		if st.Warmup == 0 {
			st.Warmup = min(100, st.Episodes/3)
		}
		if st.Episodes < 1 || st.Warmup < 0 {
			return fmt.Errorf("strategy %s: episodes must be positive and warmup non-negative", st.Name)
		}
	}
	return nil
}

// ApplyOverrides replaces the spec's sizes for a quick run (zero or empty
// values keep the spec's own): every strategy's episodes (the DDPG warm-up
// is cut to a third of them if longer), the seeds, the reward-set size and
// the final evaluation's image count. Fine-tuning, if any, is cut to one
// epoch on at most 2,000 images. The runs' fingerprints change with them, so
// quick and full runs never mix in one folder.
func (s *Spec) ApplyOverrides(episodes int, seeds []int64, rewardImages, finalImages int) {
	if episodes > 0 {
		s.Episodes = episodes
		for i := range s.Strategies {
			st := &s.Strategies[i]
			st.Episodes = episodes
			st.Warmup = min(st.Warmup, episodes/3)
		}
		if s.FineTune != nil {
			s.FineTune.Epochs = 1
			if s.FineTune.TrainImages == 0 || s.FineTune.TrainImages > 2000 {
				s.FineTune.TrainImages = 2000
			}
		}
	}
	if len(seeds) > 0 {
		s.Seeds = append([]int64(nil), seeds...)
	}
	if rewardImages > 0 {
		s.RewardImages = rewardImages
	}
	if finalImages > 0 {
		s.FinalImages = finalImages
	}
}

// Package experiments reads the declarative experiment specs (YAML files in
// this folder): one spec is the whole description of an experiment, and the
// same spec run twice gives the same rows.
package experiments

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"github.com/amcbench/amc/agent"
	_ "github.com/amcbench/amc/baselines" // registers uniform, deep, shallow and random
	"github.com/amcbench/amc/datasets"

	"github.com/amcbench/amc/env"
	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/internal/suggest"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"go.yaml.in/yaml/v3"
)

// Spec is one experiment.
type Spec struct {
	Name     string `yaml:"name"`
	Model    string `yaml:"model"`
	Weights  string `yaml:"weights"` // relative paths are relative to the spec file
	Data     string `yaml:"data"`
	Protocol string `yaml:"protocol"`
	Budget   string `yaml:"budget"`
	// Budgets runs the spec once per budget (a Pareto front over budgets):
	// Expand turns it into one spec per budget, named NAME-BUDGET, each its
	// own task; Family keeps NAME so the report can draw the front.
	Budgets      []string   `yaml:"budgets"`
	Family       string     `yaml:"-"`
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
	// References are networks trained at their own size (the paper's
	// width-scaled MobileNets, a shallower ResNet): evaluated on the runs'
	// images and reported beside them, not searched or pruned.
	References []Reference `yaml:"references"`
	Path       string      `yaml:"-"`

	lines map[string]int // the line of every field the file sets, by path
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

// Reference is a trained network that a spec's pruned networks are
// compared with: the same images, the same MACs, params and latency ratios
// (against the spec's unpruned model), in the report's tables and plots. It
// is evaluated as it is (not fine-tuned): train it with the recipe of the
// spec's model for a fair comparison.
type Reference struct {
	Name    string `yaml:"name"`    // default: the model's name; it names the reference in reports
	Model   string `yaml:"model"`   // a zoo model (amc models), such as mobilenet_v2@0.75
	Weights string `yaml:"weights"` // relative paths are relative to the spec file
}

// Latency sets how Go-engine latency is measured: the per-group table
// (built for latency budgets, or always with table: true) and the final
// measurement of every run's best network.
type Latency struct {
	Batch   int  `yaml:"batch"`   // samples per forward pass (default 1)
	Workers int  `yaml:"workers"` // threads (default 1: one core, least disturbed by other processes)
	Points  int  `yaml:"points"`  // table grid counts per group (default 8)
	Table   bool `yaml:"table"`   // build the table even without a latency budget (predicted latency per episode)
	// File is a latency table measured elsewhere (env.LatencyTable's JSON,
	// docs/onnx.md; relative to the spec): used instead of measuring on the
	// Go engine, and the search's best policy is then not re-fitted on
	// measured Go latency.
	File string `yaml:"file"`
}

// Strategy is one agent or baseline of a spec.
type Strategy struct {
	Name string `yaml:"name"`
	// Label files and reports the entry's runs under a name of its own
	// (default: Name), so that one agent can be compared with itself under
	// other params or another schedule, as in {name: ddpg, label:
	// ddpg-official, schedule: official}.
	Label    string `yaml:"label"`
	Episodes int    `yaml:"episodes"` // default: the spec's
	// Warmup is the older form of DDPG's params.warmup (0: the default);
	// Load moves it into Params.
	Warmup int `yaml:"warmup"`
	// Schedule names a preset of episodes, warm-up and replay buffer:
	// "official" is the official AMC code's, 800 episodes of which the
	// first 100 random, a buffer of 100 episodes' transitions (DDPG only).
	// Load and Check apply it and clear it.
	Schedule string `yaml:"schedule"`
	// Command runs an agent written in any language as a child process
	// speaking the external-agent protocol (docs/external-agents.md).
	Command []string `yaml:"command"`
	// Params are a built-in strategy's parameters, decoded strictly by the
	// strategy (agent.Strategy.DecodeParams), or an external agent's,
	// passed to it in its hello message.
	Params agent.Params `yaml:"params"`
	// Timeout bounds each request to an external agent, in seconds
	// (default 60).
	Timeout float64 `yaml:"timeout"`
}

// RunName is the name the entry's runs are filed and reported under: its
// Label, or its Name without one.
func (st Strategy) RunName() string {
	if st.Label != "" {
		return st.Label
	}
	return st.Name
}

// OfficialEpisodes, OfficialWarmup and OfficialReplayEpisodes are the
// official AMC code's DDPG schedule (amc_search.py: 800 episodes, warm-up
// 100, a replay buffer of rmsize 100 x the prunable layers: 100 episodes'
// worth of transitions).
const (
	OfficialEpisodes       = 800
	OfficialWarmup         = 100
	OfficialReplayEpisodes = 100
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Load reads a spec strictly: unknown fields, wrong types, a float where an
// integer belongs, a number outside its range and a second YAML document
// are errors naming the file (and the line and field where there is one).
// Defaults fill what the spec leaves out.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	s, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("spec %s: %w", path, err)
	}
	s.Path = path
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("spec %s: %w", path, err)
	}
	return s, nil
}

// Check fills the defaults of what a spec leaves out and checks the
// rest, as Load does: for a spec built in code. It moves a strategy's
// warmup and schedule into its params and episodes; relative weights are
// taken relative to the spec's Path. Check a spec once. Errors name no
// file.
func (s *Spec) Check() error {
	if err := s.defaults(); err != nil {
		return err
	}
	if err := s.checkModel(); err != nil {
		return err
	}
	return s.checkReferences()
}

// parse decodes one YAML document strictly into a Spec and checks its
// numbers.
func parse(b []byte) (*Spec, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("empty: a spec is one YAML document (name, model, weights, budget, strategies, ...)")
		}
		return nil, err
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("a spec is one YAML document, and what follows its --- does not parse: %w", err)
	default:
		return nil, fmt.Errorf("line %d: a second YAML document (after ---): a spec is one YAML document; put each experiment in its own file", max(extra.Line, 1))
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	lines := map[string]int{}
	if err := scanYAML(&doc, reflect.TypeOf(s), "", lines); err != nil {
		return nil, err
	}
	s.lines = lines
	if err := s.checkNumbers(lines); err != nil {
		return nil, err
	}
	return &s, nil
}

// checkModel checks the model name and bounds the calibration positions by
// the model's input: more random positions per image than its map has
// only repeats positions (and grew memory without bound).
func (s *Spec) checkModel() error {
	g, err := models.Build(s.Model)
	if err != nil {
		return s.at("model", err)
	}
	info, err := datasets.Describe(s.Data)
	if err != nil {
		return s.at("data", err)
	}
	if g.Input.H != info.Side || g.Input.W != info.Side {
		return s.at("model", fmt.Errorf("model %s takes %dx%d images, and data %s has %dx%d (ImageNet models go with data: imagenet, CIFAR ones with cifar10)",
			s.Model, g.Input.H, g.Input.W, s.Data, info.Side, info.Side))
	}
	if info.TrainIsSample && s.FineTune != nil {
		return s.at("finetune", fmt.Errorf("finetune: amc does not fine-tune on %s (its train split is a 3-per-class calibration pool, not the training set); fine-tune the best networks (DIR/SPEC/STRATEGY-sSEED/best) in your own ImageNet pipeline: docs/onnx.md and docs/pruned-format.md say how to load them", s.Data))
	}
	hw := g.Input.H * g.Input.W
	r := numcheck.Between(1, float64(hw)).Ints().Means(fmt.Sprintf("%s's %dx%d input has %d positions", s.Model, g.Input.H, g.Input.W, hw))
	return s.at("calibration.positions", r.CheckInt("calibration.positions", int64(s.Calibration.Positions)))
}

// checkReferences fills each reference's name and resolves its weights, and
// refuses a reference the spec's runs cannot be compared with: an unknown
// model, other inputs or another number of classes, a name used twice or
// taken by one of the spec's strategies.
func (s *Spec) checkReferences() error {
	if len(s.References) == 0 {
		return nil
	}
	g, err := models.Build(s.Model)
	if err != nil {
		return s.at("model", err)
	}
	classes, err := outputs(g)
	if err != nil {
		return s.at("model", err)
	}
	runs := map[string]bool{}
	for _, st := range s.Strategies {
		runs[st.RunName()] = true
	}
	seen := map[string]bool{}
	for i := range s.References {
		r := &s.References[i]
		at := func(field string, err error) error {
			path := fmt.Sprintf("references[%d].%s", i, field)
			if _, ok := s.lines[path]; !ok { // a missing field: the entry's line
				path = fmt.Sprintf("references[%d]", i)
			}
			return s.at(path, fmt.Errorf("references[%d]: %w", i, err))
		}
		if r.Model == "" {
			return at("model", fmt.Errorf("model is required (a zoo model: %s)", strings.Join(models.Names(), ", ")))
		}
		if r.Weights == "" {
			return at("weights", fmt.Errorf("reference %s: weights is required (the trained network's safetensors)", r.Model))
		}
		if r.Name == "" {
			r.Name = r.Model
		}
		if !nameRE.MatchString(strings.ReplaceAll(r.Name, "@", "_")) {
			return at("name", fmt.Errorf("name %q: use letters, digits, '.', '_', '-' and '@' (it names the reference's file)", r.Name))
		}
		if r.Name == "summary" { // references/summary.json would read as a run's summary
			return at("name", fmt.Errorf("reference name %q is reserved; pick another name:", r.Name))
		}
		if seen[r.Name] {
			return at("name", fmt.Errorf("reference name %q used twice; give each reference a name: of its own", r.Name))
		}
		if runs[r.Name] {
			return at("name", fmt.Errorf("reference name %q is one of the spec's strategies; give the reference another name:", r.Name))
		}
		seen[r.Name] = true
		rg, err := models.Build(r.Model)
		if err != nil {
			return at("model", err)
		}
		if rg.Input != g.Input {
			return at("model", fmt.Errorf("reference %s takes %dx%dx%d inputs and the spec's %s %dx%dx%d: compare networks on the same images",
				r.Model, rg.Input.C, rg.Input.H, rg.Input.W, s.Model, g.Input.C, g.Input.H, g.Input.W))
		}
		rc, err := outputs(rg)
		if err != nil {
			return at("model", err)
		}
		if rc != classes {
			return at("model", fmt.Errorf("reference %s has %d outputs and the spec's %s %d: compare networks of the same task", r.Model, rc, s.Model, classes))
		}
		r.Weights = s.fromSpec(r.Weights)
	}
	return nil
}

// outputs is the number of a network's outputs (its classes).
func outputs(g *nn.Graph) (int, error) {
	sh, err := g.Shapes()
	if err != nil {
		return 0, err
	}
	o := sh[g.Output()]
	return o.C * o.H * o.W, nil
}

// fromSpec resolves a path the spec names: relative paths are relative to
// the spec's folder.
func (s *Spec) fromSpec(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(filepath.Dir(s.Path), path)
}

// at prefixes err (if not nil) with the line of the field at path.
func (s *Spec) at(path string, err error) error {
	if err == nil {
		return nil
	}
	if l, ok := s.lines[path]; ok && l > 0 {
		return fmt.Errorf("line %d: %w", l, err)
	}
	return err
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
		return fmt.Errorf("strategies: list at least one (%s, or an external agent with a command)", strings.Join(agent.Names(), ", "))
	}
	s.Weights = s.fromSpec(s.Weights)
	if s.Data == "" {
		s.Data = "cifar10"
	}
	if s.Protocol == "" {
		s.Protocol = "constrained"
	}
	switch s.Granularity {
	case "", "channel", "fine":
	default:
		return fmt.Errorf("granularity %q: want channel (remove channels, the default) or fine (zero single weights)", s.Granularity)
	}
	switch s.Protocol {
	case env.Constrained:
		if len(s.Budgets) > 0 {
			if err := s.checkBudgets(); err != nil {
				return err
			}
			break
		}
		if s.Budget == "" {
			return fmt.Errorf("budget is required for the constrained protocol (macs=F, params=F or latency=F)")
		}
		if _, err := env.ParseBudget(s.Budget); err != nil {
			return s.at("budget", err)
		}
	case env.Accuracy:
		if len(s.Budgets) > 0 {
			return s.at("budgets", fmt.Errorf("budgets: a budget only goes with the constrained protocol"))
		}
		if s.Budget != "" {
			return s.at("budget", fmt.Errorf("budget %q: a budget only goes with the constrained protocol; the accuracy protocol has none (remove the budget, or set protocol: constrained)", s.Budget))
		}
	default:
		valid := []string{env.Constrained, env.Accuracy}
		return s.at("protocol", fmt.Errorf("unknown protocol %q%s; valid: %s", s.Protocol, suggest.DidYouMean(s.Protocol, valid), strings.Join(valid, ", ")))
	}
	if f := s.FineTune; f != nil {
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
	}
	if s.Latency.File != "" {
		latency := false
		for _, text := range append([]string{s.Budget}, s.Budgets...) {
			if b, err := env.ParseBudget(text); err == nil && b.Kind == "latency" {
				latency = true
			}
		}
		if !latency && !s.Latency.Table {
			return s.at("latency.file", fmt.Errorf("latency.file: a latency table is used only with a latency budget or latency.table: true"))
		}
		s.Latency.File = s.fromSpec(s.Latency.File)
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
		if !nameRE.MatchString(st.Name) {
			return s.at(fmt.Sprintf("strategies[%d].name", i), fmt.Errorf("strategy name %q: want letters, digits, '.', '_' or '-' (it names the run's folder)", st.Name))
		}
		if st.Label == st.Name {
			st.Label = "" // the agent's own name: no label, the same runs as without one
		}
		if st.Label != "" {
			if !nameRE.MatchString(st.Label) {
				return s.at(fmt.Sprintf("strategies[%d].label", i), fmt.Errorf("strategy %s: label %q: want letters, digits, '.', '_' or '-' (it names the run's folder)", st.Name, st.Label))
			}
			if _, err := agent.Lookup(st.Label); err == nil {
				return s.at(fmt.Sprintf("strategies[%d].label", i), fmt.Errorf("strategy %s: label %q is another strategy's name; pick one a reader cannot take for it, such as %s-%s", st.Name, st.Label, st.Name, st.Label))
			}
		}
		if seen[st.RunName()] {
			if st.Label == "" {
				return s.at(fmt.Sprintf("strategies[%d].name", i), fmt.Errorf("strategy %q listed twice; give the second a label of its own (label: %s-2)", st.Name, st.Name))
			}
			return s.at(fmt.Sprintf("strategies[%d].label", i), fmt.Errorf("strategy label %q used twice", st.Label))
		}
		seen[st.RunName()] = true
		if len(st.Command) == 0 && st.Timeout != 0 {
			return s.at(fmt.Sprintf("strategies[%d].timeout", i), fmt.Errorf("strategy %s: timeout goes with command (an external agent)", st.Name))
		}
		if !(st.Timeout >= 0) || st.Timeout > 86400 {
			return s.at(fmt.Sprintf("strategies[%d].timeout", i), fmt.Errorf("strategy %s: timeout %v: want seconds in [0, 86400] (0: 60)", st.Name, st.Timeout))
		}
		if st.Warmup != 0 && len(st.Command) > 0 {
			return s.at(fmt.Sprintf("strategies[%d].warmup", i), fmt.Errorf("strategy %s: warmup is DDPG's; an external agent takes params: (passed to it as given)", st.Name))
		}
		if st.Warmup != 0 {
			if _, both := st.Params["warmup"]; both {
				return s.at(fmt.Sprintf("strategies[%d].warmup", i), fmt.Errorf("strategy %s: warmup given twice; keep params: {warmup: N}", st.Name))
			}
			if st.Params == nil {
				st.Params = agent.Params{}
			}
			st.Params["warmup"], st.Warmup = st.Warmup, 0
		}
		switch st.Schedule {
		case "":
		case "official":
			if st.Name != "ddpg" || len(st.Command) > 0 {
				return s.at(fmt.Sprintf("strategies[%d].schedule", i), fmt.Errorf("strategy %s: schedule official is DDPG's (800 episodes, the first 100 random)", st.Name))
			}
			_, w := st.Params["warmup"]
			_, c := st.Params["capacity"]
			_, r := st.Params["replay_episodes"]
			if w || c || r || st.Episodes != 0 {
				return s.at(fmt.Sprintf("strategies[%d].schedule", i), fmt.Errorf("strategy %s: schedule official sets episodes (800), warmup (100) and the replay buffer (replay_episodes: 100); drop them", st.Name))
			}
			if st.Params == nil {
				st.Params = agent.Params{}
			}
			st.Episodes, st.Params["warmup"], st.Params["replay_episodes"], st.Schedule = OfficialEpisodes, OfficialWarmup, OfficialReplayEpisodes, "" // applied
		default:
			return s.at(fmt.Sprintf("strategies[%d].schedule", i), fmt.Errorf("strategy %s: unknown schedule %q; valid: official (800 episodes, warm-up 100)", st.Name, st.Schedule))
		}
		if st.Episodes == 0 {
			st.Episodes = s.Episodes
		}
		if st.Episodes < 1 {
			return s.at(fmt.Sprintf("strategies[%d].episodes", i), fmt.Errorf("strategy %s: episodes must be positive", st.Name))
		}
		if len(st.Command) > 0 {
			if _, err := agent.Lookup(st.Name); err == nil {
				return s.at(fmt.Sprintf("strategies[%d].name", i), fmt.Errorf("strategy %s has a command: an external agent needs a name of its own (the built-in %s runs without one)", st.Name, st.Name))
			}
			continue
		}
		strat, err := agent.Lookup(st.Name)
		if err != nil {
			return s.at(fmt.Sprintf("strategies[%d].name", i), fmt.Errorf("%w (or give a command: for an external agent)", err))
		}
		if _, err := strat.DecodeParams(st.Params, st.Episodes); err != nil {
			path := fmt.Sprintf("strategies[%d].params", i)
			var pe *agent.ParamError
			if errors.As(err, &pe) {
				if legacy := fmt.Sprintf("strategies[%d].warmup", i); pe.Key == "warmup" && s.lines[legacy] > 0 {
					path = legacy
				} else if _, given := st.Params[pe.Key]; given {
					path += "." + pe.Key
				}
			}
			return s.at(path, err)
		}
	}
	return nil
}

// checkBudgets checks a budgets: list: given instead of budget, two or
// more distinct budgets of one resource.
func (s *Spec) checkBudgets() error {
	if s.Budget != "" {
		return s.at("budgets", fmt.Errorf("give budget (one) or budgets (a list), not both"))
	}
	if len(s.Budgets) < 2 {
		return s.at("budgets", fmt.Errorf("budgets: list two or more (for one budget, write budget: %s)", s.Budgets[0]))
	}
	kind, seen := "", map[float64]bool{}
	for i, b := range s.Budgets {
		pb, err := env.ParseBudget(b)
		if err != nil {
			return s.at("budgets", fmt.Errorf("budgets[%d]: %w", i, err))
		}
		if kind != "" && pb.Kind != kind {
			return s.at("budgets", fmt.Errorf("budgets: %s and %s: a front is over one resource; use one spec per resource", s.Budgets[0], b))
		}
		if seen[pb.Fraction] {
			return s.at("budgets", fmt.Errorf("budgets: %s twice", b))
		}
		kind, seen[pb.Fraction] = pb.Kind, true
	}
	return nil
}

// Expand returns one spec per budget of a budgets: list (named
// NAME-RESOURCEF, e.g. sweep-macs0.25, with Family NAME), or the spec
// itself.
func (s *Spec) Expand() []*Spec {
	if len(s.Budgets) == 0 {
		return []*Spec{s}
	}
	var out []*Spec
	for _, b := range s.Budgets {
		c := *s
		pb, _ := env.ParseBudget(b) // checked by Load
		c.Budgets, c.Budget, c.Family = nil, fmt.Sprintf("%s=%g", pb.Kind, pb.Fraction), s.Name
		c.Name = fmt.Sprintf("%s-%s%g", s.Name, pb.Kind, pb.Fraction)
		out = append(out, &c)
	}
	return out
}

// ApplyOverrides replaces the spec's sizes for a quick run (zero or empty
// values keep the spec's own; negative ones are the caller's to refuse, as
// amc run's flag checks do): every strategy's episodes (the DDPG warm-up
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
			if w, ok := wholeNumber(st.Params["warmup"]); ok && len(st.Command) == 0 {
				st.Params["warmup"] = min(w, episodes/3)
			}
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

// wholeNumber is v as an int when it is a whole number of any numeric type
// YAML or JSON decoding gives (50 and 50.0 alike).
func wholeNumber(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case uint64:
		return int(x), x <= math.MaxInt32
	case float64:
		return int(x), x == math.Trunc(x) && math.Abs(x) <= math.MaxInt32
	}
	return 0, false
}

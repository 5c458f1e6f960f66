package prune

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/weights"
)

// SpecFormat names the pruned-model format (docs/pruned-format.md).
const SpecFormat = "amc-pruned/1"

// SpecFile and WeightsFile are the files of a pruned-model directory.
const (
	SpecFile    = "prune.json"
	WeightsFile = "model.safetensors"
)

// LayerSpec is one layer's channel counts after pruning.
type LayerSpec struct {
	InChannels  int   `json:"in_channels"`
	OutChannels int   `json:"out_channels"`
	Groups      int   `json:"groups,omitempty"`
	Map         []int `json:"map,omitempty"` // option-A shortcut: input channel per output channel, -1 for zero
}

// GroupSpec records one group's kept channels.
type GroupSpec struct {
	Name     string  `json:"name"`
	Channels int     `json:"channels"`
	Ratio    float64 `json:"ratio"`
	Kept     []int   `json:"kept"`
}

// Spec is a pruned model: the base zoo model, what changed in each layer,
// and how it was made. With model.safetensors beside it, it is the whole model.
type Spec struct {
	Format         string                 `json:"format"`
	BaseModel      string                 `json:"base_model"`
	SourceWeights  string                 `json:"source_weights,omitempty"`
	Normalization  datasets.Normalization `json:"normalization"`
	Layers         map[string]LayerSpec   `json:"layers"`
	Groups         []GroupSpec            `json:"groups,omitempty"`
	Residual       bool                   `json:"residual_groups"`
	Multiple       int                    `json:"channel_multiple,omitempty"`
	Criterion      string                 `json:"criterion,omitempty"`
	Reconstruction *ReconstructionSpec    `json:"reconstruction,omitempty"`
	Density        map[string]float64     `json:"density,omitempty"` // fine-grained: fraction of weights kept per layer
	MACs           int64                  `json:"macs"`
	Params         int64                  `json:"params"`
	BaseMACs       int64                  `json:"base_macs"`
	BaseParams     int64                  `json:"base_params"`
}

// ReconstructionSpec records how the weights were re-fitted.
type ReconstructionSpec struct {
	Data      string  `json:"data"`
	Split     string  `json:"split"`
	Images    int     `json:"images"`
	Positions int     `json:"positions"`
	Ridge     float64 `json:"ridge"`
	Seed      uint64  `json:"seed"`
	Seconds   float64 `json:"seconds"`
}

// LayerSpecs lists the layers of pruned whose channels differ from base.
func LayerSpecs(base, pruned *nn.Graph) map[string]LayerSpec {
	out := map[string]LayerSpec{}
	for i, n := range pruned.Nodes {
		b := base.Nodes[i]
		if n.InC != b.InC || n.OutC != b.OutC || n.Groups != b.Groups || n.Map != nil {
			out[n.Name] = LayerSpec{InChannels: n.InC, OutChannels: n.OutC, Groups: n.Groups, Map: n.Map}
		}
	}
	return out
}

// Rebuild applies layer specs to a fresh base graph.
func Rebuild(base string, layers map[string]LayerSpec) (*nn.Graph, error) {
	g, err := models.Build(base)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(layers))
	for name := range layers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		l := layers[name]
		n := g.Node(name)
		if n == nil {
			return nil, fmt.Errorf("pruned spec names layer %q, which %s does not have", name, base)
		}
		n.InC, n.OutC, n.Map = l.InChannels, l.OutChannels, l.Map
		if l.Groups > 0 {
			n.Groups = l.Groups
		}
	}
	if _, err := g.Shapes(); err != nil {
		return nil, fmt.Errorf("pruned spec does not describe a valid %s: %w", base, err)
	}
	return g, nil
}

// Save writes dir/prune.json and dir/model.safetensors, each atomically.
func Save(dir string, spec *Spec, p nn.Params) error {
	spec.Format = SpecFormat
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	meta := map[string]string{weights.MetaModel: spec.BaseModel, weights.MetaNormalization: weights.NormalizationMeta(spec.Normalization),
		"amc.pruned": SpecFile}
	if err := weights.SaveSafetensors(filepath.Join(dir, WeightsFile), p, meta); err != nil {
		return err
	}
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, SpecFile), append(b, '\n'))
}

// ReadSpec reads and checks dir/prune.json alone: a search's committed best/
// folder keeps it without the weights, which Replay can re-make.
func ReadSpec(dir string) (*Spec, error) {
	b, err := os.ReadFile(filepath.Join(dir, SpecFile))
	if err != nil {
		return nil, fmt.Errorf("pruned model %s: %w (a pruned model is a folder written by amc prune)", dir, err)
	}
	var spec Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("pruned model %s: %s: %w", dir, SpecFile, err)
	}
	if spec.Format != SpecFormat {
		return nil, fmt.Errorf("pruned model %s: format %q, want %q", dir, spec.Format, SpecFormat)
	}
	if err := spec.Normalization.Validate(); err != nil {
		return nil, fmt.Errorf("pruned model %s: %w", dir, err)
	}
	return &spec, nil
}

// Load reads a pruned-model directory and checks weights against the spec.
func Load(dir string) (*Spec, *nn.Graph, nn.Params, error) {
	spec, err := ReadSpec(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	g, err := Rebuild(spec.BaseModel, spec.Layers)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("pruned model %s: %w", dir, err)
	}
	f, err := weights.Load(filepath.Join(dir, WeightsFile))
	if err != nil {
		return nil, nil, nil, err
	}
	if err := g.Check(f.Params); err != nil {
		return nil, nil, nil, fmt.Errorf("pruned model %s: %w", dir, err)
	}
	return spec, g, f.Params, nil
}

// UniformForMACs finds the largest uniform preserve ratio (to 1e-4) whose
// pruned MACs are at most frac of the original, and the resulting counts.
func (a *Analysis) UniformForMACs(frac float64, multiple int) (float64, []int, error) {
	base := a.PredictMACs(a.FullCounts())
	target := int64(frac * float64(base))
	lo, hi := 0.0, 1.0
	counts, err := a.Counts(a.Uniform(1e-9), multiple)
	if err != nil {
		return 0, nil, err
	}
	if a.PredictMACs(counts) > target {
		return 0, nil, fmt.Errorf("no uniform policy reaches %.1f%% of the MACs: the smallest reaches %.1f%%",
			100*frac, 100*float64(a.PredictMACs(counts))/float64(base))
	}
	for hi-lo > 1e-4 {
		mid := (lo + hi) / 2
		c, _ := a.Counts(a.Uniform(mid), multiple)
		if a.PredictMACs(c) <= target {
			lo = mid
		} else {
			hi = mid
		}
	}
	counts, _ = a.Counts(a.Uniform(max(lo, 1e-9)), multiple)
	return lo, counts, nil
}

// FullCounts is every group at its full width.
func (a *Analysis) FullCounts() []int {
	c := make([]int, len(a.Groups))
	for i, g := range a.Groups {
		c[i] = g.Channels
	}
	return c
}

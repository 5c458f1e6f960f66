package harness

import (
	"fmt"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/amcbench/amc/weights"
)

// Model is a network with its weights: a zoo model or a pruned model.
type Model struct {
	Name   string
	Graph  *nn.Graph
	Params nn.Params
	Norm   datasets.Normalization
	File   *weights.File // the weights file of a zoo model (nil otherwise)
	Pruned *prune.Spec   // a pruned model's prune.json (nil otherwise)
}

// LoadModel builds the zoo model name (NAME or NAME@WIDTH) and loads and
// checks its weights (a PyTorch checkpoint or a .safetensors file).
func LoadModel(name, weightsPath string) (*Model, error) {
	g, err := models.Build(name)
	if err != nil {
		return nil, err
	}
	if weightsPath == "" {
		return nil, fmt.Errorf("model %s: weights are required (a .th/.pt/.pth PyTorch checkpoint or a .safetensors file)", name)
	}
	f, err := weights.Load(weightsPath)
	if err != nil {
		return nil, err
	}
	if m, ok := f.Meta[weights.MetaModel]; ok && m != name {
		return nil, fmt.Errorf("%s was saved for model %s, not %s", weightsPath, m, name)
	}
	if err := g.Check(f.Params); err != nil {
		return nil, fmt.Errorf("%s as %s: %w", weightsPath, name, err)
	}
	norm, err := f.Normalization()
	if err != nil {
		return nil, err
	}
	return &Model{Name: name, Graph: g, Params: f.Params, Norm: norm, File: f}, nil
}

// LoadPruned loads a pruned-model folder (prune.json and model.safetensors,
// as prune.Save writes them: a run's best/, amc prune's output).
func LoadPruned(dir string) (*Model, error) {
	spec, g, p, err := prune.Load(dir)
	if err != nil {
		return nil, err
	}
	return &Model{Name: spec.BaseModel + " (pruned: " + dir + ")", Graph: g, Params: p, Norm: spec.Normalization, Pruned: spec}, nil
}

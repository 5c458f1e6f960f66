package cli

import (
	"fmt"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/weights"
)

// loadedModel is a zoo network with its weights.
type loadedModel struct {
	Name   string
	Graph  *nn.Graph
	Params nn.Params
	Norm   datasets.Normalization
	File   *weights.File
}

// loadModel builds the zoo model and loads and checks its weights.
func loadModel(name, weightsPath string) (*loadedModel, error) {
	g, err := models.Build(name)
	if err != nil {
		return nil, err
	}
	if weightsPath == "" {
		return nil, fmt.Errorf("--weights is required (a .th/.pt/.pth PyTorch checkpoint or a .safetensors file)")
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
	return &loadedModel{Name: name, Graph: g, Params: f.Params, Norm: norm, File: f}, nil
}

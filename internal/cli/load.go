package cli

import (
	"fmt"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/amcbench/amc/weights"
	"github.com/spf13/cobra"
)

// loadedModel is a zoo network with its weights.
type loadedModel struct {
	Name   string
	Graph  *nn.Graph
	Params nn.Params
	Norm   datasets.Normalization
	File   *weights.File
	Pruned *prune.Spec
}

// modelFlags are the flags that name a network: a zoo model with weights,
// or a pruned-model folder.
type modelFlags struct {
	model, weights, pruned string
}

func (m *modelFlags) register(cmd *cobra.Command, needWeights bool) {
	cmd.Flags().StringVar(&m.model, "model", "", "zoo model (see amc models), NAME or NAME@WIDTH")
	help := "weights: PyTorch checkpoint (.th/.pt/.pth) or .safetensors"
	if !needWeights {
		help += " (default: random initialisation)"
	}
	cmd.Flags().StringVar(&m.weights, "weights", "", help)
	cmd.Flags().StringVar(&m.pruned, "pruned", "", "a pruned-model folder written by amc prune (instead of --model)")
}

// load returns the named network; random initialisation is allowed only if
// allowRandom.
func (m *modelFlags) load(allowRandom bool) (*loadedModel, error) {
	switch {
	case m.pruned != "" && (m.model != "" || m.weights != ""):
		return nil, fmt.Errorf("give either --pruned or --model/--weights, not both")
	case m.pruned != "":
		spec, g, p, err := prune.Load(m.pruned)
		if err != nil {
			return nil, err
		}
		return &loadedModel{Name: spec.BaseModel + " (pruned: " + m.pruned + ")", Graph: g, Params: p,
			Norm: spec.Normalization, Pruned: spec}, nil
	case m.model == "":
		return nil, fmt.Errorf("--model (or --pruned) is required")
	case m.weights == "" && allowRandom:
		g, err := models.Build(m.model)
		if err != nil {
			return nil, err
		}
		return &loadedModel{Name: m.model, Graph: g, Params: g.InitParams(1), Norm: datasets.ImageNetNorm}, nil
	}
	return loadModel(m.model, m.weights)
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

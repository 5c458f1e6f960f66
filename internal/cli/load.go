package cli

import (
	"fmt"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/harness"
	"github.com/amcbench/amc/models"
	"github.com/spf13/cobra"
)

// loadedModel is a network with its weights.
type loadedModel = harness.Model

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
		return harness.LoadPruned(m.pruned)
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
	if weightsPath == "" {
		return nil, fmt.Errorf("--weights is required (a .th/.pt/.pth PyTorch checkpoint or a .safetensors file)")
	}
	return harness.LoadModel(name, weightsPath)
}

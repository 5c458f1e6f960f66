package cli

import (
	"fmt"

	"path/filepath"

	"github.com/amcbench/amc/harness"
	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/amcbench/amc/train"
	"github.com/amcbench/amc/weights"
	"github.com/spf13/cobra"
)

// trainSummary is DIR/summary.json of amc train and amc finetune.
type trainSummary = harness.TrainSummary

func registerRecipe(cmd *cobra.Command, c *train.Config, lr float64) {
	f := cmd.Flags()
	f.IntVar(&c.Epochs, "epochs", c.Epochs, "epochs")
	f.IntVar(&c.Batch, "batch", c.Batch, "batch size")
	f.Float64Var(&c.LR, "lr", lr, "peak learning rate (cosine schedule after the warm-up)")
	f.Float64Var(&c.Momentum, "momentum", c.Momentum, "SGD momentum (Nesterov)")
	f.Float64Var(&c.WeightDecay, "wd", c.WeightDecay, "weight decay (conv and linear weights)")
	f.Float64Var(&c.WarmupEpochs, "warmup-epochs", c.WarmupEpochs, "linear learning-rate warm-up, in epochs")
	f.IntVar(&c.Pad, "pad", c.Pad, "random-crop padding in pixels (with horizontal flips)")
	f.BoolVar(&c.NoAugment, "no-augment", false, "no crops or flips")
	f.Uint64Var(&c.Seed, "seed", c.Seed, "random seed (data order, augmentation)")
	f.IntVar(&c.TrainImages, "train-images", 0, "training images per epoch (0: the whole 45,000-image split)")
	f.IntVar(&c.EvalImages, "eval-images", 0, "held-out images evaluated after each epoch, and held-out and test images evaluated before and after (0: all)")
	limitFlags(cmd, map[string]numcheck.Range{
		"epochs": count, "batch": count, "lr": numcheck.Above(0), "momentum": numcheck.Range{Min: 0, Max: 1, MaxOpen: true},
		"wd": numcheck.AtLeast(0), "warmup-epochs": numcheck.AtLeast(0), "pad": countOrZero, "seed": anyInt,
		"train-images": countOrZero.Means("0: all"), "eval-images": countOrZero.Means("0: all"),
	})
}

// fit trains m on the data set's training split into outDir and reports
// before/after accuracy; save exports the weights after every epoch.
func fit(cmd *cobra.Command, command string, m *loadedModel, df dataFlags, cfg train.Config, outDir string, save func(string, nn.Params) error) error {
	if outDir == "" {
		return fmt.Errorf("--out DIR is required")
	}
	s, err := harness.Fit(harness.Training{Command: command, Model: m, Data: df.data, Recipe: cfg, Out: outDir, Save: save},
		harness.Options{DataDir: df.dataDir, CacheDir: df.cacheDir, Log: cmd.ErrOrStderr()})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: held-out top-1 %.2f%% (before %.2f%%), test top-1 %.2f%% (before %.2f%%); %.0f training images/s; %s\n",
		m.Name, s.HeldoutTop1, s.BeforeHeldout, s.TestTop1, s.BeforeTest, s.ImagesPerSec, filepath.Join(outDir, train.WeightsFile))
	return nil
}

func newTrainCmd() *cobra.Command {
	var mf modelFlags
	var df dataFlags
	var outDir string
	cfg := train.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "train --model NAME [--weights PATH] --data NAME --epochs N --out DIR",
		Short: "Train a zoo model (from scratch or from weights) on the training split; resumes when DIR holds a checkpoint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if mf.pruned != "" {
				return fmt.Errorf("use amc finetune for pruned models")
			}
			m, err := mf.load(true)
			if err != nil {
				return err
			}
			meta := map[string]string{weights.MetaModel: mf.model, weights.MetaNormalization: weights.NormalizationMeta(m.Norm)}
			return fit(cmd, "train", m, df, cfg, outDir, func(dir string, p nn.Params) error {
				return weights.SaveSafetensors(filepath.Join(dir, train.WeightsFile), p, meta)
			})
		},
	}
	mf.register(cmd, false)
	df.register(cmd)
	registerRecipe(cmd, &cfg, 0.1)
	cmd.Flags().StringVar(&outDir, "out", "", "output folder: model.safetensors, train-state.gob, metrics.jsonl, summary.json")
	return cmd
}

func newFinetuneCmd() *cobra.Command {
	var df dataFlags
	var pruned, outDir string
	cfg := train.DefaultConfig()
	cfg.WarmupEpochs = 0
	cmd := &cobra.Command{
		Use:   "finetune --pruned DIR --data NAME --epochs N --out DIR",
		Short: "Fine-tune a pruned model (amc prune or a search's best/); fine-grained zeros stay zero; resumes when DIR holds a checkpoint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pruned == "" {
				return fmt.Errorf("--pruned DIR is required")
			}
			spec, g, p, err := prune.Load(pruned)
			if err != nil {
				return err
			}
			cfg.KeepZeros = cfg.KeepZeros || len(spec.Density) > 0
			m := &loadedModel{Name: spec.BaseModel + " (pruned: " + pruned + ")", Graph: g, Params: p, Norm: spec.Normalization, Pruned: spec}
			return fit(cmd, "finetune", m, df, cfg, outDir, func(dir string, p nn.Params) error { return prune.Save(dir, spec, p) })
		},
	}
	df.register(cmd)
	registerRecipe(cmd, &cfg, 0.01)
	cmd.Flags().StringVar(&pruned, "pruned", "", "pruned model folder (prune.json + model.safetensors)")
	cmd.Flags().BoolVar(&cfg.KeepZeros, "keep-zeros", false, "keep zero weights at zero (on by default for fine-grained pruned models)")
	cmd.Flags().StringVar(&outDir, "out", "", "output folder: the fine-tuned pruned model (prune.json, model.safetensors), train-state.gob, metrics.jsonl, summary.json")
	return cmd
}

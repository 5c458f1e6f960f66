package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"path/filepath"
	"time"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/evaluate"
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/prune"
	"github.com/amcbench/amc/train"
	"github.com/amcbench/amc/weights"
	"github.com/spf13/cobra"
)

// trainSummary is DIR/summary.json of amc train and amc finetune.
type trainSummary struct {
	Command       string        `json:"command"`
	Model         string        `json:"model"`
	Data          string        `json:"data"`
	Recipe        train.Config  `json:"recipe"`
	Epochs        []train.Epoch `json:"epochs"`
	BeforeHeldout float64       `json:"before_heldout_top1"`
	BeforeTest    float64       `json:"before_test_top1"`
	HeldoutTop1   float64       `json:"heldout_top1"`
	TestTop1      float64       `json:"test_top1"`
	ImagesPerSec  float64       `json:"train_images_per_second"` // mean over epochs
	Seconds       float64       `json:"seconds"`
	BLAS          string        `json:"blas"`
}

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
	s, err := fitTo(cmd.ErrOrStderr(), command, m, df, cfg, outDir, save)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: held-out top-1 %.2f%% (before %.2f%%), test top-1 %.2f%% (before %.2f%%); %.0f training images/s; %s\n",
		m.Name, s.HeldoutTop1, s.BeforeHeldout, s.TestTop1, s.BeforeTest, s.ImagesPerSec, filepath.Join(outDir, train.WeightsFile))
	return nil
}

// fitTo is fit writing its progress to log and returning the summary.
func fitTo(log io.Writer, command string, m *loadedModel, df dataFlags, cfg train.Config, outDir string, save func(string, nn.Params) error) (*trainSummary, error) {
	if outDir == "" {
		return nil, fmt.Errorf("--out DIR is required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ds, err := df.open()
	if err != nil {
		return nil, err
	}
	tr, err := ds.Load(datasets.Train)
	if err != nil {
		return nil, err
	}
	if err := cfg.ValidateFor(tr); err != nil {
		return nil, err
	}
	held, err := ds.Load(datasets.Heldout)
	if err != nil {
		return nil, err
	}
	test, err := ds.Load(datasets.Test)
	if err != nil {
		return nil, err
	}
	net, err := train.NewNet(m.Graph, m.Params)
	if err != nil {
		return nil, err
	}
	eval := func() (float64, float64, error) {
		pl, err := nn.Compile(m.Graph, m.Params, 0)
		if err != nil {
			return 0, 0, err
		}
		h, err := evaluate.Run(pl, held, m.Norm, evaluate.Options{Limit: cfg.EvalImages})
		if err != nil {
			return 0, 0, err
		}
		t, err := evaluate.Run(pl, test, m.Norm, evaluate.Options{Limit: cfg.EvalImages})
		return h.Top1, t.Top1, err
	}
	s := trainSummary{Command: command, Model: m.Name, Data: df.data, Recipe: cfg, BLAS: nn.BLASName}
	if s.BeforeHeldout, s.BeforeTest, err = eval(); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "%s: before: held-out %.2f%%, test %.2f%%\n", m.Name, s.BeforeHeldout, s.BeforeTest)
	var pr *progress
	start := time.Now()
	h := train.Hooks{SaveWeights: save, Log: log, Progress: func(epoch, step, steps int, loss float64) {
		if pr == nil || step == 1 {
			pr = newProgressUnit(log, steps, fmt.Sprintf("epoch %d/%d", epoch+1, cfg.Epochs), "batch")
		}
		pr.update(step, steps)
		if step == steps {
			pr.finish()
		}
	}}
	hist, err := train.Run(net, tr, held, m.Norm, cfg, outDir, h)
	if err != nil {
		return nil, err
	}
	s.Epochs, s.Seconds = hist, time.Since(start).Seconds()
	for _, e := range hist {
		s.ImagesPerSec += e.ImagesPerS / float64(len(hist))
	}
	if s.HeldoutTop1, s.TestTop1, err = eval(); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := atomicfile.WriteBytes(filepath.Join(outDir, "summary.json"), append(b, '\n')); err != nil {
		return nil, err
	}
	return &s, nil
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

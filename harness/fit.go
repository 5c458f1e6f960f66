package harness

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/evaluate"
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/internal/progress"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/train"
)

// TrainSummary is DIR/summary.json of a training or fine-tuning (Fit).
type TrainSummary struct {
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

// Training is a model to train or fine-tune on a data set's training split.
type Training struct {
	Command string // what the summary names: "train" or "finetune"
	Model   *Model
	Data    string // the data set's name (datasets.Open)
	Recipe  train.Config
	Out     string // the output folder: weights, train-state.gob (resumes), metrics.jsonl, summary.json
	// Save exports the weights into a folder after every epoch.
	Save func(dir string, p nn.Params) error
}

// Fit trains j.Model into j.Out (resuming from a checkpoint there) and
// evaluates it on the held-out and test splits before and after; progress
// goes to Options.Log.
func Fit(j Training, opt Options) (*TrainSummary, error) {
	log, m, cfg, outDir, save := opt.log(), j.Model, j.Recipe, j.Out, j.Save
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("harness: training: no model")
	}
	if outDir == "" {
		return nil, fmt.Errorf("harness: training %s: no output folder", m.Name)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if info, err := datasets.Describe(j.Data); err != nil {
		return nil, err
	} else if info.TrainIsSample {
		return nil, fmt.Errorf("harness: training %s on %s: its train split is a calibration pool, not the training set; train and fine-tune in your own ImageNet pipeline (the pruned network loads by name: docs/pruned-format.md, or as ONNX: docs/onnx.md)", m.Name, j.Data)
	}
	ds, err := datasets.Open(j.Data, datasets.Options{DataDir: opt.DataDir, CacheDir: opt.CacheDir})
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
	s := TrainSummary{Command: j.Command, Model: m.Name, Data: j.Data, Recipe: cfg, BLAS: nn.BLASName}
	if s.BeforeHeldout, s.BeforeTest, err = eval(); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "%s: before: held-out %.2f%%, test %.2f%%\n", m.Name, s.BeforeHeldout, s.BeforeTest)
	var pr *progress.Bar
	start := time.Now()
	h := train.Hooks{SaveWeights: save, Log: log, Progress: func(epoch, step, steps int, loss float64) {
		if pr == nil || step == 1 {
			pr = progress.NewUnit(log, steps, fmt.Sprintf("epoch %d/%d", epoch+1, cfg.Epochs), "batch")
		}
		pr.Update(step, steps)
		if step == steps {
			pr.Finish()
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

package train

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/evaluate"
	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/nn"
)

// Config is a training recipe.
type Config struct {
	Epochs       int
	Batch        int     // 128
	LR           float64 // peak learning rate
	Momentum     float64 // 0.9
	Nesterov     bool    // true
	WeightDecay  float64 // 5e-4
	WarmupEpochs float64 // linear warm-up before the cosine decay
	Pad          int     // random-crop padding (4); 0 with NoAugment
	NoAugment    bool
	Seed         uint64
	TrainImages  int // 0: the whole training split
	EvalImages   int // held-out images evaluated per epoch (0: all)
	// KeepZeros keeps every conv and linear weight that is zero at the
	// start at zero (fine-grained pruned models).
	KeepZeros bool
}

// DefaultConfig is the recipe used unless told otherwise: SGD with
// Nesterov momentum 0.9, weight decay 5e-4, batch 128, cosine schedule
// after one warm-up epoch, random crops and flips.
func DefaultConfig() Config {
	return Config{Epochs: 30, Batch: 128, LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 5e-4, WarmupEpochs: 1, Pad: 4, Seed: 1}
}

// Validate refuses a recipe with a number outside its range (NaN and
// infinities included), each error naming the field and the range.
func (c Config) Validate() error {
	count := func(name string, v int, r numcheck.Range) error { return r.Ints().CheckInt(name, int64(v)) }
	err := numcheck.All(
		count("epochs", c.Epochs, numcheck.AtLeast(1)),
		count("batch", c.Batch, numcheck.AtLeast(1)),
		numcheck.Above(0).Check("learning rate", c.LR),
		numcheck.Range{Min: 0, Max: 1, MaxOpen: true}.Check("momentum", c.Momentum),
		numcheck.AtLeast(0).Check("weight decay", c.WeightDecay),
		numcheck.Between(0, float64(max(c.Epochs, 0))).Means("at most the epochs").Check("warm-up epochs", c.WarmupEpochs),
		count("pad", c.Pad, numcheck.AtLeast(0)),
		count("train images", c.TrainImages, numcheck.AtLeast(0).Means("0: all")),
		count("eval images", c.EvalImages, numcheck.AtLeast(0).Means("0: all")),
	)
	if err != nil {
		return fmt.Errorf("train: recipe: %w", err)
	}
	return nil
}

// ValidateFor is Validate, and checks the recipe against the training
// images: at least one batch, and a crop padding smaller than the image.
func (c Config) ValidateFor(train *datasets.Images) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if train.N < c.Batch || (c.TrainImages > 0 && c.TrainImages < c.Batch) {
		return fmt.Errorf("train: fewer training images than one batch of %d", c.Batch)
	}
	if side := min(train.H, train.W); !c.NoAugment && c.Pad >= side {
		return fmt.Errorf("train: recipe: pad %d: want an integer in [0, %d] (a crop of a %dx%d image padded by its whole size can be all padding)", c.Pad, side-1, train.H, train.W)
	}
	return nil
}

// Epoch is one epoch's metrics.
type Epoch struct {
	Epoch       int     `json:"epoch"`
	TrainLoss   float64 `json:"train_loss"`
	TrainTop1   float64 `json:"train_top1"`
	HeldoutTop1 float64 `json:"heldout_top1"`
	LR          float64 `json:"lr_end"`
	Seconds     float64 `json:"seconds"`
	ImagesPerS  float64 `json:"images_per_second"`
}

// state is what is checkpointed besides the weights.
type state struct {
	Version  int
	Config   Config
	Epoch    int // epochs finished
	Velocity map[string][]float32
	Params   map[string][]float32 // every parameter and running statistic, as of Epoch
	RNG      []byte
	History  []Epoch
}

const stateVersion = 1

// Files in a training folder.
const (
	WeightsFile = "model.safetensors"
	StateFile   = "train-state.gob"
	MetricsFile = "metrics.jsonl"
)

// Hooks let the caller save weights in its own format and follow progress.
type Hooks struct {
	// SaveWeights exports the weights to dir/model.safetensors (and any
	// metadata), atomically, after every epoch. The checkpoint that training
	// resumes from is the state file, which holds the weights too.
	SaveWeights func(dir string, p nn.Params) error
	// Progress is called after each batch (may be nil).
	Progress func(epoch, step, steps int, loss float64)
	// Log receives a line per epoch (may be nil).
	Log io.Writer
}

// ErrNotFinite is returned when the loss becomes NaN or infinite.
var ErrNotFinite = errors.New("loss is not finite")

// Run trains net's parameters on train, evaluating on held after every
// epoch, and checkpoints dir after every epoch (weights, optimiser state,
// random state, metrics). If dir holds a checkpoint of the same recipe,
// training resumes after its last finished epoch and ends where an
// uninterrupted run ends. A non-finite loss stops training with
// ErrNotFinite; the last checkpoint (the last good epoch) is kept.
func Run(net *Net, train, held *datasets.Images, norm datasets.Normalization, cfg Config, dir string, h Hooks) ([]Epoch, error) {
	if err := cfg.ValidateFor(train); err != nil {
		return nil, err
	}
	classes := net.shapes[len(net.shapes)-1].Size()
	if len(train.Classes) > 0 && len(train.Classes) != classes {
		return nil, fmt.Errorf("train: the model has %d outputs, the data %d classes", classes, len(train.Classes))
	}
	if cfg.KeepZeros {
		net.Masks = map[string][]bool{}
		for _, s := range net.G.ParamSpecs() {
			if s.Learnable && len(s.Shape) > 1 {
				w := net.Params[s.Name].Data
				m := make([]bool, len(w))
				for i, v := range w {
					m[i] = v != 0
				}
				net.Masks[s.Name] = m
			}
		}
	}
	opt := NewSGD(net, SGDConfig{LR: cfg.LR, Momentum: cfg.Momentum, Nesterov: cfg.Nesterov, WeightDecay: cfg.WeightDecay})
	src := rand.NewPCG(cfg.Seed, 0x7a1)
	st := state{Version: stateVersion, Config: cfg}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	statePath := filepath.Join(dir, StateFile)
	if b, err := os.ReadFile(statePath); err == nil {
		var old state
		if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&old); err != nil {
			return nil, fmt.Errorf("train: %s is damaged (%v); delete it to start again", statePath, err)
		}
		if old.Version != stateVersion || old.Config != cfg {
			return nil, fmt.Errorf("train: %s holds a run with another recipe (%+v); use another folder or delete it", dir, old.Config)
		}
		for k, v := range old.Params {
			t, ok := net.Params[k]
			if !ok || len(t.Data) != len(v) {
				return nil, fmt.Errorf("train: %s: saved weights do not fit the model (%s)", statePath, k)
			}
			copy(t.Data, v)
		}
		if err := src.UnmarshalBinary(old.RNG); err != nil {
			return nil, err
		}
		for k, v := range old.Velocity {
			if dst, ok := opt.Velocity[k]; !ok || len(dst) != len(v) {
				return nil, fmt.Errorf("train: %s: optimiser state does not fit the model (%s)", statePath, k)
			}
			copy(opt.Velocity[k], v)
		}
		st = old
		if h.Log != nil {
			fmt.Fprintf(h.Log, "resuming %s after epoch %d of %d\n", dir, st.Epoch, cfg.Epochs)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	rng := rand.New(src)
	nTrain := train.N
	if cfg.TrainImages > 0 && cfg.TrainImages < nTrain {
		nTrain = cfg.TrainImages
	}
	steps := nTrain / cfg.Batch // the last partial batch is dropped
	total := steps * cfg.Epochs
	warm := int(cfg.WarmupEpochs * float64(steps))
	size := train.H * train.W * train.C
	raw := make([]uint8, cfg.Batch*size)
	labels := make([]int, cfg.Batch)
	dlogits := make([]float32, cfg.Batch*classes)
	aug := &datasets.Images{N: cfg.Batch, H: train.H, W: train.W, C: train.C, Pixels: raw, Labels: make([]uint16, cfg.Batch), Classes: train.Classes}
	ident := make([]int, cfg.Batch)
	for i := range ident {
		ident[i] = i
	}
	for epoch := st.Epoch; epoch < cfg.Epochs; epoch++ {
		start := time.Now()
		perm := rng.Perm(train.N)[:nTrain]
		var lossSum float64
		var correct int
		var lr float64
		for s := 0; s < steps; s++ {
			idx := perm[s*cfg.Batch : (s+1)*cfg.Batch]
			if cfg.NoAugment {
				for k, i := range idx {
					copy(raw[k*size:(k+1)*size], train.Image(i))
				}
			} else {
				train.Augment(raw, idx, cfg.Pad, rng)
			}
			for k, i := range idx {
				aug.Labels[k] = train.Labels[i]
			}
			aug.Batch(ident, norm, net.Input(cfg.Batch), labels)
			logits := net.Forward(cfg.Batch)
			loss, c := SoftmaxCrossEntropy(logits, labels, classes, dlogits)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return st.History, fmt.Errorf("train: epoch %d, step %d: %w (%v); %s; try a lower learning rate",
					epoch+1, s+1, ErrNotFinite, loss, kept(st.Epoch, dir))
			}
			lossSum += loss
			correct += c
			net.Backward(cfg.Batch, dlogits)
			lr = Cosine(cfg.LR, epoch*steps+s, total, warm)
			opt.Step(lr)
			if h.Progress != nil {
				h.Progress(epoch, s+1, steps, loss)
			}
		}
		sec := time.Since(start).Seconds()
		ev := Epoch{Epoch: epoch + 1, TrainLoss: lossSum / float64(steps), TrainTop1: 100 * float64(correct) / float64(steps*cfg.Batch),
			LR: lr, Seconds: sec, ImagesPerS: float64(steps*cfg.Batch) / sec}
		if held != nil {
			pl, err := nn.Compile(net.G, net.Params, 0)
			if err != nil {
				return st.History, err
			}
			r, err := evaluate.Run(pl, held, norm, evaluate.Options{Limit: cfg.EvalImages})
			if err != nil {
				return st.History, err
			}
			ev.HeldoutTop1 = r.Top1
		}
		for k, t := range net.Params {
			for _, v := range t.Data {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return st.History, fmt.Errorf("train: epoch %d: %s is not finite: %w; %s; try a lower learning rate",
						epoch+1, k, ErrNotFinite, kept(st.Epoch, dir))
				}
			}
		}
		// Checkpoint: the exported weights and metrics first, then the state
		// (weights included) that a resumed run continues from, so that a
		// crash in between only repeats this epoch.
		hist := append(append([]Epoch(nil), st.History...), ev)
		if err := h.SaveWeights(dir, net.Params); err != nil {
			return st.History, err
		}
		if err := writeMetrics(filepath.Join(dir, MetricsFile), hist); err != nil {
			return st.History, err
		}
		st.Epoch = epoch + 1
		st.Params = map[string][]float32{}
		for k, t := range net.Params {
			st.Params[k] = t.Data
		}
		st.History = hist
		st.Velocity = opt.Velocity
		var err error
		if st.RNG, err = src.MarshalBinary(); err != nil {
			return st.History, err
		}
		if err := atomicfile.Write(statePath, func(w io.Writer) error { return gob.NewEncoder(w).Encode(st) }); err != nil {
			return st.History, err
		}
		if h.Log != nil {
			fmt.Fprintf(h.Log, "epoch %d/%d: loss %.4f, train top-1 %.2f%%, held-out top-1 %.2f%%, %.0f images/s\n",
				ev.Epoch, cfg.Epochs, ev.TrainLoss, ev.TrainTop1, ev.HeldoutTop1, ev.ImagesPerS)
		}
	}
	return st.History, nil
}

// kept says what a stopped run leaves in dir: the checkpoint of its last
// finished epoch, or none when no epoch finished.
func kept(epochs int, dir string) string {
	if epochs == 0 {
		return fmt.Sprintf("no epoch finished, so no checkpoint was written to %s", dir)
	}
	return fmt.Sprintf("the last good checkpoint (epoch %d) is kept in %s", epochs, dir)
}

func writeMetrics(path string, hist []Epoch) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, e := range hist {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	})
}

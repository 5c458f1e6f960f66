package train

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/weights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// synthetic makes n 32x32 images whose class is visible (a bright square
// at a class-dependent place), so that a network can learn it.
func synthetic(n int, seed uint64) *datasets.Images {
	rng := rand.New(rand.NewPCG(seed, 3))
	im := &datasets.Images{N: n, H: 32, W: 32, C: 3, Pixels: make([]uint8, n*3072), Labels: make([]uint16, n), Classes: datasets.CIFAR10Classes}
	for i := 0; i < n; i++ {
		c := i % 10
		im.Labels[i] = uint16(c)
		px := im.Pixels[i*3072 : (i+1)*3072]
		for j := range px {
			px[j] = uint8(rng.IntN(80))
		}
		y0, x0 := (c/5)*14+2, (c%5)*6+1
		for y := y0; y < y0+10; y++ {
			for x := x0; x < x0+5; x++ {
				px[(y*32+x)*3+c%3] = 250
			}
		}
	}
	return im
}

func hooks() Hooks {
	return Hooks{SaveWeights: func(dir string, p nn.Params) error {
		return weights.SaveSafetensors(filepath.Join(dir, WeightsFile), p, nil)
	}}
}

func smallConfig() Config {
	c := DefaultConfig()
	c.Epochs, c.Batch, c.LR, c.WarmupEpochs, c.Pad = 3, 32, 0.05, 0.5, 2
	return c
}

func newNet(t *testing.T) *Net {
	g, err := models.Build("resnet20@0.25")
	require.NoError(t, err)
	net, err := NewNet(g, g.InitParams(1))
	require.NoError(t, err)
	return net
}

// Training learns the synthetic task, and a run killed in the middle of
// an epoch resumes from its last checkpoint and ends with exactly the
// weights and metrics of an uninterrupted run.
func TestTrainResumeAfterKillMidEpoch(t *testing.T) {
	tr, held := synthetic(320, 1), synthetic(100, 2)
	cfg := smallConfig()
	a := newNet(t)
	dirA := t.TempDir()
	histA, err := Run(a, tr, held, datasets.ImageNetNorm, cfg, dirA, hooks())
	require.NoError(t, err)
	require.Len(t, histA, 3)
	assert.Greater(t, histA[2].HeldoutTop1, 25.0, "well above chance (10%%): %+v", histA)
	assert.Greater(t, histA[2].TrainLoss, 0.0)
	assert.Less(t, histA[2].TrainLoss, histA[0].TrainLoss-0.3, "the loss falls")

	dirB := t.TempDir()
	h := hooks()
	h.Progress = func(epoch, step, steps int, loss float64) {
		if epoch == 1 && step == 4 {
			panic("killed")
		}
	}
	func() {
		defer func() { require.Equal(t, "killed", recover()) }()
		_, _ = Run(newNet(t), tr, held, datasets.ImageNetNorm, cfg, dirB, h)
	}()
	b := newNet(t) // a fresh process: weights from scratch, then the checkpoint
	histB, err := Run(b, tr, held, datasets.ImageNetNorm, cfg, dirB, hooks())
	require.NoError(t, err)
	for i := range histA {
		histA[i].Seconds, histA[i].ImagesPerS, histB[i].Seconds, histB[i].ImagesPerS = 0, 0, 0, 0
	}
	assert.Equal(t, histA, histB)
	for k, v := range a.Params {
		require.Equal(t, v.Data, b.Params[k].Data, k)
	}
	// The exported weights load back and match.
	f, err := weights.Load(filepath.Join(dirB, WeightsFile))
	require.NoError(t, err)
	assert.Equal(t, a.Params["linear.weight"].Data, f.Params["linear.weight"].Data)

	// Another recipe in the same folder is refused.
	other := cfg
	other.LR = 0.2
	_, err = Run(newNet(t), tr, held, datasets.ImageNetNorm, other, dirB, hooks())
	assert.ErrorContains(t, err, "another recipe")
}

// A loss that becomes NaN stops training with ErrNotFinite; the checkpoint
// of the last good epoch stays in place.
func TestTrainStopsOnNaNLoss(t *testing.T) {
	tr := synthetic(128, 1)
	cfg := smallConfig()
	net := newNet(t)
	h := hooks()
	h.Progress = func(epoch, step, steps int, loss float64) {
		if epoch == 1 && step == 2 {
			net.Params["linear.weight"].Data[0] = float32(math.NaN())
		}
	}
	dir := t.TempDir()
	hist, err := Run(net, tr, nil, datasets.ImageNetNorm, cfg, dir, h)
	require.ErrorIs(t, err, ErrNotFinite)
	assert.ErrorContains(t, err, "last good checkpoint (epoch 1)")
	assert.Len(t, hist, 1)
	b, err := os.ReadFile(filepath.Join(dir, MetricsFile))
	require.NoError(t, err)
	assert.Equal(t, 1, len(splitLines(string(b))))
	f, err := weights.Load(filepath.Join(dir, WeightsFile))
	require.NoError(t, err)
	for _, v := range f.Params["linear.weight"].Data {
		require.False(t, math.IsNaN(float64(v)), "the saved weights are the last good ones")
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i, c := range s {
		if c == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// The loss uses the model's own number of outputs; data with another
// number of classes is refused before anything is written.
func TestTrainClassesMustMatchOutputs(t *testing.T) {
	tr := synthetic(64, 1)
	tr.Classes = tr.Classes[:3]
	dir := filepath.Join(t.TempDir(), "out")
	_, err := Run(newNet(t), tr, nil, datasets.ImageNetNorm, smallConfig(), dir, hooks())
	assert.ErrorContains(t, err, "10 outputs, the data 3 classes")
	_, statErr := os.Stat(dir)
	assert.True(t, os.IsNotExist(statErr), "nothing written")
}

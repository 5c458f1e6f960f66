package train

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A recipe with a number outside its range is refused before anything is
// written, the error naming the field and the accepted range.
func TestRecipeValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		name string
		set  func(*Config)
		want string // "" when valid
	}{
		{"default", func(*Config) {}, ""},
		{"no augmentation, no pad", func(c *Config) { c.NoAugment, c.Pad = true, 0 }, ""},
		{"NaN weight decay", func(c *Config) { c.WeightDecay = nan }, "weight decay NaN: want a number >= 0"},
		{"negative weight decay", func(c *Config) { c.WeightDecay = -1e-4 }, "weight decay -0.0001: want a number >= 0"},
		{"NaN lr", func(c *Config) { c.LR = nan }, "learning rate NaN: want a number > 0"},
		{"infinite lr", func(c *Config) { c.LR = inf }, "learning rate +Inf: want a number > 0"},
		{"momentum 1", func(c *Config) { c.Momentum = 1 }, "momentum 1: want a number in [0, 1)"},
		{"NaN momentum", func(c *Config) { c.Momentum = nan }, "momentum NaN"},
		{"negative pad", func(c *Config) { c.Pad = -3 }, "pad -3: want an integer >= 0"},
		{"no epochs", func(c *Config) { c.Epochs = 0 }, "epochs 0: want an integer >= 1"},
		{"negative batch", func(c *Config) { c.Batch = -1 }, "batch -1: want an integer >= 1"},
		{"negative train images", func(c *Config) { c.TrainImages = -5 }, "train images -5: want an integer >= 0 (0: all)"},
		{"negative eval images", func(c *Config) { c.EvalImages = -5 }, "eval images -5"},
		{"NaN warm-up", func(c *Config) { c.WarmupEpochs = nan }, "warm-up epochs NaN"},
		{"warm-up longer than training", func(c *Config) { c.WarmupEpochs = 31 }, "warm-up epochs 31: want a number in [0, 30] (at most the epochs)"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		c.set(&cfg)
		err := cfg.Validate()
		if c.want == "" {
			assert.NoError(t, err, c.name)
			continue
		}
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
		// train.Run refuses it before creating its folder.
		dir := filepath.Join(t.TempDir(), "out")
		_, err = Run(newNet(t), synthetic(64, 1), nil, datasets.ImageNetNorm, cfg, dir, hooks())
		assert.ErrorContains(t, err, c.want, c.name)
		_, statErr := os.Stat(dir)
		assert.True(t, os.IsNotExist(statErr), "%s: nothing written", c.name)
	}
}

// A crop padding as large as the image is refused against the data.
func TestRecipePadAgainstImages(t *testing.T) {
	cfg := smallConfig()
	cfg.Pad = 32
	_, err := Run(newNet(t), synthetic(64, 1), nil, datasets.ImageNetNorm, cfg, filepath.Join(t.TempDir(), "out"), hooks())
	assert.ErrorContains(t, err, "pad 32: want an integer in [0, 31]")
	cfg.Pad = 31
	assert.NoError(t, cfg.ValidateFor(synthetic(64, 1)))
}

// A run that stops in its first epoch says that no checkpoint was written
// (it used to claim that the checkpoint of epoch 0 was kept).
func TestTrainStopsInFirstEpochWithoutCheckpoint(t *testing.T) {
	tr := synthetic(128, 1)
	cfg := smallConfig()
	net := newNet(t)
	h := hooks()
	h.Progress = func(epoch, step, steps int, loss float64) {
		if epoch == 0 && step == 1 {
			net.Params["linear.weight"].Data[0] = float32(math.NaN())
		}
	}
	dir := t.TempDir()
	_, err := Run(net, tr, nil, datasets.ImageNetNorm, cfg, dir, h)
	require.ErrorIs(t, err, ErrNotFinite)
	assert.ErrorContains(t, err, "no epoch finished, so no checkpoint was written")
	assert.NotContains(t, err.Error(), "is kept")
	_, statErr := os.Stat(filepath.Join(dir, StateFile))
	assert.True(t, os.IsNotExist(statErr), "no checkpoint")
}

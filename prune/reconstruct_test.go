package prune

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/evaluate"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/amcbench/amc/weights"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// synthetic images: the reconstruction must work on any inputs.
func fakeImages(n int, seed uint64) *datasets.Images {
	x := input(&nn.Graph{Input: nn.Shape{C: 3, H: 32, W: 32}}, n, seed)
	im := &datasets.Images{N: n, H: 32, W: 32, C: 3, Split: datasets.Train, Labels: make([]uint16, n),
		Pixels: make([]uint8, len(x)), Classes: datasets.CIFAR10Classes}
	for i, v := range x {
		im.Pixels[i] = uint8(min(255, max(0, 128+40*v)))
	}
	return im
}

func relErr(want, got []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(want[i] - got[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(num / den)
}

// Re-fitting the layers that read pruned channels brings the pruned
// network's outputs closer to the original's than selection alone.
func TestReconstructionReducesOutputError(t *testing.T) {
	for _, name := range []string{"resnet20", "mobilenet_v2@0.5", "vgg16@0.25", "vgg16"} {
		g, p := build(t, name)
		a, err := Analyze(g, Options{})
		require.NoError(t, err)
		im := fakeImages(120, 1)
		cal, err := Calibrate(a, p, im, datasets.ImageNetNorm, 100, 10, 7)
		require.NoError(t, err)
		sample := 0
		for _, l := range cal.layers {
			if l.sample {
				sample++
			}
		}
		if name == "vgg16" { // 512-channel 3x3 layers on 2x2 maps: 400 rows of 4,609 features
			assert.Positive(t, sample, "the sample form is used")
		} else {
			assert.Zero(t, sample, name)
		}
		counts, err := a.Counts(a.Uniform(0.6), 1)
		require.NoError(t, err)
		kept := a.Select(p, counts, L1In{})
		pg, pp, err := a.Apply(p, kept)
		require.NoError(t, err)
		rp := nn.Params{}
		for k, v := range pp {
			rp[k] = v
		}
		before := cloneParams(pp)
		require.NoError(t, cal.Reconstruct(pg, rp, kept, 1e-6))
		assert.Equal(t, before, pp, "Reconstruct must not modify tensors it did not replace")
		// Evaluate on images the calibration did not see.
		test := fakeImages(20, 99)
		x := make([]float32, 20*3072)
		im.Batch(seq(0), datasets.ImageNetNorm, x, nil)
		test.Batch(seq(20), datasets.ImageNetNorm, x, make([]int, 20))
		want := forward(t, g, p, x, 20)
		sel := relErr(want, forward(t, pg, pp, x, 20))
		rec := relErr(want, forward(t, pg, rp, x, 20))
		t.Logf("%s: relative output error %.3f selection only, %.3f reconstructed", name, sel, rec)
		assert.Less(t, rec, sel, name)
	}
}

func cloneParams(p nn.Params) nn.Params {
	c := nn.Params{}
	for k, v := range p {
		c[k] = cloneTensor(v)
	}
	return c
}

func TestCalibrationRefusesHeldout(t *testing.T) {
	g, p := build(t, "resnet20")
	a, _ := Analyze(g, Options{})
	im := fakeImages(4, 1)
	im.Split = datasets.Heldout
	_, err := Calibrate(a, p, im, datasets.ImageNetNorm, 4, 2, 1)
	assert.ErrorContains(t, err, "training split")
}

// On real data and weights, reconstruction recovers accuracy.
func TestReconstructionHelpsRealResNet20(t *testing.T) {
	wpath := filepath.Join("..", "..", "shared", "weights", "cifar10-jpeg-scratch", "resnet20.safetensors")
	data := filepath.Join("..", "..", "shared", "data")
	if _, err := os.Stat(wpath); err != nil {
		t.Skip("no ../shared")
	}
	f, err := weights.Load(wpath)
	require.NoError(t, err)
	g, _ := models.Build("resnet20")
	ds, err := datasets.Open("cifar10-jpeg", datasets.Options{DataDir: data, CacheDir: filepath.Join(os.TempDir(), "amc-test-cache")})
	require.NoError(t, err)
	train, err := ds.Load(datasets.Train)
	require.NoError(t, err)
	held, err := ds.Load(datasets.Heldout)
	require.NoError(t, err)
	a, err := Analyze(g, Options{})
	require.NoError(t, err)
	cal, err := Calibrate(a, f.Params, train, datasets.ImageNetNorm, 500, 10, 1)
	require.NoError(t, err)
	counts, _ := a.Counts(a.Uniform(0.5), 1)
	kept := a.Select(f.Params, counts, L1In{})
	pg, pp, err := a.Apply(f.Params, kept)
	require.NoError(t, err)
	acc := func(p nn.Params) float64 {
		pl, err := nn.Compile(pg, p, 0)
		require.NoError(t, err)
		r, err := evaluate.Run(pl, held, datasets.ImageNetNorm, evaluate.Options{Limit: 1000})
		require.NoError(t, err)
		return r.Top1
	}
	sel := acc(pp)
	require.NoError(t, cal.Reconstruct(pg, pp, kept, 1e-6))
	rec := acc(pp)
	t.Logf("ResNet-20 uniform 0.5, 1000 held-out images: selection only %.1f%%, reconstructed %.1f%%", sel, rec)
	assert.Greater(t, rec, sel+2, "reconstruction must help clearly")
}

func TestCalibrationIsDeterministic(t *testing.T) {
	g, p := build(t, "resnet20")
	a, err := Analyze(g, Options{})
	require.NoError(t, err)
	im := fakeImages(30, 4)
	c1, err := Calibrate(a, p, im, datasets.ImageNetNorm, 30, 4, 9)
	require.NoError(t, err)
	c2, err := Calibrate(a, p, im, datasets.ImageNetNorm, 30, 4, 9)
	require.NoError(t, err)
	for i, l := range c1.layers {
		assert.Equal(t, l.g, c2.layers[i].g)
		assert.Equal(t, l.b, c2.layers[i].b)
	}
}

// The sample form (rows kept, the dual system solved) gives the normal
// equations' weights: the same ridge regression, rows fewer than features.
func TestDualSolveMatchesNormalEquations(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const rows, dim, outC = 25, 61, 4
	x := make([]float64, rows*dim)
	for r := 0; r < rows; r++ {
		for f := 0; f < dim-1; f++ {
			x[r*dim+f] = rng.NormFloat64()
		}
		x[r*dim+dim-1] = 1 // the ones column
	}
	y := make([]float64, rows*outC)
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	g := make([]float64, dim*dim)
	b := make([]float64, dim*outC)
	for r := 0; r < rows; r++ {
		for i := 0; i < dim; i++ {
			for j := 0; j < dim; j++ {
				g[i*dim+j] += x[r*dim+i] * x[r*dim+j]
			}
			for o := 0; o < outC; o++ {
				b[i*outC+o] += x[r*dim+i] * y[r*outC+o]
			}
		}
	}
	primal := &calibLayer{dim: dim, outC: outC, g: g, b: b, nrows: rows}
	dual := &calibLayer{dim: dim, outC: outC, x: x, y: y, nrows: rows, sample: true}
	wide := []int{0, 3, 4, 7, 10, 11, 20, 21, 22, 30, 31, 40, 41, 42, 50, 51, 52, 53, 55, 57, 58, 59, 33, 34, 35, 36, 37, 38, 60}
	narrow := []int{1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 60} // fewer features than rows: the primal on the rows
	ko := []int{0, 2, 3}
	for _, c := range []struct {
		sel   []int
		ridge float64
	}{{wide, 1e-3}, {wide, 1e-1}, {narrow, 1e-3}, {narrow, 1e-6}} {
		sel, ridge := c.sel, c.ridge
		wp, err := primal.solve(sel, ko, ridge)
		require.NoError(t, err)
		wd, err := dual.solve(sel, ko, ridge)
		require.NoError(t, err)
		var scale, diff float64
		for i := 0; i < len(sel); i++ {
			for q := range ko {
				scale = math.Max(scale, math.Abs(wp.At(i, q)))
				diff = math.Max(diff, math.Abs(wp.At(i, q)-wd.At(i, q)))
			}
		}
		assert.Less(t, diff, 1e-8*scale, "ridge %g: max |difference| %g of %g", ridge, diff, scale)
	}
	assert.True(t, sampleForm(25089, 3000), "VGG-16's first linear layer at 3,000 images")
	assert.False(t, sampleForm(4609, 30000), "a 3x3 convolution of 512 channels at 10 positions")
	assert.False(t, sampleForm(513, 3), "narrow layers keep the normal equations")
}

// Package evaluate measures a network's top-1 and top-5 accuracy on a split.
package evaluate

import (
	"fmt"
	"time"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/nn"
)

// Options control an evaluation.
type Options struct {
	Batch    int                   // images per forward pass (default 100)
	Limit    int                   // evaluate only the first Limit images (0: all)
	Progress func(done, total int) // called after each batch, may be nil
}

// Result is an evaluation's outcome; accuracies are percentages.
type Result struct {
	N            int     `json:"n"`
	Top1         float64 `json:"top1"`
	Top5         float64 `json:"top5"`
	Seconds      float64 `json:"seconds"`
	ImagesPerSec float64 `json:"images_per_sec"`
}

// Run evaluates the compiled network on the images, normalised with norm.
func Run(pl *nn.Plan, im *datasets.Images, norm datasets.Normalization, opt Options) (Result, error) {
	in := pl.InputShape()
	if in.H != im.H || in.W != im.W || in.C != im.C {
		return Result{}, fmt.Errorf("evaluate: model takes %dx%dx%d images, data has %dx%dx%d", in.C, in.H, in.W, im.C, im.H, im.W)
	}
	classes := pl.OutputShape().Size()
	if classes < len(im.Classes) {
		return Result{}, fmt.Errorf("evaluate: model has %d outputs, data has %d classes", classes, len(im.Classes))
	}
	n := im.N
	if opt.Limit > 0 && opt.Limit < n {
		n = opt.Limit
	}
	if n == 0 {
		return Result{}, fmt.Errorf("evaluate: no images")
	}
	bs := opt.Batch
	if bs <= 0 {
		bs = 100
	}
	bs = min(bs, n)
	x := make([]float32, bs*in.Size())
	labels := make([]int, bs)
	idx := make([]int, bs)
	var top1, top5 int
	start := time.Now()
	for lo := 0; lo < n; lo += bs {
		k := min(bs, n-lo)
		for j := 0; j < k; j++ {
			idx[j] = lo + j
		}
		im.Batch(idx[:k], norm, x, labels)
		out, err := pl.Forward(x[:k*in.Size()], k)
		if err != nil {
			return Result{}, err
		}
		for j := 0; j < k; j++ {
			r := rank(out[j*classes:(j+1)*classes], labels[j])
			if r < 1 {
				top1++
			}
			if r < 5 {
				top5++
			}
		}
		if opt.Progress != nil {
			opt.Progress(lo+k, n)
		}
	}
	sec := time.Since(start).Seconds()
	return Result{N: n, Top1: 100 * float64(top1) / float64(n), Top5: 100 * float64(top5) / float64(n),
		Seconds: sec, ImagesPerSec: float64(n) / sec}, nil
}

// rank counts the classes ranked above the true one. Ties go to the lower
// class index, as argmax does; a NaN score is never correct.
func rank(scores []float32, label int) int {
	r := 0
	s := scores[label]
	for c, v := range scores {
		if c != label && (v > s || (v == s && c < label) || v != v) {
			r++
		}
	}
	if s != s { // NaN never counts as correct
		r = len(scores)
	}
	return r
}

package datasets

import (
	"fmt"
	"math/rand/v2"
)

// Normalization is the per-channel input normalisation applied to 0..255
// pixel values: x' = (x - Mean[c]) / Std[c].
type Normalization struct {
	Mean [3]float32 `json:"mean"`
	Std  [3]float32 `json:"std"`
}

// ImageNetNorm is what every weight file under ../shared/weights expects
// (torchvision's ImageNet statistics, scaled to 0..255).
var ImageNetNorm = Normalization{
	Mean: [3]float32{0.485 * 255, 0.456 * 255, 0.406 * 255},
	Std:  [3]float32{0.229 * 255, 0.224 * 255, 0.225 * 255},
}

// Validate rejects a zero or negative standard deviation.
func (n Normalization) Validate() error {
	for _, s := range n.Std {
		if !(s > 0) {
			return fmt.Errorf("normalisation std %v must be positive", n.Std)
		}
	}
	return nil
}

// Apply converts HWC uint8 pixels (3 channels) into normalised float32 values.
func (n Normalization) Apply(dst []float32, px []uint8) {
	var inv [3]float32
	for c := range inv {
		inv[c] = 1 / n.Std[c]
	}
	for i := 0; i+2 < len(px); i += 3 {
		dst[i] = (float32(px[i]) - n.Mean[0]) * inv[0]
		dst[i+1] = (float32(px[i+1]) - n.Mean[1]) * inv[1]
		dst[i+2] = (float32(px[i+2]) - n.Mean[2]) * inv[2]
	}
}

// Batch fills dst (NHWC float32) with the normalised images idx and labels
// with their classes.
func (im *Images) Batch(idx []int, norm Normalization, dst []float32, labels []int) {
	s := im.H * im.W * im.C
	for k, i := range idx {
		norm.Apply(dst[k*s:(k+1)*s], im.Image(i))
		labels[k] = int(im.Labels[i])
	}
}

// Augment copies the images idx into dst (uint8 NHWC), each randomly cropped
// from the image zero-padded by pad pixels and flipped horizontally with
// probability 1/2. The source images are never modified. A negative pad
// is taken as 0 and a pad beyond the image's size as that size (callers
// refuse both: train.Config.ValidateFor), so that no pad panics.
func (im *Images) Augment(dst []uint8, idx []int, pad int, rng *rand.Rand) {
	h, w, c := im.H, im.W, im.C
	pad = min(max(pad, 0), max(h, w))
	s := h * w * c
	for k, i := range idx {
		src := im.Image(i)
		out := dst[k*s : (k+1)*s]
		dy, dx := rng.IntN(2*pad+1)-pad, rng.IntN(2*pad+1)-pad
		flip := rng.IntN(2) == 1
		for y := 0; y < h; y++ {
			sy := y + dy
			for x := 0; x < w; x++ {
				sx := x + dx
				if flip {
					sx = w - 1 - x + dx
				}
				o := out[(y*w+x)*c : (y*w+x+1)*c]
				if sy < 0 || sy >= h || sx < 0 || sx >= w {
					clear(o)
					continue
				}
				copy(o, src[(sy*w+sx)*c:])
			}
		}
	}
}

package datasets

import (
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// WriteSyntheticImageFolder writes a small ImageNet-layout data set under
// root/imagenet (train/CLASS/*.JPEG, val/CLASS/*.JPEG) for trying the
// ImageNet specs without ImageNet: classes class folders (n00000000, ...)
// holding trainPerClass and valPerClass images of random sizes (96 to 500
// pixels a side, both orientations) with a class-coloured gradient, random
// discs and noise, JPEG quality 90; one in eleven is greyscale and one in
// thirteen a PNG, as in the real set's odd files. The same seed writes the
// same bytes.
func WriteSyntheticImageFolder(root string, classes, trainPerClass, valPerClass int, seed uint64) error {
	if classes < 2 || trainPerClass < FolderHeldoutPerClass+FolderCalibPerClass || valPerClass < 1 {
		return fmt.Errorf("synthetic ImageFolder: want >= 2 classes, >= %d training and >= 1 val images per class, got %d, %d, %d",
			FolderHeldoutPerClass+FolderCalibPerClass, classes, trainPerClass, valPerClass)
	}
	rng := rand.New(rand.NewPCG(seed, 0x1a6e))
	n := 0
	for _, part := range []struct {
		split string
		per   int
	}{{"train", trainPerClass}, {"val", valPerClass}} {
		for c := range classes {
			dir := filepath.Join(root, "imagenet", part.split, fmt.Sprintf("n%08d", c))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			for i := range part.per {
				n++
				img := syntheticImage(rng, c, classes, n%11 == 0)
				name := fmt.Sprintf("n%08d_%d.JPEG", c, i)
				if n%13 == 0 {
					name = fmt.Sprintf("n%08d_%d.png", c, i)
				}
				if err := writeImage(filepath.Join(dir, name), img); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func syntheticImage(rng *rand.Rand, class, classes int, grey bool) image.Image {
	w, h := 96+rng.IntN(405), 96+rng.IntN(405)
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// The class's hue as a colour and a gradient direction.
	base := [3]float64{float64(class*97%256) / 255, float64(class*57%256) / 255, float64(class*31%256) / 255}
	type disc struct{ x, y, r float64 }
	discs := make([]disc, 1+rng.IntN(4))
	for i := range discs {
		discs[i] = disc{rng.Float64() * float64(w), rng.Float64() * float64(h), 10 + rng.Float64()*float64(min(w, h))/3}
	}
	for y := range h {
		for x := range w {
			t := (float64(x)/float64(w) + float64(y)/float64(h)) / 2
			var px [3]float64
			for ch := range 3 {
				px[ch] = 255 * (0.2 + 0.6*(base[ch]*t+(1-base[ch])*(1-t)))
			}
			for _, d := range discs {
				if dx, dy := float64(x)-d.x, float64(y)-d.y; dx*dx+dy*dy < d.r*d.r {
					px[class%3] = 255 - px[class%3]
				}
			}
			var c [3]uint8
			for ch := range 3 {
				c[ch] = uint8(min(255, max(0, px[ch]+rng.NormFloat64()*6)))
			}
			img.SetRGBA(x, y, color.RGBA{c[0], c[1], c[2], 255})
		}
	}
	if !grey {
		return img
	}
	g := image.NewGray(img.Bounds())
	for y := range h {
		for x := range w {
			g.Set(x, y, img.At(x, y))
		}
	}
	return g
}

func writeImage(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if filepath.Ext(path) == ".png" {
		err = png.Encode(f, img)
	} else {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 90})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

package datasets

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/internal/testpython"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// torchvision's output size and crop offsets, worked by hand: the long side
// truncated, the offsets rounded half to even.
func TestEvalGeometry(t *testing.T) {
	for _, c := range []struct{ w, h, rw, rh, left, top int }{
		{500, 375, 341, 256, 58, 16},  // 341.33 truncated; (341-224)/2 = 58.5 -> 58
		{375, 500, 256, 341, 16, 58},  // portrait
		{343, 256, 343, 256, 60, 16},  // 59.5 -> 60
		{256, 256, 256, 256, 16, 16},  // unchanged
		{100, 80, 320, 256, 48, 16},   // upsampled
		{1000, 999, 256, 256, 16, 16}, // 256.25 truncated
	} {
		rw, rh := resizedSize(c.w, c.h, EvalResize)
		assert.Equal(t, [2]int{c.rw, c.rh}, [2]int{rw, rh}, "%dx%d", c.w, c.h)
		assert.Equal(t, [2]int{c.left, c.top}, [2]int{cropOffset(rw, EvalCrop), cropOffset(rh, EvalCrop)}, "%dx%d", c.w, c.h)
	}
}

// The evaluation transform gives torchvision's bytes: the same PNG images
// (lossless, so both sides start from the same RGB pixels) through
// Resize(256) + CenterCrop(224) on PIL images and through evalTransform.
// JPEG copies of them (written by Pillow, 4:2:0 and 4:2:2 chroma) come out
// close: the same chroma upsampling and colour equations, another IDCT.
func TestEvalTransformMatchesPillow(t *testing.T) {
	py := testpython.Find(t, "comparing the ImageNet transform with torchvision's (Debian: python3-torchvision python3-pil)", "torchvision", "PIL")
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := [][2]int{{500, 375}, {375, 500}, {343, 256}, {256, 256}, {100, 80}, {641, 427}, {301, 1001}, {224, 224}, {257, 999},
		{3, 300}, {4, 40}, {5, 7}} // chroma 2 samples wide: replicated, not interpolated (libjpeg)
	var names []string
	for i, sz := range sizes {
		img := image.NewRGBA(image.Rect(0, 0, sz[0], sz[1]))
		for y := range sz[1] {
			for x := range sz[0] {
				// Smooth content plus noise, so every weight matters.
				v := uint8((x*3 + y*5) % 256)
				img.SetRGBA(x, y, color.RGBA{v + uint8(rng.IntN(40)), uint8(rng.IntN(256)), 255 - v, 255})
			}
		}
		name := filepath.Join(dir, "img"+string(rune('a'+i))+".png")
		var b bytes.Buffer
		require.NoError(t, png.Encode(&b, img))
		require.NoError(t, os.WriteFile(name, b.Bytes(), 0o644))
		names = append(names, name)
	}
	script := `
import sys, json
from PIL import Image
import torchvision.transforms as T
tf = T.Compose([T.Resize(256), T.CenterCrop(224)])
for name in json.loads(sys.argv[1]):
    im = Image.open(name).convert("RGB")
    im.save(name + ".420.jpg", quality=90, subsampling=2)
    im.save(name + ".422.jpg", quality=90, subsampling=1)
    for f in (name, name + ".420.jpg", name + ".422.jpg"):
        out = tf(Image.open(f).convert("RGB"))
        assert out.size == (224, 224), out.size
        open(f + ".rgb", "wb").write(out.tobytes())
`
	js, _ := json.Marshal(names)
	out, err := exec.Command(py, "-c", script, string(js)).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for i, name := range names {
		want, err := os.ReadFile(name + ".rgb")
		require.NoError(t, err)
		raw, err := os.ReadFile(name)
		require.NoError(t, err)
		got := make([]uint8, EvalCrop*EvalCrop*3)
		require.NoError(t, decodeEval(got, raw))
		diff := 0
		for j := range got {
			if got[j] != want[j] {
				diff++
			}
		}
		assert.Zero(t, diff, "%dx%d: %d of %d bytes differ from torchvision's", sizes[i][0], sizes[i][1], diff, len(got))
		for _, sub := range []string{".420.jpg", ".422.jpg"} {
			want, err := os.ReadFile(name + sub + ".rgb")
			require.NoError(t, err)
			raw, err := os.ReadFile(name + sub)
			require.NoError(t, err)
			require.NoError(t, decodeEval(got, raw))
			worst, sum := 0, 0
			for j := range got {
				d := int(got[j]) - int(want[j])
				d = max(d, -d)
				worst, sum = max(worst, d), sum+d
			}
			mean := float64(sum) / float64(len(got))
			// Measured: at most 3 levels, mean about 0.05 on these noisy images (each pixel's nearest chroma sample instead: up to 64 and 4.3).
			assert.LessOrEqual(t, worst, 4, "%dx%d %s", sizes[i][0], sizes[i][1], sub)
			if min(sizes[i][0], sizes[i][1]) >= 80 { // tiny images: a few source pixels span the whole crop
				assert.Less(t, mean, 0.08, "%dx%d %s", sizes[i][0], sizes[i][1], sub)
			}
			t.Logf("%dx%d %s: largest difference %d, mean %.4f", sizes[i][0], sizes[i][1], sub, worst, mean)
		}
	}
}

// The ImageFolder data set on a synthetic folder: split sizes, balanced
// classes, disjoint selections, a cache that gives the same images and
// fingerprint, and a fingerprint that follows the files' content.
func TestImageNetFolder(t *testing.T) {
	root, cache := t.TempDir(), t.TempDir()
	const classes, perTrain, perVal = 4, 8, 3
	require.NoError(t, WriteSyntheticImageFolder(root, classes, perTrain, perVal, 1))
	open := func() Dataset {
		ds, err := Open("imagenet", Options{DataDir: root, CacheDir: cache})
		require.NoError(t, err)
		ds.(*imageFolder).log = nil
		return ds
	}
	ds := open()
	fp, err := ds.Fingerprint()
	require.NoError(t, err)
	assert.Equal(t, HeldoutBySeededPath, ds.HeldoutRule())
	loaded := map[Split]*Images{}
	for _, c := range []struct {
		split    Split
		perClass int
	}{{Heldout, FolderHeldoutPerClass}, {Train, FolderCalibPerClass}, {Test, perVal}} {
		im, err := ds.Load(c.split)
		require.NoError(t, err)
		loaded[c.split] = im
		assert.Equal(t, [4]int{classes * c.perClass, 224, 224, 3}, [4]int{im.N, im.H, im.W, im.C}, c.split)
		assert.Equal(t, c.split, im.Split)
		assert.Len(t, im.Classes, classes)
		counts := map[uint16]int{}
		for _, l := range im.Labels {
			counts[l]++
		}
		for l := range uint16(classes) {
			assert.Equal(t, c.perClass, counts[l], "split %s class %d", c.split, l)
		}
	}
	// No training image is both in the reward set and the calibration pool.
	seen := map[string]bool{}
	for _, sp := range []Split{Heldout, Train} {
		im := loaded[sp]
		for i := range im.N {
			k := string(im.Image(i))
			assert.False(t, seen[k], "an image appears twice across heldout and train")
			seen[k] = true
		}
	}
	// Reopened: the caches give the same pixels and fingerprint.
	entries, err := os.ReadDir(cache)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "one cache per split")
	again := open()
	fp2, err := again.Fingerprint()
	require.NoError(t, err)
	assert.Equal(t, fp, fp2)
	for sp, im := range loaded {
		im2, err := again.Load(sp)
		require.NoError(t, err)
		assert.Equal(t, im.Pixels, im2.Pixels, sp)
		assert.Equal(t, im.Labels, im2.Labels, sp)
	}
	// Without a cache: the same again.
	nc, err := openImageNet([]string{root}, "")
	require.NoError(t, err)
	nc.(*imageFolder).log = nil
	fp3, err := nc.Fingerprint()
	require.NoError(t, err)
	assert.Equal(t, fp, fp3)
	// A val file rewritten with other content: another fingerprint.
	vdir := filepath.Join(root, "imagenet", "val", "n00000001")
	vs, err := os.ReadDir(vdir)
	require.NoError(t, err)
	img := image.NewGray(image.Rect(0, 0, 300, 300))
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	require.NoError(t, os.WriteFile(filepath.Join(vdir, vs[0].Name()), b.Bytes(), 0o644))
	fp4, err := open().Fingerprint()
	require.NoError(t, err)
	assert.NotEqual(t, fp, fp4)
}

// A split is decoded when first loaded, alone (amc eval --split heldout
// never decodes val); the fingerprint decodes the rest.
func TestImageNetFolderDecodesSplitsLazily(t *testing.T) {
	root, cache := t.TempDir(), t.TempDir()
	require.NoError(t, WriteSyntheticImageFolder(root, 2, 6, 2, 5))
	ds, err := Open("imagenet", Options{DataDir: root, CacheDir: cache})
	require.NoError(t, err)
	ds.(*imageFolder).log = nil
	im, err := ds.Load(Heldout)
	require.NoError(t, err)
	assert.Equal(t, 2*FolderHeldoutPerClass, im.N)
	files, _ := filepath.Glob(filepath.Join(cache, "imagenet-*.u8"))
	assert.Len(t, files, 1, "only the held-out split decoded")
	fp, err := ds.Fingerprint()
	require.NoError(t, err)
	files, _ = filepath.Glob(filepath.Join(cache, "imagenet-*.u8"))
	assert.Len(t, files, 3)
	again, err := Open("imagenet", Options{DataDir: root, CacheDir: t.TempDir()})
	require.NoError(t, err)
	again.(*imageFolder).log = nil
	fp2, err := again.Fingerprint()
	require.NoError(t, err)
	assert.Equal(t, fp, fp2, "the same fingerprint whatever the order splits were loaded in")
}

// Linked class folders and files are followed, as torchvision does: a
// folder of links reads as the folder itself.
func TestImageNetFolderFollowsLinks(t *testing.T) {
	root, moved := t.TempDir(), t.TempDir()
	require.NoError(t, WriteSyntheticImageFolder(root, 3, 6, 2, 3))
	fp := func() string {
		ds, err := Open("imagenet", Options{DataDir: root, CacheDir: t.TempDir()})
		require.NoError(t, err)
		ds.(*imageFolder).log = nil
		f, err := ds.Fingerprint()
		require.NoError(t, err)
		return f
	}
	want := fp()
	base := filepath.Join(root, "imagenet")
	for _, rel := range []string{"train/n00000001", "val/n00000002", "train/n00000000/n00000000_4.JPEG"} {
		to := filepath.Join(moved, filepath.Base(rel))
		require.NoError(t, os.Rename(filepath.Join(base, rel), to))
		require.NoError(t, os.Symlink(to, filepath.Join(base, rel)))
	}
	assert.Equal(t, want, fp())
}

// Malformed folders are refused with what to fix.
func TestImageNetFolderErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		break_ func(t *testing.T, base string)
		want   string
	}{
		{"too few training images", func(t *testing.T, base string) {
			d := filepath.Join(base, "train", "n00000000")
			fs, _ := os.ReadDir(d)
			for _, f := range fs[:3] {
				require.NoError(t, os.Remove(filepath.Join(d, f.Name())))
			}
		}, "class n00000000 has 3 training images"},
		{"val not sorted into classes", func(t *testing.T, base string) {
			require.NoError(t, os.WriteFile(filepath.Join(base, "val", "ILSVRC2012_val_00000001.JPEG"), []byte("x"), 0o644))
		}, "sort val into class folders"},
		{"unknown val class", func(t *testing.T, base string) {
			require.NoError(t, os.MkdirAll(filepath.Join(base, "val", "n99999999"), 0o755))
		}, "val class folder n99999999 is not among train's 2 classes"},
		{"a damaged image", func(t *testing.T, base string) {
			require.NoError(t, os.WriteFile(filepath.Join(base, "val", "n00000001", "bad.JPEG"), []byte("not a jpeg"), 0o644))
		}, "bad.JPEG"},
		{"no train folder", func(t *testing.T, base string) {
			require.NoError(t, os.RemoveAll(filepath.Join(base, "train")))
		}, "ImageNet in the ImageFolder layout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			require.NoError(t, WriteSyntheticImageFolder(root, 2, 6, 1, 2))
			c.break_(t, filepath.Join(root, "imagenet"))
			ds, err := Open("imagenet", Options{DataDir: root, CacheDir: t.TempDir()})
			if err == nil {
				ds.(*imageFolder).log = nil
				_, err = ds.Fingerprint()
			}
			assert.ErrorContains(t, err, c.want)
		})
	}
	assert.ErrorContains(t, WriteSyntheticImageFolder(t.TempDir(), 2, 5, 1, 1), "want >= 2 classes, >= 6 training")
}

func TestDescribe(t *testing.T) {
	for name, want := range map[string]Info{"cifar10": {Side: 32}, "cifar10-jpeg": {Side: 32}, "imagenet": {Side: 224, TrainIsSample: true}} {
		got, err := Describe(name)
		require.NoError(t, err)
		assert.Equal(t, want, got, name)
	}
	_, err := Describe("imagenett")
	assert.ErrorContains(t, err, `(did you mean "imagenet"?)`)
}

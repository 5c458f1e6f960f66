package datasets

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sharedData is the data root beside the project (CI has it too).
func sharedData(t *testing.T) string {
	t.Helper()
	p, _ := filepath.Abs(filepath.Join("..", "..", "shared", "data"))
	if _, err := os.Stat(filepath.Join(p, "cifar10-jpeg", "cifar10-jpeg.tar.gz")); err != nil {
		t.Skipf("no ../shared/data: %v", err)
	}
	return p
}

// testCache is shared by the package's tests so the archive is decoded once.
var testCache = filepath.Join(os.TempDir(), "amc-test-cache")

func TestCIFAR10JPEGSplits(t *testing.T) {
	ds, err := Open("cifar10-jpeg", Options{DataDir: sharedData(t), CacheDir: testCache})
	require.NoError(t, err)
	cases := []struct {
		split    Split
		n        int
		perClass int
	}{{Train, 45000, 4500}, {Heldout, 5000, 500}, {Test, 10000, 1000}}
	for _, c := range cases {
		im, err := ds.Load(c.split)
		require.NoError(t, err, c.split)
		assert.Equal(t, c.n, im.N)
		assert.Equal(t, c.n*32*32*3, len(im.Pixels))
		counts := map[uint8]int{}
		for _, l := range im.Labels {
			counts[l]++
		}
		require.Len(t, counts, 10)
		for cl, k := range counts {
			assert.Equal(t, c.perClass, k, "split %s class %d", c.split, cl)
		}
		// Real photographs: mean pixel value well inside (0, 255).
		var sum float64
		for _, p := range im.Pixels[:3072*100] {
			sum += float64(p)
		}
		mean := sum / (3072 * 100)
		assert.Greater(t, mean, 60.0)
		assert.Less(t, mean, 200.0)
	}
	// The cache is reused: a second load gives the same pixels.
	a, err := ds.Load(Heldout)
	require.NoError(t, err)
	b, err := ds.Load(Heldout)
	require.NoError(t, err)
	assert.Equal(t, a.Pixels, b.Pixels)
}

// writeBinary writes a fake CIFAR-10 binary distribution with perClass
// training records of each class (spread over 5 files) and 2 test records per class.
func writeBinary(t *testing.T, dir string, perClass int) {
	require.NoError(t, os.MkdirAll(dir, 0o755))
	rec := func(label, seed int) []byte {
		b := make([]byte, binRecord)
		b[0] = byte(label)
		for i := 1; i < binRecord; i++ {
			b[i] = byte(seed*7 + i)
		}
		return b
	}
	var train []byte
	k := 0
	for i := 0; i < perClass; i++ {
		for c := 0; c < 10; c++ {
			train = append(train, rec(c, k)...)
			k++
		}
	}
	per := len(train) / binRecord / 5
	for f := 0; f < 5; f++ {
		part := train[f*per*binRecord : (f+1)*per*binRecord]
		require.NoError(t, os.WriteFile(filepath.Join(dir, "data_batch_"+string(rune('1'+f))+".bin"), part, 0o644))
	}
	var test []byte
	for c := 0; c < 20; c++ {
		test = append(test, rec(c%10, 1000+c)...)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "test_batch.bin"), test, 0o644))
}

func TestCIFAR10BinaryExtracted(t *testing.T) {
	root := t.TempDir()
	writeBinary(t, filepath.Join(root, "cifar10", "cifar-10-batches-bin"), 20)
	ds, err := Open("cifar10", Options{DataDir: root, CacheDir: t.TempDir()})
	require.NoError(t, err)
	tr, err := ds.Load(Train)
	require.NoError(t, err)
	ho, err := ds.Load(Heldout)
	require.NoError(t, err)
	te, err := ds.Load(Test)
	require.NoError(t, err)
	assert.Equal(t, 180, tr.N) // 18 of 20 per class
	assert.Equal(t, 20, ho.N)  // the last 2 per class
	assert.Equal(t, 20, te.N)
	// Planar RGB turned into HWC: pixel 0's green value is record byte 1+1024.
	want := byte((0*7 + 1 + 1024) % 256)
	assert.Equal(t, want, tr.Pixels[1])
	// The held-out images are the last ones of each class (records 180..199).
	assert.Equal(t, byte((180*7+1)%256), ho.Pixels[0])
}

func TestCIFAR10BinaryTruncated(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cifar-10-batches-bin")
	writeBinary(t, dir, 10)
	f := filepath.Join(dir, "data_batch_3.bin")
	b, _ := os.ReadFile(f)
	require.NoError(t, os.WriteFile(f, b[:len(b)-5], 0o644))
	ds, err := Open("cifar10", Options{DataDir: root, CacheDir: t.TempDir()})
	require.NoError(t, err)
	_, err = ds.Load(Train)
	assert.ErrorContains(t, err, "data_batch_3.bin")
	assert.ErrorContains(t, err, "truncated")
}

func TestOpenErrors(t *testing.T) {
	empty := t.TempDir()
	cases := []struct{ name, want string }{
		{"cifar10-jpeg", "looked in"},
		{"cifar10", "cifar-10-binary.tar.gz"},
		{"cifar-10", `did you mean "cifar10"`},
		{"imagenet", "valid datasets: cifar10, cifar10-jpeg"},
	}
	for _, c := range cases {
		_, err := Open(c.name, Options{DataDir: empty, CacheDir: t.TempDir()})
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want)
		if c.name == "cifar10-jpeg" {
			assert.Contains(t, err.Error(), empty)
		}
	}
	_, err := ParseSplit("validation")
	assert.ErrorContains(t, err, "valid splits")
}

func TestCorruptCacheIsRebuilt(t *testing.T) {
	data := sharedData(t)
	cache := t.TempDir()
	ds, err := Open("cifar10-jpeg", Options{DataDir: data, CacheDir: cache})
	require.NoError(t, err)
	want, err := ds.Load(Test)
	require.NoError(t, err)
	files, _ := filepath.Glob(filepath.Join(cache, "*test.u8"))
	require.Len(t, files, 1)
	st, _ := os.Stat(files[0])
	require.NoError(t, os.Truncate(files[0], st.Size()/2))
	got, err := ds.Load(Test)
	require.NoError(t, err)
	assert.Equal(t, want.Pixels, got.Pixels)
}

func TestAugmentKeepsSourceAndShifts(t *testing.T) {
	im := &Images{N: 1, H: 4, W: 4, C: 1, Labels: []uint8{0}, Pixels: make([]uint8, 16)}
	for i := range im.Pixels {
		im.Pixels[i] = uint8(i + 1)
	}
	orig := append([]uint8(nil), im.Pixels...)
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[string]bool{}
	for k := 0; k < 200; k++ {
		dst := make([]uint8, 16)
		im.Augment(dst, []int{0}, 1, rng)
		seen[string(dst)] = true
		// Every output pixel is zero padding or a source pixel.
		for _, v := range dst {
			assert.LessOrEqual(t, int(v), 16)
		}
	}
	assert.Equal(t, orig, im.Pixels)
	assert.Equal(t, 18, len(seen), "3x3 shifts x 2 flips")
	none := make([]uint8, 16)
	im.Augment(none, []int{0}, 0, rand.New(rand.NewPCG(3, 3)))
	assert.True(t, string(none) == string(orig) || none[0] == orig[3], "pad 0: identity or flip")
}

func TestNormalization(t *testing.T) {
	dst := make([]float32, 3)
	ImageNetNorm.Apply(dst, []uint8{124, 116, 104})
	for _, v := range dst {
		assert.InDelta(t, 0, v, 0.02)
	}
	assert.Error(t, Normalization{Std: [3]float32{1, 0, 1}}.Validate())
}

func TestJPEGPrefixesAreClassBalanced(t *testing.T) {
	ds, err := Open("cifar10-jpeg", Options{DataDir: sharedData(t), CacheDir: testCache})
	require.NoError(t, err)
	for _, sp := range []Split{Train, Heldout, Test} {
		im, err := ds.Load(sp)
		require.NoError(t, err)
		for i := 0; i < 30; i++ {
			assert.Equal(t, uint8(i%10), im.Labels[i], "split %s image %d", sp, i)
		}
	}
}

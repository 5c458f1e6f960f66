package datasets

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
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
		counts := map[uint16]int{}
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
	assert.Equal(t, 20, ho.N)  // 2 per class
	assert.Equal(t, 20, te.N)
	// Planar RGB turned into HWC: pixel 0's green value is record byte 1+1024.
	want := byte((0*7 + 1 + 1024) % 256)
	assert.Equal(t, want, tr.Pixels[1])
	assert.Equal(t, HeldoutByContent, ds.HeldoutRule())
	fp, err := ds.Fingerprint()
	require.NoError(t, err)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, fp)
}

// planarHash is the content rule's hash of one NHWC CIFAR image.
func planarHash(px []uint8) [32]byte {
	planar := make([]byte, 3072)
	for c := 0; c < 3; c++ {
		for j := 0; j < 1024; j++ {
			planar[c*1024+j] = px[j*3+c]
		}
	}
	return sha256.Sum256(planar)
}

// The held-out split is defined by content: the same records in another
// order (another copy of the data set) give the same held-out images in the
// same order and the same training images, and the held-out images are each
// class's smallest hashes, computed here independently.
func TestHeldoutByContentIgnoresRecordOrder(t *testing.T) {
	const perClass = 25 // 2 held out per class; 250 distinct records
	rootA, rootB := t.TempDir(), t.TempDir()
	dirA := filepath.Join(rootA, "cifar-10-batches-bin")
	writeBinary(t, dirA, perClass)
	// Copy B: every training record, shuffled across the five files.
	var recs [][]byte
	for f := 1; f <= 5; f++ {
		b, err := os.ReadFile(filepath.Join(dirA, fmt.Sprintf("data_batch_%d.bin", f)))
		require.NoError(t, err)
		for i := 0; i+binRecord <= len(b); i += binRecord {
			recs = append(recs, b[i:i+binRecord])
		}
	}
	rand.New(rand.NewPCG(7, 7)).Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	dirB := filepath.Join(rootB, "cifar-10-batches-bin")
	require.NoError(t, os.MkdirAll(dirB, 0o755))
	per := len(recs) / 5
	for f := 0; f < 5; f++ {
		var part []byte
		for _, r := range recs[f*per : (f+1)*per] {
			part = append(part, r...)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dirB, fmt.Sprintf("data_batch_%d.bin", f+1)), part, 0o644))
	}
	test, err := os.ReadFile(filepath.Join(dirA, "test_batch.bin"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dirB, "test_batch.bin"), test, 0o644))

	load := func(root string) (held, train *Images, fp string) {
		ds, err := Open("cifar10", Options{DataDir: root, CacheDir: t.TempDir()})
		require.NoError(t, err)
		held, err = ds.Load(Heldout)
		require.NoError(t, err)
		train, err = ds.Load(Train)
		require.NoError(t, err)
		fp, err = ds.Fingerprint()
		require.NoError(t, err)
		return held, train, fp
	}
	heldA, trainA, fpA := load(rootA)
	heldB, trainB, fpB := load(rootB)
	assert.Equal(t, 20, heldA.N)
	assert.Equal(t, heldA.Labels, heldB.Labels, "same held-out images, same order")
	assert.Equal(t, heldA.Pixels, heldB.Pixels, "same held-out images, same order")
	assert.NotEqual(t, fpA, fpB, "the record order is part of the data's fingerprint")
	sorted := func(im *Images) []string {
		var h []string
		for i := 0; i < im.N; i++ {
			s := planarHash(im.Image(i))
			h = append(h, fmt.Sprintf("%d:%x", im.Labels[i], s))
		}
		sort.Strings(h)
		return h
	}
	assert.Equal(t, sorted(trainA), sorted(trainB), "same training images")

	// Independently: per class, the 2 smallest hashes of all 250 records.
	byClass := map[uint8][]string{}
	for _, r := range recs {
		s := sha256.Sum256(r[1:])
		byClass[r[0]] = append(byClass[r[0]], fmt.Sprintf("%x", s))
	}
	want := map[string]bool{}
	for _, hs := range byClass {
		sort.Strings(hs)
		for _, h := range hs[:perClass/10] {
			want[h] = true
		}
	}
	got := map[string]bool{}
	for i := 0; i < heldA.N; i++ {
		s := planarHash(heldA.Image(i))
		got[fmt.Sprintf("%x", s)] = true
	}
	assert.Equal(t, want, got)
	for i := 0; i < trainA.N; i++ {
		s := planarHash(trainA.Image(i))
		assert.False(t, want[fmt.Sprintf("%x", s)], "training image %d is held out", i)
	}
}

// The lossless CIFAR-10 beside the project: 45,000 / 5,000 / 10,000, every
// class 4,500 / 500 / 1,000, held-out and training images disjoint, and the
// decoded cache giving the same data and fingerprint as the archive.
func TestCIFAR10Lossless(t *testing.T) {
	data, _ := filepath.Abs(filepath.Join("..", "..", "shared", "data"))
	if _, err := os.Stat(filepath.Join(data, "cifar10", "cifar-10-binary.tar.gz")); err != nil {
		t.Skipf("no lossless CIFAR-10: %v", err)
	}
	cache := t.TempDir()
	ds, err := Open("cifar10", Options{DataDir: data, CacheDir: cache})
	require.NoError(t, err)
	counts := map[Split]int{Train: 4500, Heldout: 500, Test: 1000}
	loaded := map[Split]*Images{}
	for sp, per := range counts {
		im, err := ds.Load(sp)
		require.NoError(t, err)
		loaded[sp] = im
		byClass := map[uint16]int{}
		for _, l := range im.Labels {
			byClass[l]++
		}
		require.Len(t, byClass, 10)
		for c, n := range byClass {
			assert.Equal(t, per, n, "split %s class %d", sp, c)
		}
	}
	held := map[[32]byte]bool{}
	for i := 0; i < loaded[Heldout].N; i++ {
		held[planarHash(loaded[Heldout].Image(i))] = true
	}
	for i := 0; i < loaded[Train].N; i++ {
		require.False(t, held[planarHash(loaded[Train].Image(i))], "training image %d is held out", i)
	}
	fp, err := ds.Fingerprint()
	require.NoError(t, err)
	files, _ := filepath.Glob(filepath.Join(cache, "cifar10-*.u8"))
	assert.Len(t, files, 2, "decoded caches written")
	again, err := Open("cifar10", Options{DataDir: data, CacheDir: cache})
	require.NoError(t, err)
	h2, err := again.Load(Heldout)
	require.NoError(t, err)
	assert.Equal(t, loaded[Heldout].Pixels, h2.Pixels)
	fp2, err := again.Fingerprint()
	require.NoError(t, err)
	assert.Equal(t, fp, fp2)
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
		{"imagenet", "DATA/imagenet/train/<wnid>/"},
		{"imagnet", "valid datasets: cifar10, cifar10-jpeg, imagenet"},
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
	im := &Images{N: 1, H: 4, W: 4, C: 1, Labels: []uint16{0}, Pixels: make([]uint8, 16)}
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
			assert.Equal(t, uint16(i%10), im.Labels[i], "split %s image %d", sp, i)
		}
	}
}

package datasets

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// tarGz packs files (name -> bytes) into a .tar.gz.
func tarGz(t testing.TB, files map[string][]byte, order []string) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range order {
		b := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tinyJPEG(t testing.TB, w, h int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzJPEGArchive feeds arbitrary bytes to the JPEG-archive reader: it may
// refuse them but must not panic or allocate without bound.
func FuzzJPEGArchive(f *testing.F) {
	ok := tinyJPEG(f, 32, 32)
	f.Add(tarGz(f, map[string][]byte{"train/cat/0000.jpg": ok, "test/dog/0000.jpg": ok}, []string{"train/cat/0000.jpg", "test/dog/0000.jpg"}))
	f.Add(tarGz(f, map[string][]byte{"train/cat/0000.jpg": tinyJPEG(f, 64, 16), "test/dog/0000.jpg": ok}, []string{"train/cat/0000.jpg", "test/dog/0000.jpg"}))
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "a.tar.gz")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		train, test, err := decodeJPEGArchive(p)
		if err == nil && (train == nil || test == nil || train.N == 0 || test.N == 0) {
			t.Fatal("no error and no images")
		}
	})
}

// FuzzJPEGImage feeds arbitrary bytes to the per-image decoder (a damaged
// or hostile JPEG may declare a huge image).
func FuzzJPEGImage(f *testing.F) {
	f.Add(tinyJPEG(f, 32, 32))
	f.Add(tinyJPEG(f, 8, 8))
	dst := make([]byte, 32*32*3)
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = decodeInto(dst, data, 32, 32)
	})
}

// FuzzBinaryArchive feeds arbitrary bytes to the CIFAR-10 binary reader.
func FuzzBinaryArchive(f *testing.F) {
	rec := make([]byte, binRecord*2)
	rec[binRecord] = 3
	f.Add(tarGz(f, map[string][]byte{"cifar-10-batches-bin/test_batch.bin": rec}, []string{"cifar-10-batches-bin/test_batch.bin"}))
	f.Add(tarGz(f, map[string][]byte{"cifar-10-batches-bin/test_batch.bin": rec[:100]}, []string{"cifar-10-batches-bin/test_batch.bin"}))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "b.tar.gz")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		im, err := (&binSet{archive: p}).Load(Test)
		if err == nil && (im == nil || im.N == 0) {
			t.Fatal("no error and no images")
		}
	})
}

// FuzzCache feeds arbitrary bytes to the decoded-data cache reader: a
// damaged cache must read as missing (then rebuilt), never crash.
func FuzzCache(f *testing.F) {
	dir := f.TempDir()
	p := filepath.Join(dir, "c")
	h := cacheHeader{Source: "s", Decoder: "d", Split: "test", N: 1, H: 32, W: 32}
	im := &Images{N: 1, H: 32, W: 32, C: 3, Pixels: make([]uint8, 3072), Labels: []uint16{1}, Classes: CIFAR10Classes}
	if err := writeCache(p, h, im); err == nil {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(cacheMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, _, ok := readCache(p, h); ok && (got == nil || got.N != h.N) {
			t.Fatal("cache read as valid with the wrong size")
		}
	})
}

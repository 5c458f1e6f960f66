package datasets

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/amcbench/amc/internal/filesum"
)

// CIFAR10Classes are CIFAR-10's class names in label order.
var CIFAR10Classes = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

const jpegDecoder = "go-image/jpeg-v1 interleaved"

type jpegSet struct {
	archive string
	cache   string
	// sum is the archive's SHA-256, hashed once per set: the fingerprint
	// and every split's cache key need it.
	sum func() (string, error)
}

func openJPEG(roots []string, cacheDir string) (Dataset, error) {
	var looked []string
	for _, r := range roots {
		p := filepath.Join(r, "cifar10-jpeg", "cifar10-jpeg.tar.gz")
		looked = append(looked, p)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return &jpegSet{archive: p, cache: cacheDir, sum: sync.OnceValues(func() (string, error) { return filesum.SHA256(p) })}, nil
		}
	}
	return nil, missingDataError("CIFAR-10 (JPEG copy) archive cifar10-jpeg/cifar10-jpeg.tar.gz", looked,
		"Point --data-dir or AMC_DATA at the folder holding cifar10-jpeg/ (in this project: ../shared/data),\n"+
			"or use --data cifar10 with the standard binary distribution (see README: Data).")
}

func (d *jpegSet) Name() string { return "cifar10-jpeg" }

// HeldoutRule: the JPEG copy keeps its positional rule (files 4500.jpg to
// 4999.jpg of each class), the split its networks under ../shared/weights
// were trained without. Its lossy pixels differ from the original's, so a
// content rule would not select the binary distribution's images anyway.
func (d *jpegSet) HeldoutRule() string { return HeldoutLastTenth }

// Fingerprint is the archive's SHA-256.
func (d *jpegSet) Fingerprint() (string, error) {
	sum, err := d.sum()
	if err != nil {
		return "", err
	}
	return "sha256:" + sum, nil
}

// Load decodes the archive once (train and test together) into caches under
// the cache directory, then serves splits from the cache.
func (d *jpegSet) Load(split Split) (*Images, error) {
	if _, err := ParseSplit(string(split)); err != nil {
		return nil, err
	}
	sum, err := d.sum()
	if err != nil {
		return nil, err
	}
	part := "train"
	if split == Test {
		part = "test"
	}
	want := cacheHeader{Source: "cifar10-jpeg.tar.gz sha256:" + sum, Decoder: jpegDecoder, Split: part}
	path := filepath.Join(d.cache, fmt.Sprintf("cifar10-jpeg-%s-%s.u8", sum[:16], part))
	im, _, ok := readCache(path, want)
	if !ok {
		train, test, err := decodeJPEGArchive(d.archive)
		if err != nil {
			return nil, err
		}
		for _, x := range []struct {
			part string
			im   *Images
		}{{"train", train}, {"test", test}} {
			h := want
			h.Split, h.N, h.H, h.W, h.C, h.Classes = x.part, x.im.N, x.im.H, x.im.W, x.im.C, x.im.Classes
			p := filepath.Join(d.cache, fmt.Sprintf("cifar10-jpeg-%s-%s.u8", sum[:16], x.part))
			if err := writeCache(p, h, x.im); err != nil {
				// A cache that cannot be written only costs time.
				fmt.Fprintf(os.Stderr, "warning: %v\n", err)
			}
		}
		im = train
		if split == Test {
			im = test
		}
	}
	im.Dataset = d.Name()
	im.Split = split
	if split == Test {
		return im, nil
	}
	return splitTrain(im, split), nil
}

type jpegEntry struct {
	test  bool
	class int
	index int
	data  []byte
}

// decodeJPEGArchive reads cifar10-jpeg/{train,test}/<class>/NNNN.jpg from the
// archive; within each class, file numbers keep the original order.
func decodeJPEGArchive(path string) (train, test *Images, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a gzip archive: %w", path, err)
	}
	classIdx := map[string]int{}
	for i, c := range CIFAR10Classes {
		classIdx[c] = i
	}
	tr := tar.NewReader(gz)
	var entries []jpegEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: damaged archive: %w", path, err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".jpg") {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(h.Name, "./"), "/")
		if len(parts) < 3 {
			continue
		}
		parts = parts[len(parts)-3:]
		cls, ok := classIdx[parts[1]]
		idx, err := strconv.Atoi(strings.TrimSuffix(parts[2], ".jpg"))
		if !ok || err != nil || idx < 0 || (parts[0] != "train" && parts[0] != "test") {
			return nil, nil, fmt.Errorf("%s: unexpected entry %q (want train|test/<class>/NNNN.jpg)", path, h.Name)
		}
		if h.Size > 1<<20 {
			return nil, nil, fmt.Errorf("%s: entry %q is %d bytes, too large for a 32x32 image", path, h.Name, h.Size)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: damaged archive at %q: %w", path, h.Name, err)
		}
		entries = append(entries, jpegEntry{test: parts[0] == "test", class: cls, index: idx, data: data})
	}
	train, err = assemble(entries, false, path)
	if err != nil {
		return nil, nil, err
	}
	test, err = assemble(entries, true, path)
	return train, test, err
}

// assemble checks that every class has files 0..n-1 and decodes them in
// parallel. Images are interleaved by class (file 0 of every class, then
// file 1, ...), so that any prefix of a split is class-balanced.
func assemble(entries []jpegEntry, test bool, path string) (*Images, error) {
	name := map[bool]string{false: "train", true: "test"}[test]
	var todo []int
	seen := map[[2]int]bool{}
	counts := make([]int, len(CIFAR10Classes))
	for i, e := range entries {
		if e.test != test {
			continue
		}
		key := [2]int{e.class, e.index}
		if seen[key] {
			return nil, fmt.Errorf("%s: %s/%s/%04d.jpg appears twice", path, name, CIFAR10Classes[e.class], e.index)
		}
		seen[key] = true
		counts[e.class] = max(counts[e.class], e.index+1)
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return nil, fmt.Errorf("%s: no %s images", path, name)
	}
	for c, n := range counts {
		for k := 0; k < n; k++ {
			if !seen[[2]int{c, k}] {
				return nil, fmt.Errorf("%s: %s/%s/%04d.jpg is missing", path, name, CIFAR10Classes[c], k)
			}
		}
	}
	sort.Slice(todo, func(a, b int) bool {
		ea, eb := entries[todo[a]], entries[todo[b]]
		if ea.index != eb.index {
			return ea.index < eb.index
		}
		return ea.class < eb.class
	})
	const h, w, ch = 32, 32, 3
	total := len(todo)
	im := &Images{N: total, H: h, W: w, C: ch, Classes: CIFAR10Classes,
		Pixels: make([]uint8, total*h*w*ch), Labels: make([]uint16, total)}
	for pos, i := range todo {
		im.Labels[pos] = uint16(entries[i].class)
	}
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	workers := runtime.GOMAXPROCS(0)
	for k := 0; k < workers; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for j := k; j < len(todo); j += workers {
				e, pos := entries[todo[j]], j
				if err := decodeInto(im.Pixels[pos*h*w*ch:(pos+1)*h*w*ch], e.data, h, w); err != nil {
					once.Do(func() {
						firstErr = fmt.Errorf("%s: %s/%s/%04d.jpg: %w", path, name, CIFAR10Classes[e.class], e.index, err)
					})
					return
				}
			}
		}(k)
	}
	wg.Wait()
	return im, firstErr
}

// decodeInto decodes a JPEG into HWC RGB bytes.
func decodeInto(dst, data []byte, h, w int) error {
	// The header first: a damaged or hostile file may declare a huge image,
	// which Decode would allocate.
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if cfg.Width != w || cfg.Height != h {
		return fmt.Errorf("image is %dx%d, want %dx%d", cfg.Width, cfg.Height, w, h)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return err
	}
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		return fmt.Errorf("image is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
	}
	switch m := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi, ci := m.YOffset(b.Min.X+x, b.Min.Y+y), m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				o := (y*w + x) * 3
				dst[o], dst[o+1], dst[o+2] = r, g, bb
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := m.Pix[m.PixOffset(b.Min.X+x, b.Min.Y+y)]
				o := (y*w + x) * 3
				dst[o], dst[o+1], dst[o+2] = v, v, v
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.RGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.RGBA)
				o := (y*w + x) * 3
				dst[o], dst[o+1], dst[o+2] = c.R, c.G, c.B
			}
		}
	}
	return nil
}

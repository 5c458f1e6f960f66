package datasets

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// binSet is the standard CIFAR-10 binary distribution: data_batch_1..5.bin
// and test_batch.bin, records of 1 label byte and 3,072 pixel bytes (the red,
// green and blue 32x32 planes), either in cifar-10-binary.tar.gz or extracted
// as cifar-10-batches-bin/.
type binSet struct {
	archive string // .tar.gz, or
	dir     string // extracted folder
}

const binRecord = 1 + 32*32*3

func openBinary(roots []string, _ string) (Dataset, error) {
	var looked []string
	for _, r := range roots {
		for _, sub := range []string{"cifar10", ""} {
			base := filepath.Join(r, sub)
			dir := filepath.Join(base, "cifar-10-batches-bin")
			looked = append(looked, dir)
			if _, err := os.Stat(filepath.Join(dir, "test_batch.bin")); err == nil {
				return &binSet{dir: dir}, nil
			}
			arc := filepath.Join(base, "cifar-10-binary.tar.gz")
			looked = append(looked, arc)
			if st, err := os.Stat(arc); err == nil && st.Mode().IsRegular() {
				return &binSet{archive: arc}, nil
			}
		}
	}
	return nil, missingDataError("CIFAR-10 binary distribution (cifar-10-binary.tar.gz or cifar-10-batches-bin/)", looked,
		"Download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html into DATA/cifar10/\n"+
			"and point --data-dir or AMC_DATA at DATA (the archive may stay packed).")
}

func (d *binSet) Name() string { return "cifar10" }

func (d *binSet) Load(split Split) (*Images, error) {
	if _, err := ParseSplit(string(split)); err != nil {
		return nil, err
	}
	files := []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	if split == Test {
		files = []string{"test_batch.bin"}
	}
	raw, err := d.read(files)
	if err != nil {
		return nil, err
	}
	n := len(raw) / binRecord
	im := &Images{Dataset: d.Name(), Split: split, N: n, H: 32, W: 32, C: 3, Classes: CIFAR10Classes,
		Pixels: make([]uint8, n*3072), Labels: make([]uint8, n)}
	for i := 0; i < n; i++ {
		rec := raw[i*binRecord : (i+1)*binRecord]
		if int(rec[0]) >= len(CIFAR10Classes) {
			return nil, fmt.Errorf("cifar10: record %d has label %d, want 0..9 (damaged file?)", i, rec[0])
		}
		im.Labels[i] = rec[0]
		px := im.Pixels[i*3072 : (i+1)*3072]
		for c := 0; c < 3; c++ {
			for j := 0; j < 1024; j++ {
				px[j*3+c] = rec[1+c*1024+j]
			}
		}
	}
	if split == Test {
		return im, nil
	}
	return splitTrain(im, split), nil
}

// read concatenates the named batch files, in order.
func (d *binSet) read(files []string) ([]byte, error) {
	var out []byte
	check := func(name string, b []byte) error {
		if len(b) == 0 || len(b)%binRecord != 0 {
			return fmt.Errorf("cifar10: %s has %d bytes, not a whole number of %d-byte records (damaged or truncated?)", name, len(b), binRecord)
		}
		return nil
	}
	if d.dir != "" {
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(d.dir, f))
			if err != nil {
				return nil, fmt.Errorf("cifar10: %w", err)
			}
			if err := check(f, b); err != nil {
				return nil, err
			}
			out = append(out, b...)
		}
		return out, nil
	}
	f, err := os.Open(d.archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip archive: %w", d.archive, err)
	}
	found := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: damaged archive: %w", d.archive, err)
		}
		base := filepath.Base(h.Name)
		for _, want := range files {
			if base == want && strings.Contains(h.Name, "cifar-10-batches-bin") {
				b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
				if err != nil {
					return nil, fmt.Errorf("%s: damaged archive at %s: %w", d.archive, h.Name, err)
				}
				found[want] = b
			}
		}
	}
	var missing []string
	for _, f := range files {
		b, ok := found[f]
		if !ok {
			missing = append(missing, f)
			continue
		}
		if err := check(f, b); err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%s: missing %s", d.archive, strings.Join(missing, ", "))
	}
	return out, nil
}

package datasets

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/amcbench/amc/internal/filesum"
)

// binSet is the standard CIFAR-10 binary distribution: data_batch_1..5.bin
// and test_batch.bin, records of 1 label byte and 3,072 pixel bytes (the red,
// green and blue 32x32 planes), either in cifar-10-binary.tar.gz or extracted
// as cifar-10-batches-bin/. The six files are read once per binSet, checked,
// and kept decoded; the held-out split is defined by content (HeldoutByContent).
type binSet struct {
	archive string // .tar.gz, or
	dir     string // extracted folder
	cache   string // decoded caches of the archive (empty: none)

	once        sync.Once
	err         error
	train, test *Images // the 50,000 training and 10,000 test images, record order
	heldIdx     []int   // training indices held out, in content (hash) order
	trainIdx    []int   // the other training indices, record order
	fingerprint string
}

const binRecord = 1 + 32*32*3

// binTrainFiles and binTestFile are the distribution's members, in order.
var (
	binTrainFiles = []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"}
	binTestFile   = "test_batch.bin"
)

func openBinary(roots []string, cacheDir string) (Dataset, error) {
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
				return &binSet{archive: arc, cache: cacheDir}, nil
			}
		}
	}
	return nil, missingDataError("CIFAR-10 binary distribution (cifar-10-binary.tar.gz or cifar-10-batches-bin/)", looked,
		"Download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html into DATA/cifar10/\n"+
			"and point --data-dir or AMC_DATA at DATA (the archive may stay packed).")
}

func (d *binSet) Name() string { return "cifar10" }

// HeldoutRule describes the content-defined held-out split.
func (d *binSet) HeldoutRule() string { return HeldoutByContent }

// Fingerprint is the SHA-256 of the six members' SHA-256 sums (name and sum
// per line, in the distribution's order): the same for the packed archive and
// the extracted folder, different for any other pixels, labels or record order.
func (d *binSet) Fingerprint() (string, error) {
	if err := d.loadAll(); err != nil {
		return "", err
	}
	return d.fingerprint, nil
}

func (d *binSet) Load(split Split) (*Images, error) {
	if _, err := ParseSplit(string(split)); err != nil {
		return nil, err
	}
	if err := d.loadAll(); err != nil {
		return nil, err
	}
	var out *Images
	switch split {
	case Test:
		out = d.test.Subset(seq(d.test.N))
	case Heldout:
		out = d.train.Subset(d.heldIdx)
	default:
		out = d.train.Subset(d.trainIdx)
	}
	out.Split = split
	return out, nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// loadAll reads and decodes the six members once.
func (d *binSet) loadAll() error {
	d.once.Do(func() { d.err = d.readAll() })
	return d.err
}

const binDecoder = "cifar10-binary-v1 nhwc"

// readAll decodes the distribution, or reads the decoded cache of an archive
// (keyed by the archive's SHA-256) when one is there: unpacking the archive
// costs seconds, the cache a fraction of one.
func (d *binSet) readAll() error {
	if d.archive == "" || d.cache == "" {
		return d.decodeAll()
	}
	sum, err := filesum.SHA256(d.archive)
	if err != nil {
		return err
	}
	want := cacheHeader{Source: "cifar-10-binary.tar.gz sha256:" + sum, Decoder: binDecoder}
	path := func(part string) string {
		return filepath.Join(d.cache, fmt.Sprintf("cifar10-%s-%s.u8", sum[:16], part))
	}
	want.Split = "train"
	train, th, okTrain := readCache(path("train"), want)
	want.Split = "test"
	test, eh, okTest := readCache(path("test"), want)
	if okTrain && okTest && th.Fingerprint != "" && th.Fingerprint == eh.Fingerprint && train.N > 0 && test.N > 0 {
		d.train, d.test, d.fingerprint = train, test, th.Fingerprint
		d.train.Dataset, d.train.Split, d.test.Dataset, d.test.Split = d.Name(), Train, d.Name(), Test
		d.heldIdx, d.trainIdx = HeldoutByHash(d.train.Labels, imageHashes(d.train))
		return nil
	}
	if err := d.decodeAll(); err != nil {
		return err
	}
	for _, x := range []struct {
		part string
		im   *Images
	}{{"train", d.train}, {"test", d.test}} {
		h := want
		h.Split, h.N, h.H, h.W, h.C, h.Classes, h.Fingerprint = x.part, x.im.N, x.im.H, x.im.W, x.im.C, x.im.Classes, d.fingerprint
		if err := writeCache(path(x.part), h, x.im); err != nil {
			// A cache that cannot be written only costs time.
			fmt.Fprintf(os.Stderr, "warning: %v\n", err)
		}
	}
	return nil
}

// imageHashes is recordHashes computed from decoded NHWC images (the
// pixels put back into planar order first).
func imageHashes(im *Images) [][32]byte {
	h := make([][32]byte, im.N)
	planar := make([]byte, 3072)
	for i := range h {
		px := im.Image(i)
		for c := 0; c < 3; c++ {
			for j := 0; j < 1024; j++ {
				planar[c*1024+j] = px[j*3+c]
			}
		}
		h[i] = sha256.Sum256(planar)
	}
	return h
}

// decodeAll reads the six members and decodes them.
func (d *binSet) decodeAll() error {
	files := append(append([]string(nil), binTrainFiles...), binTestFile)
	raw, err := d.read(files)
	if err != nil {
		return err
	}
	fp := sha256.New()
	for _, f := range files {
		s := sha256.Sum256(raw[f])
		fmt.Fprintf(fp, "%s %x\n", f, s)
	}
	d.fingerprint = "sha256:" + hex.EncodeToString(fp.Sum(nil))
	var train []byte
	for _, f := range binTrainFiles {
		train = append(train, raw[f]...)
	}
	if d.train, err = decodeRecords(train, Train); err != nil {
		return err
	}
	if d.test, err = decodeRecords(raw[binTestFile], Test); err != nil {
		return fmt.Errorf("cifar10 %s: %w", binTestFile, err)
	}
	d.heldIdx, d.trainIdx = HeldoutByHash(d.train.Labels, recordHashes(train))
	return nil
}

// decodeRecords turns binary records into NHWC images.
func decodeRecords(raw []byte, split Split) (*Images, error) {
	n := len(raw) / binRecord
	im := &Images{Dataset: "cifar10", Split: split, N: n, H: 32, W: 32, C: 3, Classes: CIFAR10Classes,
		Pixels: make([]uint8, n*3072), Labels: make([]uint16, n)}
	for i := 0; i < n; i++ {
		rec := raw[i*binRecord : (i+1)*binRecord]
		if int(rec[0]) >= len(CIFAR10Classes) {
			return nil, fmt.Errorf("cifar10: record %d has label %d, want 0..9 (damaged file?)", i, rec[0])
		}
		im.Labels[i] = uint16(rec[0])
		px := im.Pixels[i*3072 : (i+1)*3072]
		for c := 0; c < 3; c++ {
			for j := 0; j < 1024; j++ {
				px[j*3+c] = rec[1+c*1024+j]
			}
		}
	}
	return im, nil
}

// recordHashes is the SHA-256 of each record's 3,072 pixel bytes, as they
// are stored (red plane, green plane, blue plane, each 32x32 row-major).
func recordHashes(raw []byte) [][32]byte {
	n := len(raw) / binRecord
	h := make([][32]byte, n)
	for i := range h {
		h[i] = sha256.Sum256(raw[i*binRecord+1 : (i+1)*binRecord])
	}
	return h
}

// read returns the named members of the distribution, each checked to be a
// whole number of records.
func (d *binSet) read(files []string) (map[string][]byte, error) {
	check := func(name string, b []byte) error {
		if len(b) == 0 || len(b)%binRecord != 0 {
			return fmt.Errorf("cifar10: %s has %d bytes, not a whole number of %d-byte records (damaged or truncated?)", name, len(b), binRecord)
		}
		return nil
	}
	found := map[string][]byte{}
	if d.dir != "" {
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(d.dir, f))
			if err != nil {
				return nil, fmt.Errorf("cifar10: %w", err)
			}
			if err := check(f, b); err != nil {
				return nil, err
			}
			found[f] = b
		}
		return found, nil
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
				// A member is 10,000 records (30.7 MB); read at most a little more.
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
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("%s: missing %s", d.archive, strings.Join(missing, ", "))
	}
	return found, nil
}

package datasets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/jpeg" // ImageNet's files
	_ "image/png"  // and the odd PNG among them
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/amcbench/amc/internal/progress"
)

// imageFolder is ImageNet in the ImageFolder layout torchvision reads:
// ROOT/imagenet/train/CLASS/*.JPEG and ROOT/imagenet/val/CLASS/*.JPEG (val
// sorted into class folders, as the usual valprep script does). Classes are
// train's folder names in sorted order (label i is the i-th). Only what a
// search needs is decoded, through the evaluation transform (resizedSize,
// evalTransform): the held-out split is the paper's reward set,
// FolderHeldoutPerClass training images per class chosen by a seeded hash of
// their path (3,000 for ImageNet's 1,000 classes); the train split is the
// calibration pool, the next FolderCalibPerClass per class; test is all of
// val. The whole training set (~190 GB at 224x224) is never decoded: training
// and fine-tuning on ImageNet belong to the user's own pipeline.
// Decoding runs on every core, once: each split is cached, keyed by its
// files' names, sizes and modification times.
type imageFolder struct {
	root  string // the folder holding train/ and val/
	cache string
	log   io.Writer

	mu          sync.Mutex
	listed      bool // classes and files listed once
	classes     []string
	files       map[Split][]folderFile
	splits      map[Split]*Images // decoded splits (each once, when first needed)
	splitFP     map[Split]string
	fingerprint string
}

// The ImageFolder selection (HeldoutBySeededPath).
const (
	// FolderHeldoutPerClass training images per class form the reward set.
	FolderHeldoutPerClass = 3
	// FolderCalibPerClass more per class form the calibration pool.
	FolderCalibPerClass = 3
	folderSalt          = "amc-imagefolder-select/1\x00"
	folderDecoder       = "amc-imagefolder/1 go-image pil-bilinear resize256 crop224 ycc-libjpeg chroma-fancy-gt2"
)

// HeldoutBySeededPath is the ImageFolder data sets' rule.
const HeldoutBySeededPath = "path: per class the 3 training images with the smallest SHA-256 of a fixed salt and their path CLASS/FILE (the paper's 3,000-image reward set for 1,000 classes); the next 3 per class are the calibration pool"

// folderImageExt are the file extensions read (case-insensitive).
var folderImageExt = []string{".jpeg", ".jpg", ".png"}

func openImageNet(roots []string, cacheDir string) (Dataset, error) {
	var looked []string
	for _, r := range roots {
		base := filepath.Join(r, "imagenet")
		looked = append(looked, base)
		tr, errT := os.Stat(filepath.Join(base, "train"))
		va, errV := os.Stat(filepath.Join(base, "val"))
		if errT == nil && errV == nil && tr.IsDir() && va.IsDir() {
			return &imageFolder{root: base, cache: cacheDir, log: os.Stderr}, nil
		}
	}
	return nil, missingDataError("ImageNet in the ImageFolder layout (imagenet/train/CLASS/*.JPEG and imagenet/val/CLASS/*.JPEG)", looked,
		"Put ILSVRC2012's train and val images under DATA/imagenet/train/<wnid>/ and DATA/imagenet/val/<wnid>/\n"+
			"(val sorted into class folders, as torchvision's ImageFolder expects) and point --data-dir or AMC_DATA at DATA.")
}

func (d *imageFolder) Name() string { return "imagenet" }

// HeldoutRule describes the seeded-path selection.
func (d *imageFolder) HeldoutRule() string { return HeldoutBySeededPath }

// Fingerprint hashes, per split, every decoded file's label, path and
// SHA-256, and the class list: other pixels, labels or selections give
// another fingerprint.
func (d *imageFolder) Fingerprint() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fingerprint != "" {
		return d.fingerprint, nil
	}
	for _, sp := range []Split{Train, Heldout, Test} {
		if err := d.loadSplit(sp); err != nil {
			return "", err
		}
	}
	fp := sha256.New()
	fmt.Fprintf(fp, "%s\nclasses %s\n", folderDecoder, strings.Join(d.classes, ","))
	for _, sp := range []Split{Train, Heldout, Test} {
		fmt.Fprintf(fp, "%s %s\n", sp, d.splitFP[sp])
	}
	d.fingerprint = "sha256:" + hex.EncodeToString(fp.Sum(nil))
	return d.fingerprint, nil
}

// Load returns a split, decoding only that split the first time (the
// fingerprint decodes all three). The pixels are shared with the data set
// (val is 7.5 GB at 224x224): callers must not modify them.
func (d *imageFolder) Load(split Split) (*Images, error) {
	if _, err := ParseSplit(string(split)); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.loadSplit(split); err != nil {
		return nil, err
	}
	out := *d.splits[split]
	return &out, nil
}

// loadSplit lists the folder (once) and decodes a split (once); d.mu is
// held. Errors are not kept: a later call tries again.
func (d *imageFolder) loadSplit(sp Split) error {
	if !d.listed {
		classes, files, err := d.listFolder()
		if err != nil {
			return err
		}
		d.classes, d.files, d.listed = classes, files, true
		d.splits, d.splitFP = map[Split]*Images{}, map[Split]string{}
	}
	if d.splits[sp] != nil {
		return nil
	}
	dir := filepath.Join(d.root, "train")
	if sp == Test {
		dir = filepath.Join(d.root, "val")
	}
	im, sfp, err := d.split(sp, dir, d.classes, d.files[sp])
	if err != nil {
		return err
	}
	im.Dataset, im.Split = d.Name(), sp
	d.splits[sp], d.splitFP[sp] = im, sfp
	return nil
}

// folderFile is one image to decode.
type folderFile struct {
	rel   string // CLASS/FILE under its split folder
	label uint16
	size  int64
	mtime int64
}

// isDir says whether a folder entry is a folder, following a link.
func isDir(dir string, e os.DirEntry) bool {
	if e.Type()&os.ModeSymlink == 0 {
		return e.IsDir()
	}
	st, err := os.Stat(filepath.Join(dir, e.Name()))
	return err == nil && st.IsDir()
}

// listClass lists a class folder's image files in name order.
func listClass(dir, class string, label uint16) ([]folderFile, error) {
	ents, err := os.ReadDir(filepath.Join(dir, class))
	if err != nil {
		return nil, err
	}
	var out []folderFile
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !slices.Contains(folderImageExt, strings.ToLower(filepath.Ext(n))) {
			continue
		}
		info, err := os.Stat(filepath.Join(dir, class, n)) // follows links, as torchvision does
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("%s is not a regular file", filepath.Join(dir, class, n))
		}
		out = append(out, folderFile{rel: class + "/" + n, label: label, size: info.Size(), mtime: info.ModTime().UnixNano()})
	}
	return out, nil
}

// listFolder returns the classes (train's sorted folder names) and, per
// split, the files to decode.
func (d *imageFolder) listFolder() ([]string, map[Split][]folderFile, error) {
	trainDir, valDir := filepath.Join(d.root, "train"), filepath.Join(d.root, "val")
	ents, err := os.ReadDir(trainDir)
	if err != nil {
		return nil, nil, fmt.Errorf("imagenet: %w", err)
	}
	var classes []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") && isDir(trainDir, e) {
			classes = append(classes, e.Name())
		}
	}
	if len(classes) < 2 || len(classes) > 1<<16 {
		return nil, nil, fmt.Errorf("imagenet: %s has %d class folders; want 2 to 65,536", trainDir, len(classes))
	}
	label := map[string]uint16{}
	for i, c := range classes {
		label[c] = uint16(i)
	}
	files := map[Split][]folderFile{}
	const need = FolderHeldoutPerClass + FolderCalibPerClass
	type ranked struct {
		f   folderFile
		key [32]byte
	}
	var held, calib []ranked
	for _, c := range classes {
		fs, err := listClass(trainDir, c, label[c])
		if err != nil {
			return nil, nil, fmt.Errorf("imagenet train: %w", err)
		}
		if len(fs) < need {
			return nil, nil, fmt.Errorf("imagenet: class %s has %d training images in %s; the reward set and calibration pool need %d per class",
				c, len(fs), filepath.Join(trainDir, c), need)
		}
		rs := make([]ranked, len(fs))
		for i, f := range fs {
			rs[i] = ranked{f, sha256.Sum256([]byte(folderSalt + f.rel))}
		}
		slices.SortFunc(rs, func(a, b ranked) int { return bytes.Compare(a.key[:], b.key[:]) })
		held = append(held, rs[:FolderHeldoutPerClass]...)
		calib = append(calib, rs[FolderHeldoutPerClass:need]...)
	}
	// Both selections in hash order, classes mixed, like CIFAR-10's held-out split.
	for sp, rs := range map[Split][]ranked{Heldout: held, Train: calib} {
		slices.SortFunc(rs, func(a, b ranked) int { return bytes.Compare(a.key[:], b.key[:]) })
		for _, r := range rs {
			files[sp] = append(files[sp], r.f)
		}
	}
	vents, err := os.ReadDir(valDir)
	if err != nil {
		return nil, nil, fmt.Errorf("imagenet: %w", err)
	}
	for _, e := range vents {
		if !isDir(valDir, e) {
			if slices.Contains(folderImageExt, strings.ToLower(filepath.Ext(e.Name()))) {
				return nil, nil, fmt.Errorf("imagenet: %s holds images directly (%s); sort val into class folders val/<wnid>/ (torchvision's ImageFolder layout)", valDir, e.Name())
			}
			continue
		}
		l, ok := label[e.Name()]
		if !ok {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			return nil, nil, fmt.Errorf("imagenet: val class folder %s is not among train's %d classes", e.Name(), len(classes))
		}
		fs, err := listClass(valDir, e.Name(), l)
		if err != nil {
			return nil, nil, fmt.Errorf("imagenet val: %w", err)
		}
		files[Test] = append(files[Test], fs...)
	}
	if len(files[Test]) == 0 {
		return nil, nil, fmt.Errorf("imagenet: no images under %s", valDir)
	}
	return classes, files, nil
}

// split returns one split's images and content fingerprint, from the cache
// when its key (the files' names, labels, sizes and times, the classes and
// the decoder) matches, else decoded and cached.
func (d *imageFolder) split(sp Split, dir string, classes []string, fs []folderFile) (*Images, string, error) {
	key := sha256.New()
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	fmt.Fprintf(key, "%s\n%s\n%s\n", folderDecoder, dir, strings.Join(classes, ","))
	for _, f := range fs {
		fmt.Fprintf(key, "%s\x00%d\x00%d\x00%d\n", f.rel, f.label, f.size, f.mtime)
	}
	sum := hex.EncodeToString(key.Sum(nil))
	want := cacheHeader{Source: "imagefolder " + sum, Decoder: folderDecoder, Split: string(sp)}
	path := filepath.Join(d.cache, fmt.Sprintf("imagenet-%s-%s.u8", sp, sum[:16]))
	if d.cache != "" {
		if im, h, ok := readCache(path, want); ok && h.Fingerprint != "" && im.N == len(fs) {
			return im, h.Fingerprint, nil
		}
	}
	im, sfp, err := decodeFolder(dir, fs, classes, d.log, fmt.Sprintf("imagenet %s", sp))
	if err != nil {
		return nil, "", err
	}
	if d.cache != "" {
		h := want
		h.N, h.H, h.W, h.C, h.Classes, h.Fingerprint = im.N, im.H, im.W, im.C, im.Classes, sfp
		if err := os.MkdirAll(d.cache, 0o755); err == nil {
			err = writeCache(path, h, im)
		}
		if err != nil {
			// A cache that cannot be written only costs time.
			fmt.Fprintf(os.Stderr, "warning: %v\n", err)
		} else {
			removeStaleCaches(d.cache, sp, path)
		}
	}
	return im, sfp, nil
}

// removeStaleCaches deletes the split's other caches in dir (written for
// files that have since changed: val's is 7.5 GB). Caches of another
// ImageNet copy sharing the cache folder are deleted too; they are rebuilt
// when that copy is read again.
func removeStaleCaches(dir string, sp Split, keep string) {
	old, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("imagenet-%s-*.u8", sp)))
	for _, f := range old {
		if f != keep {
			os.Remove(f)
		}
	}
}

// decodeFolder decodes files (paths relative to dir) through the
// evaluation transform on every core, with progress on log, and returns
// the images and the SHA-256 of their lines "LABEL PATH SHA256".
func decodeFolder(dir string, fs []folderFile, classes []string, log io.Writer, desc string) (*Images, string, error) {
	const s = EvalCrop * EvalCrop * 3
	im := &Images{N: len(fs), H: EvalCrop, W: EvalCrop, C: 3, Pixels: make([]uint8, len(fs)*s), Labels: make([]uint16, len(fs)), Classes: classes}
	sums := make([][32]byte, len(fs))
	jobs := make(chan int)
	done := make(chan error)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range jobs {
				f := fs[i]
				raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.rel)))
				if err == nil {
					sums[i] = sha256.Sum256(raw)
					err = decodeEval(im.Pixels[i*s:(i+1)*s], raw)
				}
				if err != nil {
					err = fmt.Errorf("%s: %w", filepath.Join(dir, f.rel), err)
				}
				im.Labels[i] = f.label
				done <- err
			}
		})
	}
	var failed atomic.Bool
	go func() {
		for i := range fs {
			if failed.Load() {
				break // the first error stops the feed
			}
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		close(done)
	}()
	bar := progress.New(log, len(fs), desc)
	var first error
	n := 0
	for err := range done { // every job sent gets its answer
		n++
		if err != nil && first == nil {
			first = err
			failed.Store(true)
		}
		if first == nil {
			bar.Update(n, len(fs))
		}
	}
	bar.Finish()
	if first != nil {
		return nil, "", first
	}
	h := sha256.New()
	for i, f := range fs {
		fmt.Fprintf(h, "%d %s %x\n", f.label, f.rel, sums[i])
	}
	return im, "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// maxImagePixels bounds an image's size before it is decoded (ImageNet's
// largest is about 10 megapixels).
const maxImagePixels = 1 << 26

// decodeEval decodes one encoded image (JPEG or PNG) into dst through the
// evaluation transform.
func decodeEval(dst, raw []byte) error {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width*cfg.Height > maxImagePixels {
		return fmt.Errorf("image of %dx%d pixels: want at least 1x1 and at most %d pixels", cfg.Width, cfg.Height, maxImagePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return evalTransform(dst, toRGB(img))
}

// Package datasets reads the image classification data the harness runs on:
// ImageNet in the ImageFolder layout ("imagenet": see imageFolder) and
// CIFAR-10 as the standard binary distribution ("cifar10", the default: the
// lossless copy under ../shared/data or the official archive) or as the older
// lossy JPEG copy ("cifar10-jpeg"), split into train (45,000), heldout (5,000:
// 500 training images per class) and test (10,000). The binary distribution's
// held-out images are defined by their content (HeldoutByContent), so every
// copy of CIFAR-10 holds out the same images whatever its record order; the
// JPEG copy keeps its own positional rule (HeldoutLastTenth). Pixels are kept
// as uint8 NHWC and turned into normalised float32 batches on demand, with
// optional augmentation on a per-batch copy.
package datasets

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/amcbench/amc/internal/suggest"
)

// Split names a part of a dataset.
type Split string

// The splits. Heldout is the reward and model-selection set (never the test
// set); calibration samples for reconstruction come from Train.
const (
	Train   Split = "train"
	Heldout Split = "heldout"
	Test    Split = "test"
)

// ParseSplit checks a split name.
func ParseSplit(s string) (Split, error) {
	switch Split(s) {
	case Train, Heldout, Test:
		return Split(s), nil
	}
	return "", fmt.Errorf("unknown split %q%s; valid splits: train, heldout, test", s,
		suggest.DidYouMean(s, []string{"train", "heldout", "test"}))
}

// Images is a set of labelled images, pixels in NHWC uint8 order.
type Images struct {
	Dataset string
	Split   Split
	N       int
	H, W, C int
	Pixels  []uint8 // N*H*W*C values
	Labels  []uint16
	Classes []string
}

// Image returns the pixels of image i.
func (im *Images) Image(i int) []uint8 {
	s := im.H * im.W * im.C
	return im.Pixels[i*s : (i+1)*s]
}

// Subset returns the images at the given indices (copied).
func (im *Images) Subset(idx []int) *Images {
	out := *im
	s := im.H * im.W * im.C
	out.N = len(idx)
	out.Pixels = make([]uint8, len(idx)*s)
	out.Labels = make([]uint16, len(idx))
	for k, i := range idx {
		copy(out.Pixels[k*s:], im.Image(i))
		out.Labels[k] = im.Labels[i]
	}
	return &out
}

// Dataset loads the splits of one data set.
type Dataset interface {
	// Name is the registry name ("cifar10").
	Name() string
	// Load returns one split.
	Load(split Split) (*Images, error)
	// Fingerprint is a hash of the data's content ("sha256:..."): runs on
	// data with other content never mix.
	Fingerprint() (string, error)
	// HeldoutRule says which training images form the held-out split.
	HeldoutRule() string
}

// The held-out rules.
const (
	// HeldoutByContent: per class, the tenth of the training images (500 of
	// 5,000 for CIFAR-10) with the smallest SHA-256 of their pixel bytes as
	// a binary record stores them (red plane, green plane, blue plane, each
	// row-major); held-out images are ordered by that hash.
	HeldoutByContent = "content: per class the 10% of training images with the smallest SHA-256 of their planar RGB bytes"
	// HeldoutLastTenth: per class, the last tenth of the training images in
	// the source's order (the JPEG copy's files 4500.jpg-4999.jpg).
	HeldoutLastTenth = "position: per class the last 10% of training images in the source's order"
)

// Options say where data and caches live.
type Options struct {
	// DataDir is the data root; empty means AMC_DATA, then ./data, then ../shared/data.
	DataDir string
	// CacheDir holds decoded caches; empty means AMC_CACHE, then the user's cache directory.
	CacheDir string
}

type opener func(roots []string, cacheDir string) (Dataset, error)

// Info is what is known of a registered data set without opening it.
type Info struct {
	// Side is the side of its square images (32 for CIFAR-10, 224 for
	// ImageNet after the evaluation transform): what a model must take.
	Side int
	// TrainIsSample is true where the train split is a calibration pool,
	// not the training set (ImageNet): amc does not train or fine-tune on
	// it.
	TrainIsSample bool
}

// source is a registered data set: how to open it, and its Info.
type source struct {
	open opener
	info Info
}

var registry = map[string]source{
	"cifar10-jpeg": {openJPEG, Info{Side: 32}},
	"cifar10":      {openBinary, Info{Side: 32}},
	"imagenet":     {openImageNet, Info{Side: EvalCrop, TrainIsSample: true}},
}

// unknownDataset is the error for a name not in the registry.
func unknownDataset(name string) error {
	return fmt.Errorf("unknown dataset %q%s; valid datasets: %s", name,
		suggest.DidYouMean(name, Names()), strings.Join(Names(), ", "))
}

// Describe returns a registered data set's Info.
func Describe(name string) (Info, error) {
	s, ok := registry[name]
	if !ok {
		return Info{}, unknownDataset(name)
	}
	return s.info, nil
}

// Names lists the registered data sets.
func Names() []string {
	var n []string
	for k := range registry {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Open finds and opens a data set by name.
func Open(name string, opt Options) (Dataset, error) {
	src, ok := registry[name]
	if !ok {
		return nil, unknownDataset(name)
	}
	cache, err := CacheDir(opt.CacheDir)
	if err != nil {
		return nil, err
	}
	return src.open(DataRoots(opt.DataDir), cache)
}

// DataRoots lists the data roots to search: the given one alone if set, else
// AMC_DATA alone if set, else ./data and ../shared/data.
func DataRoots(dir string) []string {
	if dir != "" {
		return []string{dir}
	}
	if env := os.Getenv("AMC_DATA"); env != "" {
		return []string{env}
	}
	return []string{"data", filepath.Join("..", "shared", "data")}
}

// CacheDir resolves the cache directory: the given one, else AMC_CACHE, else
// the user's cache directory + "/amc".
func CacheDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if env := os.Getenv("AMC_CACHE"); env != "" {
		return env, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory: set AMC_CACHE (%w)", err)
	}
	return filepath.Join(base, "amc"), nil
}

// HeldoutByHash applies HeldoutByContent: given each training image's label
// and hash, it returns the held-out indices (a tenth of each class's images,
// those with the smallest hashes; ordered by hash, then label) and the
// other indices (in their original order). The result depends only on the
// images' content and labels, not on their order (identical images under one
// label are interchangeable).
func HeldoutByHash(labels []uint16, hashes [][32]byte) (held, rest []int) {
	byClass := map[uint16][]int{}
	for i, l := range labels {
		byClass[l] = append(byClass[l], i)
	}
	less := func(a, b int) bool {
		if c := bytes.Compare(hashes[a][:], hashes[b][:]); c != 0 {
			return c < 0
		}
		if labels[a] != labels[b] {
			return labels[a] < labels[b]
		}
		return a < b
	}
	isHeld := make([]bool, len(labels))
	for _, idx := range byClass {
		sort.Slice(idx, func(x, y int) bool { return less(idx[x], idx[y]) })
		for _, i := range idx[:len(idx)/10] {
			isHeld[i] = true
			held = append(held, i)
		}
	}
	sort.Slice(held, func(x, y int) bool { return less(held[x], held[y]) })
	for i, h := range isHeld {
		if !h {
			rest = append(rest, i)
		}
	}
	return held, rest
}

// splitTrain applies HeldoutLastTenth: it divides a full training set into
// train and heldout, the last tenth of each class's images (the last 500 of
// 5,000 for CIFAR-10), in the original order, held out.
func splitTrain(all *Images, split Split) *Images {
	perClass := map[uint16]int{}
	for _, l := range all.Labels {
		perClass[l]++
	}
	seen := map[uint16]int{}
	var idx []int
	for i, l := range all.Labels {
		held := seen[l] >= perClass[l]-perClass[l]/10
		seen[l]++
		if held == (split == Heldout) {
			idx = append(idx, i)
		}
	}
	out := all.Subset(idx)
	out.Split = split
	return out
}

func missingDataError(what string, looked []string, how string) error {
	return fmt.Errorf("%s not found; looked in:\n  %s\n%s", what, strings.Join(looked, "\n  "), how)
}

package weights

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/nn"
)

// Metadata keys the project writes into its safetensors files.
const (
	MetaModel         = "amc.model"
	MetaNormalization = "amc.normalization"
	// MetaSource is the SHA-256 of the file a converted file was made
	// from (amc convert), so that a copy keeps its provenance (Known).
	MetaSource = "amc.source_sha256"
)

// File is a loaded weights file.
type File struct {
	Path   string
	Format string // "safetensors", "pytorch-zip" or "pytorch-legacy"
	Params nn.Params
	Meta   map[string]string
}

// Load reads a weights file, telling the format from its first bytes. PyTorch
// names lose any "module." prefix and num_batches_tracked buffers are dropped.
// Whatever the format, the values must pass CheckValues (finite, running
// variances not negative); a file that is damaged or hostile is refused with
// an error naming it, without allocating more than the file could hold.
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	head := make([]byte, 9)
	n, _ := io.ReadFull(f, head)
	f.Close()
	head = head[:n]
	var file *File
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		p, err := loadPyTorch(path)
		if err != nil {
			return nil, err
		}
		file = &File{Path: path, Format: "pytorch-zip", Params: p}
	case len(head) >= 2 && head[0] == 0x80 && head[1] <= 5:
		p, err := loadPyTorch(path)
		if err != nil {
			return nil, err
		}
		file = &File{Path: path, Format: "pytorch-legacy", Params: p}
	case len(head) == 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) < 100<<20:
		p, meta, err := loadSafetensors(path)
		if err != nil {
			return nil, err
		}
		file = &File{Path: path, Format: "safetensors", Params: p, Meta: meta}
	default:
		return nil, fmt.Errorf("weights: %s is neither a PyTorch checkpoint (.th/.pt/.pth) nor a safetensors file", path)
	}
	if err := CheckValues(file.Params); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return file, nil
}

// Normalization returns the input normalisation recorded in the file's
// metadata, or ImageNet statistics (what all shared weights use) when none is.
func (f *File) Normalization() (datasets.Normalization, error) {
	s, ok := f.Meta[MetaNormalization]
	if !ok {
		return datasets.ImageNetNorm, nil
	}
	var n datasets.Normalization
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		return n, fmt.Errorf("%s: metadata %s: %w", f.Path, MetaNormalization, err)
	}
	return n, n.Validate()
}

// NormalizationMeta encodes n for a safetensors metadata map.
func NormalizationMeta(n datasets.Normalization) string {
	b, _ := json.Marshal(n)
	return string(b)
}

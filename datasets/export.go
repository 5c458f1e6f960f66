package datasets

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/amcbench/amc/internal/atomicfile"
)

// ExportFormat names the layout written by Export (docs/bridge.md).
const ExportFormat = "amc-data-export/1"

// ExportedSplit describes one split's files in an export folder.
type ExportedSplit struct {
	Images       int    `json:"images"`
	ImagesFile   string `json:"images_file"` // uint8 NumPy array, shape (N, H, W, C)
	LabelsFile   string `json:"labels_file"` // uint8 NumPy array, shape (N,)
	ImagesSHA256 string `json:"images_sha256"`
	LabelsSHA256 string `json:"labels_sha256"`
}

// Export writes im as two NumPy (.npy) files in dir, SPLIT-images.npy
// (uint8, N x H x W x C, the pixels amc computes on) and SPLIT-labels.npy
// (uint8, N), each atomically, and returns their description.
func Export(im *Images, dir string) (ExportedSplit, error) {
	if im.N*im.H*im.W*im.C != len(im.Pixels) || len(im.Labels) != im.N {
		return ExportedSplit{}, fmt.Errorf("export %s: %d pixels and %d labels for %d images of %dx%dx%d",
			im.Split, len(im.Pixels), len(im.Labels), im.N, im.H, im.W, im.C)
	}
	s := ExportedSplit{Images: im.N, ImagesFile: string(im.Split) + "-images.npy", LabelsFile: string(im.Split) + "-labels.npy"}
	var err error
	if s.ImagesSHA256, err = writeNPY(filepath.Join(dir, s.ImagesFile), []int{im.N, im.H, im.W, im.C}, im.Pixels); err != nil {
		return ExportedSplit{}, err
	}
	if s.LabelsSHA256, err = writeNPY(filepath.Join(dir, s.LabelsFile), []int{im.N}, im.Labels); err != nil {
		return ExportedSplit{}, err
	}
	return s, nil
}

// writeNPY writes a uint8 array in NumPy's .npy format (version 1.0) and
// returns the file's SHA-256.
func writeNPY(path string, shape []int, data []uint8) (string, error) {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '|u1', 'fortran_order': False, 'shape': (%s), }", tuple)
	// magic (6) + version (2) + length (2) + header + padding + '\n' is a multiple of 64.
	pad := 64 - (10+len(header)+1)%64
	if pad == 64 {
		pad = 0
	}
	header += strings.Repeat(" ", pad) + "\n"
	h := sha256.New()
	err := atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriter(io.MultiWriter(w, h))
		bw.WriteString("\x93NUMPY\x01\x00")
		bw.WriteByte(byte(len(header)))
		bw.WriteByte(byte(len(header) >> 8))
		bw.WriteString(header)
		bw.Write(data)
		return bw.Flush()
	})
	if err != nil {
		return "", fmt.Errorf("export: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

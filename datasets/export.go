package datasets

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"slices"
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
// (uint8, N; uint16 where a label exceeds 255), each atomically, and returns their description.
func Export(im *Images, dir string) (ExportedSplit, error) {
	if im.N*im.H*im.W*im.C != len(im.Pixels) || len(im.Labels) != im.N {
		return ExportedSplit{}, fmt.Errorf("export %s: %d pixels and %d labels for %d images of %dx%dx%d",
			im.Split, len(im.Pixels), len(im.Labels), im.N, im.H, im.W, im.C)
	}
	s := ExportedSplit{Images: im.N, ImagesFile: string(im.Split) + "-images.npy", LabelsFile: string(im.Split) + "-labels.npy"}
	var err error
	if s.ImagesSHA256, err = writeNPY(filepath.Join(dir, s.ImagesFile), []int{im.N, im.H, im.W, im.C}, "|u1", im.Pixels); err != nil {
		return ExportedSplit{}, err
	}
	descr, labels := labelBytes(im.Labels)
	if s.LabelsSHA256, err = writeNPY(filepath.Join(dir, s.LabelsFile), []int{im.N}, descr, labels); err != nil {
		return ExportedSplit{}, err
	}
	return s, nil
}

// labelBytes encodes labels for NumPy: one byte each (uint8) when every
// label fits, as CIFAR-10's do, else little-endian uint16 (ImageNet's 1,000
// classes).
func labelBytes(labels []uint16) (descr string, data []byte) {
	if slices.Max(append([]uint16{0}, labels...)) < 256 {
		data = make([]byte, len(labels))
		for i, l := range labels {
			data[i] = byte(l)
		}
		return "|u1", data
	}
	data = make([]byte, 2*len(labels))
	for i, l := range labels {
		binary.LittleEndian.PutUint16(data[2*i:], l)
	}
	return "<u2", data
}

// writeNPY writes an array of the NumPy type descr ("|u1", "<u2") from its
// raw bytes in NumPy's .npy format (version 1.0) and returns the file's
// SHA-256.
func writeNPY(path string, shape []int, descr string, data []byte) (string, error) {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
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

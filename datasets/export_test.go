package datasets

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Export writes NumPy 1.0 files: magic, a header padded so the data starts
// on a 64-byte boundary, the shape, then the bytes unchanged; the returned
// checksums are the files'.
func TestExportWritesNumPyFiles(t *testing.T) {
	for _, c := range []struct {
		name   string
		labels []uint16
		descr  string
		bytes  []uint8
	}{
		{"CIFAR-10's labels, one byte each", []uint16{7, 0, 9}, "|u1", []uint8{7, 0, 9}},
		{"ImageNet's labels, uint16", []uint16{999, 0, 256}, "<u2", []uint8{0xe7, 0x03, 0, 0, 0, 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			im := &Images{Split: Heldout, N: 3, H: 2, W: 2, C: 3, Pixels: make([]uint8, 36), Labels: c.labels}
			for i := range im.Pixels {
				im.Pixels[i] = uint8(i * 7)
			}
			e, err := Export(im, dir)
			require.NoError(t, err)
			for _, f := range []struct {
				file, sum, shape, descr string
				data                    []uint8
			}{{e.ImagesFile, e.ImagesSHA256, "(3, 2, 2, 3)", "|u1", im.Pixels}, {e.LabelsFile, e.LabelsSHA256, "(3,)", c.descr, c.bytes}} {
				b, err := os.ReadFile(filepath.Join(dir, f.file))
				require.NoError(t, err)
				h := sha256.Sum256(b)
				assert.Equal(t, hex.EncodeToString(h[:]), f.sum, f.file)
				require.Equal(t, "\x93NUMPY\x01\x00", string(b[:8]))
				n := int(binary.LittleEndian.Uint16(b[8:10]))
				assert.Zero(t, (10+n)%64, "data aligned to 64 bytes")
				header := string(b[10 : 10+n])
				assert.True(t, strings.HasSuffix(header, "\n"))
				assert.Contains(t, header, "'descr': '"+f.descr+"'")
				assert.Contains(t, header, "'shape': "+f.shape)
				assert.Equal(t, f.data, b[10+n:], f.file)
			}
		})
	}
	dir := t.TempDir()
	_, err := Export(&Images{Split: Test, N: 2, H: 1, W: 1, C: 3, Pixels: make([]uint8, 5), Labels: []uint16{1, 2}}, dir)
	assert.ErrorContains(t, err, "5 pixels")
}

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
	dir := t.TempDir()
	im := &Images{Split: Heldout, N: 3, H: 2, W: 2, C: 3, Pixels: make([]uint8, 36), Labels: []uint8{7, 0, 9}}
	for i := range im.Pixels {
		im.Pixels[i] = uint8(i * 7)
	}
	e, err := Export(im, dir)
	require.NoError(t, err)
	for _, c := range []struct {
		file, sum, shape string
		data             []uint8
	}{{e.ImagesFile, e.ImagesSHA256, "(3, 2, 2, 3)", im.Pixels}, {e.LabelsFile, e.LabelsSHA256, "(3,)", im.Labels}} {
		b, err := os.ReadFile(filepath.Join(dir, c.file))
		require.NoError(t, err)
		h := sha256.Sum256(b)
		assert.Equal(t, hex.EncodeToString(h[:]), c.sum, c.file)
		require.Equal(t, "\x93NUMPY\x01\x00", string(b[:8]))
		n := int(binary.LittleEndian.Uint16(b[8:10]))
		assert.Zero(t, (10+n)%64, "data aligned to 64 bytes")
		header := string(b[10 : 10+n])
		assert.True(t, strings.HasSuffix(header, "\n"))
		assert.Contains(t, header, "'descr': '|u1'")
		assert.Contains(t, header, "'shape': "+c.shape)
		assert.Equal(t, c.data, b[10+n:], c.file)
	}
	_, err = Export(&Images{Split: Test, N: 2, H: 1, W: 1, C: 3, Pixels: make([]uint8, 5), Labels: []uint8{1, 2}}, dir)
	assert.ErrorContains(t, err, "5 pixels")
}

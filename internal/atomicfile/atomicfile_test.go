package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteIsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f.txt")
	require.NoError(t, WriteBytes(p, []byte("first")))
	err := Write(p, func(w io.Writer) error {
		w.Write([]byte("half"))
		return errors.New("disk on fire")
	})
	assert.ErrorContains(t, err, "disk on fire")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, "first", string(b), "a failed write leaves the old file")
	left, _ := filepath.Glob(filepath.Join(dir, "sub", ".tmp-*"))
	assert.Empty(t, left)
}

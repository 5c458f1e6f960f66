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

// Written files get the usual mode (0666 less the umask), not CreateTemp's 0600.
func TestWriteModeFollowsUmask(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.json")
	require.NoError(t, WriteBytes(path, []byte("{}")))
	plain := filepath.Join(t.TempDir(), "plain")
	require.NoError(t, os.WriteFile(plain, nil, 0o666))
	want, err := os.Stat(plain)
	require.NoError(t, err)
	got, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, want.Mode().Perm(), got.Mode().Perm())
}

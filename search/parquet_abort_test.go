package search

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A failed search aborts its log: neither a final episodes.parquet (which
// would look finished) nor the partial file is left.
func TestEpisodeLogAbortLeavesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "episodes.parquet")
	l, err := CreateEpisodeLog(path)
	require.NoError(t, err)
	require.NoError(t, l.Write(EpisodeRow{Spec: "x", Episode: 0}))
	l.Abort()
	assert.NoFileExists(t, path)
	assert.NoFileExists(t, path+".partial")
}

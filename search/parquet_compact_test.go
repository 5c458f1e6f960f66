package search

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A closed episode log is one zstd-compressed row group holding every row
// written, and no partial file is left.
func TestEpisodeLogCloseCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "episodes.parquet")
	l, err := CreateEpisodeLog(path)
	require.NoError(t, err)
	var want []EpisodeRow
	for ep := 0; ep < 50; ep++ {
		r := EpisodeRow{Spec: "s", Run: "abc", Strategy: "ddpg", Seed: 1, Episode: int64(ep), Groups: []string{"a", "b"},
			Ratios: []float64{0.5, float64(ep) / 50}, Kept: []int64{8, int64(ep)}, Reward: -float64(ep), Explore: ep%2 == 0}
		require.NoError(t, l.Write(r))
		want = append(want, r)
	}
	require.NoError(t, l.Close())
	_, err = os.Stat(path + ".partial")
	assert.True(t, os.IsNotExist(err))
	got, err := ReadEpisodes(path)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	require.NoError(t, err)
	assert.Len(t, pf.RowGroups(), 1)
	for _, c := range pf.Metadata().RowGroups[0].Columns {
		assert.Equal(t, "ZSTD", c.MetaData.Codec.String(), c.MetaData.PathInSchema)
	}
}

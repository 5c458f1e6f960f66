package search

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// EpisodeLog writes episode rows to a Parquet file, flushing a row group
// after every episode so that an interruption loses at most the episode in
// flight. The rows go to PATH.partial; Close rewrites them into PATH as one
// zstd row group (atomically) and then removes the partial file.
type EpisodeLog struct {
	path string
	f    *os.File
	w    *parquet.GenericWriter[EpisodeRow]
}

// CreateEpisodeLog starts path (episodes.parquet).
func CreateEpisodeLog(path string) (*EpisodeLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(path + ".partial")
	if err != nil {
		return nil, err
	}
	return &EpisodeLog{path: path, f: f, w: parquet.NewGenericWriter[EpisodeRow](f, Compression)}, nil
}

// Compression is how amc's Parquet files are compressed: zstd, which every
// Parquet reader reads (DuckDB, pyarrow, Spark, parquet-go).
var Compression = parquet.Compression(&zstd.Codec{Level: zstd.SpeedBetterCompression})

// Write appends one row and flushes it to the file.
func (l *EpisodeLog) Write(r EpisodeRow) error {
	if _, err := l.w.Write([]EpisodeRow{r}); err != nil {
		return fmt.Errorf("episodes log: %w", err)
	}
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("episodes log: %w", err)
	}
	return nil
}

// Close finishes the file and moves it into place, rewritten as one row
// group: a row group per episode is what makes the log safe to interrupt,
// but its per-group overhead made files of 300 episodes 35 times larger.
func (l *EpisodeLog) Close() error {
	if err := l.w.Close(); err != nil {
		l.f.Close()
		return fmt.Errorf("episodes log: %w", err)
	}
	if err := l.f.Close(); err != nil {
		return err
	}
	partial := l.path + ".partial"
	rows, err := parquet.ReadFile[EpisodeRow](partial)
	if err != nil {
		return fmt.Errorf("episodes log: %w", err)
	}
	if err := atomicfile.Write(l.path, func(w io.Writer) error { return parquet.Write(w, rows, Compression) }); err != nil {
		return fmt.Errorf("episodes log: %w", err)
	}
	return os.Remove(partial)
}

// Abort drops an unfinished log: the partial file is removed and no
// episodes.parquet appears (a failed search leaves no file that looks
// finished; its checkpoint, if any, still holds the episodes to resume).
func (l *EpisodeLog) Abort() {
	l.w.Close()
	l.f.Close()
	os.Remove(l.path + ".partial")
}

// ReadEpisodes reads an episodes.parquet file.
func ReadEpisodes(path string) ([]EpisodeRow, error) {
	rows, err := parquet.ReadFile[EpisodeRow](path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}

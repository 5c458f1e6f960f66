package search

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// EpisodeLog writes episode rows to a Parquet file, flushing a row group
// after every episode so that an interruption loses at most the episode in
// flight. The file is written under a temporary name and renamed by Close.
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
	return &EpisodeLog{path: path, f: f, w: parquet.NewGenericWriter[EpisodeRow](f)}, nil
}

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

// Close finishes the file and moves it into place.
func (l *EpisodeLog) Close() error {
	if err := l.w.Close(); err != nil {
		l.f.Close()
		return fmt.Errorf("episodes log: %w", err)
	}
	if err := l.f.Close(); err != nil {
		return err
	}
	return os.Rename(l.path+".partial", l.path)
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

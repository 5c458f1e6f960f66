package search

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/amcbench/amc/internal/atomicfile"
)

// CheckpointVersion is written into every checkpoint; a file from another
// version is refused instead of misread.
const CheckpointVersion = 1

// Checkpoint is everything a run needs to continue after an interruption:
// the episodes done so far and the strategy's whole state (for DDPG: weights,
// optimiser moments, replay buffer, noise and random state). The environment
// is deterministic and rebuilt from the task, so it needs no state.
type Checkpoint struct {
	Version int
	// Fingerprint identifies the run (task, strategy, seed, episodes); a
	// checkpoint is only resumed by the same run.
	Fingerprint string
	// Describe is a readable form of the run, for error messages.
	Describe string
	Rows     []EpisodeRow
	Agent    []byte
}

// SaveCheckpoint writes c to path atomically.
func SaveCheckpoint(path string, c *Checkpoint) error {
	c.Version = CheckpointVersion
	return atomicfile.Write(path, func(w io.Writer) error { return gob.NewEncoder(w).Encode(c) })
}

// LoadCheckpoint reads a checkpoint written by SaveCheckpoint. A missing
// file gives an error wrapping os.ErrNotExist.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Checkpoint
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&c); err != nil {
		return nil, fmt.Errorf("checkpoint %s is damaged (%v); delete it to start the run again", path, err)
	}
	if c.Version != CheckpointVersion {
		return nil, fmt.Errorf("checkpoint %s has version %d, this amc writes %d; delete it to start the run again", path, c.Version, CheckpointVersion)
	}
	for i, r := range c.Rows {
		if r.Episode != int64(i) {
			return nil, fmt.Errorf("checkpoint %s is damaged: row %d holds episode %d", path, i, r.Episode)
		}
	}
	return &c, nil
}

// IsNotExist reports whether err says a checkpoint does not exist.
func IsNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }

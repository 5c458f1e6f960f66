package cli

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/amcbench/amc/internal/outlock"
)

// lockOut takes dir's output-folder lock (a second writer is refused with
// the holder's pid), reports a stale lock left by a killed process, and
// removes the temporary files that killed writers left behind: with the
// lock held, no other amc process is writing them.
func lockOut(dir string, log io.Writer) (*outlock.Lock, error) {
	l, err := outlock.Acquire(dir)
	if err != nil {
		return nil, err
	}
	if h := l.Stale; h != nil {
		fmt.Fprintf(log, "note: %s was last locked by pid %d on %s (%s), which ended without releasing it; its unfinished runs resume from their checkpoints\n",
			dir, h.PID, h.Host, h.Command)
	}
	removeTemps(dir, log)
	return l, nil
}

// removeTemps deletes atomicfile's leftovers (.tmp-NAME-*) under dir.
func removeTemps(dir string, log io.Writer) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), ".tmp-") {
			if os.Remove(p) == nil {
				fmt.Fprintf(log, "removed %s (left by an interrupted write)\n", p)
			}
		}
		return nil
	})
}

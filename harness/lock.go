package harness

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/amcbench/amc/internal/outlock"
)

// Lock is an output folder's lock: one writer at a time.
type Lock struct{ l *outlock.Lock }

// Release gives the folder back.
func (l *Lock) Release() error { return l.l.Release() }

// LockOut takes dir's output-folder lock (a second writer is refused with
// the holder's pid), reports on log (nil: discarded) a stale lock left by a
// killed process, and removes the temporary files that killed writers left
// behind.
func LockOut(dir string, log io.Writer) (*Lock, error) {
	if log == nil {
		log = io.Discard
	}
	l, err := outlock.Acquire(dir)
	if err != nil {
		return nil, err
	}
	if l.Unsupported != nil {
		fmt.Fprintf(log, "warning: %s: the file system refuses locks (%v); going on without one: do not point two writers at this folder at once\n", dir, l.Unsupported)
		return &Lock{l}, nil
	}
	if h := l.Stale; h != nil {
		fmt.Fprintf(log, "note: %s was last locked by pid %d on %s (%s), which ended without releasing it; its unfinished runs resume from their checkpoints\n",
			dir, h.PID, h.Host, h.Command)
	}
	removeTemps(dir, log)
	return &Lock{l}, nil
}

// tempName is atomicfile's temporary name: .tmp-NAME-DIGITS.
var tempName = regexp.MustCompile(`^\.tmp-.+-[0-9]+$`)

// removeTemps deletes atomicfile's leftovers in dir and in the folders amc
// writes below it (DIR/<spec>/<run>/best, .../finetuned, at most four levels
// down). A sub-folder locked by a live process (an amc search writing
// there) is skipped: its temporaries may be in flight.
func removeTemps(dir string, log io.Writer) {
	root := filepath.Clean(dir)
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != root && (strings.Count(strings.TrimPrefix(p, root), string(filepath.Separator)) > 4 || outlock.Busy(p)) {
				return filepath.SkipDir
			}
			return nil
		}
		if tempName.MatchString(d.Name()) {
			if os.Remove(p) == nil {
				fmt.Fprintf(log, "removed %s (left by an interrupted write)\n", p)
			}
		}
		return nil
	})
}

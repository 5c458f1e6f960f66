// Package outlock keeps two amc processes from writing one output folder at
// once. A lock is an advisory flock(2) on DIR/.amc.lock, which the kernel
// releases when its process ends however it ends, so a lock file left by a
// killed process is stale by construction: the next writer takes it over.
// The file names the holder (pid, host, command, start time) for the error
// a second writer gets.
package outlock

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Name is the lock file inside a locked folder.
const Name = ".amc.lock"

// Holder is what a lock file records about its process.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

// Lock is a held output-folder lock.
type Lock struct {
	f       *os.File
	path    string
	created bool // Acquire made the folder
	// Stale is the holder recorded by a previous process that ended
	// without releasing the folder (nil when there was none).
	Stale *Holder
	// Unsupported is set when the file system refuses locks (some NFS and
	// FUSE mounts): the folder is used without one, and the caller should
	// say so.
	Unsupported error
}

// ErrBusy marks a folder locked by another running process.
var ErrBusy = errors.New("output folder in use")

// Acquire locks dir (created if missing) for this process. It fails with
// ErrBusy, naming the holder's pid, when another process holds it.
func Acquire(dir string) (*Lock, error) {
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, os.ErrNotExist)
	path := filepath.Join(dir, Name)
	for range 10 {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		l, again, err := acquire(dir, path)
		if !again {
			if l != nil {
				l.created = created
			} else if created {
				os.Remove(dir)
			}
			return l, err
		}
	}
	return nil, fmt.Errorf("lock %s: the lock file kept being replaced; retry", dir)
}

// Busy reports whether another live process holds dir's lock. It creates
// nothing: a folder without a lock file is not busy.
func Busy(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, Name), os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close() // closing drops a lock taken here
	return errors.Is(tryLock(f), errWouldBlock)
}

// acquire makes one attempt; again reports a lock file removed by its
// holder between this process's open and flock (the attempt is repeated).
func acquire(dir, path string) (l *Lock, again bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		return nil, true, nil // the folder was removed by a releasing holder: again
	}
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", dir, err)
	}
	lockErr := tryLock(f)
	if lockErr != nil && unsupported(lockErr) {
		// The file system has no locks: go on without one, and say so.
		return &Lock{f: f, path: path, Unsupported: lockErr}, false, nil
	}
	if err := lockErr; err != nil {
		prev := readHolder(f)
		f.Close()
		if errors.Is(err, errWouldBlock) {
			who := "another process"
			if prev != nil {
				who = fmt.Sprintf("pid %d on %s (%s, since %s)", prev.PID, prev.Host, prev.Command, prev.Since.Format(time.RFC3339))
			}
			return nil, false, fmt.Errorf("%s is being written by %s: wait for it to finish or stop it, or use another folder: %w", dir, who, ErrBusy)
		}
		return nil, false, fmt.Errorf("lock %s: %w", dir, err)
	}
	if held, err1 := f.Stat(); err1 == nil {
		if now, err2 := os.Stat(path); err2 != nil || !os.SameFile(held, now) {
			f.Close()
			return nil, true, nil
		}
	}
	l = &Lock{f: f, path: path, Stale: readHolder(f)}
	host, _ := os.Hostname()
	me := Holder{PID: os.Getpid(), Host: host, Command: strings.Join(os.Args, " "), Since: time.Now().UTC().Truncate(time.Second)}
	b, _ := json.Marshal(me)
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(append(b, '\n'), 0)
	}
	return l, false, nil
}

// Release unlocks the folder and removes the lock file, and the folder too
// when Acquire created it and nothing was written there (a refused command
// leaves nothing behind).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := releaseFile(l.f, l.path)
	l.f = nil
	if l.created {
		os.Remove(filepath.Dir(l.path)) // fails, as it should, unless empty
	}
	return err
}

func readHolder(f *os.File) *Holder {
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	var h Holder
	if n == 0 || json.Unmarshal(b[:n], &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
}

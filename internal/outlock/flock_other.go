//go:build !unix

package outlock

import (
	"errors"
	"os"
)

// Without flock(2) the lock is advisory only in name: every Acquire
// succeeds (amc's supported platforms are unix).
var errWouldBlock = errors.New("locked")

func tryLock(*os.File) error { return nil }

func unsupported(error) bool { return false }

// releaseFile closes before removing: an open file cannot be removed here.
func releaseFile(f *os.File, path string) error {
	err := f.Close()
	os.Remove(path)
	return err
}

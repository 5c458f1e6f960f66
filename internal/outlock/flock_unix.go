//go:build unix

package outlock

import (
	"errors"
	"os"
	"syscall"
)

var errWouldBlock = syscall.EWOULDBLOCK

func tryLock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// unsupported reports a file system without flock (some NFS and FUSE mounts).
func unsupported(err error) bool {
	return errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS)
}

// releaseFile removes the lock file while it is still held, so that no
// other process can lock it just before it disappears, then closes it.
func releaseFile(f *os.File, path string) error {
	os.Remove(path)
	return f.Close()
}

package outlock

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecondWriterRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	a, err := Acquire(dir)
	require.NoError(t, err)
	assert.Nil(t, a.Stale)
	_, err = Acquire(dir)
	require.ErrorIs(t, err, ErrBusy)
	assert.ErrorContains(t, err, fmt.Sprintf("pid %d", os.Getpid()))
	assert.True(t, Busy(dir))
	require.NoError(t, a.Release())
	assert.False(t, Busy(dir))
	_, err = os.Stat(dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "a folder the lock created and nothing used is removed")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	a, err = Acquire(dir)
	require.NoError(t, err)
	require.NoError(t, a.Release())
	_, err = os.Stat(filepath.Join(dir, Name))
	assert.ErrorIs(t, err, os.ErrNotExist, "a released lock leaves no file")
	assert.DirExists(t, dir, "a folder that was there stays")
	b, err := Acquire(dir)
	require.NoError(t, err)
	require.NoError(t, b.Release())
	assert.NoError(t, b.Release(), "releasing twice is harmless")
}

// A process killed while holding the lock leaves its file behind; the next
// writer takes the folder over and learns who held it.
func TestStaleLockFromKilledProcess(t *testing.T) {
	if os.Getenv("OUTLOCK_HOLD") != "" {
		l, err := Acquire(os.Getenv("OUTLOCK_HOLD"))
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		_ = l
		fmt.Println("held")
		select {} // until killed
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestStaleLockFromKilledProcess$")
	cmd.Env = append(os.Environ(), "OUTLOCK_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "held\n", line)

	_, err = Acquire(dir)
	require.ErrorIs(t, err, ErrBusy, "held by a live process")
	assert.ErrorContains(t, err, fmt.Sprintf("pid %d", cmd.Process.Pid))

	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no chance to release
	_ = cmd.Wait()
	l, err := Acquire(dir)
	require.NoError(t, err, "a dead holder's lock is stale")
	require.NotNil(t, l.Stale)
	assert.Equal(t, cmd.Process.Pid, l.Stale.PID)
	require.NoError(t, l.Release())
}

//go:build linux

package weights

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Refusing each hostile file keeps the process's peak resident memory under
// 100 MB: each is loaded in a child process (this test binary, running
// TestRefuseInChild) whose peak RSS the kernel reports.
func TestHostileFilesPeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	for _, h := range hostileFiles(t) {
		t.Run(h.name, func(t *testing.T) {
			p := filepath.Join(dir, h.name)
			require.NoError(t, os.WriteFile(p, h.data, 0o644))
			var out bytes.Buffer
			cmd := exec.Command(os.Args[0], "-test.run=^TestRefuseInChild$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "AMC_WEIGHTS_REFUSE="+p, "AMC_WEIGHTS_WANT="+h.want)
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			require.NotNil(t, cmd.ProcessState, "child did not start: %v", err)
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB
			t.Logf("%s (%d bytes): peak RSS %d KiB", h.name, len(h.data), rss)
			require.NoError(t, err, "child: %s", out.String())
			assert.Contains(t, out.String(), "--- PASS: TestRefuseInChild")
			assert.Less(t, rss, int64(100<<10), "peak RSS in KiB")
		})
	}
}

// TestRefuseInChild is the child half of TestHostileFilesPeakMemory.
func TestRefuseInChild(t *testing.T) {
	p := os.Getenv("AMC_WEIGHTS_REFUSE")
	if p == "" {
		t.Skip("run by TestHostileFilesPeakMemory")
	}
	_, err := Load(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), os.Getenv("AMC_WEIGHTS_WANT"))
}

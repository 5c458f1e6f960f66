// Package testpython finds the Python interpreter a test needs: Debian's
// /usr/bin/python3 (the one make test installs packages for) before the
// first python3 on PATH. Without one, or without a module it must import,
// the test is skipped with a message, and fails under CI=true, where
// every dependency must be there.
package testpython

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Find returns the interpreter's path; imports are modules it must import
// (for example "scipy.stats"); why says what needs them.
func Find(t testing.TB, why string, imports ...string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if len(imports) == 0 || exec.Command(path, "-c", "import "+strings.Join(imports, ", ")).Run() == nil {
			return path
		}
	}
	msg := "python3 is needed for " + why
	if len(imports) > 0 {
		msg = "python3 with " + strings.Join(imports, ", ") + " is needed for " + why
	}
	Missing(t, msg)
	return ""
}

// Missing stops a test that lacks a tool it needs: skipped with msg, or
// failed under CI=true, where every dependency must be there.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

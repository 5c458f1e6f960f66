package testpython

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A missing module skips a test, and fails it under CI=true.
func TestMissingModuleSkipsOrFailsUnderCI(t *testing.T) {
	if os.Getenv("TESTPYTHON_CHILD") != "" {
		Find(t, "this check", "no_such_module_amc")
		return
	}
	for _, c := range []struct {
		ci, want string
		fails    bool
	}{{"", "--- SKIP", false}, {"true", "--- FAIL", true}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingModuleSkipsOrFailsUnderCI$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTPYTHON_CHILD=1", "CI="+c.ci)
		out, err := cmd.CombinedOutput()
		assert.Equal(t, c.fails, err != nil, "CI=%q: %s", c.ci, out)
		assert.True(t, strings.Contains(string(out), c.want), "CI=%q: %s", c.ci, out)
		assert.Contains(t, string(out), "no_such_module_amc is needed for this check")
	}
}

package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amcbench/amc/internal/filesum"
	"github.com/amcbench/amc/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every figure the checkpoints' README gives for a network trained here is
// what amc eval gives now, within 0.05 points, on the whole split (the
// recorded evaluations, checkpoints/cifar10/*-train/eval-*.json, are the
// figures' source), and every sha256 it names is the file's.
func TestCheckpointFiguresReproduce(t *testing.T) {
	needShared(t)
	if _, err := os.Stat(clean20); err != nil {
		t.Skipf("no ../shared/weights/cifar10-clean: %v", err)
	}
	if nn.BLASName == "gonum" && os.Getenv("CI") == "" {
		t.Skip("30,000 images take minutes on the pure-Go engine: run with -tags openblas (make test does)")
	}
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "checkpoints", "README.md"))
	require.NoError(t, err)
	evals, err := filepath.Glob(filepath.Join(root, "checkpoints", "cifar10", "*-train", "eval-*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(evals), 6, "the test and held-out evaluations of ResNet-56, MobileNet-V1 and MobileNet-V2 at width 0.5")
	for _, f := range evals {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var rec struct {
			Model, Weights, Split, Data string
			N                           int
			Top1                        float64
		}
		require.NoError(t, json.Unmarshal(b, &rec), f)
		w := filepath.Join(root, rec.Weights)
		out, _, err := run("eval", "--model", rec.Model, "--weights", w, "--data", rec.Data, "--data-dir", dataDir, "--split", rec.Split, "--json")
		require.NoError(t, err, f)
		got := lastJSON(t, out)
		assert.EqualValues(t, rec.N, got["n"], f)
		assert.InDelta(t, rec.Top1, got["top1"].(float64), 0.05, "%s: amc eval now", f)
		sum, err := filesum.SHA256(w)
		require.NoError(t, err)
		// The figure must be stated in the README's section that names this file by its sha256,
		// after the split's label, not merely somewhere in the README.
		section := readmeSection(string(readme), sum)
		if assert.NotEmpty(t, section, "%s: the README names the file by its sha256", w) {
			label := map[string]string{"test": "test top-1 ", "heldout": "held-out "}[rec.Split]
			require.NotEmpty(t, label, "%s: split %q", f, rec.Split)
			assert.Contains(t, section, label+fmt.Sprintf("%.2f", rec.Top1), "%s: the README's section on %s gives the figure", f, filepath.Base(w))
		}
	}
	// The committed ResNet-20 is the shared clean one, byte for byte.
	a, err := filesum.SHA256(filepath.Join(root, "checkpoints", "cifar10", "resnet20.safetensors"))
	require.NoError(t, err)
	b, err := filesum.SHA256(filepath.Join(shared, "weights", "cifar10-clean", "resnet20.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, b, a)
	assert.Contains(t, string(readme), a[:8])
	assert.True(t, strings.Contains(string(readme), "byte-identical"))
}

// readmeSection returns the "## " section of a Markdown document that contains needle, or "".
func readmeSection(doc, needle string) string {
	for _, sec := range strings.Split(doc, "\n## ") {
		if strings.Contains(sec, needle) {
			return sec
		}
	}
	return ""
}

package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/env"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/prune"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// amc latency-grid writes one ONNX network per group and count, a map of
// them, and a table that, once its times are filled in, fits the model
// (the form a spec's latency.file takes); amc export writes ONNX too.
func TestLatencyGridAndExport(t *testing.T) {
	dir := t.TempDir()
	_, _, err := run("latency-grid", "--model", "resnet20", "--out", dir, "--points", "3", "--checks", "2")
	require.NoError(t, err)
	var files []gridFile
	b, err := os.ReadFile(filepath.Join(dir, "grid.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &files))
	g, err := models.Build("resnet20")
	require.NoError(t, err)
	a, err := prune.Analyze(g, prune.Options{})
	require.NoError(t, err)
	assert.Len(t, files, 1+2*len(a.Groups)+2, "full.onnx, two cut counts per group, two checks")
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dir, f.File))
		require.NoError(t, err, f.File)
		assert.Positive(t, st.Size(), f.File)
	}
	var lt env.LatencyTable
	b, err = os.ReadFile(filepath.Join(dir, "latency-table.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &lt))
	assert.ErrorContains(t, lt.Check(a), "seconds", "unfilled times are refused")
	require.Len(t, lt.CheckCounts, 2)
	// Times as a device whose cost falls with every group's cut, twice as
	// much in whole networks as the per-group sum says: the checks fit
	// the scale to 2.
	lt.Full = 0.01
	for i := range lt.Seconds {
		for k := range lt.Seconds[i] {
			lt.Seconds[i][k] = lt.Full * (1 - 0.05*(1-float64(lt.Counts[i][k])/float64(a.Groups[i].Channels)))
		}
	}
	assert.ErrorContains(t, lt.Check(a), "check network 0: 0 seconds", "unfilled check times are refused")
	for k, counts := range lt.CheckCounts {
		change := 0.0
		for i, c := range counts {
			change += -lt.Full * 0.05 * (1 - float64(c)/float64(a.Groups[i].Channels))
		}
		lt.CheckSeconds[k] = lt.Full + 2*change
	}
	require.NoError(t, lt.Check(a))
	lt.UseExternal()
	assert.InDelta(t, 2, lt.Scale, 1e-9)
	for _, f := range files {
		if f.Kind == "check" {
			assert.Equal(t, lt.CheckCounts[f.Check], f.Counts)
		}
	}

	out := filepath.Join(dir, "r20.onnx")
	_, _, err = run("export", "--model", "resnet20", "--onnx", out)
	assert.ErrorContains(t, err, "--weights is required")
	_, _, err = run("latency-grid", "--model", "resnet20", "--out", dir, "--points", "1")
	assert.ErrorContains(t, err, "--points")
}

package harness

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/env"
	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/internal/filesum"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/prune"
	"github.com/amcbench/amc/search"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deviceTable is a latency table as if measured on another device: the
// first group costs half the network, the others little.
func deviceTable(t *testing.T) env.LatencyTable {
	g, err := models.Build("resnet20")
	require.NoError(t, err)
	a, err := prune.Analyze(g, prune.Options{})
	require.NoError(t, err)
	lt := env.LatencyTable{Batch: 1, Workers: 1, Full: 0.010}
	for i, grp := range a.Groups {
		w := 0.02
		if i == 0 {
			w = 0.5
		}
		var counts []int
		var secs []float64
		for _, c := range []int{max(1, grp.Channels/4), grp.Channels / 2, grp.Channels} {
			counts = append(counts, c)
			secs = append(secs, lt.Full*(1-w*(1-float64(c)/float64(grp.Channels))))
		}
		lt.Counts, lt.Seconds = append(lt.Counts, counts), append(lt.Seconds, secs)
	}
	return lt
}

// A latency budget on a table measured elsewhere (latency.file): the search
// keeps to the table's prediction, the Go engine's timings do not re-fit
// the policy, and the file's content is part of the run's identity.
func TestExternalLatencyTable(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, lt env.LatencyTable) string {
		b, err := json.Marshal(lt)
		require.NoError(t, err)
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	lt := deviceTable(t)
	spec := func(file string) *experiments.Spec {
		s := quickSpec("ext-latency")
		s.Budget, s.RewardImages, s.Latency.File = "latency=0.8", 200, file
		s.Strategies = []experiments.Strategy{{Name: "random", Episodes: 4}}
		s.Seeds = []int64{1}
		require.NoError(t, s.Check())
		return s
	}
	file := write("device.json", lt)
	tk, err := NewTask(spec(file), Options{DataDir: dataDir})
	require.NoError(t, err)
	run := Run{Strategy: spec(file).Strategies[0], Seed: 1, Dir: filepath.Join(dir, "out", "ext-latency", "random-s1")}
	sum, err := tk.Run(run)
	require.NoError(t, err)
	assert.Nil(t, sum.LatencyFit, "no re-fit on the Go engine's latency")
	assert.LessOrEqual(t, sum.PredLatencyRatio, 0.8+1e-9, "the table's prediction keeps the budget")
	want, err := filesum.SHA256(file)
	require.NoError(t, err)
	assert.Equal(t, want, sum.RunID.LatencyFileSHA256)
	// runs.parquet names the table; the run's latency is the table's prediction.
	n, err := Collect(filepath.Join(dir, "out"))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rows, err := parquet.ReadFile[search.RunRow](filepath.Join(dir, "out", "runs.parquet"))
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, want, rows[0].LatencyTableSHA256)
	assert.Equal(t, sum.PredLatencyRatio, rows[0].Latency())
	assert.NotEqual(t, rows[0].LatencyRatio, rows[0].Latency(), "not the Go engine's measurement")

	// Another table, another run; no table, another run again.
	other := lt
	other.Full = 0.02
	tk2, err := NewTask(spec(write("other.json", other)), Options{DataDir: dataDir})
	require.NoError(t, err)
	id1, err := tk.ID(run)
	require.NoError(t, err)
	id2, err := tk2.ID(run)
	require.NoError(t, err)
	assert.NotEqual(t, id1.Fingerprint(), id2.Fingerprint())

	// Tables that do not fit the model are refused with the format's pointer.
	bad := lt
	bad.Seconds = append([][]float64{{-1, 0.01, 0.01}}, lt.Seconds[1:]...)
	short := lt
	short.Counts, short.Seconds = lt.Counts[:3], lt.Seconds[:3]
	for name, c := range map[string]struct {
		lt   env.LatencyTable
		want string
	}{"negative seconds": {bad, "-1 seconds"}, "too few groups": {short, "latency table has 3 groups"}} {
		tk, err := NewTask(spec(write(name+".json", c.lt)), Options{DataDir: dataDir})
		require.NoError(t, err)
		assert.ErrorContains(t, tk.Prepare(), c.want, name)
	}
	s := quickSpec("no-latency")
	s.Latency.File = file
	s.Strategies = []experiments.Strategy{{Name: "random"}}
	assert.ErrorContains(t, s.Check(), "latency.file: a latency table is used only with a latency budget")
}

package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/experiments"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/search"
	"github.com/amcbench/amc/weights"
	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowImageNet lists the ImageNet specs run only with AMC_SLOW=1 (make
// test-slow): VGG-16's 138 million random weights and 224x224
// reconstructions take minutes on two cores.
var slowImageNet = map[string]bool{"vgg16-macs25.yaml": true}

// Every spec of the paper's ImageNet experiments runs end to end on a tiny
// synthetic ImageFolder with random weights: the data set, the 224x224
// networks, channel pruning with reconstruction, fine-grained pruning, the
// latency table, both protocols, the Parquet rows and the report.
func TestImageNetSpecsRunOnSyntheticData(t *testing.T) {
	files, err := filepath.Glob("../experiments/imagenet/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, 6)
	data := t.TempDir()
	const classes, perTrain, perVal = 3, 6, 2
	require.NoError(t, datasets.WriteSyntheticImageFolder(data, classes, perTrain, perVal, 7))
	opt := Options{DataDir: data, CacheDir: t.TempDir()}
	weightsFor, wdir := map[string]string{}, t.TempDir() // weights shared by the subtests
	for _, f := range files {
		base := filepath.Base(f)
		t.Run(strings.TrimSuffix(base, ".yaml"), func(t *testing.T) {
			if slowImageNet[base] && os.Getenv("AMC_SLOW") == "" {
				t.Skip("set AMC_SLOW=1 (make test-slow) to run this spec")
			}
			s, err := experiments.Load(f)
			require.NoError(t, err)
			require.Equal(t, "imagenet", s.Data)
			m, ok := models.Lookup(s.Model)
			require.True(t, ok)
			require.True(t, m.ImageNet)
			if weightsFor[s.Model] == "" {
				g, err := models.Build(s.Model)
				require.NoError(t, err)
				w := filepath.Join(wdir, s.Model+".safetensors")
				require.NoError(t, weights.SaveSafetensors(w, g.InitParams(1), map[string]string{weights.MetaModel: s.Model}))
				weightsFor[s.Model] = w
			}
			s.Weights = weightsFor[s.Model]
			s.ApplyOverrides(2, []int64{1}, 0, 4)
			s.Calibration.Images = classes * datasets.FolderCalibPerClass
			s.Latency.Points = 2
			out := t.TempDir()
			start := time.Now()
			sw, err := RunSpecs([]*experiments.Spec{s}, out, opt)
			require.NoError(t, err)
			t.Logf("%s: %d runs in %.1f s", s.Name, sw.Runs, time.Since(start).Seconds())
			assert.Equal(t, len(s.Strategies), sw.Runs)
			runs, err := parquet.ReadFile[search.RunRow](filepath.Join(out, "runs.parquet"))
			require.NoError(t, err)
			require.Len(t, runs, len(s.Strategies))
			for _, r := range runs {
				assert.Equal(t, s.Model, r.Model)
				assert.Equal(t, "imagenet", r.Data)
				assert.NotEmpty(t, r.DataFingerprint)
			}
			eps, err := parquet.ReadFile[search.EpisodeRow](filepath.Join(out, "episodes.parquet"))
			require.NoError(t, err)
			assert.NotEmpty(t, eps)
			require.NoError(t, Report(out, nil))
			_, err = os.Stat(filepath.Join(out, "report.md"))
			assert.NoError(t, err)
		})
	}
}

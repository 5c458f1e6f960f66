package weights

import (
	"archive/zip"
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amcbench/amc/datasets"
	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sharedWeights(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "weights", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no shared weights: %v", err)
	}
	return p
}

func TestLoadZipCheckpoint(t *testing.T) {
	f, err := Load("testdata/tiny-zip.pt")
	require.NoError(t, err)
	assert.Equal(t, "pytorch-zip", f.Format)
	p := f.Params
	require.Len(t, p, 5, "module. stripped, num_batches_tracked dropped")
	cases := []struct {
		name  string
		shape []int
		data  []float32
	}{
		{"a.weight", []int{3, 4}, []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		{"b.weight", []int{4, 3}, []float32{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}},
		{"c.weight", []int{5}, []float32{0, 0.25, 0.5, 0.75, 1}},
		{"d.weight", []int{3}, []float32{0.5, -2, 1024}},
		{"e.weight", []int{4}, []float32{4, 5, 6, 7}},
	}
	for _, c := range cases {
		require.Contains(t, p, c.name)
		assert.Equal(t, c.shape, p[c.name].Shape, c.name)
		assert.Equal(t, c.data, p[c.name].Data, c.name)
	}
}

func TestLegacyCheckpointFitsZoo(t *testing.T) {
	for _, c := range []struct {
		model, file string
	}{
		{"resnet20", "akamaster-cifar10/resnet20-12fca82f.th"},
		{"resnet56", "akamaster-cifar10/resnet56-4bfd9763.th"},
	} {
		f, err := Load(sharedWeights(t, c.file))
		require.NoError(t, err)
		assert.Equal(t, "pytorch-legacy", f.Format)
		g, err := models.Build(c.model)
		require.NoError(t, err)
		require.NoError(t, g.Check(f.Params))
		// Batch norm running variances are positive in a trained network.
		for _, v := range f.Params["bn1.running_var"].Data {
			assert.Greater(t, v, float32(0))
		}
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	src, err := Load(sharedWeights(t, "cifar10-jpeg-adapted/resnet20.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, "safetensors", src.Format)
	g, _ := models.Build("resnet20")
	require.NoError(t, g.Check(src.Params))

	out := filepath.Join(t.TempDir(), "sub", "w.safetensors")
	norm := datasets.Normalization{Mean: [3]float32{1, 2, 3}, Std: [3]float32{4, 5, 6}}
	require.NoError(t, SaveSafetensors(out, src.Params, map[string]string{MetaModel: "resnet20", MetaNormalization: NormalizationMeta(norm)}))
	back, err := Load(out)
	require.NoError(t, err)
	assert.Equal(t, src.Params, back.Params)
	assert.Equal(t, "resnet20", back.Meta[MetaModel])
	got, err := back.Normalization()
	require.NoError(t, err)
	assert.Equal(t, norm, got)
	def, err := src.Normalization()
	require.NoError(t, err)
	assert.Equal(t, datasets.ImageNetNorm, def)
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".tmp-*"))
	assert.Empty(t, left, "no temporary files left behind")
}

func TestMaliciousPickleRefused(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	require.NoError(t, os.Chdir(dir))
	defer os.Chdir(wd)
	for _, f := range []string{"evil-zip.pt", "evil-legacy.th"} {
		_, err := Load(filepath.Join(wd, "testdata", f))
		require.Error(t, err, f)
		assert.Contains(t, err.Error(), "refusing to load posix.system", f)
		_, statErr := os.Stat(filepath.Join(dir, "AMC_PWNED_MARKER"))
		assert.True(t, os.IsNotExist(statErr), "nothing ran")
	}
}

// A legacy checkpoint whose storage declares 2^40 values is refused before
// anything is allocated (it used to crash the process).
func TestHugeStorageRefused(t *testing.T) {
	_, err := Load("testdata/huge-legacy.th")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "declares 1099511627776 values")
}

func TestDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	st, err := os.ReadFile(sharedWeights(t, "cifar10-jpeg-adapted/resnet20.safetensors"))
	require.NoError(t, err)
	th, err := os.ReadFile(sharedWeights(t, "akamaster-cifar10/resnet20-12fca82f.th"))
	require.NoError(t, err)
	zip, err := os.ReadFile("testdata/tiny-zip.pt")
	require.NoError(t, err)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"truncated.safetensors", st[:len(st)/2], "damaged safetensors"},
		{"truncated.th", th[:len(th)/2], "truncated"},
		{"truncated-zip.pt", zip[:len(zip)-100], "truncated"},
		{"text.txt", []byte("hello world, not weights"), "neither a PyTorch checkpoint"},
		{"empty.pt", nil, "neither"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		require.NoError(t, os.WriteFile(p, c.data, 0o644))
		_, err := Load(p)
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.name, "the error names the file")
		assert.Contains(t, err.Error(), c.want)
	}
	_, err = Load(filepath.Join(dir, "absent.th"))
	assert.ErrorContains(t, err, "no such file")
}

func TestWrongModelListsDifferences(t *testing.T) {
	f, err := Load(sharedWeights(t, "akamaster-cifar10/resnet20-12fca82f.th"))
	require.NoError(t, err)
	g, _ := models.Build("resnet32")
	err = g.Check(f.Params)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing from the weights")
	assert.Contains(t, err.Error(), "layer1.3.conv1.weight")
	g, _ = models.Build("resnet20@0.5")
	err = g.Check(f.Params)
	assert.ErrorContains(t, err, "conv1.weight: model [8 3 3 3], weights [16 3 3 3]")
	var _ nn.Params = f.Params
}

// A pickle opcode that declares more bytes than the file holds is refused
// before gopickle allocates them (it allocates any declared length).
func TestPickleDeclaredLengthRefused(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"binunicode8 of 1 TiB", []byte("\x80\x02\x8d\x00\x00\x00\x00\x00\x01\x00\x00abc."), "declares 1099511627776 bytes"},
		{"binbytes of 4 GiB", []byte("\x80\x03B\xff\xff\xff\xffabc."), "declares 4294967295 bytes"},
		{"frame of 1 TiB", []byte("\x80\x04\x95\x00\x00\x00\x00\x00\x01\x00\x00K\x01."), "frame"},
		{"long4 negative", []byte("\x80\x02\x8b\xff\xff\xff\xff."), "declares -1 bytes"},
		{"unknown opcode", []byte("\x80\x02\xff."), "unknown pickle opcode 0xff"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, "x.th")
		require.NoError(t, os.WriteFile(p, c.data, 0o644))
		_, err := Load(p)
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
	}
	// A well-formed pickle passes the scan and stops at STOP.
	n, err := scanPickle(bufio.NewReader(bytes.NewReader([]byte("\x80\x02}q\x00X\x01\x00\x00\x00aK\x01s.rest"))), 20)
	require.NoError(t, err)
	assert.Equal(t, int64(15), n)
}

// A zip checkpoint whose storage declares more values than its data entry
// holds is refused before gopickle allocates them.
func TestZipStorageLargerThanEntryRefused(t *testing.T) {
	src, err := zip.OpenReader("testdata/tiny-zip.pt")
	require.NoError(t, err)
	defer src.Close()
	p := filepath.Join(t.TempDir(), "short.pt")
	f, err := os.Create(p)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	cut := false
	for _, e := range src.File {
		r, err := e.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		r.Close()
		if strings.Contains(e.Name, "/data/") && !cut && len(b) > 4 {
			b, cut = b[:4], true // one value left of a longer storage
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name, Method: zip.Store})
		require.NoError(t, err)
		_, err = w.Write(b)
		require.NoError(t, err)
	}
	require.True(t, cut)
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	_, err = Load(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "but its entry holds 4 bytes")
}

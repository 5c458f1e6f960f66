package weights

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/models"
	"github.com/amcbench/amc/nn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkpointFormats builds the same tensors in both PyTorch formats.
var checkpointFormats = []struct {
	name  string
	ext   string
	build func(testing.TB, []ptStorage, []ptTensor) []byte
}{
	{"zip", ".pt", func(t testing.TB, s []ptStorage, ts []ptTensor) []byte { return zipCheckpoint(t, s, ts) }},
	{"legacy", ".th", func(_ testing.TB, s []ptStorage, ts []ptTensor) []byte { return legacyCheckpoint(s, ts) }},
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

// The hand-built checkpoints are read as torch would read them, so the
// tests below exercise the checks and not a builder mistake.
func TestBuiltCheckpointsLoad(t *testing.T) {
	storages := []ptStorage{{key: "0", data: []float32{0, 1, 2, 3, 4, 5, 6}}}
	tensors := []ptTensor{
		{name: "a.weight", key: "0", size: []int64{2, 3}, stride: []int64{3, 1}},
		{name: "module.b.weight", key: "0", offset: 1, size: []int64{3, 2}, stride: []int64{1, 3}}, // transposed view
		{name: "c.bias", key: "0", offset: 6, size: []int64{}, stride: []int64{}},                  // scalar
		{name: "d.bias", key: "0", offset: 7, size: []int64{0}, stride: []int64{1}},                // empty
	}
	for _, f := range checkpointFormats {
		t.Run(f.name, func(t *testing.T) {
			w, err := Load(writeTemp(t, "ok"+f.ext, f.build(t, storages, tensors)))
			require.NoError(t, err)
			assert.Equal(t, []float32{0, 1, 2, 3, 4, 5}, w.Params["a.weight"].Data)
			assert.Equal(t, []int{3, 2}, w.Params["b.weight"].Shape)
			assert.Equal(t, []float32{1, 4, 2, 5, 3, 6}, w.Params["b.weight"].Data)
			assert.Equal(t, []float32{6}, w.Params["c.bias"].Data)
			assert.Empty(t, w.Params["d.bias"].Data)
		})
	}
}

// A tensor's size, stride and offset are checked against its storage
// before the dense copy is allocated: a 350-byte file declaring a 2^19 x
// 2^19 stride-0 view of one value used to kill the process (fatal out of
// memory, which recover cannot catch).
func TestTensorViewChecked(t *testing.T) {
	four := []ptStorage{{key: "0", data: []float32{1, 2, 3, 4}}}
	view := func(offset int64, size, stride []int64) ([]ptStorage, []ptTensor) {
		return four, []ptTensor{{name: "conv1.weight", key: "0", offset: offset, size: size, stride: stride}}
	}
	sixteen := []ptStorage{{key: "0", data: make([]float32, 16)}}
	var overlapping []ptTensor
	for _, n := range []string{"a", "b", "c"} {
		overlapping = append(overlapping, ptTensor{name: n + ".weight", key: "0", size: []int64{4, 4}, stride: []int64{4, 1}})
	}
	const big = int64(1) << 62
	cases := []struct {
		name     string
		storages []ptStorage
		tensors  []ptTensor
		want     string
	}{
		{"stride 0, 2^19 x 2^19", nil, nil, `"conv1.weight": size [524288 524288] holds 274877906944 values, but its storage only 1`},
		{"stride 0, 2^13 x 2^13", nil, nil, `"conv1.weight": size [8192 8192] holds 67108864 values, but its storage only 1`},
		{"view past the end", four, nil, `"conv1.weight": size [3 2], stride [2 1] and offset 0 reach past the end of its storage of 4 values`},
		{"offset past the end", four, nil, `"conv1.weight": size [1], stride [1] and offset 4 reach past the end`},
		{"negative stride", four, nil, `"conv1.weight": negative stride [-1]`},
		{"negative size", four, nil, `"conv1.weight": negative size [-1]`},
		{"negative offset", four, nil, `"conv1.weight": negative storage offset -1`},
		{"stride overflow", four, nil, `reach past the end of its storage of 4 values`},
		{"size overflow", four, nil, `holds more than 9223372036854775807 values, but its storage only 4`},
		{"rank mismatch", four, nil, `"conv1.weight": size [2 2] and stride [1] differ in rank`},
		{"overlapping views", sixteen, overlapping, "the tensors hold 48 values, more than twice the 16 values stored"},
	}
	_, cases[0].tensors = expanded(1 << 19)
	cases[0].storages, _ = expanded(1 << 19)
	cases[1].storages, cases[1].tensors = expanded(1 << 13)
	_, cases[2].tensors = view(0, []int64{3, 2}, []int64{2, 1})
	_, cases[3].tensors = view(4, []int64{1}, []int64{1})
	_, cases[4].tensors = view(1, []int64{2}, []int64{-1})
	_, cases[5].tensors = view(0, []int64{-1}, []int64{1})
	_, cases[6].tensors = view(-1, []int64{1}, []int64{1})
	_, cases[7].tensors = view(0, []int64{3, 3}, []int64{big, big})
	_, cases[8].tensors = view(0, []int64{1 << 32, 1 << 32, 1 << 32}, []int64{0, 0, 0})
	_, cases[9].tensors = view(0, []int64{2, 2}, []int64{1})
	for _, f := range checkpointFormats {
		for _, c := range cases {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				data := f.build(t, c.storages, c.tensors)
				_, err := Load(writeTemp(t, "hostile"+f.ext, data))
				require.Error(t, err)
				assert.Contains(t, err.Error(), "hostile"+f.ext, "the error names the file")
				assert.Contains(t, err.Error(), c.want)
			})
		}
	}
}

// A zip entry's declared size is checked against the archive's size before
// anything of that size is allocated: a storage of 2^30 values in an entry
// whose directory record claims 4 GiB used to make gopickle allocate 4 GiB.
func TestZipEntrySizeChecked(t *testing.T) {
	storages := []ptStorage{{key: "0", numel: 1 << 30, data: []float32{1}}}
	tensors := []ptTensor{{name: "fc.weight", key: "0", size: []int64{1}, stride: []int64{1}}}
	var deflated bytes.Buffer
	fw, _ := flate.NewWriter(&deflated, flate.BestCompression)
	_, _ = fw.Write(floatBytes([]float32{1}))
	require.NoError(t, fw.Close())
	lie := func(h zip.FileHeader, data []byte) zipEntry { return zipEntry{hdr: h, data: data} }
	pkl := statePickle(storages, tensors, false)
	cases := []struct {
		name  string
		entry zipEntry
		want  string
	}{
		{"stored entry larger than the file",
			lie(zip.FileHeader{Name: "archive/data/0", UncompressedSize64: 1 << 32}, floatBytes([]float32{1})),
			`entry "archive/data/0" declares 4294967296 bytes, but the whole file is only`},
		{"deflated entry beyond deflate's ratio",
			lie(zip.FileHeader{Name: "archive/data/0", Method: zip.Deflate, UncompressedSize64: 1 << 32}, deflated.Bytes()),
			`entry "archive/data/0" declares 4294967296 bytes from`},
		{"compressed size beyond the file",
			lie(zip.FileHeader{Name: "archive/data/0", CompressedSize64: 1 << 40}, floatBytes([]float32{1})),
			`entry "archive/data/0" declares 1099511627776 compressed bytes`},
		{"data.pkl larger than the file",
			lie(zip.FileHeader{Name: "archive/data.pkl", UncompressedSize64: 1 << 32}, pkl),
			`entry "archive/data.pkl" declares 4294967296 bytes`},
		{"unknown compression method",
			lie(zip.FileHeader{Name: "archive/data/0", Method: 99}, floatBytes([]float32{1})),
			`entry "archive/data/0" uses compression method 99`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := zipCheckpoint(t, storages, tensors, c.entry)
			_, err := Load(writeTemp(t, "lying.pt", data))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "lying.pt")
			assert.Contains(t, err.Error(), c.want)
		})
	}
	// A legacy checkpoint with such a zip appended is read by gopickle as the
	// zip (zip readers look at the end of a file), so it must be refused.
	t.Run("legacy checkpoint with a zip appended", func(t *testing.T) {
		ok := legacyCheckpoint([]ptStorage{{key: "0", data: []float32{1}}}, tensors)
		data := append(ok, zipCheckpoint(t, storages, tensors, cases[0].entry)...)
		_, err := Load(writeTemp(t, "polyglot.th", data))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "polyglot.th: both a legacy PyTorch checkpoint and a zip archive")
	})
}

// NaN or infinite weights, and negative batch norm running variances, are
// refused at load in every format: an all-NaN conv used to score 10%, and
// one NaN in a running variance 84.5% instead of 90.5%, silently.
func TestNonFiniteAndNegativeVarianceRefused(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name   string
		tensor string
		values []float32
		want   string // "" when the values are fine
	}{
		{"NaN weight", "conv1.weight", []float32{1, 2, nan, 4}, `tensor "conv1.weight": value 2 is NaN`},
		{"+Inf weight", "conv1.weight", []float32{inf, 2, 3, 4}, `tensor "conv1.weight": value 0 is +Inf`},
		{"-Inf bias", "fc.bias", []float32{1, 2, 3, -inf}, `tensor "fc.bias": value 3 is -Inf`},
		{"NaN running variance", "bn1.running_var", []float32{1, nan, 1, 1}, `tensor "bn1.running_var": value 1 is NaN`},
		{"negative running variance", "bn1.running_var", []float32{1, -0.5, 1, 1}, `tensor "bn1.running_var": value 1 is -0.5; a variance cannot be negative`},
		{"zero running variance", "bn1.running_var", []float32{0, float32(math.Copysign(0, -1)), 1, 1}, ""},
		{"negative mean", "bn1.running_mean", []float32{-1, -2, 3, 4}, ""},
	}
	formats := []struct {
		name string
		save func(t *testing.T, name string, v []float32) string
	}{
		{"safetensors", func(t *testing.T, name string, v []float32) string {
			p := filepath.Join(t.TempDir(), "w.safetensors")
			tt := nn.NewTensor(len(v))
			copy(tt.Data, v)
			require.NoError(t, SaveSafetensors(p, nn.Params{name: tt}, nil))
			return p
		}},
	}
	for _, f := range checkpointFormats {
		formats = append(formats, struct {
			name string
			save func(t *testing.T, name string, v []float32) string
		}{f.name, func(t *testing.T, name string, v []float32) string {
			s := []ptStorage{{key: "0", data: v}}
			ts := []ptTensor{{name: name, key: "0", size: []int64{int64(len(v))}, stride: []int64{1}}}
			return writeTemp(t, "w"+f.ext, f.build(t, s, ts))
		}})
	}
	for _, f := range formats {
		for _, c := range cases {
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				p := f.save(t, c.tensor, c.values)
				w, err := Load(p)
				if c.want == "" {
					require.NoError(t, err)
					assert.Equal(t, c.values, w.Params[c.tensor].Data)
					return
				}
				require.Error(t, err)
				assert.Contains(t, err.Error(), p)
				assert.Contains(t, err.Error(), c.want)
			})
		}
	}
	// Exported for callers that hold parameters from elsewhere.
	assert.NoError(t, CheckValues(nn.Params{"a.running_var": &nn.Tensor{Shape: []int{1}, Data: []float32{2}}}))
}

// What amc itself writes, freshly initialised or trained, still loads.
func TestOwnWeightsStillLoad(t *testing.T) {
	g, err := models.Build("resnet20")
	require.NoError(t, err)
	p := g.InitParams(1)
	out := filepath.Join(t.TempDir(), "w.safetensors")
	require.NoError(t, SaveSafetensors(out, p, nil))
	back, err := Load(out)
	require.NoError(t, err)
	assert.Equal(t, p, back.Params)
}

// Every weights file the project ships passes the new checks.
func TestSharedWeightsPassChecks(t *testing.T) {
	dir := filepath.Dir(sharedWeights(t, "akamaster-cifar10"))
	var files []string
	for _, pat := range []string{"*/*.th", "*/*.safetensors"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.NotEmpty(t, files)
	for _, p := range files {
		_, err := Load(p)
		assert.NoError(t, err, p)
	}
}

// hostileFiles are the small files that used to make the loader allocate
// gigabytes or more, with what their refusal says.
func hostileFiles(t testing.TB) []struct {
	name string
	data []byte
	want string
} {
	s, ts := expanded(1 << 19)
	lying := []ptStorage{{key: "0", numel: 1 << 30, data: []float32{1}}}
	one := []ptTensor{{name: "fc.weight", key: "0", size: []int64{1}, stride: []int64{1}}}
	lie := zipEntry{hdr: zip.FileHeader{Name: "archive/data/0", UncompressedSize64: 1 << 32}, data: floatBytes([]float32{1})}
	return []struct {
		name string
		data []byte
		want string
	}{
		{"expanded.pt", zipCheckpoint(t, s, ts), "its storage only 1"},
		{"expanded.th", legacyCheckpoint(s, ts), "its storage only 1"},
		{"lying-entry.pt", zipCheckpoint(t, lying, one, lie), `entry "archive/data/0" declares 4294967296 bytes`},
		{"lying-entry-4TiB.pt", zipCheckpoint(t, []ptStorage{{key: "0", numel: 1 << 40, data: []float32{1}}}, one,
			zipEntry{hdr: zip.FileHeader{Name: "archive/data/0", UncompressedSize64: 1 << 42}, data: floatBytes([]float32{1})}),
			`entry "archive/data/0" declares 4398046511104 bytes`},
		{"polyglot.th", append(legacyCheckpoint([]ptStorage{{key: "0", data: []float32{1}}}, one), zipCheckpoint(t, lying, one, lie)...),
			"both a legacy PyTorch checkpoint and a zip archive"},
	}
}

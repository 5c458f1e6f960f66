package weights

import (
	"bufio"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/amcbench/amc/internal/testpython"
	"github.com/amcbench/amc/nn"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/safetensors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFloat32ToHalf(t *testing.T) {
	for _, c := range []struct {
		v    float32
		h    uint16
		fits bool
	}{
		{1, 0x3c00, true}, {-2, 0xc000, true}, {0, 0, true}, {float32(math.Copysign(0, -1)), 0x8000, true},
		{65504, 0x7bff, true}, {65519.99, 0x7bff, true}, {65520, 0, false}, {float32(math.Inf(1)), 0, false}, {float32(math.NaN()), 0, false},
		{6.1035156e-05, 0x0400, true}, // smallest normal
		{5.9604645e-08, 0x0001, true}, // smallest subnormal
		{2.9802322e-08, 0x0000, true}, // half of it: ties to even, zero
		{2.99e-08, 0x0001, true},      // just above half: rounds up
		{1 + 1.0/2048, 0x3c00, true},  // tie: to even
		{1 + 3.0/2048, 0x3c02, true},  // tie: to even (up)
	} {
		h, ok := Float32ToHalf(c.v)
		assert.Equal(t, c.fits, ok, "%v", c.v)
		if c.fits {
			assert.Equal(t, c.h, h, "%v: %#04x", c.v, h)
		}
	}
}

// Float32ToHalf rounds as NumPy's float32 -> float16 cast does, on 2,000
// random values over 13 decades and the edge cases.
func TestFloat32ToHalfMatchesNumPy(t *testing.T) {
	py := testpython.Find(t, "the float16 cross-check (Debian: python3-numpy)", "numpy")
	script := `import numpy as np
rng = np.random.default_rng(0)
v = (rng.standard_normal(2000) * 10.0 ** rng.integers(-9, 5, 2000)).astype(np.float32)
v = np.concatenate([v, np.array([0, 1, 65504, 65519.99, 6.1035156e-05, 5.96e-8, 2.98e-8, 2.99e-8, 1e-9, 0.1, 1/3], dtype=np.float32)])
v = v[np.abs(v) < 65520]
for x in v: print(x.view(np.uint32), x.astype(np.float16).view(np.uint16))`
	out, err := exec.Command(py, "-c", script).Output()
	require.NoError(t, err)
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		bits, _ := strconv.ParseUint(f[0], 10, 32)
		want, _ := strconv.ParseUint(f[1], 10, 16)
		v := math.Float32frombits(uint32(bits))
		h, ok := Float32ToHalf(v)
		require.True(t, ok, "%v", v)
		require.Equal(t, uint16(want), h, "%v (%#08x)", v, bits)
		n++
	}
	assert.Greater(t, n, 1900)
}

// F16 and BF16 safetensors load as float32; SaveSafetensorsAs F16 writes a
// file that loads back to the halves of the values.
func TestHalfSafetensors(t *testing.T) {
	dir := t.TempDir()
	p := nn.Params{"a.weight": {Shape: []int{2, 3}, Data: []float32{1, -2, 0.1, 65504, 6e-8, 1.0 / 3}}}
	path := filepath.Join(dir, "h.safetensors")
	require.NoError(t, SaveSafetensorsAs(path, p, map[string]string{MetaModel: "x"}, safetensors.F16))
	got, meta, err := loadSafetensors(path)
	require.NoError(t, err)
	assert.Equal(t, "x", meta[MetaModel])
	for i, v := range p["a.weight"].Data {
		h, _ := Float32ToHalf(v)
		assert.Equal(t, math.Float32frombits(pytorch.FloatBits16to32(h)), got["a.weight"].Data[i])
	}
	assert.InDelta(t, 0.1, got["a.weight"].Data[2], 1e-4)
	// bfloat16: the high half of a float32
	bf := []byte{0x80, 0x3f, 0x00, 0xc0} // 1.0, -2.0
	tv, err := safetensors.NewTensorView(safetensors.BF16, []uint64{2}, bf)
	require.NoError(t, err)
	f, err := os.Create(filepath.Join(dir, "bf.safetensors"))
	require.NoError(t, err)
	require.NoError(t, safetensors.SerializeToWriter(map[string]safetensors.TensorView{"c": tv}, nil, f))
	require.NoError(t, f.Close())
	gotBF, _, err := loadSafetensors(filepath.Join(dir, "bf.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, []float32{1, -2}, gotBF["c"].Data)
	big := nn.Params{"b": {Shape: []int{1}, Data: []float32{1e6}}}
	assert.ErrorContains(t, SaveSafetensorsAs(filepath.Join(dir, "big.safetensors"), big, nil, safetensors.F16), "does not fit a float16")
	assert.Error(t, SaveSafetensorsAs(filepath.Join(dir, "i.safetensors"), big, nil, safetensors.I64))
}

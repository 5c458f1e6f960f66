package weights

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/nn"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/safetensors"
)

// loadSafetensors reads float32, float64, float16 or bfloat16 tensors (as
// float32) and the file's metadata.
func loadSafetensors(path string) (nn.Params, map[string]string, error) {
	buf, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := safetensors.Deserialize(buf)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: damaged safetensors file: %w", path, err)
	}
	_, meta, err := safetensors.ReadMetadata(buf)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: damaged safetensors header: %w", path, err)
	}
	p := nn.Params{}
	for _, nt := range st.Tensors() {
		tv := nt.TensorView
		shape := make([]int, len(tv.Shape()))
		for i, d := range tv.Shape() {
			shape[i] = int(d)
		}
		t := nn.NewTensor(shape...)
		data := tv.Data()
		switch tv.DType() {
		case safetensors.F32:
			for i := range t.Data {
				t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
			}
		case safetensors.F64:
			for i := range t.Data {
				t.Data[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])))
			}
		case safetensors.F16: // widened exactly (every half is a float32)
			for i := range t.Data {
				t.Data[i] = math.Float32frombits(pytorch.FloatBits16to32(binary.LittleEndian.Uint16(data[2*i:])))
			}
		case safetensors.BF16:
			for i := range t.Data {
				t.Data[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(data[2*i:])) << 16)
			}
		case safetensors.I64:
			if filepath.Ext(nt.Name) == ".num_batches_tracked" {
				continue
			}
			fallthrough
		default:
			return nil, nil, fmt.Errorf("%s: tensor %q has dtype %s; only F32, F64, F16 and BF16 are supported", path, nt.Name, tv.DType())
		}
		p[nt.Name] = t
	}
	return p, meta.Metadata(), nil
}

// SaveSafetensors writes params as float32 safetensors with the given
// metadata. The file appears whole or not at all.
func SaveSafetensors(path string, p nn.Params, meta map[string]string) error {
	return SaveSafetensorsAs(path, p, meta, safetensors.F32)
}

// SaveSafetensorsAs is SaveSafetensors with another element type: F32, or
// F16 (half the size; each value rounded to the nearest half, ties to even;
// a value beyond the half range is an error, not an infinity).
func SaveSafetensorsAs(path string, p nn.Params, meta map[string]string, dtype safetensors.DType) error {
	if dtype != safetensors.F32 && dtype != safetensors.F16 {
		return fmt.Errorf("save %s: dtype %s: want F32 or F16", path, dtype)
	}
	views := map[string]safetensors.TensorView{}
	names := make([]string, 0, len(p))
	for name := range p {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := p[name]
		var data []byte
		if dtype == safetensors.F16 {
			data = make([]byte, 2*len(t.Data))
			for i, v := range t.Data {
				h, ok := Float32ToHalf(v)
				if !ok {
					return fmt.Errorf("save %s: tensor %q: %v does not fit a float16", path, name, v)
				}
				binary.LittleEndian.PutUint16(data[2*i:], h)
			}
		} else {
			data = make([]byte, 4*len(t.Data))
			for i, v := range t.Data {
				binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
			}
		}
		shape := make([]uint64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = uint64(d)
		}
		tv, err := safetensors.NewTensorView(dtype, shape, data)
		if err != nil {
			return fmt.Errorf("save %s: tensor %q: %w", path, name, err)
		}
		views[name] = tv
	}
	if meta == nil {
		meta = map[string]string{}
	}
	if _, ok := meta["format"]; !ok {
		meta["format"] = "pt" // what the Python safetensors loaders expect
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		return safetensors.SerializeToWriter(views, meta, w)
	})
}

// Float32ToHalf rounds v to the nearest IEEE half-precision value (ties to
// even, subnormals included) and returns its bits; ok is false for NaN and
// for values whose rounding overflows the half range (|v| >= 65520).
func Float32ToHalf(v float32) (h uint16, ok bool) {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN
		return 0, false
	case b&0x7fffffff == 0x7f800000 || exp >= 31: // infinity or too large
		return 0, false
	case exp <= 0: // subnormal half (or zero)
		if exp < -10 {
			return sign, true // rounds to zero
		}
		mant |= 0x800000 // the implicit bit
		shift := uint(14 - exp)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		rem := mant & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r), true // a carry into the exponent field is the correct normal
	}
	r := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent: still correct
	}
	if r >= 0x7c00 {
		return 0, false
	}
	return sign | uint16(r), true
}

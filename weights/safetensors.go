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
	"github.com/nlpodyssey/safetensors"
)

// loadSafetensors reads float32 (or float64) tensors and the file's metadata.
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
		case safetensors.I64:
			if filepath.Ext(nt.Name) == ".num_batches_tracked" {
				continue
			}
			fallthrough
		default:
			return nil, nil, fmt.Errorf("%s: tensor %q has dtype %s; only F32 and F64 are supported", path, nt.Name, tv.DType())
		}
		p[nt.Name] = t
	}
	return p, meta.Metadata(), nil
}

// SaveSafetensors writes params as float32 safetensors with the given
// metadata. The file appears whole or not at all.
func SaveSafetensors(path string, p nn.Params, meta map[string]string) error {
	views := map[string]safetensors.TensorView{}
	names := make([]string, 0, len(p))
	for name := range p {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := p[name]
		data := make([]byte, 4*len(t.Data))
		for i, v := range t.Data {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
		shape := make([]uint64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = uint64(d)
		}
		tv, err := safetensors.NewTensorView(safetensors.F32, shape, data)
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

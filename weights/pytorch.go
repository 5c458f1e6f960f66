// Package weights reads and writes network parameters: PyTorch checkpoints
// (legacy and zip formats) through a pickle reader that never executes code,
// and safetensors files, which is also how the project saves its own weights.
package weights

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/amcbench/amc/nn"
	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/pytorch"
	"github.com/nlpodyssey/gopickle/types"
)

// rebuildTensorLegacy stands for torch._utils._rebuild_tensor, which pre-1.0
// checkpoints (such as the akamaster ResNets) call with 4 arguments.
type rebuildTensorLegacy struct{}

func (rebuildTensorLegacy) Call(args ...interface{}) (interface{}, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("_rebuild_tensor: %d arguments, want 4", len(args))
	}
	return (&pytorch.RebuildTensorV2{}).Call(args[0], args[1], args[2], args[3], false, types.NewOrderedDict())
}

// safeFindClass allows only the classes a checkpoint of tensors needs (the
// pytorch package adds tensor rebuilding and storage types on top of this);
// anything else, such as os.system, is refused before it can be called.
func safeFindClass(module, name string) (interface{}, error) {
	if module == "torch._utils" && name == "_rebuild_tensor" {
		return rebuildTensorLegacy{}, nil
	}
	return nil, fmt.Errorf("refusing to load %s.%s: a weights file may hold only tensors and plain containers", module, name)
}

// loadPyTorch reads a torch.save file without running any code in it.
func loadPyTorch(path string) (params nn.Params, err error) {
	defer func() {
		// gopickle panics on a few malformed or unsupported inputs.
		if r := recover(); r != nil {
			params, err = nil, fmt.Errorf("%s: unsupported or damaged PyTorch checkpoint (%v)", path, r)
		}
	}()
	zipped, err := zipFormat(path)
	if err != nil {
		return nil, loadError(path, err)
	}
	if zipped {
		if err := checkZipEntries(path); err != nil {
			return nil, loadError(path, err)
		}
	}
	if err := scanCheckpoint(path); err != nil {
		return nil, loadError(path, err)
	}
	if zipped {
		if err := checkZipStorages(path); err != nil {
			return nil, loadError(path, err)
		}
	} else {
		if err := checkLegacyStorages(path); err != nil {
			return nil, loadError(path, err)
		}
	}
	obj, err := pytorch.LoadWithUnpickler(path, func(r io.Reader) pickle.Unpickler {
		if zipped { // r is data.pkl, whose size checkZipEntries bounded
			r = io.LimitReader(r, maxPickleBytes)
		}
		u := pickle.NewUnpickler(r)
		u.FindClass = safeFindClass
		return u
	})
	if err != nil {
		return nil, loadError(path, err)
	}
	sd, err := stateDict(obj)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Every view is checked against its storage before any dense copy is
	// allocated, and the copies together may not exceed twice the values the
	// file stores (several names viewing one storage would otherwise
	// multiply it).
	var tensors []entry
	stored, total := map[pytorch.StorageInterface]int{}, int64(0)
	for _, kv := range sd {
		if strings.HasSuffix(kv.key, "num_batches_tracked") {
			continue
		}
		t, ok := kv.value.(*pytorch.Tensor)
		if !ok {
			return nil, fmt.Errorf("%s: entry %q is a %T, not a tensor", path, kv.key, kv.value)
		}
		n, err := storageLen(t.Source)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, kv.key, err)
		}
		numel, err := checkView(t.Size, t.Stride, t.StorageOffset, n)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, kv.key, err)
		}
		stored[t.Source] = n
		total += numel
		tensors = append(tensors, kv)
	}
	var storedTotal int64
	for _, n := range stored {
		storedTotal += int64(n)
	}
	if total > 2*storedTotal {
		return nil, fmt.Errorf("%s: the tensors hold %d values, more than twice the %d values stored in the file; a state dict does not view its storages that often", path, total, storedTotal)
	}
	params = nn.Params{}
	for _, kv := range tensors {
		name := strings.TrimPrefix(kv.key, "module.")
		nt, err := toTensor(kv.value.(*pytorch.Tensor))
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, kv.key, err)
		}
		if _, dup := params[name]; dup {
			return nil, fmt.Errorf("%s: tensor %q appears twice (with and without the module. prefix)", path, name)
		}
		params[name] = nt
	}
	if len(params) == 0 {
		return nil, fmt.Errorf("%s: no tensors found", path)
	}
	return params, nil
}

type entry struct {
	key   string
	value interface{}
}

// stateDict finds the state dict inside a checkpoint: the object itself, or
// its "state_dict", "model_state_dict", "model" or "net" entry.
func stateDict(obj interface{}) ([]entry, error) {
	entries, ok := dictEntries(obj)
	if !ok {
		return nil, fmt.Errorf("checkpoint holds a %T, not a dict of tensors", obj)
	}
	for _, key := range []string{"state_dict", "model_state_dict", "model", "net"} {
		for _, e := range entries {
			if e.key == key {
				if inner, ok := dictEntries(e.value); ok {
					return inner, nil
				}
			}
		}
	}
	return entries, nil
}

func dictEntries(obj interface{}) ([]entry, bool) {
	var out []entry
	switch d := obj.(type) {
	case *types.OrderedDict:
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*types.OrderedDictEntry)
			k, ok := e.Key.(string)
			if !ok {
				return nil, false
			}
			out = append(out, entry{k, e.Value})
		}
	case *types.Dict:
		for _, e := range *d {
			k, ok := e.Key.(string)
			if !ok {
				return nil, false
			}
			out = append(out, entry{k, e.Value})
		}
	default:
		return nil, false
	}
	return out, true
}

// storageLen returns how many values a floating-point storage holds.
func storageLen(src pytorch.StorageInterface) (int, error) {
	switch s := src.(type) {
	case *pytorch.FloatStorage:
		return len(s.Data), nil
	case *pytorch.DoubleStorage:
		return len(s.Data), nil
	case *pytorch.HalfStorage:
		return len(s.Data), nil
	case *pytorch.BFloat16Storage:
		return len(s.Data), nil
	}
	return 0, fmt.Errorf("storage %T is not a floating-point type", src)
}

// toTensor copies a (possibly strided) PyTorch tensor into a dense float32
// one. Its view must have passed checkView.
func toTensor(t *pytorch.Tensor) (*nn.Tensor, error) {
	var get func(i int) float32
	var n int
	switch s := t.Source.(type) {
	case *pytorch.FloatStorage:
		get, n = func(i int) float32 { return s.Data[i] }, len(s.Data)
	case *pytorch.DoubleStorage:
		get, n = func(i int) float32 { return float32(s.Data[i]) }, len(s.Data)
	case *pytorch.HalfStorage:
		get, n = func(i int) float32 { return s.Data[i] }, len(s.Data)
	case *pytorch.BFloat16Storage:
		get, n = func(i int) float32 { return s.Data[i] }, len(s.Data)
	default:
		return nil, fmt.Errorf("storage %T is not a floating-point type", t.Source)
	}
	if _, err := checkView(t.Size, t.Stride, t.StorageOffset, n); err != nil {
		return nil, err
	}
	out := nn.NewTensor(t.Size...)
	if len(t.Size) == 0 {
		out.Data = make([]float32, 1)
	}
	idx := make([]int, len(t.Size))
	for k := range out.Data {
		off := t.StorageOffset
		for d, i := range idx {
			off += i * t.Stride[d]
		}
		if off < 0 || off >= n {
			return nil, fmt.Errorf("element %d lies outside its storage of %d values", k, n)
		}
		out.Data[k] = get(off)
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < t.Size[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

func isZip(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4)
	_, err = io.ReadFull(f, head)
	return err == nil && string(head) == "PK\x03\x04"
}

// loadError words a reader error: a refused class as it is, anything else
// as a damaged file.
func loadError(path string, err error) error {
	if strings.Contains(err.Error(), "refusing to load") {
		return fmt.Errorf("%s: %w", path, err)
	}
	return fmt.Errorf("%s: damaged, truncated or unsupported PyTorch checkpoint: %w", path, err)
}

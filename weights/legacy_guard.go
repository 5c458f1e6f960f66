package weights

import (
	"archive/zip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// checkLegacyStorages walks a legacy (pre-1.6) torch.save file without
// allocating its tensors: it unpickles the header and the object with
// placeholder storages, then checks that every storage's declared length
// fits in the bytes left in the file. gopickle allocates whatever a
// storage declares, so a damaged or hostile file could otherwise make it
// ask for terabytes (found by FuzzLoad).
func checkLegacyStorages(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	for i := 0; i < 3; i++ { // magic number, protocol version, system info
		u := pickle.NewUnpickler(f)
		u.FindClass = safeFindClass
		if _, err := u.Load(); err != nil {
			return fmt.Errorf("header: %w", err)
		}
	}
	elem := map[string]int64{}
	u := pickle.NewUnpickler(f)
	u.FindClass = checkFindClass
	u.PersistentLoad = func(id interface{}) (interface{}, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() < 5 {
			return nil, fmt.Errorf("unexpected persistent id %v", id)
		}
		kind, ok1 := t.Get(1).(storageKind)
		key, ok2 := t.Get(2).(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("unexpected storage reference %v", id)
		}
		elem[key] = int64(kind)
		return nil, nil
	}
	if _, err := u.Load(); err != nil {
		return err
	}
	ku := pickle.NewUnpickler(f)
	ku.FindClass = safeFindClass
	keysObj, err := ku.Load()
	if err != nil {
		return fmt.Errorf("storage keys: %w", err)
	}
	keys, ok := keysObj.(*types.List)
	if !ok {
		return fmt.Errorf("storage keys are a %T, not a list", keysObj)
	}
	pos, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	var buf [8]byte
	for _, k := range *keys {
		key, _ := k.(string)
		size, ok := elem[key]
		if !ok {
			return fmt.Errorf("storage %q is listed but not referenced", key)
		}
		if _, err := f.ReadAt(buf[:], pos); err != nil {
			return fmt.Errorf("storage %q: truncated file", key)
		}
		n := binary.LittleEndian.Uint64(buf[:])
		left := st.Size() - pos - 8
		if n > uint64(left)/uint64(size) {
			return fmt.Errorf("storage %q declares %d values of %d bytes, but only %d bytes follow", key, n, size, left)
		}
		pos += 8 + int64(n)*size
	}
	return nil
}

// storageKind is a storage class seen during the check: its element size.
type storageKind int64

var storageSizes = map[string]int{
	"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8, "CharStorage": 1,
	"ByteStorage": 1, "BoolStorage": 1, "ShortStorage": 2, "IntStorage": 4, "LongStorage": 8,
}

// checkFindClass resolves classes while the storage checks walk a pickle:
// tensor-rebuilding functions become placeholders, storage classes their
// element sizes, and everything else goes through the same whitelist as a
// real load.
func checkFindClass(module, name string) (interface{}, error) {
	switch module + "." + name {
	case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
		"torch.nn.backends.thnn._get_thnn_function_backend":
		return placeholder{}, nil
	}
	if module == "torch" {
		if size, ok := storageSizes[name]; ok {
			return storageKind(size), nil
		}
	}
	return safeFindClass(module, name)
}

// placeholder stands for tensor-rebuilding functions during the check.
type placeholder struct{}

func (placeholder) Call(...interface{}) (interface{}, error) { return nil, nil }

// checkZipStorages does for the zip format what checkLegacyStorages does
// for the legacy one: data.pkl is unpickled with placeholder storages, and
// every storage's declared element count must fit in its entry (gopickle
// allocates the declared count before it reads the entry). Entries are
// looked up as gopickle does, by the last part of their names, the last
// entry of a name winning, so the entry checked is the entry read.
func checkZipStorages(p string) error {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return err
	}
	defer zr.Close()
	entries := map[string]uint64{}
	var pkl *zip.File
	for _, f := range zr.File {
		_, base := path.Split(f.Name)
		entries[base] = f.UncompressedSize64
		if base == "data.pkl" {
			pkl = f
		}
	}
	if pkl == nil {
		return fmt.Errorf("no data.pkl in the zip archive")
	}
	rc, err := pkl.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	u := pickle.NewUnpickler(io.LimitReader(rc, int64(pkl.UncompressedSize64)))
	u.FindClass = checkFindClass
	u.PersistentLoad = func(id interface{}) (interface{}, error) {
		t, ok := id.(*types.Tuple)
		if !ok || t.Len() < 5 {
			return nil, fmt.Errorf("unexpected persistent id %v", id)
		}
		kind, ok1 := t.Get(1).(storageKind)
		key, ok2 := t.Get(2).(string)
		numel, ok3 := t.Get(4).(int)
		if !ok1 || !ok2 || !ok3 || numel < 0 {
			return nil, fmt.Errorf("unexpected storage reference %v", id)
		}
		size, found := entries[key]
		if !found {
			return nil, fmt.Errorf("storage %q has no data/%s entry", key, key)
		}
		if uint64(numel) > size/uint64(kind) {
			return nil, fmt.Errorf("storage %q declares %d values of %d bytes, but its entry holds %d bytes", key, numel, kind, size)
		}
		return nil, nil
	}
	if _, err := u.Load(); err != nil {
		return err
	}
	return nil
}

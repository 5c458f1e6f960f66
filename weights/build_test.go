package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// This file builds PyTorch checkpoints by hand, byte by byte, so that tests
// can make the hostile ones torch.save never writes: views that reach past
// their storage, stride-0 expansions, zip entries whose sizes lie.

// ptStorage is one float32 storage of a hand-built checkpoint.
type ptStorage struct {
	key   string
	numel int64 // what the pickle declares (zip format); the data's length when 0
	data  []float32
}

// ptTensor is one state-dict entry: a view of a storage.
type ptTensor struct {
	name         string
	key          string // its storage
	offset       int64
	size, stride []int64
}

// pickler appends protocol-2 pickle opcodes.
type pickler struct{ bytes.Buffer }

func (p *pickler) op(s string) { p.WriteString(s) }

func (p *pickler) str(s string) {
	p.WriteByte('X')
	_ = binary.Write(&p.Buffer, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
}

func (p *pickler) int(v int64) {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		p.WriteByte('J')
		_ = binary.Write(&p.Buffer, binary.LittleEndian, int32(v))
		return
	}
	p.op("\x8a\x08") // LONG1 of 8 bytes
	_ = binary.Write(&p.Buffer, binary.LittleEndian, v)
}

func (p *pickler) ints(vs []int64) {
	p.op("(")
	for _, v := range vs {
		p.int(v)
	}
	p.op("t")
}

func (p *pickler) global(module, name string) { p.op("c" + module + "\n" + name + "\n") }

// statePickle is an OrderedDict of the tensors; legacy persistent ids carry
// a sixth (view) field.
func statePickle(storages []ptStorage, tensors []ptTensor, legacy bool) []byte {
	numel := map[string]int64{}
	for _, s := range storages {
		numel[s.key] = s.numel
		if s.numel == 0 {
			numel[s.key] = int64(len(s.data))
		}
	}
	var p pickler
	p.op("\x80\x02")
	p.global("collections", "OrderedDict")
	p.op(")R(")
	for _, t := range tensors {
		p.str(t.name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op("((")
		p.str("storage")
		p.global("torch", "FloatStorage")
		p.str(t.key)
		p.str("cpu")
		p.int(numel[t.key])
		if legacy {
			p.op("N")
		}
		p.op("tQ")
		p.int(t.offset)
		p.ints(t.size)
		p.ints(t.stride)
		p.op("\x89")
		p.global("collections", "OrderedDict")
		p.op(")Rt")
		p.op("R")
	}
	p.op("u.")
	return p.Bytes()
}

func floatBytes(data []float32) []byte {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// zipEntry is one raw entry of a hand-built zip: its header is written as
// given, so its sizes may lie about its bytes.
type zipEntry struct {
	hdr  zip.FileHeader
	data []byte // stored as is (already compressed when Method is Deflate)
}

func buildZip(t testing.TB, entries []zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		if h.CompressedSize64 == 0 {
			h.CompressedSize64 = uint64(len(e.data))
		}
		if h.UncompressedSize64 == 0 {
			h.UncompressedSize64 = uint64(len(e.data))
		}
		if h.CRC32 == 0 {
			h.CRC32 = crc32.ChecksumIEEE(e.data)
		}
		w, err := zw.CreateRaw(&h)
		require.NoError(t, err)
		_, err = w.Write(e.data)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// zipCheckpoint is a zip-format (torch >= 1.6) checkpoint; extra entries
// replace the generated ones of the same name.
func zipCheckpoint(t testing.TB, storages []ptStorage, tensors []ptTensor, extra ...zipEntry) []byte {
	t.Helper()
	entries := []zipEntry{{hdr: zip.FileHeader{Name: "archive/data.pkl"}, data: statePickle(storages, tensors, false)}}
	for _, s := range storages {
		entries = append(entries, zipEntry{hdr: zip.FileHeader{Name: "archive/data/" + s.key}, data: floatBytes(s.data)})
	}
	entries = append(entries, zipEntry{hdr: zip.FileHeader{Name: "archive/version"}, data: []byte("3\n")})
	for _, x := range extra {
		replaced := false
		for i := range entries {
			if entries[i].hdr.Name == x.hdr.Name {
				entries[i], replaced = x, true
			}
		}
		if !replaced {
			entries = append(entries, x)
		}
	}
	return buildZip(t, entries)
}

// legacyCheckpoint is a legacy (torch < 1.6) checkpoint: five pickles
// followed by each storage's length and values.
func legacyCheckpoint(storages []ptStorage, tensors []ptTensor) []byte {
	var b bytes.Buffer
	b.WriteString("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.") // magic number
	b.WriteString("\x80\x02M\xe9\x03.")                                        // protocol 1001
	b.WriteString("\x80\x02}.")                                                // system info
	b.Write(statePickle(storages, tensors, true))
	var keys pickler
	keys.op("\x80\x02](")
	for _, s := range storages {
		keys.str(s.key)
	}
	keys.op("e.")
	b.Write(keys.Bytes())
	for _, s := range storages {
		_ = binary.Write(&b, binary.LittleEndian, uint64(len(s.data)))
		b.Write(floatBytes(s.data))
	}
	return b.Bytes()
}

// expanded is the 350-byte killer: one stored value viewed as an n x n
// matrix with stride 0.
func expanded(n int64) ([]ptStorage, []ptTensor) {
	return []ptStorage{{key: "0", data: []float32{1}}},
		[]ptTensor{{name: "conv1.weight", key: "0", size: []int64{n, n}, stride: []int64{0, 0}}}
}

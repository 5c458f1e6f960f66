package weights

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the weights reader: it may refuse them,
// but must never panic, run anything or exhaust memory. The seeds include
// the hostile checkpoints of hostile_test.go (stride-0 expansions, zip
// entries whose sizes lie, a legacy file with a zip appended) and a NaN and
// a negative running variance in both PyTorch formats.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"testdata/tiny-zip.pt", "testdata/evil-zip.pt", "testdata/evil-legacy.th"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\x00\x00\x80\x3f"))
	f.Add([]byte{0x80, 0x02, 'K', 1, '.'})
	for _, h := range hostileFiles(f) {
		f.Add(h.data)
	}
	for _, v := range []float32{float32(math.NaN()), -1} { // a NaN weight, a negative variance
		s := []ptStorage{{key: "0", data: []float32{1, v}}}
		ts := []ptTensor{{name: "bn1.running_var", key: "0", size: []int64{2}, stride: []int64{1}}}
		f.Add(zipCheckpoint(f, s, ts))
		f.Add(legacyCheckpoint(s, ts))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "w")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Load(p)
		if err == nil && file.Params == nil {
			t.Fatal("no error and no tensors")
		}
	})
}

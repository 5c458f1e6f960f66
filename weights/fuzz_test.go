package weights

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the weights reader: it may refuse them,
// but must never panic or run anything.
func FuzzLoad(f *testing.F) {
	for _, p := range []string{"testdata/tiny-zip.pt", "testdata/evil-zip.pt", "testdata/evil-legacy.th"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\x00\x00\x80\x3f"))
	f.Add([]byte{0x80, 0x02, 'K', 1, '.'})
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

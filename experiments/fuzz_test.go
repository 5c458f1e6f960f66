package experiments

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: any bytes as a spec give a spec or an error, never a panic.
func FuzzLoad(f *testing.F) {
	if b, err := os.ReadFile("resnet20-macs50.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("name: x\nstrategies: [{name: ddpg, episodes: -1}]\n"))
	f.Add([]byte("{{{"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "s.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(p)
		if err == nil && (s.Name == "" || len(s.Strategies) == 0) {
			t.Fatal("accepted a spec without name or strategies")
		}
	})
}

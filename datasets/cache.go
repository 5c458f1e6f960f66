package datasets

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/amcbench/amc/internal/atomicfile"
)

// cacheMagic names the format: AMCIMGS2 stores labels as little-endian
// uint16 (AMCIMGS1, one byte per label, is decoded again).
const cacheMagic = "AMCIMGS2"

type cacheHeader struct {
	Source  string   `json:"source"`  // what was decoded (path and checksum)
	Decoder string   `json:"decoder"` // how
	Split   string   `json:"split"`
	N       int      `json:"n"`
	H       int      `json:"h"`
	W       int      `json:"w"`
	C       int      `json:"c"`
	Classes []string `json:"classes"`
	// Fingerprint is the decoded data's content hash, where the data set has one.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// writeCache stores decoded images atomically (temporary file, then rename).
func writeCache(path string, h cacheHeader, im *Images) error {
	js, _ := json.Marshal(h)
	err := atomicfile.Write(path, func(w io.Writer) error {
		w.Write([]byte(cacheMagic))
		binary.Write(w, binary.LittleEndian, uint32(len(js)))
		w.Write(js)
		binary.Write(w, binary.LittleEndian, im.Labels)
		_, err := w.Write(im.Pixels)
		return err
	})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

// readCache loads a cache written by writeCache, with its header; ok is false
// when the file is absent, stale (another source or decoder) or damaged, so
// the caller decodes again.
func readCache(path string, want cacheHeader) (*Images, cacheHeader, bool) {
	var h cacheHeader
	fail := func() (*Images, cacheHeader, bool) { return nil, h, false }
	f, err := os.Open(path)
	if err != nil {
		return fail()
	}
	defer f.Close()
	r := bufio.NewReader(f)
	magic := make([]byte, len(cacheMagic))
	var n uint32
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != cacheMagic {
		return fail()
	}
	if binary.Read(r, binary.LittleEndian, &n) != nil || n > 1<<20 {
		return fail()
	}
	js := make([]byte, n)
	if _, err := io.ReadFull(r, js); err != nil || json.Unmarshal(js, &h) != nil {
		return fail()
	}
	if h.Source != want.Source || h.Decoder != want.Decoder || h.Split != want.Split || h.N <= 0 || h.N > 1<<24 ||
		h.H*h.W*h.C <= 0 || h.H*h.W*h.C > 1<<20 {
		return fail()
	}
	im := &Images{N: h.N, H: h.H, W: h.W, C: h.C, Classes: h.Classes,
		Labels: make([]uint16, h.N), Pixels: make([]uint8, h.N*h.H*h.W*h.C)}
	if err := binary.Read(r, binary.LittleEndian, im.Labels); err != nil {
		return fail()
	}
	if _, err := io.ReadFull(r, im.Pixels); err != nil {
		return fail()
	}
	if _, err := r.ReadByte(); err != io.EOF { // trailing bytes: damaged
		return fail()
	}
	for _, l := range im.Labels {
		if int(l) >= len(h.Classes) {
			return fail()
		}
	}
	return im, h, true
}

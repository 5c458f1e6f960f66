package weights

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// scanPickle walks one pickle's opcodes (up to and including STOP) without
// building anything, and fails if an opcode declares a length (of bytes, a
// string, a long or a frame) larger than what is left of the limit bytes the
// pickle may occupy, or if the opcode is unknown. gopickle allocates any
// declared length before reading it, so a short hostile file could
// otherwise make it ask for gigabytes. It returns the bytes consumed.
func scanPickle(r *bufio.Reader, limit int64) (int64, error) {
	var n int64
	skip := func(k int64) error {
		if k < 0 || k > limit-n {
			return fmt.Errorf("pickle opcode at byte %d declares %d bytes, more than the %d left", n, k, limit-n)
		}
		if _, err := r.Discard(int(k)); err != nil {
			return fmt.Errorf("pickle truncated at byte %d: %w", n, err)
		}
		n += k
		return nil
	}
	readN := func(k int) ([]byte, error) {
		if int64(k) > limit-n {
			return nil, fmt.Errorf("pickle truncated at byte %d", n)
		}
		b := make([]byte, k)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("pickle truncated at byte %d: %w", n, err)
		}
		n += int64(k)
		return b, nil
	}
	line := func() error {
		for {
			if n >= limit {
				return fmt.Errorf("pickle truncated at byte %d (unterminated line)", n)
			}
			c, err := r.ReadByte()
			if err != nil {
				return fmt.Errorf("pickle truncated at byte %d: %w", n, err)
			}
			n++
			if c == '\n' {
				return nil
			}
		}
	}
	for {
		if n >= limit {
			return n, fmt.Errorf("pickle has no STOP opcode within %d bytes", limit)
		}
		op, err := r.ReadByte()
		if err != nil {
			return n, fmt.Errorf("pickle truncated at byte %d: %w", n, err)
		}
		n++
		switch {
		case op == '.': // STOP
			return n, nil
		case strings.IndexByte("(012N\x88\x89]ael)t\x85\x86\x87}dsu\x8f\x90\x91bR\x81\x92\x93\x94Qo\x97\x98", op) >= 0:
			// no argument
		case strings.IndexByte("Khq\x82\x80", op) >= 0:
			err = skip(1)
		case strings.IndexByte("M\x83", op) >= 0:
			err = skip(2)
		case strings.IndexByte("Jjr\x84", op) >= 0:
			err = skip(4)
		case op == 'G' || op == '\x95': // BINFLOAT; FRAME (its length is checked like data)
			if op == 'G' {
				err = skip(8)
			} else {
				var b []byte
				if b, err = readN(8); err == nil && int64(binary.LittleEndian.Uint64(b)) > limit-n {
					err = fmt.Errorf("pickle frame at byte %d declares %d bytes, more than the %d left", n, binary.LittleEndian.Uint64(b), limit-n)
				}
			}
		case strings.IndexByte("U\x8cC\x8a", op) >= 0: // 1-byte length
			var b []byte
			if b, err = readN(1); err == nil {
				err = skip(int64(b[0]))
			}
		case strings.IndexByte("TXB\x8b", op) >= 0: // 4-byte length
			var b []byte
			if b, err = readN(4); err == nil {
				l := int64(int32(binary.LittleEndian.Uint32(b)))
				if op == 'X' || op == 'B' {
					l = int64(binary.LittleEndian.Uint32(b))
				}
				err = skip(l)
			}
		case strings.IndexByte("\x8d\x8e\x96", op) >= 0: // 8-byte length
			var b []byte
			if b, err = readN(8); err == nil {
				l := binary.LittleEndian.Uint64(b)
				if l > uint64(limit) {
					err = fmt.Errorf("pickle opcode at byte %d declares %d bytes, more than the %d left", n, l, limit-n)
				} else {
					err = skip(int64(l))
				}
			}
		case strings.IndexByte("ILFSVPgp", op) >= 0:
			err = line()
		case op == 'c' || op == 'i': // GLOBAL, INST: module and name lines
			if err = line(); err == nil {
				err = line()
			}
		default:
			return n, fmt.Errorf("unknown pickle opcode 0x%02x at byte %d", op, n-1)
		}
		if err != nil {
			return n, err
		}
	}
}

// scanCheckpoint runs scanPickle over a checkpoint's pickles before
// gopickle reads them: the legacy format's five leading pickles, or the zip
// format's data.pkl.
func scanCheckpoint(path string) error {
	if isZip(path) {
		zr, err := zip.OpenReader(path)
		if err != nil {
			return err
		}
		defer zr.Close()
		found := false
		for _, f := range zr.File {
			if !strings.HasSuffix(f.Name, "/data.pkl") && f.Name != "data.pkl" {
				continue
			}
			found = true
			rc, err := f.Open()
			if err != nil {
				return err
			}
			_, err = scanPickle(bufio.NewReader(io.LimitReader(rc, int64(f.UncompressedSize64))), int64(f.UncompressedSize64))
			rc.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", f.Name, err)
			}
		}
		if !found {
			return errors.New("no data.pkl in the zip archive")
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	br := bufio.NewReader(f)
	var used int64
	// magic, protocol, system info, object, storage keys (a short file is
	// left to the reader to refuse)
	for i := 0; i < 5 && used < st.Size(); i++ {
		k, err := scanPickle(br, st.Size()-used)
		if err != nil {
			return err
		}
		used += k
	}
	return nil
}

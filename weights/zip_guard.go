package weights

import (
	"archive/zip"
	"errors"
	"fmt"
	"os"
	"path"
)

// Limits on what a zip checkpoint's entries may declare. torch.save stores
// its entries uncompressed; a deflated one can expand at most about 1032
// times (deflate's maximum ratio), plus a little for very short streams.
const (
	deflateMaxRatio = 1032
	deflateSlack    = 1 << 10
	// maxEntryBytes caps one storage entry (2 GiB: 512M float32 values,
	// beyond any network amc knows).
	maxEntryBytes = 2 << 30
	// maxPickleBytes caps a .pkl entry: a state dict's pickle holds names
	// and shapes, a few kilobytes to a few megabytes.
	maxPickleBytes = 64 << 20
)

// zipFormat tells whether path is read as a zip checkpoint, and refuses a
// file on which amc and gopickle would disagree: amc goes by the leading
// "PK\x03\x04", gopickle by whether archive/zip can open the file, which it
// can also when a zip is appended to something else (zip readers start
// from the end). Such a file would pass the legacy checks and then be read,
// unchecked, as a zip.
func zipFormat(p string) (bool, error) {
	magic := isZip(p)
	zr, err := zip.OpenReader(p)
	if zr != nil {
		zr.Close()
	}
	switch {
	case magic && err != nil:
		return false, fmt.Errorf("damaged zip archive: %w", err)
	case !magic && err == nil:
		return false, errors.New("both a legacy PyTorch checkpoint and a zip archive (a zip is appended to it); refusing to load an ambiguous file")
	}
	return magic, nil
}

// checkZipEntries checks every entry's declared sizes against the size of
// the archive on disk before anything of that size is allocated: a stored
// entry cannot be larger than the file, a deflated one not larger than its
// compressed bytes times deflate's maximum ratio, and none larger than
// maxEntryBytes (maxPickleBytes for a pickle). gopickle allocates what a
// storage declares once the declaration fits its entry, so an entry whose
// directory record lies would otherwise let a few hundred bytes ask for
// gigabytes.
func checkZipEntries(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	size := uint64(st.Size())
	zr, err := zip.OpenReader(p)
	if err != nil {
		return err
	}
	defer zr.Close()
	for _, f := range zr.File {
		limit := uint64(maxEntryBytes)
		if path.Ext(f.Name) == ".pkl" {
			limit = maxPickleBytes
		}
		switch {
		case f.CompressedSize64 > size:
			return fmt.Errorf("entry %q declares %d compressed bytes, but the whole file is only %d bytes", f.Name, f.CompressedSize64, size)
		case f.Method != zip.Store && f.Method != zip.Deflate:
			return fmt.Errorf("entry %q uses compression method %d; only stored (0) and deflated (8) entries are read", f.Name, f.Method)
		case f.Method == zip.Store && f.UncompressedSize64 > size:
			return fmt.Errorf("entry %q declares %d bytes, but the whole file is only %d bytes", f.Name, f.UncompressedSize64, size)
		case f.Method == zip.Deflate && f.UncompressedSize64 > f.CompressedSize64*deflateMaxRatio+deflateSlack:
			return fmt.Errorf("entry %q declares %d bytes from %d compressed bytes; deflate expands at most %d times", f.Name, f.UncompressedSize64, f.CompressedSize64, deflateMaxRatio)
		case f.UncompressedSize64 > limit:
			return fmt.Errorf("entry %q declares %d bytes, more than the %d amc reads from one entry", f.Name, f.UncompressedSize64, limit)
		}
	}
	return nil
}

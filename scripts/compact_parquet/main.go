// Command compact_parquet rewrites Parquet files as one zstd-compressed row
// group each (what amc writes since episode logs are compacted on close),
// checking that every row reads back equal before replacing a file.
//
//	go run ./scripts/compact_parquet results
//
// It was run once over results/ (files written before: one uncompressed row
// group per episode, up to 35 times larger), so that the repository stays
// small enough to travel to a GPU machine (64 MiB per call).
package main

import (
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/amcbench/amc/internal/atomicfile"
	"github.com/amcbench/amc/search"
	"github.com/parquet-go/parquet-go"
)

func readAll(path string) (*parquet.Schema, []parquet.Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var rows []parquet.Row
	for _, rg := range pf.RowGroups() {
		r := rg.Rows()
		buf := make([]parquet.Row, 64)
		for {
			n, err := r.ReadRows(buf)
			for _, row := range buf[:n] {
				rows = append(rows, row.Clone())
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				r.Close()
				return nil, nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		r.Close()
	}
	return pf.Schema(), rows, nil
}

func sameColumns(a, b *parquet.Schema) bool {
	ca, cb := a.Columns(), b.Columns()
	if len(ca) != len(cb) {
		return false
	}
	for i := range ca {
		if strings.Join(ca[i], ".") != strings.Join(cb[i], ".") {
			return false
		}
	}
	return true
}

// sameRow compares two rows value by value, bit for bit (so that NaN
// equals NaN), with their columns and levels.
func sameRow(a, b parquet.Row) bool {
	if len(a) != len(b) {
		return false
	}
	for j := range a {
		x, y := a[j], b[j]
		if x.Kind() != y.Kind() || x.Column() != y.Column() || x.RepetitionLevel() != y.RepetitionLevel() ||
			x.DefinitionLevel() != y.DefinitionLevel() || x.IsNull() != y.IsNull() {
			return false
		}
		switch {
		case x.IsNull():
		case x.Kind() == parquet.Double:
			if math.Float64bits(x.Double()) != math.Float64bits(y.Double()) {
				return false
			}
		case x.Kind() == parquet.Float:
			if math.Float32bits(x.Float()) != math.Float32bits(y.Float()) {
				return false
			}
		case !parquet.Equal(x, y):
			return false
		}
	}
	return true
}

func compact(path string) (int64, int64, error) {
	schema, rows, err := readAll(path)
	if err != nil {
		return 0, 0, err
	}
	// The writer compresses the columns of a schema built from amc's row
	// types; a schema read from a file keeps the file's (no) compression. A
	// file of an older amc, with other columns, keeps its schema: compacted
	// into one row group, not compressed.
	for _, s := range []*parquet.Schema{parquet.SchemaOf(search.EpisodeRow{}), parquet.SchemaOf(search.RunRow{})} {
		if sameColumns(s, schema) {
			schema = s
		}
	}
	before, _ := os.Stat(path)
	tmp := path + ".compact"
	err = atomicfile.Write(tmp, func(w io.Writer) error {
		pw := parquet.NewWriter(w, schema, search.Compression)
		if _, err := pw.WriteRows(rows); err != nil {
			return err
		}
		return pw.Close()
	})
	if err != nil {
		return 0, 0, err
	}
	_, again, err := readAll(tmp)
	if err != nil {
		os.Remove(tmp)
		return 0, 0, err
	}
	if len(again) != len(rows) {
		os.Remove(tmp)
		return 0, 0, fmt.Errorf("%s: %d rows read back, %d written", path, len(again), len(rows))
	}
	for i := range rows {
		if !sameRow(rows[i], again[i]) {
			os.Remove(tmp)
			return 0, 0, fmt.Errorf("%s: row %d differs after rewriting", path, i)
		}
	}
	after, _ := os.Stat(tmp)
	return before.Size(), after.Size(), os.Rename(tmp, path)
}

func main() {
	var total0, total1 int64
	for _, root := range os.Args[1:] {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".parquet") {
				return err
			}
			a, b, err := compact(path)
			if err != nil {
				return err
			}
			total0, total1 = total0+a, total1+b
			fmt.Printf("%s: %d -> %d bytes\n", path, a, b)
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "compact_parquet:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("total: %d -> %d bytes\n", total0, total1)
}

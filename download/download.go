// Package download fetches the public files amc's README uses (the CIFAR-10
// archive, public checkpoints), each named in one registry (registry.json)
// with its URL, size and published checksum: written atomically, verified
// before it is used, resumed where an interrupted download stopped. A local
// copy is accepted by its published checksum or by one the registry records
// for it (a rebuilt archive with the same pixels, say).
package download

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/amcbench/amc/internal/outlock"
	"github.com/amcbench/amc/internal/progress"
	"github.com/amcbench/amc/internal/suggest"
)

// Entry is one downloadable file.
type Entry struct {
	Name   string `json:"name"`
	Doc    string `json:"doc"`
	URL    string `json:"url"`
	Path   string `json:"path"` // where it goes, relative to Options.Dir
	Size   int64  `json:"size"` // bytes (0: not published)
	SHA256 string `json:"sha256,omitempty"`
	MD5    string `json:"md5,omitempty"` // where only an MD5 is published
	// SHA256Prefix is the leading hex digits of the SHA-256 where only they
	// are published: torch.hub's convention (the digits in a checkpoint's
	// file name), which torch.hub itself checks.
	SHA256Prefix string `json:"sha256_prefix,omitempty"`
	// ChecksumSource says where the checksum was published.
	ChecksumSource string `json:"checksum_source"`
	// AcceptSHA256 are the SHA-256 sums of local copies accepted in place of
	// the published file, with AcceptNote saying why.
	AcceptSHA256 []string `json:"accept_sha256,omitempty"`
	AcceptNote   string   `json:"accept_note,omitempty"`
}

//go:embed registry.json
var registryJSON []byte

// hasChecksum says whether e can be verified: a SHA-256, an MD5, or a
// SHA-256 prefix of 8 or more digits.
func (e Entry) hasChecksum() bool { return e.SHA256 != "" || e.MD5 != "" || len(e.SHA256Prefix) >= 8 }

// RegistryEnv names a JSON file of entries (registry.json's format) that
// replace the built-in ones of the same name or add to them: a site's
// mirror with its own URLs and checksums, or a loopback server in a test.
const RegistryEnv = "AMC_FETCH_REGISTRY"

// Registry lists the downloadable files: the built-in registry, with the
// entries of the file named by $AMC_FETCH_REGISTRY in place of those of the
// same name.
func Registry() ([]Entry, error) {
	var es []Entry
	if err := json.Unmarshal(registryJSON, &es); err != nil {
		return nil, fmt.Errorf("download: registry: %w", err)
	}
	path := os.Getenv(RegistryEnv)
	if path == "" {
		return es, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("download: %s: %w", RegistryEnv, err)
	}
	var extra []Entry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&extra); err != nil {
		return nil, fmt.Errorf("download: %s=%s: %w", RegistryEnv, path, err)
	}
	for _, x := range extra {
		if _, err := hex.DecodeString(x.SHA256Prefix + x.SHA256Prefix[:len(x.SHA256Prefix)%2]); err != nil {
			return nil, fmt.Errorf("download: %s=%s: entry %q: sha256_prefix %q is not hex", RegistryEnv, path, x.Name, x.SHA256Prefix)
		}
		if x.Name == "" || x.URL == "" || x.Path == "" || !x.hasChecksum() {
			return nil, fmt.Errorf("download: %s=%s: entry %q needs a name, url, path and sha256 (or md5, or a sha256_prefix of 8 or more hex digits)", RegistryEnv, path, x.Name)
		}
		if i := slices.IndexFunc(es, func(e Entry) bool { return e.Name == x.Name }); i >= 0 {
			es[i] = x
		} else {
			es = append(es, x)
		}
	}
	return es, nil
}

// Lookup finds a registry entry by name.
func Lookup(name string) (Entry, error) {
	es, err := Registry()
	if err != nil {
		return Entry{}, err
	}
	var names []string
	for _, e := range es {
		if e.Name == name {
			return e, nil
		}
		names = append(names, e.Name)
	}
	return Entry{}, fmt.Errorf("download: no file named %q%s; known: %s", name, suggest.DidYouMean(name, names), strings.Join(names, ", "))
}

// Options say where files go and how they are fetched.
type Options struct {
	Dir      string       // files go to Dir/Entry.Path
	Client   *http.Client // nil: Go's default transport with a response-header timeout
	Progress io.Writer    // a progress bar or lines (nil: none)
}

// Fetch makes e's file present and verified at Dir/e.Path and returns that
// path. A file already there is verified and kept (a file with another
// checksum is refused, never overwritten); otherwise the file is
// downloaded into PATH.partial, resumed from there with an HTTP range
// request when an earlier download was interrupted, verified, and renamed
// into place. A download with the wrong checksum is deleted.
func Fetch(ctx context.Context, e Entry, opt Options) (string, error) {
	if !e.hasChecksum() {
		return "", fmt.Errorf("download %s: the registry gives no checksum (sha256, md5, or a sha256_prefix of 8 or more digits)", e.Name)
	}
	if !filepath.IsLocal(filepath.FromSlash(e.Path)) {
		return "", fmt.Errorf("download %s: path %q leaves the folder", e.Name, e.Path)
	}
	dst := filepath.Join(opt.Dir, filepath.FromSlash(e.Path))
	// present verifies a file already at dst: kept if it verifies, refused
	// (never overwritten) otherwise.
	present := func() (path string, there bool, err error) {
		if _, err := os.Stat(dst); err != nil {
			return "", false, nil
		}
		if err := verify(dst, e); err != nil {
			return "", true, fmt.Errorf("download %s: %s is already there and %w; move it away to download the published file", e.Name, dst, err)
		}
		return dst, true, nil
	}
	if path, there, err := present(); there {
		return path, err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("download %s: %w", e.Name, err)
	}
	// One download into a folder at a time: two would interleave their
	// bytes in one .partial file.
	lock, err := outlock.Acquire(filepath.Dir(dst))
	if err != nil {
		if errors.Is(err, outlock.ErrBusy) {
			return "", fmt.Errorf("download %s: another process is downloading into %s (%w); wait for it and run again", e.Name, filepath.Dir(dst), err)
		}
		return "", fmt.Errorf("download %s: %w", e.Name, err)
	}
	defer lock.Release()
	if path, there, err := present(); there { // finished by the process that held the lock
		return path, err
	}
	part := dst + ".partial"
	if err := get(ctx, e, part, opt); err != nil {
		return "", err
	}
	if err := verify(part, e); err != nil {
		os.Remove(part)
		return "", fmt.Errorf("download %s from %s: %w; the download was deleted", e.Name, e.URL, err)
	}
	if err := os.Rename(part, dst); err != nil {
		return "", fmt.Errorf("download %s: %w", e.Name, err)
	}
	return dst, nil
}

// get downloads e.URL into part, continuing a partial file.
func get(ctx context.Context, e Entry, part string, opt Options) error {
	client := opt.Client
	if client == nil { // a server that stops answering is an error, not a hang (with the stall watchdog below)
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = time.Minute
		client = &http.Client{Transport: tr}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stall := time.AfterFunc(stallTimeout, cancel) // no byte for stallTimeout: give up (the partial file stays)
	defer stall.Stop()
	var have int64
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	if e.Size > 0 && have == e.Size {
		return nil // complete: verified by the caller
	}
	if e.Size > 0 && have > e.Size {
		os.Remove(part)
		have = 0
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL, nil)
	if err != nil {
		return fmt.Errorf("download %s: %w", e.Name, err)
	}
	req.Header.Set("Accept-Encoding", "identity") // the file's bytes, the same on a resumed request
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("download %s from %s: %w (offline? put the file at %s yourself: %s)", e.Name, e.URL, err,
			strings.TrimSuffix(part, ".partial"), checksumText(e))
	}
	defer resp.Body.Close()
	flags := os.O_CREATE | os.O_WRONLY
	switch {
	case have > 0 && resp.StatusCode == http.StatusPartialContent:
		var start int64
		if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-", &start); err != nil || start != have {
			os.Remove(part) // the next call starts over without a range
			return fmt.Errorf("download %s from %s: asked for bytes from %d, the server sent %q; the partial download was deleted: run again to start over", e.Name, e.URL, have, resp.Header.Get("Content-Range"))
		}
		flags |= os.O_APPEND
	case resp.StatusCode == http.StatusOK && e.Size > 0 && resp.ContentLength >= 0 && resp.ContentLength != e.Size:
		return fmt.Errorf("download %s from %s: the server offers %d bytes, not the published %d", e.Name, e.URL, resp.ContentLength, e.Size)
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC // no range support: start again
		have = 0
	case have > 0 && resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return nil // nothing after what we have: verified by the caller
	default:
		return fmt.Errorf("download %s from %s: the server answered %s", e.Name, e.URL, resp.Status)
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return fmt.Errorf("download %s: %w", e.Name, err)
	}
	total := e.Size
	if total <= 0 && resp.ContentLength > 0 {
		total = have + resp.ContentLength
	}
	bar := progress.NewUnit(opt.Progress, int(max(1, total>>10)), "download "+e.Name, "KiB")
	w := &counter{w: f, n: have, update: func(n int64) {
		stall.Reset(stallTimeout)
		bar.Update(int(n>>10), int(max(1, total>>10)))
	}}
	_, cerr := io.Copy(w, resp.Body)
	bar.Finish()
	if err := errors.Join(f.Sync(), f.Close()); err != nil && cerr == nil {
		cerr = err
	}
	if cerr != nil {
		return fmt.Errorf("download %s from %s: interrupted after %d of %d bytes (%w); run again to resume from %s", e.Name, e.URL, w.n, total, cerr, part)
	}
	// The server's answer is complete: a file of another size is another file.
	if e.Size > 0 && w.n != e.Size {
		os.Remove(part)
		return fmt.Errorf("download %s from %s: the server's file has %d bytes, not the published %d; the download was deleted", e.Name, e.URL, w.n, e.Size)
	}
	return nil
}

// stallTimeout is how long a download may go without receiving a byte.
var stallTimeout = time.Minute

// counter writes through and reports the running total.
type counter struct {
	w      io.Writer
	n      int64
	update func(int64)
}

func (c *counter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n += int64(k)
	c.update(c.n)
	return k, err
}

// verify checks path's size and checksum against e: the published
// checksum, or one of the accepted local copies'.
func verify(path string, e Entry) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	s, m := sha256.New(), md5.New()
	w := io.Writer(s)
	if e.MD5 != "" { // the MD5 only where one is published
		w = io.MultiWriter(s, m)
	}
	n, err := io.Copy(w, f)
	if err != nil {
		return err
	}
	sum := hex.EncodeToString(s.Sum(nil))
	if slices.Contains(e.AcceptSHA256, sum) {
		return nil
	}
	if e.Size > 0 && n != e.Size {
		return fmt.Errorf("has %d bytes, not the published %d", n, e.Size)
	}
	for _, c := range []struct {
		name, want string
		h          hash.Hash
	}{{"SHA-256", e.SHA256, s}, {"MD5", e.MD5, m}} {
		if c.want == "" {
			continue
		}
		if got := hex.EncodeToString(c.h.Sum(nil)); got != strings.ToLower(c.want) {
			return fmt.Errorf("has %s %s, not the published %s", c.name, got, c.want)
		}
	}
	if p := strings.ToLower(e.SHA256Prefix); p != "" && !strings.HasPrefix(sum, p) {
		return fmt.Errorf("has SHA-256 %s, not starting with the published %s", sum, p)
	}
	return nil
}

// checksumText names e's published checksum.
func checksumText(e Entry) string {
	switch {
	case e.SHA256 != "":
		return "SHA-256 " + e.SHA256
	case e.MD5 != "":
		return "MD5 " + e.MD5
	}
	return "SHA-256 starting " + e.SHA256Prefix
}

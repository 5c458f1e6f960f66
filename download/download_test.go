package download

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/amcbench/amc/internal/outlock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server serves body at /f on loopback; cut > 0 makes the next full
// answer stop after cut bytes (a dropped connection), status != 0 answers
// that status instead. It records the requests' Range headers.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	body   []byte
	cut    int
	status int
	ranges []string
}

func newServer(t *testing.T, body []byte) *server {
	s := &server{body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.ranges = append(s.ranges, r.Header.Get("Range"))
		cut, status := s.cut, s.status
		s.cut = 0
		s.mu.Unlock()
		if status != 0 {
			http.Error(w, "broken", status)
			return
		}
		if cut > 0 {
			w.Header().Set("Content-Length", fmt.Sprint(len(s.body))) // the whole file is promised
			w.WriteHeader(http.StatusOK)
			w.Write(s.body[:cut])
			if h, ok := w.(http.Hijacker); ok { // drop the connection mid-body
				if c, _, err := h.Hijack(); err == nil {
					c.Close()
				}
			}
			return
		}
		http.ServeContent(w, r, "f", time.Time{}, strings.NewReader(string(s.body)))
	}))
	t.Cleanup(s.Close)
	return s
}

func entryFor(url string, body []byte) Entry {
	s, m := sha256.Sum256(body), md5.Sum(body)
	return Entry{Name: "test", URL: url + "/f", Path: "sub/file.bin", Size: int64(len(body)),
		SHA256: hex.EncodeToString(s[:]), MD5: hex.EncodeToString(m[:])}
}

func body() []byte {
	b := make([]byte, 300<<10)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestFetch(t *testing.T) {
	data := body()
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		setup func(s *server, e *Entry, dir string)
		err   string // "" for a verified file
		twice bool   // the second Fetch completes it
	}{
		{"downloads and verifies", func(*server, *Entry, string) {}, "", false},
		{"an MD5 is enough", func(_ *server, e *Entry, _ string) { e.SHA256 = "" }, "", false},
		{"wrong checksum: deleted", func(_ *server, e *Entry, _ string) { e.SHA256 = strings.Repeat("0", 64) }, "not the published", false},
		{"wrong size: deleted", func(_ *server, e *Entry, _ string) { e.Size++ }, "not the published 307201", false},
		{"server error", func(s *server, _ *Entry, _ string) { s.status = http.StatusInternalServerError }, "500", false},
		{"not found", func(s *server, _ *Entry, _ string) { s.status = http.StatusNotFound }, "404", false},
		{"dropped connection: resumed by the next call", func(s *server, _ *Entry, _ string) { s.cut = 100 << 10 }, "interrupted", true},
		{"offline", func(s *server, e *Entry, _ string) { e.URL = "http://127.0.0.1:1/f" }, "offline? put the file at", false},
		{"no checksum", func(_ *server, e *Entry, _ string) { e.SHA256, e.MD5 = "", "" }, "no checksum", false},
		{"a published SHA-256 prefix (torch.hub's) is enough", func(_ *server, e *Entry, _ string) {
			e.SHA256Prefix, e.SHA256, e.MD5, e.Size = e.SHA256[:8], "", "", 0
		}, "", false},
		{"a wrong SHA-256 prefix: deleted", func(_ *server, e *Entry, _ string) {
			e.SHA256Prefix, e.SHA256, e.MD5 = "00000000", "", ""
		}, "not starting with the published 00000000", false},
		{"a prefix too short to check", func(_ *server, e *Entry, _ string) {
			e.SHA256Prefix, e.SHA256, e.MD5 = e.SHA256[:4], "", ""
		}, "no checksum", false},
		{"a path out of the folder", func(_ *server, e *Entry, _ string) { e.Path = "../escape.bin" }, "leaves the folder", false},
		{"a different file already there is kept", func(_ *server, e *Entry, dir string) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "file.bin"), []byte("mine"), 0o644))
		}, "already there", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, data)
			e := entryFor(s.URL, data)
			dir := t.TempDir()
			c.setup(s, &e, dir)
			dst := filepath.Join(dir, "sub", "file.bin")
			got, err := Fetch(ctx, e, Options{Dir: dir})
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				if c.name == "a different file already there is kept" {
					b, _ := os.ReadFile(dst)
					assert.Equal(t, "mine", string(b), "never overwritten")
					return
				}
				assert.NoFileExists(t, dst, "nothing unverified in place")
				if !c.twice {
					assert.NoFileExists(t, dst+".partial", "a refused download is deleted")
					return
				}
				st, serr := os.Stat(dst + ".partial")
				require.NoError(t, serr, "the interrupted download is kept")
				got, err = Fetch(ctx, e, Options{Dir: dir})
				require.NoError(t, err)
				assert.Equal(t, fmt.Sprintf("bytes=%d-", st.Size()), s.ranges[len(s.ranges)-1], "resumed with a range request")
			}
			require.NoError(t, err)
			assert.Equal(t, dst, got)
			b, err := os.ReadFile(dst)
			require.NoError(t, err)
			assert.Equal(t, data, b)
			assert.NoFileExists(t, dst+".partial")
			n := len(s.ranges)
			_, err = Fetch(ctx, e, Options{Dir: dir})
			require.NoError(t, err)
			assert.Len(t, s.ranges, n, "a verified file is not fetched again")
		})
	}
}

// A local copy with a recorded checksum of its own (the lossless rebuild of
// CIFAR-10) is accepted without downloading.
func TestFetchAcceptsARecordedLocalCopy(t *testing.T) {
	data := body()
	s := newServer(t, data)
	e := entryFor(s.URL, data)
	dir := t.TempDir()
	local := []byte("the same pixels, another order")
	sum := sha256.Sum256(local)
	e.AcceptSHA256 = []string{hex.EncodeToString(sum[:])}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "file.bin"), local, 0o644))
	_, err := Fetch(context.Background(), e, Options{Dir: dir})
	require.NoError(t, err)
	assert.Empty(t, s.ranges, "no request")
}

// The registry is well formed, and where ../shared holds the same files,
// they verify against it.
func TestRegistry(t *testing.T) {
	es, err := Registry()
	require.NoError(t, err)
	require.NotEmpty(t, es)
	hub := regexp.MustCompile(`-([0-9a-f]{8})\.[a-z]+$`)
	seen := map[string]bool{}
	for _, e := range es {
		assert.False(t, seen[e.Name], "%s twice", e.Name)
		seen[e.Name] = true
		assert.True(t, strings.HasPrefix(e.URL, "https://"), e.Name)
		assert.True(t, e.SHA256 != "" || e.MD5 != "" || len(e.SHA256Prefix) >= 8, "%s has a checksum", e.Name)
		assert.NotEmpty(t, e.ChecksumSource, e.Name)
		assert.False(t, filepath.IsAbs(e.Path) || strings.Contains(e.Path, ".."), "%s: path inside the folder", e.Name)
		if e.SHA256Prefix == "" {
			assert.Positive(t, e.Size, e.Name)
		}
		if m := hub.FindStringSubmatch(e.Path); m != nil {
			switch {
			case e.SHA256 != "":
				assert.Equal(t, m[1], e.SHA256[:8], "%s: the torch.hub name's digits are the SHA-256's first 8", e.Name)
			default:
				assert.Equal(t, m[1], e.SHA256Prefix, "%s: the published prefix is the torch.hub name's digits", e.Name)
			}
		}
		shared := filepath.Join("..", "..", "shared", "data", filepath.FromSlash(e.Path))
		if _, err := os.Stat(shared); err == nil {
			assert.NoError(t, verify(shared, e), "%s: %s", e.Name, shared)
		}
		weights := filepath.Join("..", "..", "shared", filepath.FromSlash(e.Path))
		if _, err := os.Stat(weights); err == nil {
			assert.NoError(t, verify(weights, e), "%s: %s", e.Name, weights)
		}
	}
	_, err = Lookup("cifar-10")
	assert.ErrorContains(t, err, `did you mean "cifar10"`)
}

// A server that ignores range requests sends the whole file again: the
// partial download starts over, and the result verifies.
func TestFetchRestartsWithoutRangeSupport(t *testing.T) {
	data := body()
	var mu sync.Mutex
	var ranges []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		w.Write(data) // 200, whatever the range
	}))
	defer srv.Close()
	e := entryFor(srv.URL, data)
	dir := t.TempDir()
	part := filepath.Join(dir, "sub", "file.bin.partial")
	require.NoError(t, os.MkdirAll(filepath.Dir(part), 0o755))
	require.NoError(t, os.WriteFile(part, []byte("stale half"), 0o644))
	path, err := Fetch(context.Background(), e, Options{Dir: dir})
	require.NoError(t, err)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, data, b)
	assert.Equal(t, []string{"bytes=10-"}, ranges)
}

// A server that stops sending mid-body is given up on after stallTimeout
// without a byte; the partial download stays for the next call.
func TestFetchGivesUpOnAStalledServer(t *testing.T) {
	data := body()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:100<<10])
		w.(http.Flusher).Flush()
		<-release // stall
	}))
	defer srv.Close()
	defer close(release)
	old := stallTimeout
	stallTimeout = 300 * time.Millisecond
	defer func() { stallTimeout = old }()
	e := entryFor(srv.URL, data)
	dir := t.TempDir()
	start := time.Now()
	_, err := Fetch(context.Background(), e, Options{Dir: dir})
	require.ErrorContains(t, err, "interrupted")
	assert.Less(t, time.Since(start), 10*time.Second)
	st, err := os.Stat(filepath.Join(dir, "sub", "file.bin.partial"))
	require.NoError(t, err)
	assert.Positive(t, st.Size())
}

// $AMC_FETCH_REGISTRY's entries replace the built-in ones by name (a
// mirror) or add to them; entries without a checksum are refused.
func TestRegistryOverlay(t *testing.T) {
	dir := t.TempDir()
	write := func(js string) string {
		p := filepath.Join(dir, fmt.Sprintf("r%d.json", len(js)))
		require.NoError(t, os.WriteFile(p, []byte(js), 0o644))
		return p
	}
	t.Setenv(RegistryEnv, write(`[{"name": "cifar10", "url": "http://127.0.0.1:1/c.tgz", "path": "cifar10/cifar-10-binary.tar.gz", "size": 3, "sha256": "abc", "checksum_source": "mirror"},
		{"name": "extra", "url": "http://127.0.0.1:1/e", "path": "e", "md5": "def", "checksum_source": "mirror"}]`))
	base := len(builtIn(t))
	es, err := Registry()
	require.NoError(t, err)
	assert.Len(t, es, base+1)
	e, err := Lookup("cifar10")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1/c.tgz", e.URL)
	assert.Equal(t, "abc", e.SHA256)
	_, err = Lookup("extra")
	assert.NoError(t, err)
	for js, want := range map[string]string{
		`[{"name": "x", "url": "u", "path": "p"}]`:             `entry "x" needs a name, url, path and sha256`,
		`[{"name": "x", "url": "u", "path": "p", "sha": "1"}]`: `unknown field "sha"`,
		`{"name": "x"}`: "cannot unmarshal object",
	} {
		t.Setenv(RegistryEnv, write(js))
		_, err := Registry()
		assert.ErrorContains(t, err, want, js)
	}
	t.Setenv(RegistryEnv, filepath.Join(dir, "missing.json"))
	_, err = Registry()
	assert.ErrorContains(t, err, "AMC_FETCH_REGISTRY")
}

func builtIn(t *testing.T) []Entry {
	var es []Entry
	require.NoError(t, json.Unmarshal(registryJSON, &es))
	return es
}

// A folder another process is downloading into is refused, not shared: two
// downloads would interleave their bytes in one partial file.
func TestFetchRefusesABusyFolder(t *testing.T) {
	data := body()
	s := newServer(t, data)
	e := entryFor(s.URL, data)
	dir := t.TempDir()
	l, err := outlock.Acquire(filepath.Join(dir, "sub"))
	require.NoError(t, err)
	_, err = Fetch(context.Background(), e, Options{Dir: dir})
	assert.ErrorIs(t, err, outlock.ErrBusy)
	assert.ErrorContains(t, err, "another process is downloading into")
	assert.Empty(t, s.ranges, "nothing requested")
	require.NoError(t, l.Release())
	_, err = Fetch(context.Background(), e, Options{Dir: dir})
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "sub", outlock.Name))
	assert.ErrorIs(t, err, os.ErrNotExist, "the lock is released")
}

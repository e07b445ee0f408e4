package httpclient

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// got is what get saw: the Accept-Encoding the server was sent, and the
// answer as Do handed it back.
type got struct {
	header       http.Header
	length       int64
	uncompressed bool
}

// get sends a GET through Do to a server answering with answer.
func get(t *testing.T, accept string, answer func(w http.ResponseWriter)) (asked string, g got, body []byte, err error) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.Header.Get("Accept-Encoding")
		answer(w)
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	resp, err := Do(srv.Client(), req, func(int) {})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err = io.ReadAll(resp.Body)
	return asked, got{resp.Header, resp.ContentLength, resp.Uncompressed}, body, err
}

func TestDoAsksForGzipAndInflates(t *testing.T) {
	page := `[{"id":"00u1","profile":{"login":"zoë@example.com"}}]` + strings.Repeat(" ", 4096)
	z := gzipped(t, page)
	asked, g, body, err := get(t, "", func(w http.ResponseWriter) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(z)
	})
	if asked != "gzip" || err != nil || string(body) != page {
		t.Fatalf("asked %q, read %d bytes (%v), want the %d-byte page", asked, len(body), err, len(page))
	}
	if g.header.Get("Content-Encoding") != "" || g.length != -1 || !g.uncompressed {
		t.Fatalf("the answer still looks compressed: %v, length %d", g.header, g.length)
	}
	// A server that compresses unasked is read all the same.
	asked, _, body, err = get(t, "identity", func(w http.ResponseWriter) {
		w.Header().Set("Content-Encoding", "x-gzip")
		_, _ = w.Write(z)
	})
	if asked != "identity" || err != nil || string(body) != page {
		t.Fatalf("unasked gzip: asked %q, read %d bytes, %v", asked, len(body), err)
	}
	// A plain answer, and an empty compressed one, pass through.
	if _, _, body, err = get(t, "", func(w http.ResponseWriter) { _, _ = w.Write([]byte(page)) }); err != nil || string(body) != page {
		t.Fatalf("plain: %d bytes, %v", len(body), err)
	}
	if _, _, body, err = get(t, "", func(w http.ResponseWriter) {
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusTooManyRequests)
	}); len(body) != 0 || err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("empty compressed body: %q, %v", body, err)
	}
}

func TestDoRefusesABrokenGzipStream(t *testing.T) {
	z := gzipped(t, strings.Repeat(`{"id":"00u1"},`, 500))
	for name, bad := range map[string][]byte{
		"cut half-way":  z[:len(z)/2],
		"not gzip":      []byte(`[{"id":"00u1"}]`),
		"garbage after": append(append([]byte{}, z...), "trailing"...),
	} {
		_, _, _, err := get(t, "", func(w http.ResponseWriter) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(bad)
		})
		if err == nil {
			t.Errorf("%s: the body read without an error", name)
		}
	}
}

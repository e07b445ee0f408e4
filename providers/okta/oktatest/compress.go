package oktatest

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Okta compresses its API's answers with gzip for a client that accepts it
// (GET /api/v1/users was seen gzipped as early as 2015, and Okta's Java SDK
// asks for it), so a real client inflates every page it reads: the
// simulator does the same unless Options.NoCompression says otherwise.

// acceptsGzip reports whether a request's Accept-Encoding takes gzip
// (RFC 9110 §12.5.3: "gzip;q=0" refuses it).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if c := strings.ToLower(strings.TrimSpace(coding)); c != "gzip" && c != "x-gzip" {
			continue
		}
		name, q, found := strings.Cut(strings.TrimSpace(params), "=")
		if !found || strings.TrimSpace(strings.ToLower(name)) != "q" {
			return true
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
		return err == nil && v > 0
	}
	return false
}

// gzipWriter compresses what a handler writes, streamed (the length the
// handler set is the plain body's, so it goes: the answer is chunked). A
// fault that writes its own bytes (uncompressed) or an answer without a
// body goes as it is.
type gzipWriter struct {
	http.ResponseWriter
	zw      *gzip.Writer
	decided bool
	plain   bool
}

func (g *gzipWriter) WriteHeader(code int) {
	if !g.decided {
		g.decided = true
		if !g.plain && code != http.StatusNoContent && code != http.StatusNotModified {
			h := g.Header()
			h.Del("Content-Length")
			h.Set("Content-Encoding", "gzip")
			h.Add("Vary", "Accept-Encoding")
			g.zw = gzipWriters.Get().(*gzip.Writer)
			g.zw.Reset(g.ResponseWriter)
		}
	}
	g.ResponseWriter.WriteHeader(code)
}

// uncompressed makes w send what is written to it as it is, for faults
// that spoil the bytes on the wire themselves.
func uncompressed(w *statusWriter) {
	if g, ok := w.ResponseWriter.(*gzipWriter); ok {
		g.plain = true
	}
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.decided {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw == nil {
		return g.ResponseWriter.Write(b)
	}
	return g.zw.Write(b)
}

// close ends the gzip stream, if one began.
func (g *gzipWriter) close() {
	if g.zw != nil {
		_ = g.zw.Close()
		gzipWriters.Put(g.zw)
	}
}

// gzipWriters are kept between answers: a new writer allocates its tables,
// and a benchmark's simulator answers thousands of pages beside the
// connector on the same cores.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level
	return zw
}}

// Hijack lets the Reset fault close the connection.
func (g *gzipWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(g.ResponseWriter).Hijack()
}

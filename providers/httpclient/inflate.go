package httpclient

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzip" // compress/gzip's API, inflating in about two thirds of its time

	"neurons-connector/internal/spare"
)

// Providers compress their answers when asked (Okta does), which cuts the
// bytes of a full sync's pages by ten. Go's transport would ask and inflate
// by itself, with compress/gzip; Do asks itself and inflates with
// klauspost's reader instead, kept between answers (a new one allocates
// its tables, some 40 KB).

// askGzip sets Accept-Encoding on a request that has none.
func askGzip(req *http.Request) {
	if req.Header.Get("Accept-Encoding") == "" && req.Method != http.MethodHead {
		req.Header.Set("Accept-Encoding", "gzip")
	}
}

// inflated makes a gzip-encoded answer's body read as plain: a server may
// compress unasked, and then it is read all the same. A body that is not
// the gzip stream it claims fails its reader, as a malformed answer.
func inflated(resp *http.Response) {
	coding := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if coding != "gzip" && coding != "x-gzip" {
		return
	}
	resp.Body = &gunzip{body: resp.Body}
	resp.Header.Del("Content-Encoding")
	resp.Header.Del("Content-Length")
	resp.ContentLength = -1
	resp.Uncompressed = true
}

var gzipReaders = spare.List[*gzip.Reader]{Max: 8, New: func() *gzip.Reader { return new(gzip.Reader) }}

// gunzip inflates body, starting at the first Read (an empty body of an
// error answer is then no gzip error).
type gunzip struct {
	body io.ReadCloser
	zr   *gzip.Reader
	err  error
}

var errClosed = errors.New("read of a closed body")

func (g *gunzip) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.zr == nil {
		zr := gzipReaders.Get()
		if err := zr.Reset(g.body); err != nil {
			gzipReaders.Put(zr)
			g.err = err
			return 0, err
		}
		g.zr = zr
	}
	n, err := g.zr.Read(p)
	if err != nil {
		g.err = err
	}
	return n, err
}

func (g *gunzip) Close() error {
	if g.zr != nil {
		gzipReaders.Put(g.zr)
		g.zr = nil
	}
	g.err = errClosed
	return g.body.Close()
}

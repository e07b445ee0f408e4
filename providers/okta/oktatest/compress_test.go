package oktatest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// raw sends a GET with the given Accept-Encoding through a transport that
// does not inflate, and returns the answer's status, headers and body as
// they came.
func raw(t *testing.T, url, acceptEncoding string) (int, http.Header, []byte) {
	t.Helper()
	return rawAs(t, url, acceptEncoding, "SSWS "+token)
}

func rawAs(t *testing.T, url, acceptEncoding, auth string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func TestAnswersAreGzippedForClientsThatAcceptIt(t *testing.T) {
	_, ts, _ := start(t, Options{Users: 30})
	path := ts.URL + "/api/v1/users?limit=20"
	_, _, plain := raw(t, path, "")
	var want []map[string]any
	if err := json.Unmarshal(plain, &want); err != nil || len(want) != 20 {
		t.Fatalf("plain page: %d users, %v", len(want), err)
	}
	for _, accept := range []string{"gzip", "deflate, gzip;q=0.8", "GZIP", "br, x-gzip"} {
		_, h, body := raw(t, path, accept)
		if h.Get("Content-Encoding") != "gzip" || h.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q, Vary %q", accept, h.Get("Content-Encoding"), h.Get("Vary"))
		}
		if len(body) >= len(plain)/3 {
			t.Fatalf("Accept-Encoding %q: %d bytes compressed, %d plain", accept, len(body), len(plain))
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		inflated, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		var got []map[string]any
		if err := json.Unmarshal(inflated, &got); err != nil || len(got) != 20 || got[0]["id"] != want[0]["id"] {
			t.Fatalf("Accept-Encoding %q: %d users inflated, %v", accept, len(got), err)
		}
		if h.Get("Link") == "" || h.Get("X-Rate-Limit-Remaining") == "" {
			t.Fatalf("Accept-Encoding %q: the headers went missing: %v", accept, h)
		}
	}
	for _, accept := range []string{"", "identity", "gzip;q=0", "br"} {
		_, h, body := raw(t, path, accept)
		if h.Get("Content-Encoding") != "" || !json.Valid(body) {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q, plain JSON %v", accept, h.Get("Content-Encoding"), json.Valid(body))
		}
	}
	// An error is compressed as well, and still Okta's error object.
	status, _, body := rawAs(t, ts.URL+"/api/v1/users", "gzip", "")
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil || status != http.StatusUnauthorized {
		t.Fatalf("unauthenticated: %d, %v", status, err)
	}
	var e struct{ ErrorCode string }
	if err := json.NewDecoder(zr).Decode(&e); err != nil || e.ErrorCode != "E0000011" {
		t.Fatalf("unauthenticated: %+v, %v", e, err)
	}
}

func TestNoCompressionAnswersPlain(t *testing.T) {
	_, ts, _ := start(t, Options{Users: 5, NoCompression: true})
	_, h, body := raw(t, ts.URL+"/api/v1/users", "gzip")
	if h.Get("Content-Encoding") != "" || !json.Valid(body) {
		t.Fatalf("Content-Encoding %q, body valid JSON: %v", h.Get("Content-Encoding"), json.Valid(body))
	}
}

func TestBadGzipFault(t *testing.T) {
	s, ts, _ := start(t, Options{Users: 30})
	s.Inject(Fault{Path: "/api/v1/users", BadGzip: true})
	status, h, body := raw(t, ts.URL+"/api/v1/users", "gzip")
	if status != 200 || h.Get("Content-Encoding") != "gzip" {
		t.Fatalf("%d, Content-Encoding %q", status, h.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err) // the header is whole: the stream stops later
	}
	if _, err := io.ReadAll(zr); err == nil {
		t.Fatal("the cut gzip stream inflated without an error")
	}
}

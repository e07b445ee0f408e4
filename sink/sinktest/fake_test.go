package sinktest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	json "github.com/goccy/go-json"
	"github.com/klauspost/compress/gzip"
)

// The fake reads batches into buffers it keeps between requests; a batch
// must never see another's bytes, whatever their sizes and encodings and
// however many arrive at once.
func TestBatchesReadIntoReusedBuffersKeepTheirOwnValues(t *testing.T) {
	fake := New(Options{})
	srv := fake.Start()
	defer srv.Close()
	tok := token(t, srv.URL)

	// Sizes that shrink and grow again, gzipped and plain, so that a
	// buffer is reused for a smaller body after a larger one and then grown.
	var sizes []int
	for range 8 {
		sizes = append(sizes, 400, 3, 120, 1, 400, 7, 60, 2)
	}
	var wg sync.WaitGroup
	for i, n := range sizes {
		wg.Go(func() {
			body := batchBody(i, n)
			if got := post(t, srv.URL, tok, fmt.Sprintf("k%d", i), body, i%2 == 0); got != http.StatusAccepted {
				t.Errorf("batch %d: answered %d, want 202", i, got)
			}
		})
	}
	wg.Wait()

	users := fake.Users("c_test")
	want := 0
	for i, n := range sizes {
		want += n
		for j := range n {
			id := fmt.Sprintf("00u%03d%014d", i, j)
			rec, ok := users[id]
			if !ok {
				t.Fatalf("user %s of batch %d is missing", id, i)
			}
			if got, _ := rec.Attributes["User.FullName"].(string); got != fullName(i, j) {
				t.Fatalf("user %s: User.FullName %.40q… (%d bytes), want %.40q…", id, got, len(got), fullName(i, j))
			}
		}
	}
	if len(users) != want {
		t.Fatalf("the fake holds %d users, want %d", len(users), want)
	}
}

func fullName(batch, user int) string {
	// Long enough that the batches inflate to hundreds of kilobytes.
	return fmt.Sprintf("User %d of batch %d %s", user, batch, strings.Repeat(strconv.Itoa(batch%10), 500))
}

func batchBody(i, n int) []byte {
	type upsert struct {
		SourceID   string            `json:"sourceId"`
		Attributes map[string]string `json:"attributes"`
	}
	ups := make([]upsert, n)
	for j := range ups {
		ups[j] = upsert{fmt.Sprintf("00u%03d%014d", i, j), map[string]string{"User.FullName": fullName(i, j)}}
	}
	b, err := json.Marshal(map[string]any{
		"schemaVersion": 1,
		"connector":     map[string]string{"id": "c_test", "name": "Test", "type": "okta", "server": "Cloud"},
		"dataType":      "User",
		"batch":         map[string]any{"runId": fmt.Sprintf("r_%d", i), "sequence": 1, "mode": "incremental", "final": true},
		"upserts":       ups,
		"deletes":       []any{},
	})
	if err != nil {
		panic(err)
	}
	return b
}

func token(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.PostForm(base+TokenPath, url.Values{"grant_type": {"client_credentials"},
		"client_id": {"sink-client"}, "client_secret": {"sink-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var answer struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || answer.AccessToken == "" {
		t.Fatalf("token answer: %v (%d)", err, resp.StatusCode)
	}
	return answer.AccessToken
}

func post(t *testing.T, base, tok, key string, body []byte, gz bool) int {
	t.Helper()
	var in bytes.Buffer
	if gz {
		zw := gzip.NewWriter(&in)
		_, _ = zw.Write(body)
		_ = zw.Close()
	} else {
		in.Write(body)
	}
	req, err := http.NewRequest(http.MethodPost, base+IngestPath, &in)
	if err != nil {
		t.Error(err)
		return 0
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "neurons-connector/test")
	req.Header.Set("Idempotency-Key", key)
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	defer func() { _ = resp.Body.Close() }()
	return resp.StatusCode
}

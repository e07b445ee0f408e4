package simrec

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Recorded once, with the status written, before any of the body; a
// handler that writes nothing is recorded by Done with the default.
func TestRecordedOnceAsTheStatusIsWritten(t *testing.T) {
	for _, tc := range []struct {
		name   string
		handle func(w *Writer)
		want   int
	}{
		{"WriteHeader", func(w *Writer) { w.WriteHeader(http.StatusTeapot); _, _ = w.Write([]byte("body")) }, http.StatusTeapot},
		{"Write", func(w *Writer) { _, _ = w.Write([]byte("body")); w.WriteHeader(http.StatusTeapot) }, http.StatusOK},
		{"nothing", func(*Writer) {}, http.StatusOK},
	} {
		rec := httptest.NewRecorder()
		var got []int
		bodyThen := -1
		w := &Writer{ResponseWriter: rec, Status: http.StatusOK, Record: func(s int) {
			got = append(got, s)
			bodyThen = rec.Body.Len()
		}}
		tc.handle(w)
		w.Done()
		if len(got) != 1 || got[0] != tc.want || bodyThen != 0 {
			t.Errorf("%s: recorded %v with %d bytes of body written, want [%d] before any", tc.name, got, bodyThen, tc.want)
		}
	}
}

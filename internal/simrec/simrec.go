// Package simrec is how the simulators record the requests they answer,
// for tests to count: a request is recorded when its status is written,
// before the client can read any of the answer. Recording after the
// handler returned raced with clients that stop reading at the end of the
// JSON and return before the handler does: a test counting requests right
// after a pass then missed the last one now and then.
package simrec

import "net/http"

// Writer is a ResponseWriter that keeps the status written and calls
// Record once, as the status is written (or when Done finds none was).
type Writer struct {
	http.ResponseWriter
	Status  int              // the status written, or the default until then
	Record  func(status int) // called once
	written bool
}

// WriteHeader writes the status to the wrapped writer first (a compressing
// writer decides there), then records the request.
func (w *Writer) WriteHeader(code int) {
	w.Status = code
	w.ResponseWriter.WriteHeader(code)
	if !w.written {
		w.written = true
		w.Record(code)
	}
}

// Write writes the default status first, as net/http would.
func (w *Writer) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Done records a request whose handler wrote no status (a connection
// dropped on purpose): call it when the handler returns.
func (w *Writer) Done() {
	if !w.written {
		w.written = true
		w.Record(w.Status)
	}
}

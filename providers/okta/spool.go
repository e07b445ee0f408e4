package okta

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	json "github.com/goccy/go-json"
)

// spool holds the user pages a full pass reads while the apps and devices
// sweep still runs. Each user needs the sweep's result before the engine
// may have it, and the sweep is usually the slower part under Okta's rate
// limits (the apps bucket allows a sixth of the users bucket), so listing
// users meanwhile, into a temporary file rather than memory, takes the
// listing's time off the pass. Pages are kept as JSON and decoded again
// exactly as the listing decodes them.
type spool struct {
	dir   string
	f     *os.File
	w     *bufio.Writer
	pages int
}

// add appends a page and the Date header its pass start is read from.
func (s *spool) add(items []map[string]any, h http.Header) error {
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "okta-pages-*.tmp") // mode 0600
		if err != nil {
			return fmt.Errorf("okta: spool user pages: %w", err)
		}
		// Unlinked at once where the OS allows (Unix): nothing is left
		// behind even if the process is killed.
		if os.Remove(f.Name()) == nil {
			s.dir = ""
		}
		s.f, s.w = f, bufio.NewWriterSize(f, 1<<20)
	}
	body, err := json.Marshal(items)
	if err != nil {
		return fmt.Errorf("okta: spool user pages: %w", err)
	}
	for _, part := range [][]byte{[]byte(h.Get("Date")), body} {
		if err := writeChunk(s.w, part); err != nil {
			return fmt.Errorf("okta: spool user pages: %w", err)
		}
	}
	s.pages++
	return nil
}

// replay hands every spooled page to fn, in order, and empties the spool.
func (s *spool) replay(fn func(items []map[string]any, h http.Header) error) error {
	if s.pages == 0 {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("okta: spool user pages: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("okta: read spooled pages: %w", err)
	}
	r := bufio.NewReaderSize(s.f, 1<<20)
	for range s.pages {
		date, err := readChunk(r)
		if err != nil {
			return fmt.Errorf("okta: read spooled pages: %w", err)
		}
		body, err := readChunk(r)
		if err != nil {
			return fmt.Errorf("okta: read spooled pages: %w", err)
		}
		items, err := decodeArray(body)
		if err != nil {
			return fmt.Errorf("okta: read spooled pages: %w", err)
		}
		if err := fn(items, http.Header{"Date": {string(date)}}); err != nil {
			return err
		}
	}
	s.pages = 0
	if err := s.f.Truncate(0); err != nil {
		return err
	}
	_, err := s.f.Seek(0, io.SeekStart)
	s.w.Reset(s.f)
	return err
}

// close removes the file.
func (s *spool) close() {
	if s.f == nil {
		return
	}
	name := s.f.Name()
	_ = s.f.Close()
	if s.dir != "" {
		_ = os.Remove(name)
	}
}

func writeChunk(w *bufio.Writer, b []byte) error {
	var n [binary.MaxVarintLen64]byte
	if _, err := w.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))]); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

func readChunk(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > 64<<20 {
		return nil, errors.New("spooled page larger than 64 MiB")
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return b, err
}

package httpclient

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	json "github.com/goccy/go-json"

	"neurons-connector/internal/spare"
)

// DecodeObject decodes one JSON object, keeping numbers exact
// (json.Number: IDs and custom attributes may exceed float64's 2^53), with
// anyDecoder.
func DecodeObject(body []byte) (map[string]any, error) {
	var d anyDecoder
	return d.object(body)
}

// DecodeObjectsFrom decodes a page streamed from r (EachObject: one object
// held at a time, at most limit of them), numbers kept exact, the objects'
// keys allocated once per page.
func DecodeObjectsFrom(r io.Reader, limit int) ([]map[string]any, error) {
	return DecodeObjectsKeeping(r, limit, nil)
}

// DecodeObjectsKeeping is DecodeObjectsFrom for callers that read only some
// of each object's top-level fields: the values of the others are checked
// as strictly, and left out of the maps instead of built (an Okta user's
// credentials and links were five of its eight maps). A nil keep keeps all.
func DecodeObjectsKeeping(r io.Reader, limit int, keep map[string]bool) ([]map[string]any, error) {
	out := []map[string]any{}
	d := anyDecoder{keys: map[string]string{}, shapes: map[string]*shape{}, keep: keep}
	err := EachObject(r, limit, func(obj []byte) error {
		m, err := d.object(obj)
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// DecodeItemsFrom decodes a page from r into values of type T (for pages
// of which only a few fields are read), at most limit of them. A page of up
// to wholePage bytes is decoded in one call, which skips what T leaves out
// twice as fast as decoding it object by object (an Okta sweep's pages are
// a few hundred kilobytes); a larger one is streamed, one object held at a
// time.
func DecodeItemsFrom[T any](r io.Reader, limit int) ([]T, error) {
	buf := pageBufs.Get()
	defer pageBufs.Put(buf)
	buf.Reset()
	n, err := io.CopyN(buf, r, wholePage+1)
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		return nil, err
	case n <= wholePage:
		return decodeHeld[T](buf.Bytes(), limit)
	}
	return decodeStreamed[T](io.MultiReader(bytes.NewReader(buf.Bytes()), r), limit)
}

// wholePage is the largest page DecodeItemsFrom decodes in one call. Sweep
// pages are a few hundred kilobytes; System Log pages of 1,000 events can be
// several megabytes, and holding one whole (twice: goccy copies its input)
// put tens of megabytes on an incremental run's peak, so they stream.
const wholePage = 1 << 20

// pageBufs holds the buffers pages are read into.
var pageBufs = spare.List[*bytes.Buffer]{New: func() *bytes.Buffer { return new(bytes.Buffer) }, Max: 4}

// decodeHeld decodes a page held in memory, as strict as decodeStreamed:
// an array of objects (not null, nor null items), at most limit of them.
func decodeHeld[T any](page []byte, limit int) ([]T, error) {
	body := bytes.TrimLeft(page, " \t\r\n")
	if len(body) == 0 || body[0] != '[' {
		if len(body) == 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("expected '[', found %q", body[0])
	}
	var items []*T // pointers, so that a null item is seen
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, err
	}
	if limit > 0 && len(items) > limit {
		return nil, fmt.Errorf("%w (%d)", ErrTooManyItems, limit)
	}
	if len(items) == 0 {
		return nil, nil // as streamed
	}
	out := make([]T, len(items))
	for i, it := range items {
		if it == nil {
			return nil, fmt.Errorf("item %d is not an object (null)", i+1)
		}
		out[i] = *it
	}
	return out, nil
}

func decodeStreamed[T any](r io.Reader, limit int) ([]T, error) {
	var out []T
	err := EachObject(r, limit, func(obj []byte) error {
		var v T
		if err := json.Unmarshal(obj, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// DecodeInto decodes one JSON value streamed from r into v.
func DecodeInto(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	return dec.Decode(v)
}

package httpclient

import (
	"bytes"
	"errors"
	"io"

	json "github.com/goccy/go-json"
)

// DecodeObject decodes one JSON object, keeping numbers exact
// (json.Number: IDs and custom attributes may exceed float64's 2^53). It
// uses goccy/go-json, a drop-in for encoding/json that decodes provider
// pages 1.4 to 4 times faster, most of a listing's client-side cost.
func DecodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if out == nil {
		return nil, errors.New("null instead of an object")
	}
	return out, nil
}

// DecodeObjectsFrom decodes a page streamed from r (EachObject: one object
// held at a time, at most limit of them), numbers kept exact.
func DecodeObjectsFrom(r io.Reader, limit int) ([]map[string]any, error) {
	out := []map[string]any{}
	err := EachObject(r, limit, func(obj []byte) error {
		m, err := DecodeObject(obj)
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	return out, err
}

// DecodeItemsFrom decodes a page streamed from r into values of type T
// (for pages of which only a few fields are read), at most limit of them.
func DecodeItemsFrom[T any](r io.Reader, limit int) ([]T, error) {
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

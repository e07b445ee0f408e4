package httpclient

import (
	"io"

	json "github.com/goccy/go-json"
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
	out := []map[string]any{}
	d := anyDecoder{keys: map[string]string{}, sizes: map[string]int{}}
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

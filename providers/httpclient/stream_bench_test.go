package httpclient

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
)

// page is a users page of the size and shape the providers send: 200
// objects of about 2 KB with nested objects, arrays and numbers.
func benchPage() []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range 200 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"00u%017d","status":"ACTIVE","created":"2024-01-02T03:04:05.000Z","lastUpdated":"2026-01-02T03:04:05.000Z",`+
			`"profile":{"firstName":"Zoë %d","lastName":"Núñez","email":"zoe.%d@example.com","login":"zoe.%d@example.com",`+
			`"title":"Engineer","department":"R&D \"core\"","employeeNumber":"%d","costCenter":12345678901234567,`+
			`"city":"Madrid","countryCode":"ES","mobilePhone":null,"tags":["a","b","c"],"notes":"%s"},`+
			`"_links":{"self":{"href":"https://acme.okta.com/api/v1/users/00u%017d"}}}`, i, i, i, i, i, strings.Repeat("x", 1200), i)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func BenchmarkDecodePage(b *testing.B) {
	page := benchPage()
	b.Run("whole", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if _, err := decodeWhole(page); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("streamed", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		for b.Loop() {
			if _, err := DecodeObjectsFrom(bytes.NewReader(page), 200); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// decodeWhole is how pages were decoded before they were streamed: the
// whole body at once, for comparison.
func decodeWhole(body []byte) ([]map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out []map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

package httpclient

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestHeldAndStreamedPagesAgree holds the two ways DecodeItemsFrom reads a
// page to the same answers: the same items, or an error from both.
func TestHeldAndStreamedPagesAgree(t *testing.T) {
	type item struct {
		ID   string `json:"id"`
		Tags []string
	}
	pages := []string{
		`[]`, ` [ ] `, `[{"id":"a"},{"id":"b","tags":["x"]}]`, "\n[{\"id\":\"a\",\"other\":{\"deep\":[1,2,{}]}}]\n",
		`null`, `[null]`, `[{"id":"a"},null]`, `[1]`, `["a"]`, `[[]]`, `{"id":"a"}`, ``, `   `,
		`[{"id":"a"}] x`, `[{"id":"a"}][]`, `[{"id":"a"}`, `[{"id":"a"},]`, `[{"id":1}]`, `[{"id":"a"} {"id":"b"}]`,
		`[{"id":"a"},{"id":"b"},{"id":"c"}]`, `[{"id":"\u00e9\"q"}]`, `[{"ID":"upper"}]`, `[{"id":"a","id":"b"}]`,
	}
	for _, p := range pages {
		for _, limit := range []int{0, 2} {
			held, herr := decodeHeld[item]([]byte(p), limit)
			streamed, serr := decodeStreamed[item](strings.NewReader(p), limit)
			if (herr == nil) != (serr == nil) {
				t.Errorf("%q limit %d: held error %v, streamed error %v", p, limit, herr, serr)
				continue
			}
			if errors.Is(serr, ErrTooManyItems) != errors.Is(herr, ErrTooManyItems) {
				t.Errorf("%q limit %d: too many items: held %v, streamed %v", p, limit, herr, serr)
			}
			if herr == nil && !reflect.DeepEqual(held, streamed) {
				t.Errorf("%q limit %d: held %+v, streamed %+v", p, limit, held, streamed)
			}
		}
	}
}

// TestLargePagesAreStreamed checks that a page over wholePage is decoded
// all the same, by the streaming path.
func TestLargePagesAreStreamed(t *testing.T) {
	var b bytes.Buffer
	b.WriteByte('[')
	pad := strings.Repeat("x", 1000)
	n := wholePage/1000 + 10
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":"u","pad":"` + pad + `"}`)
	}
	b.WriteByte(']')
	items, err := DecodeItemsFrom[struct{ ID string }](&b, 0)
	if err != nil || len(items) != n || items[n-1].ID != "u" {
		t.Fatalf("got %d items, %v; want %d", len(items), err, n)
	}
}

package httpclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// stdDecode is the reference: encoding/json with UseNumber, one value and
// nothing but white space after it.
func stdDecode(b []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func checkAgainstStd(t *testing.T, in []byte) {
	t.Helper()
	want, ok := stdDecode(in)
	// The third decoder keeps some top-level fields: it must refuse what
	// encoding/json refuses, however deep in a skipped value, and give the
	// kept fields as encoding/json does.
	keep := map[string]bool{"a": true, "id": true, "profile": true, "n": true, "l": true}
	for i, d := range []*anyDecoder{{}, {keys: map[string]string{}, shapes: map[string]*shape{}},
		{keys: map[string]string{}, shapes: map[string]*shape{}, keep: keep}} {
		want := want
		if i == 2 && ok {
			want = maps.Clone(want)
			maps.DeleteFunc(want, func(k string, _ any) bool { return !keep[k] })
		}
		got, err := d.object(in)
		if !ok {
			if err == nil {
				t.Fatalf("%q: decoded to %v, encoding/json refuses it", in, got)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v, encoding/json gives %v", in, err, want)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", in, got, want)
		}
	}
}

// The listings' decoder gives what encoding/json gives, and refuses what it
// refuses.
func TestAnyDecoderAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{}`, ` {"a":1} `, `{"a":{"b":[1,"x",true,false,null,{"c":[]},[]]}}`,
		`{"n":-0,"m":1.5e+10,"o":12345678901234567890123,"p":0.1E-3}`,
		`{"s":"tab\there \"q\" \u00e9 \ud83d\ude00 \/ \\"}`,
		"{\"bad\":\"\xff\xfe\",\"\xc3\":1}", `{"a":1,"a":2}`, `{"dup":{"x":1},"dup":"y"}`,
		"{\"ctl\":\"a\x01b\"}", `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":+1}`,
		`{"a":tru}`, `{"a":nul}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":[1,]}`, `{"a":[1 2]}`,
		`{"a":"x}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{} {}`, `{}x`, `[]`, `null`, `"s"`, `1`, ``, `{`,
		"\ufeff{}", `{"a":"\ud800"}`, `{"emoji":"😀","ü":"ß"}`,
		strings.Repeat(`{"a":`, 20) + `1` + strings.Repeat(`}`, 20),
		// Fields the third decoder skips: the same grammar deep inside them.
		`{"id":"1","credentials":{"password":{},"provider":{"type":"OKTA"}},"_links":{"self":{"href":"x"}}}`,
		`{"x":{"y":[1,2,]}}`, `{"x":"\u12"}`, `{"x":[01]}`, `{"x":[1 2]}`, `{"x":{"y" 1}}`, `{"x":{"y":tru}}`,
		"{\"x\":[\"a\x01b\"]}", `{"x":{"y":1,}}`, `{"x":{,}}`, `{"x":[-]}`, `{"x":{"\q":1}}`, `{"x":[1]]}`,
		`{"x":{"y":{"z":[true,false,null,-1.5e3,"\u00e9",{}]}},"id":"2"}`, `{"x":[[[[]]]],"a":1}`,
		strings.Repeat(`{"x":`, 20) + `1` + strings.Repeat(`}`, 20),
	} {
		checkAgainstStd(t, []byte(in))
	}
	deep := strings.Repeat(`{"a":[`, 6000) + strings.Repeat(`]}`, 6000)
	if _, err := (&anyDecoder{}).object([]byte(deep)); err == nil {
		t.Fatal("12,000 levels of nesting decoded")
	}
	skipped := `{"x":` + strings.Repeat(`{"a":[`, 6000) + strings.Repeat(`]}`, 6000) + `}`
	if _, err := (&anyDecoder{keep: map[string]bool{"id": true}}).object([]byte(skipped)); err == nil {
		t.Fatal("12,000 levels of nesting skipped")
	}
}

// One decoder reads a page's objects in turn, each predicting the next's
// keys from the last of its shape: objects whose keys come in another
// order, fewer, more, repeated or nested differently still decode exactly.
func TestAnyDecoderAcrossObjectsOfAPage(t *testing.T) {
	d := &anyDecoder{keys: map[string]string{}, shapes: map[string]*shape{}}
	for _, in := range []string{
		`{"id":"1","status":"A","profile":{"a":"x","b":"y"}}`,
		`{"id":"2","status":"B","profile":{"a":"x","b":"y"}}`,
		`{"status":"C","id":"3","profile":{"b":"y","a":"x"}}`,
		`{"id":"4","profile":{"a":"x"}}`,
		`{"id":"5","status":"E","profile":{"a":"x","b":"y","c":{"a":"nested"}},"extra":[{"a":1},{"b":2}]}`,
		`{"id":"6","id":"dup","profile":{"a":"\u00e9","a":"again"}}`,
		`{"profile":"not an object","id":7}`,
		`{"id":"8","status":"A","profile":{"a":"x","b":"y"}}`,
		`{"id":"9","status":"A","profile":{"a":"x","b":"y"`, // cut short
		`{"id":"10","status":"A","profile":{"a":"x","b":"y"}}`,
	} {
		want, ok := stdDecode([]byte(in))
		got, err := d.object([]byte(in))
		if ok != (err == nil) || ok && !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %#v (%v)\nwant %#v", in, got, err, want)
		}
	}
}

// Strings and numbers are boxed with their headers in a slab per object:
// values kept after their page, through collections, are still what the
// page said, whatever the number of values per object (slabs overflow).
func TestBoxedValuesOutliveTheirPage(t *testing.T) {
	d := &anyDecoder{keys: map[string]string{}, shapes: map[string]*shape{}}
	var ins []string
	var kept []map[string]any
	for i := range 50 {
		var b strings.Builder
		fmt.Fprintf(&b, `{"id":"u%d","n":%d.5`, i, i)
		for j := range i { // 0 to 49 more values: slabs sized by the last object, and overflowing
			fmt.Fprintf(&b, `,"k%d":"v%d-%d","m%d":[%d,"x%d"]`, j, i, j, j, j, j)
		}
		b.WriteString("}")
		got, err := d.object([]byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		ins, kept = append(ins, b.String()), append(kept, got)
	}
	runtime.GC()
	runtime.GC()
	for i, in := range ins {
		want, _ := stdDecode([]byte(in))
		if !reflect.DeepEqual(kept[i], want) {
			t.Fatalf("object %d after collections:\n got %#v\nwant %#v", i, kept[i], want)
		}
	}
}

func FuzzAnyDecoder(f *testing.F) {
	for _, s := range []string{`{"id":"00u1","profile":{"n":1.5,"l":["a","b"]},"x":null}`, `{"a":"\u00e9\n"}`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkAgainstStd(t, in) })
}

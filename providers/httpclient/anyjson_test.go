package httpclient

import (
	"bytes"
	"encoding/json"
	"reflect"
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
	for _, d := range []*anyDecoder{{}, {keys: map[string]string{}, sizes: map[string]int{}}} {
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
	} {
		checkAgainstStd(t, []byte(in))
	}
	deep := strings.Repeat(`{"a":[`, 6000) + strings.Repeat(`]}`, 6000)
	if _, err := (&anyDecoder{}).object([]byte(deep)); err == nil {
		t.Fatal("12,000 levels of nesting decoded")
	}
}

func FuzzAnyDecoder(f *testing.F) {
	for _, s := range []string{`{"id":"00u1","profile":{"n":1.5,"l":["a","b"]},"x":null}`, `{"a":"\u00e9\n"}`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkAgainstStd(t, in) })
}

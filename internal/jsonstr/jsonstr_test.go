package jsonstr

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestAppendMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", "Zoë Núñez", "quote \" back \\", "nl\ntab\tcr\r", "ctl \x01\x1f", "bad \xff utf8", "€ 😀"} {
		got := Append(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, got, err)
		}
		want, _ := json.Marshal(s) // decoding both must give the same string
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q: decodes to %q, encoding/json's to %q", s, back, wantBack)
		}
		if asItIs := string(got) == `"`+s+`"`; Plain(s) != asItIs {
			t.Errorf("%q: Plain says %v, Append wrote %s", s, Plain(s), got)
		}
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range []string{"a", "\"\\\n", "\xff\xfe", "Zoë"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var back string
		if err := json.Unmarshal(Append(nil, s), &back); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q: %q vs %q", s, back, wantBack)
		}
	})
}

// Unquote reads a string as encoding/json does, from a string or bytes,
// and says where it closes; it refuses what encoding/json refuses.
func TestUnquote(t *testing.T) {
	for in, want := range map[string]string{`"a\"b\\c" tail`: "a\"b\\c", `"\u00e9\n"`: "é\n", "\"bad \xff\"": "bad \ufffd"} {
		got, end, err := Unquote(in, 1)
		gotB, endB, errB := Unquote([]byte(in), 1)
		if err != nil || got != want || in[end] != '"' || gotB != got || endB != end || errB != nil {
			t.Errorf("%q: %q at %d (%v), bytes %q at %d (%v)", in, got, end, err, gotB, endB, errB)
		}
	}
	for in, want := range map[string]error{`"open`: ErrUnterminated, `"ends in \"`: ErrUnterminated, "\"ctl \x01\"": ErrBadString, `"\q"`: ErrBadString} {
		if _, _, err := Unquote(in, 1); !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", in, err, want)
		}
	}
}

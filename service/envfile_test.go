package service

import (
	"strings"
	"testing"
)

// A value is what is written: a $ never expands (a secret must not change
// silently), quotes only group, and every bad line is named.
func TestEnvFileValuesAreLiteral(t *testing.T) {
	got, err := ParseEnv(strings.NewReader("\ufeff# settings\n" +
		"NC_NEURONS_CLIENT_SECRET=ab$cd${HOME}x\n" +
		"export NC_SINK = neurons \n" +
		"A='it has $HOME and \"quotes\"'   # comment\n" +
		`B="back\\slash \"q\" $x"` + "\n" +
		"C=hash#inside\n" +
		"D=\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"NC_NEURONS_CLIENT_SECRET": "ab$cd${HOME}x", "NC_SINK": "neurons",
		"A": `it has $HOME and "quotes"`, "B": `back\slash "q" $x`, "C": "hash#inside", "D": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for in, msg := range map[string]string{
		"just words\n":   "line 1 is not NAME=value",
		"A='open\n":      "line 1 (A): the quote ' is not closed",
		"A=1\nA=2\n":     "line 2 sets A a second time",
		"A=\"x\" tail\n": "text after the closing quote",
		"1A=x\n":         "line 1 is not NAME=value",
		// PowerShell 5's > and Out-File write UTF-16 (little-endian, with a
		// byte-order mark); some editors big-endian, or without the mark.
		utf16("NC_LOG_LEVEL=debug\r\n", true, true):  "UTF-16",
		utf16("NC_LOG_LEVEL=debug\r\n", false, true): "UTF-16",
		utf16("NC_LOG_LEVEL=debug\r\n", true, false): "UTF-16",
		"A=1\nB=x\x00y\n": "line 2 holds a NUL byte",
	} {
		if _, err := ParseEnv(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want %q", in, err, msg)
		}
	}
	for _, v := range []string{"plain", "with space", "it's", `both ' and " and \`, "$HOME", "#x", ""} {
		line, err := formatEnv("V", v)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseEnv(strings.NewReader(line + "\n"))
		if err != nil || back["V"] != v {
			t.Errorf("%q written as %s read back as %q, %v", v, line, back["V"], err)
		}
	}
	if _, err := formatEnv("V", "two\nlines"); err == nil {
		t.Error("a value with a line break was written")
	}
}

// utf16 encodes s as UTF-16, little- or big-endian, with or without a
// byte-order mark.
func utf16(s string, little, bom bool) string {
	var b []byte
	if bom {
		s = "\ufeff" + s
	}
	for _, r := range s { // the test's text is all in the BMP
		if little {
			b = append(b, byte(r), byte(r>>8))
		} else {
			b = append(b, byte(r>>8), byte(r))
		}
	}
	return string(b)
}

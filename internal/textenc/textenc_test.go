package textenc

import "testing"

func TestUTF16(t *testing.T) {
	for in, want := range map[string]bool{
		"\xff\xfeA\x00":            true,  // little-endian, with its mark
		"\xfe\xff\x00A":            true,  // big-endian, with its mark
		"A\x00=\x001\x00":          true,  // little-endian, no mark
		"\x00A\x00=\x001":          true,  // big-endian, no mark
		"A=1":                      false, // UTF-8
		"\xef\xbb\xbfA=1":          false, // UTF-8 with its mark
		"NC_SINK=x\x00y":           false, // one stray NUL: not UTF-16
		"":                         false,
		"caf\xc3\xa9 na\xc3\xafve": false,
	} {
		if got := UTF16([]byte(in)); got != want {
			t.Errorf("UTF16(%q) = %v, want %v", in, got, want)
		}
	}
}

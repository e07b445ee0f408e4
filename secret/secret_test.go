package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestValueNeverPrints(t *testing.T) {
	const s = "hunter2-very-secret"
	v := New([]byte(s))
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "token", v)
	js, err := json.Marshal(struct{ T Value }{v})
	if err != nil {
		t.Fatal(err)
	}
	outputs := []string{
		fmt.Sprint(v), fmt.Sprintf("%s %v %+v %#v %q %x %X %d", v, v, v, v, v, v, v, v),
		fmt.Sprintf("%v", struct{ T Value }{v}), fmt.Sprintf("%+v", &struct{ T Value }{v}),
		string(js), logged.String(),
	}
	for _, out := range outputs {
		if strings.Contains(out, s) || strings.Contains(out, fmt.Sprintf("%x", s)) {
			t.Errorf("secret leaked: %s", out)
		}
	}
	if string(v.Reveal()) != s {
		t.Error("Reveal lost the value")
	}
}

func TestInputs(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := map[string]string{"GOOD": "  tok123\n", "EMPTY": "", "INNER": "tok 123"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cases := []struct {
		name    string
		read    func() (Value, error)
		want    string
		wantErr string
	}{
		{"env trimmed", func() (Value, error) { return FromEnv(lookup, "GOOD") }, "tok123", ""},
		{"env unset", func() (Value, error) { return FromEnv(lookup, "NOPE") }, "", "NOPE is not set"},
		{"env empty", func() (Value, error) { return FromEnv(lookup, "EMPTY") }, "", "is empty"},
		{"env inner space", func() (Value, error) { return FromEnv(lookup, "INNER") }, "", "white space"},
		{"env value instead of name", func() (Value, error) { return FromEnv(lookup, "00abc-def") }, "", "not an environment variable name"},
		{"file", func() (Value, error) { return FromFile(write("t", "tok456\r\n")) }, "tok456", ""},
		{"file missing", func() (Value, error) { return FromFile(filepath.Join(dir, "none")) }, "", "cannot read " + filepath.Join(dir, "none")},
		{"file empty", func() (Value, error) { return FromFile(write("e", "\n")) }, "", "is empty"},
		{"file two lines", func() (Value, error) { return FromFile(write("two", "a\nb\n")) }, "", "white space"},
		{"file too big", func() (Value, error) { return FromFile(write("big", strings.Repeat("a", maxInput+1))) }, "", "more than"},
		{"reader", func() (Value, error) { return FromReader(strings.NewReader("tok789\n")) }, "tok789", ""},
		// Windows: Notepad before 2019 and PowerShell 5's Set-Content
		// -Encoding UTF8 write a byte-order mark; PowerShell 5's > and
		// Out-File write UTF-16. A mark kept in the token made Okta
		// answer 401 at the first run, long after the token was stored.
		{"file with a UTF-8 mark", func() (Value, error) { return FromFile(write("bom", "\ufefftok-bom\r\n")) }, "tok-bom", ""},
		{"file in UTF-16", func() (Value, error) {
			return FromFile(write("u16", "\xff\xfet\x00o\x00k\x00\r\x00\n\x00"))
		}, "", "is UTF-16"},
		{"file in UTF-16 without a mark", func() (Value, error) {
			return FromFile(write("u16b", "\x00t\x00o\x00k\x00\n"))
		}, "", "is UTF-16"},
		{"a zero-width space pasted in", func() (Value, error) { return FromReader(strings.NewReader("tok\u200b123\n")) }, "", "invisible"},
		// Copied from a curl example or a request log, with its scheme.
		{"with the SSWS scheme", func() (Value, error) { return FromReader(strings.NewReader("SSWS 00abc123\n")) }, "", "the scheme SSWS before"},
		{"with the Bearer scheme", func() (Value, error) { return FromReader(strings.NewReader("Bearer\ttok789\n")) }, "", "the scheme Bearer before"},
		// Copied from a JSON file, a shell line or a .env file: the quotes
		// or the variable's name would be sent as part of the secret.
		{"in double quotes", func() (Value, error) { return FromReader(strings.NewReader("\"00abc123\"\n")) }, "", "in quotes"},
		{"in single quotes", func() (Value, error) { return FromFile(write("q", "'00abc123'\r\n")) }, "", "in quotes"},
		{"a settings line", func() (Value, error) { return FromFile(write("env", "OKTA_TOKEN=00abc123\n")) }, "", "OKTA_TOKEN=…"},
		{"a quote inside", func() (Value, error) { return FromReader(strings.NewReader("ab\"cd\n")) }, "ab\"cd", ""},
		{"base64 with padding", func() (Value, error) { return FromReader(strings.NewReader("QUJDREVGRw==\n")) }, "QUJDREVGRw==", ""},
		{"an equals sign inside", func() (Value, error) { return FromReader(strings.NewReader("abc=def\n")) }, "abc=def", ""},
		{"base64url in capitals", func() (Value, error) { return FromReader(strings.NewReader("ABC_D==\n")) }, "ABC_D==", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.read()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(v.Reveal()) != tc.want {
				t.Fatalf("got %q, %v; want %q", v.Reveal(), err, tc.want)
			}
		})
	}
}

func TestErrorsNeverQuoteTheSecret(t *testing.T) {
	lookup := func(string) (string, bool) { return "sec ret-value", true }
	_, err := FromEnv(lookup, "X")
	if err == nil || strings.Contains(err.Error(), "ret-value") {
		t.Fatalf("err = %v", err)
	}
	_, err = ParseKey("not base64 at all: top-secret")
	if err == nil || strings.Contains(err.Error(), "top-secret") {
		t.Fatalf("ParseKey err = %v", err)
	}
}

func TestSealOpen(t *testing.T) {
	s, err := NewSealer(bytes.Repeat([]byte{1}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	blob, err := s.Seal([]byte("plain"), []byte("c1/token"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, []byte("plain")) {
		t.Fatal("blob holds the plaintext")
	}
	again, _ := s.Seal([]byte("plain"), []byte("c1/token"))
	if bytes.Equal(blob, again) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	if got, err := s.Open(blob, []byte("c1/token")); err != nil || string(got) != "plain" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open(blob, []byte("c2/token")); !errors.Is(err, ErrWrongKey) {
		t.Errorf("other AAD: %v", err)
	}
	other, _ := NewSealer(bytes.Repeat([]byte{2}, KeySize))
	if _, err := other.Open(blob, []byte("c1/token")); !errors.Is(err, ErrWrongKey) {
		t.Errorf("other key: %v", err)
	}
	tampered := append([]byte(nil), blob...)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Open(tampered, []byte("c1/token")); !errors.Is(err, ErrWrongKey) {
		t.Errorf("tampered: %v", err)
	}
	if _, err := s.Open(blob[:5], nil); err == nil {
		t.Error("short blob opened")
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	if _, err := LoadKeyFile(path, false); !errors.Is(err, ErrNoKeyFile) {
		t.Fatalf("missing, no create: %v", err)
	}
	s1, err := LoadKeyFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 { // Windows: ACLs, not modes
		t.Fatalf("key file mode %v, %v", info.Mode(), err)
	}
	s2, err := LoadKeyFile(path, true) // exists now: loaded, not replaced
	if err != nil {
		t.Fatal(err)
	}
	blob, _ := s1.Seal([]byte("x"), nil)
	if _, err := s2.Open(blob, nil); err != nil {
		t.Fatal("reloaded key differs from the created one")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(path, false); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key accepted: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("garbage!!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(path, false); err == nil || !strings.Contains(err.Error(), "base64") {
		t.Fatalf("garbage key: %v", err)
	}
}

// A PEM key is lines of text: its line breaks are kept, a control
// character is refused, and a one-word secret still refuses inner lines.
func TestTextFormKeepsLines(t *testing.T) {
	pemText := "-----BEGIN PRIVATE KEY-----\r\nMIIB\nAbC=\n-----END PRIVATE KEY-----\n"
	v, err := Text.FromBytes([]byte(pemText))
	if err != nil || string(v.Reveal()) != strings.TrimSpace(pemText) {
		t.Fatalf("Text.FromBytes = %q, %v", v.Reveal(), err)
	}
	if _, err := Text.FromReader(strings.NewReader("-----BEGIN\x00 KEY-----")); err == nil || !strings.Contains(err.Error(), "control characters") {
		t.Errorf("a NUL in a PEM: %v", err)
	}
	if _, err := Word.FromBytes([]byte(pemText)); err == nil {
		t.Error("a one-word secret took several lines")
	}
	if _, err := Text.FromEnv(func(string) (string, bool) { return " \n ", true }, "KEY"); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("an empty PEM: %v", err)
	}
}

package service

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"neurons-connector/internal/textenc"
)

// maxEnvFile caps the settings file: a few dozen settings fit in a
// fraction of it.
const maxEnvFile = 64 << 10

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParseEnv reads the settings file format, the same on every system. A line
// is empty, a # comment, or NAME=value (an "export " before NAME is
// allowed). A value is exactly what is written: nothing is expanded, so a
// $ is a $. Quotes only group: 'single' keeps everything up to the next ',
// "double" the same with \" and \\ for a quote and a backslash; unquoted, the
// value is the rest of the line without surrounding blanks (a # in it is
// part of the value). A name given twice is an error, as is any other line.
func ParseEnv(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	br := bufio.NewReader(r)
	if head, _ := br.Peek(64); textenc.UTF16(head) {
		return nil, errUTF16
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 4096), maxEnvFile)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if strings.Contains(line, "\x00") { // the environment would end the value there
			return nil, fmt.Errorf("line %d holds a NUL byte, which no setting can; remove it", n)
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, raw, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		name = strings.TrimSpace(name)
		if !ok || !envName.MatchString(name) {
			return nil, fmt.Errorf("line %d is not NAME=value or a # comment", n)
		}
		v, err := envValue(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", n, name, err)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("line %d sets %s a second time; keep one", n, name)
		}
		out[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// errUTF16 is a settings file saved as UTF-16, as Windows PowerShell 5
// writes a file with > or Out-File, and Notepad with "Unicode".
var errUTF16 = errors.New("the file is UTF-16 (as Windows PowerShell 5 writes with > or Out-File); " + textenc.Hint)

func envValue(raw string) (string, error) {
	if raw == "" || (raw[0] != '\'' && raw[0] != '"') {
		return raw, nil
	}
	q := raw[0]
	var b strings.Builder
	for i := 1; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == q:
			if rest := strings.TrimSpace(raw[i+1:]); rest != "" && !strings.HasPrefix(rest, "#") {
				return "", fmt.Errorf("text after the closing quote: %q", cut(rest))
			}
			return b.String(), nil
		case q == '"' && c == '\\' && i+1 < len(raw) && (raw[i+1] == '"' || raw[i+1] == '\\'):
			i++
			b.WriteByte(raw[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("the quote %c is not closed on its line", q)
}

// cut shortens what a message quotes from the file.
func cut(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// formatEnv writes one NAME=value line that ParseEnv reads back as value.
func formatEnv(name, v string) (string, error) {
	if strings.ContainsAny(v, "\r\n\x00") {
		return "", fmt.Errorf("%s holds a line break; a setting is one line", name)
	}
	switch {
	case v != "" && !strings.ContainsAny(v, " \t'\"\\#"):
		return name + "=" + v, nil
	case !strings.Contains(v, "'"):
		return name + "='" + v + "'", nil
	}
	return name + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`, nil
}

// readEnvFile reads path, at most maxEnvFile bytes.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxEnvFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxEnvFile {
		return nil, fmt.Errorf("it is larger than %d KiB; a settings file holds a few dozen lines", maxEnvFile>>10)
	}
	return ParseEnv(bytes.NewReader(data))
}

package service

import (
	"bytes"
	"io"
	"os"
	"sync"
)

// Journal returns stderr, wrapped when systemd's journal reads it (the
// unit's StandardError=journal, the default: JOURNAL_STREAM then names the
// stream's device and inode) so that each line carries the syslog priority
// journald files it under, and true; otherwise stderr itself and false.
// Without the priority every line was "info": `journalctl -p warning`
// showed none of the daemon's warnings, and `systemctl status` marked no
// error. The logger leaves the time out there too: journald stamps each
// line itself.
func Journal(stderr *os.File, getenv func(string) string) (io.Writer, bool) {
	want := getenv("JOURNAL_STREAM")
	if want == "" {
		return stderr, false
	}
	if id, ok := streamID(stderr); !ok || id != want {
		return stderr, false // stderr was redirected since systemd started us
	}
	return &journalWriter{w: stderr}, true
}

// journalWriter puts a priority in front of every line: "<3>" errors,
// "<4>" warnings, "<6>" information, "<7>" debugging, as sd-daemon(3)
// describes, read from the level slog wrote first on the line (the time is
// left out), or the command's own "neurons-connector: " error line.
type journalWriter struct {
	mu  sync.Mutex
	w   io.Writer
	mid bool // the last write ended inside a line
}

func (j *journalWriter) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out bytes.Buffer
	for rest := p; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		if !j.mid {
			out.WriteString(priority(line))
		}
		out.Write(line)
		j.mid = line[len(line)-1] != '\n'
		rest = rest[len(line):]
	}
	if _, err := j.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

var priorities = []struct{ start, prefix string }{
	{"level=ERROR", "<3>"}, {`{"level":"ERROR"`, "<3>"}, {Name + ": ", "<3>"},
	{"level=WARN", "<4>"}, {`{"level":"WARN"`, "<4>"},
	{"level=INFO", "<6>"}, {`{"level":"INFO"`, "<6>"},
	{"level=DEBUG", "<7>"}, {`{"level":"DEBUG"`, "<7>"},
}

func priority(line []byte) string {
	for _, p := range priorities {
		if bytes.HasPrefix(line, []byte(p.start)) {
			return p.prefix
		}
	}
	return "" // journald's default for the stream: information
}

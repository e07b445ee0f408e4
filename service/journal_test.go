//go:build !windows

package service

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Under systemd, stderr goes to the journal, which files every line as
// information unless the line starts with its priority: `journalctl -p
// warning` showed none of the daemon's warnings. Lines now carry it,
// read from slog's level (first on the line once the time is left out)
// or the command's own error line; a line written in pieces gets it once.
func TestJournalLinesCarryTheirPriority(t *testing.T) {
	var out bytes.Buffer
	j := &journalWriter{w: &out}
	for _, s := range []string{
		"level=ERROR msg=\"daemon failed\" error=x\n",
		"level=WARN msg=\"the sink has failed, retrying\"\nlevel=INFO msg=\"run started\"\n",
		`{"level":"DEBUG","msg":"page"}` + "\n",
		"neurons-connector: settings file /etc/x: NC_NEURON_URL is not a setting\n",
		"  NC_SINK: \"foo\" is not valid\n",
		"full run ok in 1s: ",
		"level=INFO is not at a line's start here\n",
	} {
		if n, err := j.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write: %d %v", n, err)
		}
	}
	want := "<3>level=ERROR msg=\"daemon failed\" error=x\n" +
		"<4>level=WARN msg=\"the sink has failed, retrying\"\n<6>level=INFO msg=\"run started\"\n" +
		`<7>{"level":"DEBUG","msg":"page"}` + "\n" +
		"<3>neurons-connector: settings file /etc/x: NC_NEURON_URL is not a setting\n" +
		"  NC_SINK: \"foo\" is not valid\n" +
		"full run ok in 1s: level=INFO is not at a line's start here\n"
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
}

// Only the stream systemd connected (JOURNAL_STREAM names its device and
// inode) is the journal: a stderr redirected since is left alone.
func TestJournalIsTheStreamSystemdNamed(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	id, ok := streamID(f)
	if !ok {
		t.Fatal("no device and inode")
	}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if w, journal := Journal(f, getenv); journal || w != f {
		t.Error("without JOURNAL_STREAM")
	}
	env["JOURNAL_STREAM"] = "1:2"
	if _, journal := Journal(f, getenv); journal {
		t.Error("another stream's JOURNAL_STREAM")
	}
	env["JOURNAL_STREAM"] = id
	if w, journal := Journal(f, getenv); !journal || w == f {
		t.Error("this stream's JOURNAL_STREAM")
	}
}

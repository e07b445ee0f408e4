package engine

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/klauspost/compress/s2"

	"neurons-connector/store"
)

// A spill file the disk refuses (/dev/full answers every write with
// ENOSPC) fails the run with what refused it and the fix, as the database
// does, not with the bare write error: a full disk refuses it first when a
// real org's first run holds half its reports back.
func TestASpillOnAFullDiskSaysSo(t *testing.T) {
	f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := &spill{path: "/data/.spill-c-r", f: f, zw: s2.NewWriter(f, s2.WriterConcurrency(1))}
	defer s.close()
	big := spilled{ID: "00u1", Attrs: []byte(strings.Repeat(`{"a":"b"}`, 1<<17))} // more than one block of S2
	err = s.add(big)
	if err == nil {
		err = s.each(func(spilled) error { return nil })
	}
	var se *store.SpaceError
	if !errors.As(err, &se) || !errors.Is(err, syscall.ENOSPC) ||
		!strings.Contains(err.Error(), "reports waiting for their managers /data/.spill-c-r: the disk that holds /data is full") {
		t.Fatalf("a spill on a full disk: %v", err)
	}
}

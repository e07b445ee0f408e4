package fault

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestMarkKeepsTheCauseAndAddsTheClass(t *testing.T) {
	err := Mark(fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), ErrTransient)
	if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, ErrTransient) || errors.Is(err, ErrConfig) {
		t.Fatalf("classes of %v wrong", err)
	}
	if err.Error() != "read body: unexpected EOF" {
		t.Errorf("message changed: %q", err)
	}
	if again := Mark(err, ErrTransient); again != err { //nolint:errorlint // the very same value, not a wrapped one
		t.Error("marking twice wrapped twice")
	}
	if Mark(nil, ErrConfig) != nil {
		t.Error("nil became an error")
	}
	if got := Of(fmt.Errorf("run: %w", Mark(errors.New("401"), ErrConfig))); got != ErrConfig { //nolint:errorlint // Of returns the sentinel itself
		t.Errorf("Of = %v", got)
	}
	if got := Of(errors.New("bug")); got != nil {
		t.Errorf("Of(unclassified) = %v", got)
	}
}

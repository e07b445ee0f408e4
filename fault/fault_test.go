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
	if wrapped := fmt.Errorf("run: %w", Mark(errors.New("401"), ErrConfig)); !errors.Is(wrapped, ErrConfig) || errors.Is(wrapped, ErrTransient) {
		t.Errorf("the class did not survive wrapping: %v", wrapped)
	}
}

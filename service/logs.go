package service

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	ksvc "github.com/kardianos/service"
)

// Tee passes every record to h and copies those at warn level and above to
// the service manager's log (the Windows event log), where admins look
// first when a service misbehaves.
func Tee(h slog.Handler, l ksvc.Logger) slog.Handler {
	return &teeHandler{next: h, sys: l}
}

type teeHandler struct {
	next  slog.Handler
	sys   ksvc.Logger
	attrs []slog.Attr
}

func (t *teeHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return t.next.Enabled(ctx, level) || level >= slog.LevelWarn
}

func (t *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.next.Enabled(ctx, r.Level) {
		err = t.next.Handle(ctx, r)
	}
	if r.Level < slog.LevelWarn {
		return err
	}
	var b strings.Builder
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range t.attrs {
		write(a)
	}
	r.Attrs(write)
	if r.Level >= slog.LevelError {
		_ = t.sys.Error(b.String())
	} else {
		_ = t.sys.Warning(b.String())
	}
	return err
}

func (t *teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &teeHandler{next: t.next.WithAttrs(attrs), sys: t.sys, attrs: append(append([]slog.Attr(nil), t.attrs...), attrs...)}
}

func (t *teeHandler) WithGroup(name string) slog.Handler {
	return &teeHandler{next: t.next.WithGroup(name), sys: t.sys, attrs: t.attrs}
}

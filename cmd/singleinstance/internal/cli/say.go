package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/singleinstance/singleinstance/termtext"
)

// Errors, progress messages (say: shown with -v or when stderr is a
// terminal) and the library's log records (sentenceHandler: warnings, and
// with -v debug records) are each one line on stderr, a sentence that
// starts "singleinstance: ", so that they stand out from the guarded
// command's own output. No line carries a time stamp or a level: the
// sentence says what happened. (The old module's result lines, such as
// "Failed to terminate 'NAME': ..." and "Timed out after ...", keep their
// wording.)

// say writes one progress message to stderr, as a sentence after
// "singleinstance: ".
func (a *app) say(format string, args ...any) {
	fmt.Fprintf(a.stderr, "singleinstance: "+format+"\n", args...)
}

// sentenceHandler is a slog.Handler that writes each record as one line,
// "singleinstance: MESSAGE (key=value, ...)", the message without the
// "singleinstance: " or "singleinstance/etcd: " the library starts it
// with (the latter becomes "etcd: "), values escaped for a terminal.
type sentenceHandler struct {
	mu    *sync.Mutex
	w     io.Writer
	level slog.Leveler
	attrs []slog.Attr
	group string
}

func newSentenceHandler(w io.Writer, level slog.Leveler) *sentenceHandler {
	return &sentenceHandler{mu: new(sync.Mutex), w: w, level: level}
}

func (h *sentenceHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *sentenceHandler) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	if sub, ok := strings.CutPrefix(msg, "singleinstance/"); ok {
		msg = sub
	}
	msg = strings.TrimPrefix(msg, "singleinstance: ")
	var kv []string
	for _, a := range h.attrs {
		kv = appendAttr(kv, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		kv = appendAttr(kv, h.group, a)
		return true
	})
	var b strings.Builder
	b.WriteString("singleinstance: ")
	b.WriteString(msg)
	if len(kv) > 0 {
		b.WriteString(" (" + strings.Join(kv, ", ") + ")")
	}
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

// appendAttr appends "key=value" for a to kv, the key after group and a
// dot when group is not empty.
func appendAttr(kv []string, group string, a slog.Attr) []string {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return kv
	}
	if group != "" {
		a.Key = group + "." + a.Key
	}
	return append(kv, a.Key+"="+termtext.Text(a.Value.String()))
}

func (h *sentenceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = slices.Clone(h.attrs)
	for _, a := range attrs {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		c.attrs = append(c.attrs, a)
	}
	return &c
}

func (h *sentenceHandler) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

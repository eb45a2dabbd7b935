//go:build linux

package singleinstance_test

// Fault tests: the network file system warning.
// The shared helpers and the overview are in faults_helpers_linux_test.go.

import (
	"context"
	"github.com/singleinstance/singleinstance/internal/local"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/fusetest"
)

// Network file system warning.

// faultLogRecord is one logged record.
type faultLogRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// faultLogs records every log record, at every level.
type faultLogs struct {
	mu      sync.Mutex
	records []faultLogRecord
}

type faultLogHandler struct {
	logs  *faultLogs
	attrs []slog.Attr
}

func (h faultLogHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h faultLogHandler) Handle(_ context.Context, r slog.Record) error {
	rec := faultLogRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	for _, a := range h.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	h.logs.mu.Lock()
	defer h.logs.mu.Unlock()
	h.logs.records = append(h.logs.records, rec)
	return nil
}

func (h faultLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return faultLogHandler{logs: h.logs, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h faultLogHandler) WithGroup(string) slog.Handler { return h }

func (l *faultLogs) logger() *slog.Logger { return slog.New(faultLogHandler{logs: l}) }

// networkWarnings returns the warnings about a network file system.
func (l *faultLogs) networkWarnings() []faultLogRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []faultLogRecord
	for _, r := range l.records {
		if r.level >= slog.LevelWarn && (strings.Contains(r.msg, "network") || r.attrs["fs"] != "") {
			out = append(out, r)
		}
	}
	return out
}

func TestFaultNetworkFSWarning(t *testing.T) {
	t.Parallel()
	// noWarning takes and releases the lock in dir and checks that no
	// network file system warning was logged.
	noWarning := func(t *testing.T, dir string) {
		t.Helper()
		var logs faultLogs
		opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithLogger(logs.logger())}
		faultMustRelease(t, faultMustNew(t, opts...))
		if w := logs.networkWarnings(); len(w) != 0 {
			t.Errorf("network file system warning on a local file system: %+v", w)
		}
	}
	t.Run("tmpfs", func(t *testing.T) {
		t.Parallel()
		noWarning(t, faultTmpfs(t, 0, "size=1m,mode=0700"))
	})
	t.Run("temporary directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		switch st.Type {
		case unix.TMPFS_MAGIC, unix.EXT4_SUPER_MAGIC, unix.XFS_SUPER_MAGIC, unix.BTRFS_SUPER_MAGIC, unix.OVERLAYFS_SUPER_MAGIC:
		default:
			t.Skipf("skipping: %s is on file system type %#x, which may not be local", dir, st.Type)
		}
		noWarning(t, dir)
	})
	t.Run("fuse", func(t *testing.T) {
		t.Parallel()
		faultRequireRoot(t)
		dir := fusetest.Mount(t)
		var logs faultLogs
		opts := []singleinstance.Option{singleinstance.WithLockDir(dir), singleinstance.WithLogger(logs.logger())}
		// The file system refuses to create files, so New fails, after
		// the warning.
		faultNoHang(t, "New on FUSE", func() { faultExpectNewFails(t, local.ErrReadOnly, opts...) })
		w := logs.networkWarnings()
		if len(w) != 1 || w[0].attrs["fs"] != "fuse" || w[0].attrs["dir"] != dir {
			t.Errorf("warnings = %+v; want one warning naming fs=fuse and dir=%s", w, dir)
		}
		faultNotRunning(t, opts...)
	})
}

package local

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestTokensNeverGoDown plants the last token near 2^64, in the lock
// file's record or in a stale .info file: the next acquisition gets the
// last possible token, and the one after that fails with
// ErrTokensExhausted instead of wrapping around to a smaller token, and
// leaves the record as high as it was.
func TestTokensNeverGoDown(t *testing.T) {
	t.Parallel()
	plantRecord := func(t *testing.T, dir string, token uint64) {
		t.Helper()
		rec := record{token: token}.bytes()
		if err := os.WriteFile(filepath.Join(dir, "bot.lock"), rec, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	plantInfo := func(t *testing.T, dir string, token uint64) {
		t.Helper()
		h := &Record{PID: 1, Started: time.Unix(1, 0), AcquiredAt: time.Unix(2, 0), Token: token}
		if err := os.WriteFile(filepath.Join(dir, "bot.info"), encodeInfo("bot", h), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		where string
		plant func(*testing.T, string, uint64)
	}{
		{"lock record", plantRecord},
		{".info", plantInfo},
	} {
		t.Run(tc.where, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opt := dir
			tc.plant(t, dir, math.MaxUint64-1)
			inst, err := acquireIn(opt, "bot", true)
			if err != nil {
				t.Fatalf("New after token MaxUint64-1: %v", err)
			}
			if got := inst.Token(); got != math.MaxUint64 {
				t.Errorf("token after MaxUint64-1 = %d, want %d", got, uint64(math.MaxUint64))
			}
			if err := inst.Release(); err != nil {
				t.Fatal(err)
			}

			tc.plant(t, dir, math.MaxUint64)
			for range 2 {
				inst, err = acquireIn(opt, "bot", true)
				if err == nil {
					tok := inst.Token()
					inst.Release()
					t.Fatalf("New after token MaxUint64 = token %d, want ErrTokensExhausted", tok)
				}
				if !errors.Is(err, ErrTokensExhausted) || errors.Is(err, ErrAlreadyRunning) {
					t.Fatalf("New after token MaxUint64: %v, want ErrTokensExhausted", err)
				}
				f, err := os.Open(filepath.Join(dir, "bot.lock"))
				if err != nil {
					t.Fatal(err)
				}
				rec := readRecord(f)
				f.Close()
				if tc.where == "lock record" && rec.token != math.MaxUint64 {
					t.Fatalf("lock record token after a refused acquisition = %d, want it kept at %d", rec.token, uint64(math.MaxUint64))
				}
				if rec.held {
					t.Fatalf("lock record says held after a refused acquisition")
				}
			}
			if running, err := runningIn(opt, "bot"); err != nil || running {
				t.Fatalf("CheckRunning = %v, %v; want false", running, err)
			}
		})
	}
}

package etcd_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
)

// TestStandbyWakesOnRelease: a standby waiting without limit takes over
// when the holder releases, woken by a watch event: with a 10 s TTL, a
// waiter that polled would only retry after its 10 s safety re-check.
func TestStandbyWakesOnRelease(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	waiting := make(chan struct{}, 1)
	logger := slog.New(&signalHandler{msg: "singleinstance/etcd: waiting for the lock", ch: waiting})
	a := host(t, c, prefix, etcd.WithTTL(10*time.Second))
	b := host(t, c, prefix, etcd.WithTTL(10*time.Second), etcd.WithLogger(logger))
	holder := hold(t, a, testName)

	got := standBy(context.Background(), b, testName)
	waitClosed(t, waiting, 10*time.Second, "standby waiting")
	released := time.Now()
	if err := holder.Release(); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("standby: %v", r.err)
	}
	defer r.inst.Release()
	took := r.at.Sub(released)
	t.Logf("standby took over %v after the release", took.Round(time.Microsecond))
	if took > 5*time.Second {
		t.Fatalf("standby took %v: it was not woken by the release", took)
	}
	if r.inst.Token() <= holder.Token() {
		t.Fatalf("standby token %d not above %d", r.inst.Token(), holder.Token())
	}
}

// TestHolderKilledStandbyTakesOver: a holder process on another "host" is
// killed with SIGKILL; the standby takes the lock once the holder's lease
// expires, within the TTL plus a second.
func TestHolderKilledStandbyTakesOver(t *testing.T) {
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	holder := startChild(t, roleHold, c.Endpoints(), prefix, testName)
	var token uint64
	if _, err := fmt.Sscanf(holder.Next(), "acquired %d", &token); err != nil {
		t.Fatal(err)
	}
	b := host(t, c, prefix)
	if _, err := singleinstance.New(testName, singleinstance.WithBackend(b)); err == nil {
		t.Fatal("took the lock from a live holder")
	}
	killed := time.Now()
	holder.Cmd.Process.Signal(syscall.SIGKILL)
	inst, err := singleinstance.New(testName, singleinstance.WithBackend(b), singleinstance.WithTimeout(testTTL+5*time.Second))
	if err != nil {
		t.Fatalf("standby after SIGKILL: %v", err)
	}
	defer inst.Release()
	took := time.Since(killed)
	t.Logf("standby took over %v after SIGKILL (TTL %v)", took.Round(time.Millisecond), testTTL)
	if took > testTTL+time.Second {
		t.Errorf("takeover took %v, more than TTL + 1s", took)
	}
	if inst.Token() <= token {
		t.Fatalf("token %d not above the dead holder's %d", inst.Token(), token)
	}
}

// TestProcessesNeverOverlap races processes, each with its own client and
// leases as if on its own host, for one name: the journal shows every
// critical section alone, and every acquisition's token larger than the
// one before.
func TestProcessesNeverOverlap(t *testing.T) {
	const procs, rounds = 4, 15
	c := etcdtest.Start(t)
	prefix := c.Prefix(t)
	journal := filepath.Join(t.TempDir(), "journal")
	if err := os.WriteFile(journal, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	children := make([]*child, procs)
	for i := range children {
		children[i] = startChild(t, roleJournal, c.Endpoints(), prefix, testName,
			"SI_JOURNAL="+journal, fmt.Sprintf("SI_ROUNDS=%d", rounds))
	}
	for _, ch := range children {
		if code := ch.ExitCode(); code != 0 {
			t.Fatalf("child exit %d", code)
		}
	}
	f, err := os.Open(journal)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	inside := ""
	var last uint64
	n := 0
	for sc.Scan() {
		var what, pid string
		var token uint64
		if _, err := fmt.Sscanf(sc.Text(), "%s %s %d", &what, &pid, &token); err != nil {
			t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		switch what {
		case "start":
			if inside != "" {
				t.Fatalf("%s started while %s held the lock", pid, inside)
			}
			if token <= last {
				t.Fatalf("token %d after %d", token, last)
			}
			inside, last = pid, token
			n++
		case "end":
			if inside != pid {
				t.Fatalf("%s ended while %q held the lock", pid, inside)
			}
			inside = ""
		}
	}
	if n != procs*rounds {
		t.Fatalf("%d critical sections, want %d", n, procs*rounds)
	}
	t.Logf("%d processes x %d rounds: no overlap", procs, rounds)
	if strings.TrimSpace(inside) != "" {
		t.Fatalf("journal ends inside %s's critical section", inside)
	}
}

// signalHandler is a slog.Handler that sends on ch (without blocking) each
// time a record with message msg is logged (and prints print), and drops
// everything.
type signalHandler struct {
	msg   string
	ch    chan struct{}
	print string // printed to stdout on each such record, if not empty
}

func (h *signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		if h.print != "" {
			fmt.Println(h.print)
		}
		select {
		case h.ch <- struct{}{}:
		default:
		}
	}
	return nil
}
func (h *signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *signalHandler) WithGroup(string) slog.Handler      { return h }

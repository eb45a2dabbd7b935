//go:build linux

package nametoken_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/singleinstance/singleinstance/internal/nametoken"
	"golang.org/x/sys/unix"
)

func testKey(t *testing.T) string {
	t.Helper()
	return nametoken.Key(os.Geteuid(), t.TempDir(), t.Name())
}

func TestClaimIsExclusiveAndEndsWithClose(t *testing.T) {
	key := testKey(t)
	if b, err := nametoken.Bound(key); err != nil || b {
		t.Fatalf("Bound before claim = %v, %v; want false, nil", b, err)
	}
	f, err := nametoken.Claim(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nametoken.Claim(key); !errors.Is(err, nametoken.ErrTaken) {
		t.Fatalf("second Claim: %v, want ErrTaken", err)
	}
	if b, err := nametoken.Bound(key); err != nil || !b {
		t.Fatalf("Bound while claimed = %v, %v; want true, nil", b, err)
	}
	uid, ino, err := nametoken.Owner(key)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := nametoken.Inode(f)
	if uid != os.Geteuid() || ino != want {
		t.Fatalf("Owner = uid %d inode %d, want uid %d inode %d", uid, ino, os.Geteuid(), want)
	}
	f.Close()
	if b, err := nametoken.Bound(key); err != nil || b {
		t.Fatalf("Bound after close = %v, %v; want false, nil", b, err)
	}
	if _, _, err := nametoken.Owner(key); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Owner after close: %v, want ErrNotExist", err)
	}
	g, err := nametoken.Claim(key)
	if err != nil {
		t.Fatalf("Claim after close: %v", err)
	}
	g.Close()
}

func TestKeyIsShortAndDistinct(t *testing.T) {
	long := fmt.Sprintf("%0200d", 7)
	k1 := nametoken.Key(1000, "/a/very/long/"+long, long)
	if len(k1) > 100 {
		t.Fatalf("key %q is %d bytes; an abstract socket name holds 107", k1, len(k1))
	}
	seen := map[string]bool{}
	for _, k := range []string{
		nametoken.Key(1000, "", "bot"), nametoken.Key(1001, "", "bot"),
		nametoken.Key(1000, "/x", "bot"), nametoken.Key(1000, "", "bot2"), k1,
	} {
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
	}
}

// TestBoundEachLeavesTheAskerAsItWas: BoundEach tells bound names from
// free ones, through a socket of its own or through a token, and a token
// that asked is left unconnected: others can still ask about it, and a
// connect to it is not refused.
func TestBoundEachLeavesTheAskerAsItWas(t *testing.T) {
	key := testKey(t)
	held, free, asker := nametoken.SlotKey(key, 1), nametoken.SlotKey(key, 2), nametoken.SlotKey(key, 3)
	h, err := nametoken.Claim(held)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	a, err := nametoken.Claim(asker)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, via := range []*os.File{nil, a} {
		for range 2 { // the second round asks through a token that asked before
			b, err := nametoken.BoundEach(via, []string{held, free, held})
			if err != nil || len(b) != 3 || !b[0] || b[1] || !b[2] {
				t.Fatalf("BoundEach(via %v) = %v, %v; want [true false true]", via != nil, b, err)
			}
		}
	}
	rc, err := a.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var peerErr error
	rc.Control(func(fd uintptr) { _, peerErr = unix.Getpeername(int(fd)) })
	if !errors.Is(peerErr, unix.ENOTCONN) {
		t.Fatalf("the asking token is left connected: getpeername = %v, want ENOTCONN", peerErr)
	}
	if b, err := nametoken.Bound(asker); err != nil || !b {
		t.Fatalf("Bound(asker) = %v, %v; want true, nil", b, err)
	}
}

// TestBoundWhileConnectedElsewhere: a token that is, for the moment,
// connected to another (asking about it) still counts as bound: the
// kernel refuses a connect to it (EPERM) instead of saying nothing is
// there.
func TestBoundWhileConnectedElsewhere(t *testing.T) {
	key := testKey(t)
	other, busy := nametoken.SlotKey(key, 1), nametoken.SlotKey(key, 2)
	o, err := nametoken.Claim(other)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := nametoken.Claim(busy)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rc, err := b.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var cerr error
	rc.Control(func(fd uintptr) { cerr = unix.Connect(int(fd), &unix.SockaddrUnix{Name: "@" + other}) })
	if cerr != nil {
		t.Fatal(cerr)
	}
	if got, err := nametoken.Bound(busy); err != nil || !got {
		t.Fatalf("Bound(a token connected elsewhere) = %v, %v; want true, nil", got, err)
	}
}

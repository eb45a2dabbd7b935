//go:build linux

package nametoken_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/singleinstance/singleinstance/internal/nametoken"
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

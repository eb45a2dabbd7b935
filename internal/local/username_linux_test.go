//go:build linux

package local

import (
	"os"
	"os/user"
	"strconv"
	"testing"
)

func TestPasswdName(t *testing.T) {
	passwd := []byte("# comment\n\nroot:x:0:0:root:/root:/bin/bash\n+nis\nbad line\n" +
		"daemon:x:1:1::/:/sbin/nologin\r\nsvc:x:1000:1000:A B:/home/svc:/bin/sh\nlast:x:1001:1001::/:/bin/sh")
	for uid, want := range map[int]string{0: "root", 1: "daemon", 1000: "svc", 1001: "last", 2: ""} {
		if got, ok := passwdName(passwd, uid); got != want || ok != (want != "") {
			t.Errorf("passwdName(%d) = %q, %v; want %q", uid, got, ok, want)
		}
	}
}

// TestUserNameMatchesOSUser: for the users /etc/passwd lists (such as this
// one, usually, and root), the names are those os/user gives.
func TestUserNameMatchesOSUser(t *testing.T) {
	for _, uid := range []int{os.Getuid(), 0} {
		u, err := user.LookupId(strconv.Itoa(uid))
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/etc/passwd")
		if err != nil {
			t.Skip(err)
		}
		if _, ok := passwdName(b, uid); !ok {
			continue // another name service: not ours to find
		}
		if got, ok := userName(uid); !ok || got != u.Username {
			t.Errorf("userName(%d) = %q, %v; os/user says %q", uid, got, ok, u.Username)
		}
	}
	if u, err := user.Current(); err == nil {
		if got, ok := currentUserName(); !ok || got != u.Username {
			t.Errorf("currentUserName() = %q, %v; os/user says %q", got, ok, u.Username)
		}
	}
}

//go:build linux

package local

import (
	"bytes"
	"os"
	"strconv"
)

// On Linux user names are read from /etc/passwd, as Go's os/user does in
// a build without cgo (the released binaries are built so): os/user with
// cgo would make every binary that links this package dynamically linked
// and load the C library's name service at start-up. Names served only by
// other name services (LDAP, sssd) are not found; they appear only in
// descriptions and messages, which then show the numeric ID.

// userName returns the name of user uid.
func userName(uid int) (string, bool) {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return "", false
	}
	return passwdName(b, uid)
}

// currentUserName returns the name of the real user of this process, or
// $USER if /etc/passwd does not name it, as os/user.Current does without
// cgo.
func currentUserName() (string, bool) {
	if name, ok := userName(os.Getuid()); ok {
		return name, true
	}
	name := os.Getenv("USER")
	return name, name != ""
}

// passwdName finds the name of uid in the contents of an /etc/passwd file
// (lines "name:password:uid:gid:gecos:home:shell").
func passwdName(passwd []byte, uid int) (string, bool) {
	want := []byte(strconv.Itoa(uid))
	for line := range bytes.Lines(passwd) {
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := bytes.SplitN(line, []byte(":"), 4)
		if len(f) < 4 || len(f[0]) == 0 || !bytes.Equal(f[2], want) {
			continue
		}
		return string(f[0]), true
	}
	return "", false
}

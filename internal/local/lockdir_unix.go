//go:build unix

package local

import (
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// tmpLockDir is the default lock directory that every Unix has:
// /tmp/singleinstance-UID.
func tmpLockDir(uid int) string {
	return "/tmp/singleinstance-" + strconv.Itoa(uid)
}

// chooseDefaultLockDir returns RUNUSER/UID/singleinstance if RUNUSER/UID
// is a directory (not a symbolic link) that belongs to uid and has mode
// 0700, as systemd-logind makes /run/user/UID for a logged-in (or
// lingering) user: no other user can create it or anything in it. It
// looks at the directory itself, not at $XDG_RUNTIME_DIR, which cron jobs
// and system services do not have. Otherwise it returns
// /tmp/singleinstance-UID.
func chooseDefaultLockDir(runUser string, uid int) string {
	rt := filepath.Join(runUser, strconv.Itoa(uid))
	fi, err := os.Lstat(rt)
	if err == nil && fi.IsDir() && fi.Mode()&^fs.ModeDir == 0o700 {
		if owner, ok := fileOwner(fi); ok && owner == uid {
			return filepath.Join(rt, "singleinstance")
		}
	}
	return tmpLockDir(uid)
}

// fileOwner returns the user ID that owns fi.
func fileOwner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// foreignOwner names the owner of fi, as `user "name" (uid N)` or `uid
// N`, if it is not the calling user.
func foreignOwner(fi fs.FileInfo) (string, bool) {
	uid, ok := fileOwner(fi)
	if !ok || uid == os.Geteuid() {
		return "", false
	}
	if name, ok := userName(uid); ok {
		return "user " + strconv.Quote(name) + " (uid " + strconv.Itoa(uid) + ")", true
	}
	return "uid " + strconv.Itoa(uid), true
}

// selfUID is the calling user's ID, for messages.
func selfUID() string { return "uid " + strconv.Itoa(os.Geteuid()) }

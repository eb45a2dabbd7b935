//go:build !linux

package local

import (
	"os/user"
	"strconv"
)

// userName returns the name of user uid.
func userName(uid int) (string, bool) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil || u.Username == "" {
		return "", false
	}
	return u.Username, true
}

// currentUserName returns the name of the user of this process.
func currentUserName() (string, bool) {
	u, err := user.Current()
	if err != nil || u.Username == "" {
		return "", false
	}
	return u.Username, true
}

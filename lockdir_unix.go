//go:build unix

package singleinstance

import (
	"os"
	"strconv"
)

func defaultLockDir() (string, error) {
	return "/tmp/singleinstance-" + strconv.Itoa(os.Geteuid()), nil
}

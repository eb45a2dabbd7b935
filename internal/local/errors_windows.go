//go:build windows

package local

import (
	"errors"

	"golang.org/x/sys/windows"
)

func isReadOnly(err error) bool { return errors.Is(err, windows.ERROR_WRITE_PROTECT) }

func isNoSpace(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL)
}

func isNotDir(err error) bool { return errors.Is(err, windows.ERROR_DIRECTORY) }

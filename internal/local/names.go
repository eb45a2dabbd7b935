package local

import (
	"fmt"
	"strings"
)

// MaxNameLen is the longest lock name accepted, in bytes.
const MaxNameLen = 200

// windowsReserved are device names that Windows reserves in every
// directory, with or without an extension.
var windowsReserved = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM0": true, "COM1": true, "COM2": true, "COM3": true, "COM4": true,
	"COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT0": true, "LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true,
	"LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
}

const allowedNames = "1 to 200 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit, " +
	"not ending with '.', and not a Windows device name (CON, NUL, COM1...)"

// ValidateName checks name (see the root package's ValidateName).
func ValidateName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("singleinstance: %w %q: %s; use %s", ErrInvalidName, name, why, allowedNames)
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > MaxNameLen:
		return bad(fmt.Sprintf("%d bytes long", len(name)))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '_' || c == '-':
			if i == 0 {
				return bad(fmt.Sprintf("starts with %q", c))
			}
		case c == '/' || c == '\\':
			return bad("contains a path separator")
		case c < 0x20 || c == 0x7f:
			return bad(fmt.Sprintf("contains control byte %#02x", c))
		case c >= 0x80:
			return bad("contains a non-ASCII byte")
		default:
			return bad(fmt.Sprintf("contains %q", rune(c)))
		}
	}
	if strings.Contains(name, "..") {
		return bad("contains '..'")
	}
	if strings.HasSuffix(name, ".") {
		return bad("ends with '.'")
	}
	base, _, _ := strings.Cut(name, ".")
	if windowsReserved[strings.ToUpper(base)] {
		return bad("is a device name reserved on Windows")
	}
	return nil
}

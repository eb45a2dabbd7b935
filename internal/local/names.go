package local

import (
	"fmt"
	"strings"
)

// MaxNameLen is the longest lock name accepted, in bytes.
const MaxNameLen = 200

// windowsReserved reports whether name (in upper case) is a device name
// that Windows reserves in every directory, with or without an extension.
// (A switch, not a map: a map literal is built at every start.)
func windowsReserved(name string) bool {
	switch name {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
		"COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		return true
	}
	return false
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
	if windowsReserved(strings.ToUpper(base)) {
		return bad("is a device name reserved on Windows")
	}
	return nil
}

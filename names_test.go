package singleinstance_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance"
)

// validNames are names ValidateName must accept.
var validNames = []string{
	"trading_bot",
	"a",
	"A1",
	"x.y-z",
	"9lives",
	"my-app.v2_beta",
	strings.Repeat("n", singleinstance.MaxNameLen),
	"CONSOLE", // a reserved name only as the whole base counts
	"com10",
	"lpt",
	"nul_device",
}

func TestValidateNameAccepts(t *testing.T) {
	t.Parallel()
	for _, name := range validNames {
		t.Run(name[:min(len(name), 20)], func(t *testing.T) {
			t.Parallel()
			if err := singleinstance.ValidateName(name); err != nil {
				t.Fatalf("ValidateName(%q) = %v, want nil", name, err)
			}
		})
	}
}

func TestValidateNameRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		desc string
		name string
		why  string // part of the message that says what is wrong
	}{
		{"empty", "", "empty"},
		{"dot", ".", "starts with"},
		{"dotdot", "..", "starts with"},
		{"slash", "a/b", "path separator"},
		{"backslash", `a\b`, "path separator"},
		{"parent escape", "../x", "starts with"},
		{"inner parent", "a/../b", "path separator"},
		{"nul byte", "a\x00b", "control byte"},
		{"newline", "a\nb", "control byte"},
		{"del", "a\x7fb", "control byte"},
		{"too long", strings.Repeat("n", singleinstance.MaxNameLen+1), "201 bytes"},
		{"non-ASCII", "bøt", "non-ASCII"},
		{"space", "my app", "contains ' '"},
		{"colon", "c:x", "contains ':'"},
		{"leading dot", ".hidden", "starts with '.'"},
		{"leading dash", "-rf", "starts with '-'"},
		{"leading underscore", "_x", "starts with '_'"},
		{"trailing dot", "name.", "ends with '.'"},
		{"double dot", "a..b", "'..'"},
		{"CON", "CON", "reserved on Windows"},
		{"con", "con", "reserved on Windows"},
		{"Nul", "Nul", "reserved on Windows"},
		{"COM1", "COM1", "reserved on Windows"},
		{"lpt9", "lpt9", "reserved on Windows"},
		{"con.txt", "con.txt", "reserved on Windows"},
		{"AUX.lock", "AUX.lock", "reserved on Windows"},
		{"prn.a.b", "prn.a.b", "reserved on Windows"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			err := singleinstance.ValidateName(tt.name)
			if err == nil {
				t.Fatalf("ValidateName(%q) = nil, want an error", tt.name)
			}
			if !errors.Is(err, singleinstance.ErrInvalidName) {
				t.Errorf("ValidateName(%q) = %v, want an error matching ErrInvalidName", tt.name, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.why) {
				t.Errorf("ValidateName(%q) = %q, want it to say %q", tt.name, msg, tt.why)
			}
			// The message must say what is allowed, not only what is wrong.
			for _, rule := range []string{"ASCII letters, digits", "starting with a letter or digit", "Windows device name"} {
				if !strings.Contains(msg, rule) {
					t.Errorf("ValidateName(%q) = %q, want it to state the rule %q", tt.name, msg, rule)
				}
			}
		})
	}
}

func TestValidateNameStaysInsideDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range validNames {
		if err := singleinstance.ValidateName(name); err != nil {
			t.Fatalf("ValidateName(%q) = %v, want nil", name, err)
		}
		for _, ext := range []string{".lock", ".pid", ".info"} {
			p := filepath.Join(dir, name+ext)
			if got := filepath.Dir(p); got != dir {
				t.Errorf("filepath.Join(%q, %q) = %q: parent %q, want %q", dir, name+ext, p, got, dir)
			}
			if got := filepath.Base(p); got != name+ext {
				t.Errorf("filepath.Base(%q) = %q, want %q", p, got, name+ext)
			}
		}
	}
}

package local

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzValidateName checks that no accepted name can leave the lock
// directory or be unsafe as a file name.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{
		"trading_bot", "a", "A1", "x.y-z", strings.Repeat("n", MaxNameLen), strings.Repeat("n", MaxNameLen+1),
		"", ".", "..", "a/b", `a\b`, "../x", "a\x00b", "a\nb", "bøt", ".x", "-x", "x.", "a..b",
		"CON", "con.txt", "AUX.lock", "LPT9", "COM0.a.b", "CONIN$", "a:b", "a b",
	} {
		f.Add(s)
	}
	dir := filepath.Join(string(filepath.Separator)+"locks", "dir")
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		switch {
		case len(name) == 0 || len(name) > MaxNameLen:
			t.Fatalf("accepted name of %d bytes: %q", len(name), name)
		case strings.ContainsAny(name, "/\\\x00:"):
			t.Fatalf("accepted name with a separator or NUL: %q", name)
		case strings.Contains(name, ".."):
			t.Fatalf("accepted name with '..': %q", name)
		case filepath.Base(name) != name || !filepath.IsLocal(name):
			t.Fatalf("accepted name that is not a plain file name: %q", name)
		case name[0] == '.' || name[0] == '-' || name[len(name)-1] == '.':
			t.Fatalf("accepted name with a leading or trailing dot or leading dash: %q", name)
		}
		for i := 0; i < len(name); i++ {
			if c := name[i]; c < 0x20 || c >= 0x7f {
				t.Fatalf("accepted name with byte %#x: %q", c, name)
			}
		}
		if base, _, _ := strings.Cut(name, "."); windowsReserved(strings.ToUpper(base)) {
			t.Fatalf("accepted reserved Windows name %q", name)
		}
		p := filepath.Join(dir, name+".lock")
		if filepath.Dir(p) != dir {
			t.Fatalf("filepath.Join(%q, %q) = %q, outside the directory", dir, name+".lock", p)
		}
	})
}

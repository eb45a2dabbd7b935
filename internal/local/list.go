package local

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// An Entry is a name that has files in the lock directory.
type Entry struct {
	Name string
	Path string // one of its files
}

// fileExts are the suffixes of the files of a name.
var fileExts = []string{".lock", ".pid", ".info"}

// Names lists the names that have a .lock, .pid or .info file in the lock
// directory, sorted, whether or not they are valid lock names. A missing
// directory has none.
func (s *Store) Names() ([]Entry, error) {
	if err := s.CheckDir(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, classify("read lock directory "+s.dir, err)
	}
	seen := make(map[string]bool)
	var out []Entry
	for _, e := range entries {
		for _, ext := range fileExts {
			if n, ok := strings.CutSuffix(e.Name(), ext); ok && !seen[n] {
				seen[n] = true
				out = append(out, Entry{Name: n, Path: filepath.Join(s.dir, e.Name())})
			}
		}
	}
	slices.SortFunc(out, func(x, y Entry) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// LockPath is the lock file of name.
func (s *Store) LockPath(name string) string { return pathsFor(s.dir, name).lock }

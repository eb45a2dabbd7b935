// Package local is the lock protocol on one machine: a kernel lock on a
// file in a lock directory, the .pid and .info files that describe its
// holder, the name token, and what a holder does to keep its lock when
// the files are deleted. The root package offers it as its default
// backend.
//
// A Store is a lock directory. Store.Acquire takes a name and returns a
// Lock; Store.Status, Store.Stop, Store.Wait and Store.List look at, stop,
// wait for and list names without taking them.
package local

import (
	"log/slog"
	"time"
)

// A Config says where the lock files are and how a holder behaves.
type Config struct {
	// Dir is the lock directory; empty means $SINGLEINSTANCE_LOCK_DIR,
	// else DefaultDir.
	Dir           string
	Logger        *slog.Logger
	CheckInterval time.Duration // how often a holder looks at its files
	Cleanup       bool          // Release removes the .pid and .info files
}

// A Store is one lock directory.
type Store struct {
	dir           string
	private       bool // the per-user default, which has the name token to itself
	log           *slog.Logger
	checkInterval time.Duration
	cleanup       bool
}

// Open resolves the lock directory of c (see ResolveDir), touching
// nothing.
func Open(c Config) (*Store, error) {
	dir, private, err := resolveDir(c.Dir)
	if err != nil {
		return nil, err
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Store{dir: dir, private: private, log: log, checkInterval: c.CheckInterval, cleanup: c.Cleanup}, nil
}

// Dir is the lock directory.
func (s *Store) Dir() string { return s.dir }

// String says where the locks are kept, for messages.
func (s *Store) String() string { return "lock directory " + s.dir }

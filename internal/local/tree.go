package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/singleinstance/singleinstance/internal/nametoken"
	"github.com/singleinstance/singleinstance/internal/proc"
)

// Tree returns the PIDs of the other processes that share this instance's
// lock or name token: after StartCommand, the command and every process of
// its tree that kept the descriptors it inherited, including processes that
// outlive the command. While any of them runs, the name stays held, even
// after Release. Only Linux can tell; elsewhere Tree returns an error
// matching errors.ErrUnsupported.
func (l *Lock) Tree() ([]int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil, fmt.Errorf("singleinstance: Tree after Release")
	}
	return l.tree()
}

// tree is Tree; the caller holds l.mu.
func (l *Lock) tree() ([]int, error) {
	nl, err := l.nameLock()
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var pids []int
	if proc.IsSubreaper() {
		// Every process of the tree is below this one.
		pids, err = proc.HoldersBelow(self, nl)
	} else {
		pids, err = proc.Holders(nl)
	}
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(pids, func(p int) bool { return p == self }), nil
}

// SignalTree sends sig to every process Tree returns, each only after the
// kernel has shown it to hold the lock or the name token (through a pidfd,
// so a reused PID is never hit). It returns the first error for a process
// that could not be signalled although it still holds them.
func (l *Lock) SignalTree(sig os.Signal) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return fmt.Errorf("singleinstance: SignalTree after Release")
	}
	pids, err := l.tree()
	if err != nil {
		return err
	}
	nl, err := l.nameLock()
	if err != nil {
		return err
	}
	var errs []error
	for _, pid := range pids {
		err := proc.SignalHolder(pid, sig, nl)
		if err != nil && !errors.Is(err, proc.ErrNotFound) && !errors.Is(err, proc.ErrNotSameProcess) {
			errs = append(errs, fmt.Errorf("singleinstance: signal pid %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// nameLock identifies the lock file, the name token and earlier lock
// files of the name, which the tree may hold after a restore.
func (l *Lock) nameLock() (proc.NameLock, error) {
	nl := deletedLock(l.paths)
	if l.token != nil && l.tokenIno == 0 {
		ino, err := nametoken.Inode(l.token)
		if err != nil {
			return nl, err
		}
		l.tokenIno = ino
	}
	nl.Sock = l.tokenIno
	nl.Dev, nl.Ino = l.fDev, l.fIno
	nl.Inherited.Dev, nl.Inherited.Ino = l.inheritedDev, l.inheritedIno
	return nl, nil
}

// soleHolder reports whether no other process shares this instance's lock
// or name token. Where that cannot be told, it reports false. The caller
// holds l.mu.
func (l *Lock) soleHolder() bool {
	pids, err := l.tree()
	return err == nil && len(pids) == 0
}

// realPath is path with every symbolic link in its directory resolved, as
// the kernel names an open file; path itself if that fails. A directory
// that is a symbolic link to one that no longer exists (deleted with
// everything in it) resolves to where it points: that is where a deleted
// lock file of the name was.
func realPath(path string) string {
	if dir, ok := realDir(filepath.Dir(path), 8); ok {
		return filepath.Join(dir, filepath.Base(path))
	}
	return path
}

// realDir resolves dir as far as it exists, following at most links
// symbolic links that point where nothing is: a missing directory is its
// parent's real path joined with its name.
func realDir(dir string, links int) (string, bool) {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		return real, true
	}
	if target, err := os.Readlink(dir); err == nil {
		if links == 0 {
			return "", false
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(dir), target)
		}
		return realDir(target, links-1)
	}
	parent := filepath.Dir(dir)
	if parent == dir {
		return "", false
	}
	real, ok := realDir(parent, links)
	return filepath.Join(real, filepath.Base(dir)), ok
}

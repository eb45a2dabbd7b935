package singleinstance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/singleinstance/singleinstance/internal/nametoken"
	"github.com/singleinstance/singleinstance/internal/proc"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// Tree returns the PIDs of the other processes that share this instance's
// lock or name token: after StartCommand, the command and every process of
// its tree that kept the descriptors it inherited, including processes that
// outlive the command. While any of them runs, the name stays held, even
// after Release. Only Linux can tell; elsewhere Tree returns an error
// matching errors.ErrUnsupported.
func (i *Instance) Tree() ([]int, error) {
	if i.lease != nil {
		return nil, fmt.Errorf("singleinstance: Tree of a lock held in a Backend: %w", errors.ErrUnsupported)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.released {
		return nil, fmt.Errorf("singleinstance: Tree after Release")
	}
	return i.tree()
}

// tree is Tree; the caller holds i.mu.
func (i *Instance) tree() ([]int, error) {
	l, err := i.nameLock()
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var pids []int
	if proc.IsSubreaper() {
		// Every process of the tree is below this one.
		pids, err = proc.HoldersBelow(self, l)
	} else {
		pids, err = proc.Holders(l)
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
func (i *Instance) SignalTree(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("singleinstance: SignalTree: %v is not a system signal", sig)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.released {
		return fmt.Errorf("singleinstance: SignalTree after Release")
	}
	pids, err := i.tree()
	if err != nil {
		return err
	}
	l, err := i.nameLock()
	if err != nil {
		return err
	}
	var errs []error
	for _, pid := range pids {
		err := proc.SignalHolder(pid, s, l)
		if err != nil && !errors.Is(err, proc.ErrNotFound) && !errors.Is(err, proc.ErrNotSameProcess) {
			errs = append(errs, fmt.Errorf("singleinstance: signal pid %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// nameLock identifies the lock file, the name token and earlier lock
// files of the name, which the tree may hold after a restore.
func (i *Instance) nameLock() (proc.NameLock, error) {
	l := proc.NameLock{Base: filepath.Base(i.paths.lock), Deleted: realPath(i.paths.lock)}
	if i.token != nil {
		ino, err := nametoken.Inode(i.token)
		if err != nil {
			return l, err
		}
		l.Sock = ino
	}
	fi, err := i.f.Stat()
	if err != nil {
		return l, err
	}
	l.Dev, l.Ino = safefs.FileID(fi)
	l.Inherited.Dev, l.Inherited.Ino = i.inheritedDev, i.inheritedIno
	return l, nil
}

// soleHolder reports whether no other process shares this instance's lock
// or name token. Where that cannot be told, it reports false. The caller
// holds i.mu.
func (i *Instance) soleHolder() bool {
	pids, err := i.tree()
	return err == nil && len(pids) == 0
}

// realPath is path with every symbolic link in its directory resolved, as
// the kernel names an open file; path itself if that fails.
func realPath(path string) string {
	dir, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return path
	}
	return filepath.Join(dir, filepath.Base(path))
}

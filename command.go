package singleinstance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/singleinstance/singleinstance/internal/proc"
	"github.com/singleinstance/singleinstance/internal/safefs"
)

// StartCommand starts cmd as the program this lock guards, for wrappers that
// run another program under the lock (as the singleinstance CLI's run
// command does). It calls cmd.Start; the caller waits for cmd and then
// calls Release.
//
// On Unix the child inherits the lock and, on Linux, the name token as the
// next descriptors after cmd.ExtraFiles (3 and 4 if it is empty): every
// process of the command's tree that keeps them holds the name, even after
// the command and this process have exited. A process lets go of the name
// by closing both. On Windows, where a lock cannot be shared with a child,
// it stays with this process.
//
// On Linux and FreeBSD (parent-death signal) and Windows (a job object) the
// command is killed if this process dies, even by SIGKILL: the command
// itself never runs on unguarded, even if it closed the descriptors it
// inherited. Elsewhere (macOS, the other BSDs) a wrapper killed without a
// chance to stop its command leaves the command running, guarded only by
// the descriptor it inherited.
//
// From then on the .pid and .info files describe the child (its PID, start
// time, executable, argv and working directory), and record this process as
// the lock's owner, so that KillRunning and status tools stop and show the
// program that does the work.
//
// With WithBackend the lease stays with this process, which must keep
// running (and watch Lost and StopRequested) while the command runs; the
// backend's record is changed to describe the command where the backend
// allows (HolderUpdater).
func (i *Instance) StartCommand(cmd *exec.Cmd) error {
	if i.lease != nil {
		return i.startUnderLease(cmd)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.released {
		return fmt.Errorf("singleinstance: StartCommand after Release")
	}
	shareLock(cmd, i.f, i.token)
	afterStart := bindToParent(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	i.shared = true
	if fi, err := i.f.Stat(); err == nil {
		i.inheritedDev, i.inheritedIno = safefs.FileID(fi)
	}
	if err := afterStart(); err != nil {
		i.cfg.logger.Warn("singleinstance: the command may outlive this process", "err", err)
	}
	h, ok, err := describeCommand(i.holder, cmd)
	if err != nil || !ok {
		return err
	}
	i.holder = h
	return i.writeInfoFiles()
}

// startUnderLease is StartCommand for a lock held in a Backend: the lease
// stays with this process, which must outlive the command. Where the
// system allows, the command is killed if this process dies, so that it
// cannot go on after the lease expires.
func (i *Instance) startUnderLease(cmd *exec.Cmd) error {
	if i.lease.Err() != nil {
		return i.lease.Err()
	}
	afterStart := bindToParent(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := afterStart(); err != nil {
		// The command runs; it just would not die with this process.
		i.cfg.logger.Warn("singleinstance: the command may outlive this process and its lease", "err", err)
	}
	u, ok := i.lease.(HolderUpdater)
	if !ok {
		return nil
	}
	h, ok, err := describeCommand(i.lease.Holder(), cmd)
	if err != nil || !ok {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), describeTimeout)
	defer cancel()
	return u.UpdateHolder(ctx, h)
}

// describeTimeout bounds how long StartCommand waits for a Backend to store
// the started command's description.
const describeTimeout = 5 * time.Second

// startedExecutable returns the program that the started process pid
// runs, where the system tells: on Linux, the target of /proc/PID/exe.
// exec.Cmd.Start returns only once the child has called exec, so this is
// the program that actually runs, with symbolic links resolved (the one a
// symlink, alternatives entry or version-manager link leads to; for a
// script, its interpreter), rather than the path that was looked up. It
// returns "" elsewhere or if the link cannot be read. The caller has
// looked the process up (proc.Lookup), which on Linux fails if /proc
// belongs to another PID namespace, where /proc/PID would be another
// process.
func startedExecutable(pid int) string {
	if runtime.GOOS != "linux" && runtime.GOOS != "android" {
		return ""
	}
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil || !filepath.IsAbs(exe) {
		return ""
	}
	return exe
}

// describeCommand returns the holder description base changed to describe
// the started cmd, with base's process as the owner. ok is false if cmd
// has exited already (the wrapper sees that from Wait).
func describeCommand(base Holder, cmd *exec.Cmd) (h Holder, ok bool, err error) {
	id, err := proc.Lookup(cmd.Process.Pid)
	if errors.Is(err, proc.ErrNotFound) {
		return base, false, nil
	}
	if err != nil {
		return base, false, fmt.Errorf("singleinstance: identify started command: %w", err)
	}
	h = base
	h.OwnerPID, h.OwnerStartID = h.PID, h.StartID
	h.PID, h.StartID = id.PID, id.StartID
	h.Started, _ = proc.StartTime(id)
	h.Started = h.Started.Truncate(time.Millisecond)
	h.Executable = startedExecutable(id.PID)
	if h.Executable == "" {
		h.Executable = cmd.Path
		if abs, err := filepath.Abs(cmd.Path); err == nil {
			h.Executable = abs
		}
	}
	h.Argv = append([]string(nil), cmd.Args...)
	if cmd.Dir != "" {
		h.Cwd, _ = filepath.Abs(cmd.Dir)
	} else {
		h.Cwd, _ = os.Getwd()
	}
	return h, true, nil
}

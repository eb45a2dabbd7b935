package singleinstance

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/singleinstance/singleinstance/internal/proc"
)

// StartCommand starts cmd as the program this lock guards, for wrappers that
// run another program under the lock (as the singleinstance CLI's run
// command does). It calls cmd.Start; the caller waits for cmd and then
// calls Release.
//
// On Unix the child inherits the lock (an extra descriptor, which it may
// ignore): the lock stays held for as long as the child runs, even if this
// process is killed with SIGKILL, as with flock(1). On Windows, where a lock
// cannot be shared with a child, it stays with this process.
//
// From then on the .pid and .info files describe the child (its PID, start
// time, executable, argv and working directory), and record this process as
// the lock's owner, so that KillRunning and status tools stop and show the
// program that does the work.
func (i *Instance) StartCommand(cmd *exec.Cmd) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.released {
		return fmt.Errorf("singleinstance: StartCommand after Release")
	}
	shareLock(cmd, i.f)
	if err := cmd.Start(); err != nil {
		return err
	}
	id, err := proc.Lookup(cmd.Process.Pid)
	if err != nil && !errors.Is(err, proc.ErrNotFound) {
		return fmt.Errorf("singleinstance: identify started command: %w", err)
	}
	if errors.Is(err, proc.ErrNotFound) {
		// It exited already; the wrapper will see that from Wait.
		return nil
	}
	h := i.holder
	h.OwnerPID, h.OwnerStartID = h.PID, h.StartID
	h.PID, h.StartID = id.PID, id.StartID
	h.Started, _ = proc.StartTime(id)
	h.Started = h.Started.Truncate(time.Millisecond)
	h.Executable = cmd.Path
	if abs, err := filepath.Abs(cmd.Path); err == nil {
		h.Executable = abs
	}
	h.Argv = append([]string(nil), cmd.Args...)
	if cmd.Dir != "" {
		h.Cwd, _ = filepath.Abs(cmd.Dir)
	} else {
		h.Cwd, _ = os.Getwd()
	}
	i.holder = h
	return i.writeInfoFiles()
}

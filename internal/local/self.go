package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/singleinstance/singleinstance/internal/proc"
)

// DescribeSelf builds the record of the calling process, without the
// token and lock file identity, which the acquisition fills in.
func DescribeSelf() (*Record, error) {
	fixed, err := selfFixed()
	if err != nil {
		return nil, err
	}
	h := fixed
	// The arguments and the working directory can change while the process
	// runs: read them each time.
	h.Argv = append([]string(nil), os.Args...)
	h.Cwd = workingDir()
	if host, err := os.Hostname(); err == nil {
		h.Host = host
	}
	return &h, nil
}

// workingDir returns this process's working directory as the kernel names
// it, the name /proc shows for any process, in one system call (os.Getwd
// first compares the directory with $PWD); os.Getwd's answer where the
// system call fails (a path too long for it), "" where neither knows.
func workingDir() string {
	if wd, err := syscall.Getwd(); err == nil {
		return wd
	}
	wd, _ := os.Getwd()
	return wd
}

// selfFixed is the part of the calling process's description that cannot
// change while it runs (identity, start time, executable, user), read once:
// New is called in loops by some programs, and reading /proc each time
// costs more than the rest of an acquisition.
var selfFixed = sync.OnceValues(func() (Record, error) {
	id, err := proc.Self()
	if err != nil {
		return Record{}, fmt.Errorf("singleinstance: identify this process: %w", err)
	}
	h := Record{
		PID:          id.PID,
		StartID:      id.StartID,
		BootID:       id.BootID,
		PIDNamespace: id.PIDNamespace,
		UID:          os.Geteuid(),
	}
	h.Started, _ = proc.StartTime(id)
	h.Started = h.Started.Truncate(time.Millisecond)
	h.Executable, _ = os.Executable()
	h.User, _ = currentUserName()
	return h, nil
})

// identity is the process identity a Holder recorded.
func (h *Record) identity() proc.Identity {
	return proc.Identity{PID: h.PID, StartID: h.StartID, BootID: h.BootID, PIDNamespace: h.PIDNamespace}
}

// ownerIdentity is the identity of the process that took the lock for the
// holder, if it is not the holder itself.
func (h *Record) ownerIdentity() (proc.Identity, bool) {
	if h.OwnerPID == 0 {
		return proc.Identity{}, false
	}
	return proc.Identity{PID: h.OwnerPID, StartID: h.OwnerStartID, BootID: h.BootID, PIDNamespace: h.PIDNamespace}, true
}

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

// DescribeCommand returns base changed to describe the started cmd, with
// base's process as the owner. ok is false if cmd has exited already (the
// wrapper sees that from Wait).
func DescribeCommand(base Record, cmd *exec.Cmd) (h Record, ok bool, err error) {
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
		h.Cwd = workingDir()
	}
	return h, true, nil
}

// Now returns the wall-clock time without its monotonic reading, so that
// it formats and compares like a time read back from a file.
func Now() time.Time { return time.Now().Round(0) }

package singleinstance

import (
	"fmt"
	"time"

	"github.com/singleinstance/singleinstance/termtext"
)

// Holder describes the process that holds (or last held) a lock, as the
// holder recorded it: in the .info file, or in the Backend. Nothing in it
// is observed; see Observed.
type Holder struct {
	// PID is the holder's process ID, as seen from its PID namespace.
	PID int `json:"pid"`
	// Started is when the holder's process started.
	Started time.Time `json:"started"`
	// AcquiredAt is when it took the lock.
	AcquiredAt time.Time `json:"acquired_at"`
	// Executable is the path of its program.
	Executable string `json:"executable"`
	// Argv is its command line. A command line too long for the .info
	// file (see MaxInfoSize) is recorded cut: as many whole arguments as
	// fit, the start of the next one, and a last element
	// "…[truncated: N more bytes in M args]" (see TruncatedMarker), where
	// M counts the arguments cut or left out.
	Argv []string `json:"argv"`
	// Cwd is its working directory when it took the lock, as the system
	// reports it (on Unix with symbolic links resolved, whatever $PWD
	// says; the name /proc shows on Linux). Like Executable,
	// User and Host, a value too long for the .info file is recorded cut,
	// ending in "…[truncated: N more bytes]".
	Cwd string `json:"cwd"`
	// User is its user name, and UID its numeric user ID (-1 on Windows).
	User string `json:"user"`
	UID  int    `json:"uid"`
	// Host is the host name of its machine.
	Host string `json:"host"`
	// Token is the fencing token of its acquisition: strictly greater than
	// the token of every earlier acquisition of the name on this machine.
	Token uint64 `json:"token"`
	// StartID, BootID and PIDNamespace identify the process beyond its PID
	// (see the package documentation); they let a reused PID, another boot or
	// another container be told apart from the holder.
	StartID      uint64 `json:"start_id"`
	BootID       string `json:"boot_id,omitempty"`
	PIDNamespace uint64 `json:"pid_namespace,omitempty"`
	// OwnerPID and OwnerStartID identify the process that took the lock on
	// the holder's behalf (a wrapper such as the CLI's run command that
	// started the holder with StartCommand); zero otherwise.
	OwnerPID     int    `json:"owner_pid,omitempty"`
	OwnerStartID uint64 `json:"owner_start_id,omitempty"`
	// LockDevice and LockInode identify the lock file the holder locked.
	LockDevice uint64 `json:"lock_device"`
	LockInode  uint64 `json:"lock_inode"`
}

// ProcessStats are live figures of a holder's process.
type ProcessStats struct {
	// Status is the scheduler state, such as "running" or "sleep".
	Status string `json:"status"`
	// CPUPercent is CPU use over the process's lifetime (100 = one core).
	CPUPercent float64 `json:"cpu_percent"`
	// MemoryRSS is resident memory in bytes.
	MemoryRSS uint64 `json:"memory_rss"`
}

// Observed is what a call saw of a lock and its holder's processes, as
// opposed to what the holder stored (Holder).
type Observed struct {
	// Verified reports whether the stored description was proven to be
	// the current holder's (see KillRunning), as opposed to being stale,
	// forged, or written by a holder that has not finished starting.
	Verified bool `json:"verified"`
	// Orphaned reports that the holder holds a lock file that was deleted
	// or replaced (a holder that still runs restores it on its next check),
	// or, on Linux, that only the name token, or the kernel's lock on a
	// deleted lock file, shows a running holder.
	Orphaned bool `json:"orphaned,omitempty"`
	// Visible reports whether the holder's process can be seen from here
	// (same boot and PID namespace, and still running).
	Visible bool `json:"visible"`
	// Exited reports that the described process has ended (it was seen
	// from here: same boot and PID namespace). While the name is held,
	// other processes of its tree hold it: see Holding.
	Exited bool `json:"exited,omitempty"`
	// Process holds live figures of the holder's process when Visible,
	// readable, and asked for (WithLiveStats).
	Process *ProcessStats `json:"process,omitempty"`
	// Holding lists the processes seen holding the lock or its name token
	// (Linux): the holder, its wrapper, and every process of the guarded
	// tree that kept the descriptors it inherited, including processes
	// that outlive the command. KillRunning stops them.
	Holding []HoldingProcess `json:"holding,omitempty"`
}

// A HoldingProcess is a process that the kernel shows holding a lock or its
// name token.
type HoldingProcess struct {
	PID  int      `json:"pid"`
	Argv []string `json:"argv,omitempty"`
}

// String returns "pid N: ARGV", with ARGV quoted for a shell and every
// control character escaped.
func (p HoldingProcess) String() string {
	return fmt.Sprintf("pid %d: %s", p.PID, termtext.Argv(p.Argv))
}

// State describes a lock name as Status found it: what its holder stored
// (Holder, HolderError, Fenced), kept apart from what the call observed
// (the embedded Observed).
type State struct {
	// Name is the lock name.
	Name string `json:"name"`
	// Running reports whether a process holds the lock. For a file lock
	// the kernel's lock is the only evidence used: never the .pid or .info
	// file alone.
	Running bool `json:"running"`
	// Stale reports that .pid or .info files are present but nothing holds
	// the lock: a previous holder crashed or kept its files on release.
	// Stale files are harmless; the next holder replaces them.
	Stale bool `json:"stale"`
	// LastPID is the PID in the .pid file of a Stale name: its last
	// holder, which is gone.
	LastPID int `json:"last_pid,omitempty"`
	// LockDir and LockPath are the lock directory and lock file of a file
	// lock; Backend says where the lock is kept otherwise (see
	// WithBackend), and Key names it there.
	LockDir  string `json:"lock_dir"`
	LockPath string `json:"lock_path"`
	Backend  string `json:"backend,omitempty"`
	Key      string `json:"key,omitempty"`
	// Holder is the holder's stored description when Running. It is nil if
	// that is missing or unreadable, which HolderError then explains.
	Holder      *Holder `json:"holder,omitempty"`
	HolderError string  `json:"holder_error,omitempty"`
	// Fenced reports that the holder was stopped by force through a
	// Backend: no one can take the lock until the holder is certain to
	// have noticed, at FencedUntil at the latest.
	Fenced      bool      `json:"fenced,omitempty"`
	FencedUntil time.Time `json:"fenced_until,omitzero"`
	Observed
	// Error says why List could not examine this entry (a file that is
	// not a regular file, a name that is not a valid lock name); the
	// other fields are then unset but Name and LockDir. Status never sets
	// it: it returns the error.
	Error string `json:"error,omitempty"`
}

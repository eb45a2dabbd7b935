package singleinstance

import (
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"

	"github.com/singleinstance/singleinstance/internal/proc"
)

// describeSelf builds the Holder record of the calling process, without the
// token and lock file identity, which the acquisition fills in.
func describeSelf() (*Holder, error) {
	fixed, err := selfFixed()
	if err != nil {
		return nil, err
	}
	h := fixed
	// The arguments and the working directory can change while the process
	// runs: read them each time.
	h.Argv = append([]string(nil), os.Args...)
	h.Cwd, _ = os.Getwd()
	if host, err := os.Hostname(); err == nil {
		h.Host = host
	}
	return &h, nil
}

// selfFixed is the part of the calling process's description that cannot
// change while it runs (identity, start time, executable, user), read once:
// New is called in loops by some programs, and reading /proc each time
// costs more than the rest of an acquisition.
var selfFixed = sync.OnceValues(func() (Holder, error) {
	id, err := proc.Self()
	if err != nil {
		return Holder{}, fmt.Errorf("singleinstance: identify this process: %w", err)
	}
	h := Holder{
		PID:          id.PID,
		StartID:      id.StartID,
		BootID:       id.BootID,
		PIDNamespace: id.PIDNamespace,
		UID:          os.Geteuid(),
	}
	h.Started, _ = proc.StartTime(id)
	h.Started = h.Started.Truncate(time.Millisecond)
	h.Executable, _ = os.Executable()
	if u, err := user.Current(); err == nil {
		h.User = u.Username
	}
	return h, nil
})

// identity is the process identity a Holder recorded.
func (h *Holder) identity() proc.Identity {
	return proc.Identity{PID: h.PID, StartID: h.StartID, BootID: h.BootID, PIDNamespace: h.PIDNamespace}
}

// ownerIdentity is the identity of the process that took the lock for the
// holder, if it is not the holder itself.
func (h *Holder) ownerIdentity() (proc.Identity, bool) {
	if h.OwnerPID == 0 {
		return proc.Identity{}, false
	}
	return proc.Identity{PID: h.OwnerPID, StartID: h.OwnerStartID, BootID: h.BootID, PIDNamespace: h.PIDNamespace}, true
}

package singleinstance

import (
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/singleinstance/singleinstance/internal/proc"
)

// describeSelf builds the Holder record of the calling process, without the
// token and lock file identity, which the acquisition fills in.
func describeSelf() (*Holder, error) {
	id, err := proc.Self()
	if err != nil {
		return nil, fmt.Errorf("singleinstance: identify this process: %w", err)
	}
	h := &Holder{
		PID:          id.PID,
		StartID:      id.StartID,
		BootID:       id.BootID,
		PIDNamespace: id.PIDNamespace,
		Argv:         append([]string(nil), os.Args...),
		UID:          os.Geteuid(),
	}
	h.Started, _ = proc.StartTime(id)
	h.Started = h.Started.Truncate(time.Millisecond)
	h.Executable, _ = os.Executable()
	h.Cwd, _ = os.Getwd()
	if u, err := user.Current(); err == nil {
		h.User = u.Username
	}
	h.Host, _ = os.Hostname()
	return h, nil
}

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

//go:build linux

package proc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat times. The kernel fixes
// it at 100 on every architecture Go supports.
const clockTicks = 100

func selfPID() int { return os.Getpid() }

func lookup(pid int) (Identity, error) {
	start, err := readStartTicks(pid)
	if err != nil {
		return Identity{}, err
	}
	boot, err := bootID()
	if err != nil {
		return Identity{}, err
	}
	ns, err := pidNamespace()
	if err != nil {
		return Identity{}, err
	}
	return Identity{PID: pid, StartID: start, BootID: boot, PIDNamespace: ns}, nil
}

// procDir returns the /proc directory of the process that has pid in this
// process's PID namespace: /proc/self for this process, which is right
// whichever namespace /proc belongs to, and /proc/PID for another only if
// /proc belongs to this process's PID namespace. A process in a PID
// namespace of its own that has no /proc of its own sees its parent
// namespace's, where its PID numbers name other processes (its own PID 1
// is the machine's init there): it cannot look up others, and says so.
func procDir(pid int) (string, error) {
	if pid == os.Getpid() {
		return "/proc/self", nil
	}
	if !procIsOurs() {
		return "", fmt.Errorf("%w: /proc belongs to another PID namespace than this process's (mount one for it), so PID %d cannot be looked up", ErrNotVisible, pid)
	}
	return "/proc/" + strconv.Itoa(pid), nil
}

// procIsOurs reports whether /proc belongs to this process's PID
// namespace: then /proc/self names this process by its own PID.
var procIsOurs = sync.OnceValue(func() bool {
	link, err := os.Readlink("/proc/self")
	return err == nil && link == strconv.Itoa(os.Getpid())
})

// readStartTicks reads field 22 of /proc/PID/stat.
func readStartTicks(pid int) (uint64, error) {
	dir, err := procDir(pid)
	if err != nil {
		return 0, err
	}
	b, err := readProcFile(dir + "/stat")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return parseStartTicks(b)
}

// parseStartTicks extracts starttime from a /proc/PID/stat line. The command
// name (field 2) is in parentheses and may itself hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStartTicks(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat line")
	}
	fields := strings.Fields(string(stat[i+1:]))
	// fields[0] is field 3 (state); starttime is field 22.
	const idx = 22 - 3
	if len(fields) <= idx {
		return 0, fmt.Errorf("malformed /proc stat line: %d fields", len(fields)+2)
	}
	return strconv.ParseUint(fields[idx], 10, 64)
}

// bootID is the boot's random ID. It cannot change while this process
// runs, so it is read once: a wrapper looks up its command right after
// starting it, and every read of /proc delays that.
var bootID = sync.OnceValues(func() (string, error) {
	b, err := readProcFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
})

// pidNamespace is the inode of this process's PID namespace, which a
// process keeps for life (unshare and setns change its children's), so it
// is read once.
var pidNamespace = sync.OnceValues(func() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err != nil {
		return 0, &fs.PathError{Op: "stat", Path: "/proc/self/ns/pid", Err: err}
	}
	return st.Ino, nil
})

// startTime derives the wall-clock start from the uptime, which has
// centisecond resolution (the btime of /proc/stat has only whole seconds).
func startTime(id Identity) (time.Time, error) {
	now := time.Now()
	b, err := readProcFile("/proc/uptime")
	if err != nil {
		return time.Time{}, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return time.Time{}, errors.New("empty /proc/uptime")
	}
	up, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return time.Time{}, err
	}
	boot := now.Add(-time.Duration(up * float64(time.Second)))
	return boot.Add(time.Duration(id.StartID) * time.Second / clockTicks).Round(10 * time.Millisecond), nil
}

// signal opens a pidfd first and checks the start time after: if the start
// time still matches, the pidfd refers to that very process, and a signal
// through it cannot reach a later process that reuses the PID.
func signal(id Identity, force bool) error {
	pidfd, err := unix.PidfdOpen(id.PID, 0)
	if errors.Is(err, unix.ESRCH) {
		return ErrNotFound
	}
	if errors.Is(err, unix.ENOSYS) {
		return signalByPID(id, unixSignal(force)) // kernels before 5.3
	}
	if err != nil {
		return os.NewSyscallError("pidfd_open", err)
	}
	defer unix.Close(pidfd)
	if err := sameStart(id); err != nil {
		return err
	}
	if err := unix.PidfdSendSignal(pidfd, unixSignal(force), nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotFound
		}
		return os.NewSyscallError("pidfd_send_signal", err)
	}
	if !force {
		unix.PidfdSendSignal(pidfd, unix.SIGCONT, nil, 0)
	}
	return nil
}

// zombie reports whether pid has exited and waits to be reaped: the state
// field of /proc/PID/stat, after the command name in parentheses, is Z, and
// no other thread of it runs (a main thread that has exited while others
// run shows Z too, but its process runs on).
func zombie(pid int) bool {
	dir, err := procDir(pid)
	if err != nil || !leaderExited(dir) {
		return false
	}
	tasks, err := os.ReadDir(dir + "/task")
	if err != nil {
		return true
	}
	for _, t := range tasks {
		if t.Name() != strconv.Itoa(pid) {
			return false
		}
	}
	return true
}

func sameStart(id Identity) error {
	start, err := readStartTicks(id.PID)
	if err != nil {
		return err
	}
	if start != id.StartID {
		return ErrNotSameProcess
	}
	return nil
}

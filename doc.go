// Package singleinstance guarantees that only one copy of a program runs
// under a given name: on one machine, through a kernel file lock.
//
// # Entry points
//
// Take the lock with New (or NewContext) and give it up with
// Instance.Release; AcquireOrExit takes it or exits with a report; Run (or
// RunContext) holds it while a function runs, which gets the Instance with
// FromContext. CheckRunning, Status, KillRunning, List and Wait look at or
// stop a holder without taking the lock. WithBackend keeps the lock
// elsewhere, such as in etcd. The README and docs/ in the repository cover
// the command and the guarantee in depth.
//
// # The guarantee
//
// If New returns an *Instance, no other process that uses this package with
// the same name and lock directory holds the lock until the Instance is
// released, its process exits (in any way: a crash or SIGKILL included, as
// the kernel frees the lock), or its Lost channel fires. There is never any
// stale lock to clean up by hand: the kernel's lock is the only evidence of
// a running instance, and the .pid and .info files next to it are
// descriptions, never proof.
//
// A program started with Instance.StartCommand inherits the lock and, on
// Linux, the name token (below), and so does everything it starts: the name
// stays held while any process of that tree runs, even after Release, and
// KillRunning stops the whole tree. Release closes; it never unlocks a lock
// that other processes share.
//
// # Files
//
// For a name N the lock directory holds:
//
//   - N.lock: the locked file. It is never deleted by this package, since
//     deleting a lock file lets a waiter and a newcomer lock two different
//     files. It holds one line: the last fencing token and whether it is
//     held.
//   - N.pid: the holder's PID and a newline, for kill $(cat N.pid) and
//     systemd's PIDFile=.
//   - N.info: "key=value" lines describing the holder (pid, started,
//     executable, argv, cwd, user, host, token, and the identity fields
//     below).
//
// The .pid and .info files are replaced atomically (readers see a whole
// file or none), are never written through a symbolic link, and are read
// with a size bound (MaxInfoSize). See DefaultLockDir for where the files
// live by default; the directory is private to the user, so other local
// users can neither block nor redirect it.
//
// # Identity
//
// A holder is recorded with its PID, the kernel's start time of its
// process, and on Linux the boot ID and PID namespace. A reused PID (a
// different start time), a previous boot, or a process in another container
// that shares the lock directory is therefore never mistaken for the holder.
// "Held, but its process is not visible from here" is a state of its own
// (Observed.Visible), and KillRunning never signals a process it has not
// proven to be the holder. A holder reads its own identity through
// /proc/self, so it is right even in a PID namespace that has no /proc of
// its own; there, other processes cannot be looked up, and are not
// visible.
//
// # Lost locks
//
// Temporary-file cleaners, or people following bad advice, delete lock
// files. A held Instance notices at once (Linux, through file events) or
// within WithCheckInterval (default one second elsewhere), and locks the new
// file at that path itself, so protection is restored. If another process
// locked the new file first, Lost fires and Err returns ErrLockLost. On
// Linux a holder also binds a name token, a socket in the abstract
// namespace that no file cleaner can delete; a newcomer that finds it bound
// refuses to run, even if every file of the name is gone, so the two never
// overlap. Held files are touched every TouchInterval so that
// age-based cleaners leave them alone.
//
// # Fencing tokens
//
// Every acquisition of a name gets a token strictly greater than every
// earlier one on the machine, persisted in the lock file and never below
// the current time in microseconds, so it survives restarts and the
// deletion of the files. Downstream systems can reject writes that carry
// a token lower than one they have seen.
//
// # Across machines
//
// A file lock guards one machine. WithBackend keeps the lock in a Backend
// instead, such as the etcd backend in the separate module
// github.com/singleinstance/singleinstance/etcd, so that one holder runs
// across several hosts. The API is the same; Lost then fires before
// another host can take the lock, StopRequested carries stop requests from
// other hosts, and an unreachable backend is ErrUnavailable. This package
// never imports a backend: programs that use file locks only do not link
// etcd or gRPC.
//
// # Platforms
//
// Linux (open file description locks, inotify, pidfd), macOS and the BSDs
// (flock, polling with short backoff), and Windows (LockFileEx). On other
// platforms every call fails with an error wrapping errors.ErrUnsupported.
package singleinstance

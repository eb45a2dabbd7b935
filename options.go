package singleinstance

import (
	"log/slog"
	"time"
)

// An Option configures New, NewContext, Run, CheckRunning, Status and
// KillRunning. Options that do not apply to a call are ignored by it.
type Option func(*config)

type config struct {
	lockDir       string
	timeout       time.Duration
	logger        *slog.Logger
	loggerSet     bool // WithLogger was given
	cleanupOnExit bool
	checkInterval time.Duration
	stopTimeout   time.Duration
	liveStats     bool
	forCommand    bool
	backend       Backend
}

// Defaults.
const (
	// DefaultCheckInterval is how often a held instance checks, at the
	// latest, that its lock file still exists and is the one it locked. On
	// Linux, file events make the check immediate as well, from 100 ms
	// after the lock was taken (the name token keeps newcomers out
	// before).
	DefaultCheckInterval = time.Second
	// DefaultStopTimeout is how long KillRunning waits for the lock to be
	// released after signalling the holder.
	DefaultStopTimeout = 10 * time.Second
)

func newConfig(opts []Option) *config {
	c := &config{
		cleanupOnExit: true,
		checkInterval: DefaultCheckInterval,
		stopTimeout:   DefaultStopTimeout,
		liveStats:     true,
	}
	for _, o := range opts {
		o(c)
	}
	c.loggerSet = c.logger != nil
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c
}

// WithLockDir sets the directory that holds the lock files. It must be an
// absolute path (a relative one makes New fail with ErrLockDirUnusable); it
// is created with mode 0700 if missing. Every program that must not run
// twice has to use the same directory. Without this option the
// SINGLEINSTANCE_LOCK_DIR environment variable is used, and without that
// DefaultLockDir.
func WithLockDir(dir string) Option { return func(c *config) { c.lockDir = dir } }

// WithTimeout sets how long New waits for a running holder to release the
// lock: 0 (the default) fails at once, a negative duration waits forever.
// A waiter is woken by the holder's release, not by polling, where the
// platform allows (Linux). NewContext waits no longer than its context
// either.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithLogger sets the logger for warnings (lock directory on a network
// file system, lock file replaced and restored), errors (lock lost) and
// debug messages. The default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithCleanupOnExit sets whether Release removes the .pid and .info files
// (default true). The lock file itself is never removed: removing it would
// let a waiter and a newcomer lock two different files.
func WithCleanupOnExit(cleanup bool) Option { return func(c *config) { c.cleanupOnExit = cleanup } }

// WithCheckInterval sets how often a held instance checks that its lock file
// was not deleted or replaced (default DefaultCheckInterval). Values below
// 10ms are raised to 10ms.
func WithCheckInterval(d time.Duration) Option {
	return func(c *config) { c.checkInterval = max(d, 10*time.Millisecond) }
}

// WithStopTimeout sets how long KillRunning waits for the lock to be freed
// after signalling the holder (default DefaultStopTimeout). A negative value
// waits as long as the context allows; zero does not wait at all. For a
// file lock, KillRunning then reports true only if the lock is free right
// after the signal, and otherwise an error matching ErrStopTimeout: it never
// reports a stop it has not seen. A Backend's Stop decides for itself (the
// etcd backend reports true once the stop request is stored).
func WithStopTimeout(d time.Duration) Option { return func(c *config) { c.stopTimeout = d } }

// WithLiveStats sets whether Status reads the holder's live process figures
// (state, CPU, memory), default true. Turning it off makes Status cheaper.
func WithLiveStats(on bool) Option { return func(c *config) { c.liveStats = on } }

// WithCommandHolder makes New take the lock for the command that this
// process then starts with StartCommand, as a wrapper does (the
// singleinstance command's run). The .pid and .info files then describe
// that command from its start, and are not first written to describe this
// process, so that nothing but the start itself stands between taking the
// lock and starting the command. Until then the lock is held but
// undescribed: status shows it running, with the processes the kernel
// shows holding it, and KillRunning stops those. This applies on Linux,
// where the name token keeps an undescribed holder in sight of every
// newcomer; elsewhere, and in other Backends, this process is described
// first, as usual.
func WithCommandHolder() Option { return func(c *config) { c.forCommand = true } }

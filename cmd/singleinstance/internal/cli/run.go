package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
)

// lostGrace is how long run lets its command stop after SIGTERM, once a
// file lock is lost, before it sends SIGKILL. Over etcd the backend's
// StopGrace applies: the command must be dead before the lease can expire.
const lostGrace = 5 * time.Second

// replaceGrace is how long run --replace lets the running holder stop
// after SIGTERM before it sends SIGKILL.
const replaceGrace = 10 * time.Second

func (a *app) runCommand() *cmdline.Command {
	var wait time.Duration
	var conflictCode int
	var replace bool
	cmd := &cmdline.Command{
		Use:   "run [--wait DURATION] [--conflict-exit-code N] [--replace] NAME -- COMMAND [ARGS...]",
		Short: "Run COMMAND while holding the lock NAME; refuse if another copy holds it",
		Long: `run takes the lock NAME and runs COMMAND with this terminal's stdin,
stdout and stderr. COMMAND inherits the lock (descriptor 3) and, on Linux,
the name token (descriptor 4), and so does everything it starts: the name
stays held while any process of that tree runs, and run exits only when
the tree is gone (it waits for processes COMMAND leaves behind, and says so
on stderr). A process lets go of the name by closing descriptors 3 and 4.
If singleinstance itself is killed (even with SIGKILL), the kernel kills
COMMAND with it (Linux, FreeBSD, Windows). The .pid and .info files
describe COMMAND (its PID and argv), so "kill NAME" stops COMMAND and
every process of its tree.

SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are forwarded to
COMMAND (SIGINT and SIGQUIT are not forwarded when stdin is a terminal: the
terminal already sends them to both). A signal that arrives while run still
waits for the lock ends the wait with exit 128+N.

If another instance holds the lock, run prints the holder's details to
stderr (with --json, as the "status --json" object, also on stderr: stdout
is COMMAND's) and exits with --conflict-exit-code (default 1). --wait DURATION
waits that long for the holder to go first (--wait without a value or 0s:
not at all; -1 or forever: without limit). --replace stops the running
holder (SIGTERM, SIGKILL after 10s, as "kill" does) and takes over: a
deploy-friendly restart. If the lock is lost while COMMAND runs (its lock
file deleted and taken by another process), COMMAND gets SIGTERM, then
SIGKILL after 5s, and run exits 121.

Over etcd (--etcd) the lock is an etcd lease that run keeps alive: run
must outlive COMMAND, and on Linux COMMAND is killed if run dies. "kill
NAME" from any host makes run send SIGTERM to COMMAND. If the lease can no
longer be known to be held (etcd out of reach for most of --etcd-ttl, or
"kill --force"), COMMAND gets SIGTERM at once and SIGKILL a tenth of the
TTL later, before any other host can take the lock, and run exits 121.
If etcd does not confirm the release within half a second once COMMAND
ended (etcd out of reach), run says so and exits 122: the lock stays
taken until its lease expires.

run exits with COMMAND's exit code (also after waiting for its tree), 128+N if it died of signal N, 125 if
the lock could not be taken, 126 if COMMAND cannot be executed and 127 if
it was not found.`,
		Args: func(cmd *cmdline.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			switch {
			case len(args) == 0:
				return usagef("missing NAME and -- COMMAND")
			case dash < 0:
				return usagef("missing -- between NAME and COMMAND")
			case dash != 1:
				return usagef("run takes exactly one NAME before --, got %d", dash)
			case len(args) < 2:
				return usagef("missing COMMAND after --")
			}
			return nil
		},
		Run: func(cmd *cmdline.Command, args []string) error {
			if conflictCode < 0 || conflictCode > 255 {
				return usagef("--conflict-exit-code must be 0-255, not %d", conflictCode)
			}
			if err := a.connect(cmd); err != nil {
				return err
			}
			return a.run(cmd.Context(), args[0], args[1:], wait, conflictCode, replace)
		},
	}
	f := cmd.Flags()
	f.Var(durationFlag{&wait}, "wait", "wait up to DURATION for the running instance to exit (forever: no limit)")
	f.Lookup("wait").NoValue = "0s"
	f.IntVar(&conflictCode, "conflict-exit-code", exitNo, "exit code when another instance holds the lock")
	f.BoolVar(&replace, "replace", false, "stop the running instance, then take over")
	return cmd
}

// signalledError ends a wait for the lock when a signal arrives.
type signalledError struct{ sig os.Signal }

func (e signalledError) Error() string { return "interrupted by " + e.sig.String() }

// signalled returns the signal that cancelled ctx, if one did.
func signalled(ctx context.Context) (os.Signal, bool) {
	var sig signalledError
	if errors.As(context.Cause(ctx), &sig) {
		return sig.sig, true
	}
	return nil, false
}

func (a *app) run(ctx context.Context, name string, argv []string, wait time.Duration, conflictCode int, replace bool) (err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	sigs := catchSignals(a.stdin)
	defer sigs.stop()
	// Also for what Main writes once run returns.
	a.stderr, a.closeStderr = writesWithoutSIGPIPE(a.stderr)
	go warmStart()
	fw := sigs.fw
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	fw.onSignalBeforeLock(func(sig os.Signal) { cancel(signalledError{sig}) })

	// The files describe the command once it has started, not this
	// process first.
	opts := append(a.options(), singleinstance.WithCommandHolder())
	if replace {
		if err := a.replaceHolder(ctx, name); err != nil {
			return err
		}
	}
	inst, err := singleinstance.NewContext(ctx, name, opts...)
	if err != nil && wait != 0 && ctx.Err() == nil {
		// The first try does not wait, so that a conflict can be said
		// before the wait. Any failure of it goes on to the waiting
		// try: a lock file replaced again and again gives up quickly
		// only without a wait, and an error that stays fails it again at
		// once.
		var conflict *singleinstance.AlreadyRunningError
		if a.chatty() && errors.As(err, &conflict) {
			a.say("waiting for '%s'%s to exit", name, a.describeHolder(conflict.Holder))
		}
		inst, err = singleinstance.NewContext(ctx, name, append(opts, singleinstance.WithTimeout(wait))...)
	}
	if err != nil {
		if sig, ok := signalled(ctx); ok {
			fmt.Fprintf(a.stderr, "singleinstance: %s while waiting for '%s'\n", sig, name)
			return withCode(128+signalNumber(sig), nil)
		}
		var conflict *singleinstance.AlreadyRunningError
		if errors.As(err, &conflict) {
			if a.json {
				writeJSON(a.stderr, conflictJSON(conflict, a.backendName()))
			} else {
				io.WriteString(a.stderr, conflict.Report())
			}
			return withCode(conflictCode, nil)
		}
		return failed(exitRunFailed, err)
	}
	// Over etcd, a release that etcd does not confirm changes the exit.
	defer func() { err = a.release(name, inst, err) }()

	// What needs no signal caught is done while they are being caught
	// (they take longer to catch than the lock to take).
	if err := becomeSubreaper(); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		a.logger().Debug("singleinstance: cannot become a subreaper; processes the command leaves behind go to init", "err", err)
	}
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = a.stdin, a.stdout, a.stderr

	sigs.awaitCaught()
	fw.locked()
	if sig, ok := signalled(ctx); ok {
		// Signalled after the lock was taken but before signals were
		// queued for the command: do not start it.
		return withCode(128+signalNumber(sig), nil)
	}
	if err := inst.StartCommand(c); err != nil {
		if c.Process == nil {
			return startError(argv[0], err)
		}
		// The command runs under the lock; only its description could
		// not be stored. Look after it as usual.
		printError(a.stderr, fmt.Errorf("%s runs, but its description could not be stored: %w", argv[0], err))
	}
	fw.started(c.Process)
	if a.supervise(name, inst, c, sigs.childExit) {
		return withCode(exitLockLost, nil)
	}
	code := exitCodeOf(c.ProcessState)
	if a.awaitTree(name, inst, fw, sigs.childExit) {
		return withCode(exitLockLost, nil)
	}
	return withCode(code, nil)
}

// warmStart makes, ahead of time, the check that os/exec makes once per
// process before its first start (on Linux, whether pidfds work, which
// starts and waits for a throwaway child), so that it runs while the lock
// is taken or waited for, not between taking the lock and starting the
// command.
func warmStart() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Release()
	}
}

// startError is the exit for a command that did not start.
func startError(command string, err error) error {
	switch {
	case command == "", errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return withCode(exitNotFound, fmt.Errorf("%s: command not found", shellQuote(command)))
	case errors.Is(err, fs.ErrPermission), errors.Is(err, exec.ErrDot):
		return withCode(exitNoExec, fmt.Errorf("%s: cannot execute: %w", command, err))
	case errors.Is(err, singleinstance.ErrLockLost):
		return withCode(exitLockLost, err)
	}
	return failed(exitRunFailed, err)
}

// supervise waits for the started command c and reports whether the lock
// was lost while it ran. Meanwhile it watches the lock: a loss stops c
// (SIGTERM, then SIGKILL after a grace period), and a stop request from
// another host (kill over etcd) sends c SIGTERM, after which c exits as it
// likes.
// SIGCHLD arrives on childExit: orphans of the command are reaped as they
// exit.
func (a *app) supervise(name string, inst *singleinstance.Instance, c *exec.Cmd, childExit <-chan os.Signal) (lost bool) {
	exited := make(chan struct{})
	result := make(chan bool, 1)
	go func() { result <- a.watchLock(name, inst, c.Process, exited) }()
	reaped := make(chan struct{})
	go func() {
		defer close(reaped)
		for {
			select {
			case <-exited:
				return
			case <-childExit:
				reapOrphans(c.Process.Pid)
			}
		}
	}()
	c.Wait()
	close(exited)
	<-reaped
	return <-result
}

// watchLock is supervise's watcher; it returns once exited is closed, true
// if the lock was lost first.
func (a *app) watchLock(name string, inst *singleinstance.Instance, p *os.Process, exited <-chan struct{}) bool {
	stopRequested := inst.StopRequested() // nil, never ready, for a file lock
	for lost := false; !lost; {
		select {
		case <-exited:
			return false
		case <-stopRequested:
			stopRequested = nil
			if a.chatty() {
				a.say("stop of '%s' requested through %s; sending %s to the command",
					name, a.backend, terminateSignal)
			}
			p.Signal(terminateSignal)
		case <-inst.Lost():
			lost = true
		}
	}
	grace := lostGrace
	if a.backend != nil {
		grace = a.backend.StopGrace()
	}
	fmt.Fprintf(a.stderr, "singleinstance: lock '%s' lost (%v); stopping the command (SIGKILL after %v)\n",
		name, inst.Err(), grace)
	stopTree(inst, p, terminateSignal)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-t.C:
		stopTree(inst, p, os.Kill)
	case <-exited:
	}
	return true
}

// stopTree sends sig to the command p and to every process of its tree
// that still shares the lock.
func stopTree(inst *singleinstance.Instance, p *os.Process, sig os.Signal) {
	if pids, err := inst.Tree(); err != nil || !slices.Contains(pids, p.Pid) {
		p.Signal(sig)
	}
	inst.SignalTree(sig)
}

// replaceHolder stops the running holder of name, gracefully first.
func (a *app) replaceHolder(ctx context.Context, name string) error {
	opts := append(a.options(), singleinstance.WithStopTimeout(replaceGrace))
	st, err := singleinstance.StatusContext(ctx, name, append(opts, singleinstance.WithLiveStats(false))...)
	if err != nil {
		return failed(exitRunFailed, err)
	}
	if !st.Running {
		return nil
	}
	if a.backend != nil {
		// Over etcd, one forced stop asks the holder to stop, waits, then
		// fences it and waits until the fence is gone.
		if a.chatty() {
			a.say("replacing '%s'%s: asking it to stop through %s, fencing it after %s",
				name, a.describeHolder(st.Holder), a.backend, replaceGrace)
		}
		_, err = singleinstance.KillRunningContext(ctx, name, true, opts...)
	} else {
		if a.chatty() {
			a.say("replacing '%s'%s: SIGTERM, SIGKILL after %s", name, a.describeHolder(st.Holder), replaceGrace)
		}
		_, err = singleinstance.KillRunningContext(ctx, name, false, opts...)
		if errors.Is(err, singleinstance.ErrStopTimeout) {
			_, err = singleinstance.KillRunningContext(ctx, name, true, opts...)
		}
	}
	if sig, ok := signalled(ctx); ok && err != nil {
		fmt.Fprintf(a.stderr, "singleinstance: %s while replacing '%s'\n", sig, name)
		return withCode(128+signalNumber(sig), nil)
	}
	if err != nil {
		return failed(exitRunFailed, fmt.Errorf("cannot replace the running instance: %w", err))
	}
	return nil
}

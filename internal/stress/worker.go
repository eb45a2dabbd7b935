package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/singleinstance/singleinstance"
)

// The coordinator re-executes its own binary with these variables set to
// get worker processes, and a tree winner re-executes it again for its
// command, which does so for its child. Under go test, TestMain looks for
// workerRoleEnv.
const (
	workerRoleEnv = "SINGLEINSTANCE_STRESS_ROLE"
	workerRole    = "worker"
	commandRole   = "command" // a tree round's command (tree_linux.go)
	childRole     = "child"   // the command's background child
	lockDirEnv    = "SINGLEINSTANCE_STRESS_LOCK_DIR"
	lockNameEnv   = "SINGLEINSTANCE_STRESS_NAME"
	journalEnv    = "SINGLEINSTANCE_STRESS_JOURNAL"
	verboseEnv    = "SINGLEINSTANCE_STRESS_VERBOSE"
	roundEnv      = "SINGLEINSTANCE_STRESS_ROUND"     // command and child: the round
	winnerEnv     = "SINGLEINSTANCE_STRESS_WINNER"    // child: the PID of the acquisition's worker
	stayEnv       = "SINGLEINSTANCE_STRESS_STAY"      // command: wait to be killed with the wrapper
	lockOnlyEnv   = "SINGLEINSTANCE_STRESS_LOCK_ONLY" // command: its child keeps the lock's descriptor only
)

// isWorker reports whether this process was started by the stress tool, as
// a worker or as a process of a tree.
func isWorker() bool {
	switch os.Getenv(workerRoleEnv) {
	case workerRole, commandRole, childRole:
		return true
	}
	return false
}

// A worker races for the lock when told to, and holds it when it wins
// until told to release it (see protocol.go).
type worker struct {
	name    string
	opts    []singleinstance.Option
	logger  *slog.Logger
	journal *os.File
	pid     int
	in      *bufio.Scanner
	out     io.Writer
	sink    [sha256.Size]byte // keeps the busy work from being optimised away
	round   atomic.Int64      // the round of the last command, for the SIGTERM journal line
	treeCmd *exec.Cmd         // the command of the tree this worker holds for, or nil
}

// workerMain runs this process in the role it was started in and returns
// its exit status.
func workerMain() int {
	var err error
	switch role := os.Getenv(workerRoleEnv); role {
	case commandRole:
		err = commandMain()
	case childRole:
		err = childMain()
	default:
		err = runWorker(os.Stdin, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "stress %s %d: %v\n", os.Getenv(workerRoleEnv), os.Getpid(), err)
		return 2
	}
	return 0
}

// runWorker serves the coordinator on in and out until in ends.
func runWorker(in io.Reader, out io.Writer) error {
	// Ctrl-C reaches the whole process group; the coordinator decides when
	// workers end, by closing their input.
	signal.Ignore(os.Interrupt)
	j, err := os.OpenFile(os.Getenv(journalEnv), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	defer j.Close()
	logger := slog.New(slog.DiscardHandler)
	if os.Getenv(verboseEnv) != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("worker", os.Getpid())
	}
	w := &worker{
		name: os.Getenv(lockNameEnv),
		opts: []singleinstance.Option{
			singleinstance.WithLockDir(os.Getenv(lockDirEnv)),
			singleinstance.WithTimeout(0),
			singleinstance.WithLogger(logger),
		},
		logger:  logger,
		journal: j,
		pid:     os.Getpid(),
		in:      bufio.NewScanner(in),
		out:     out,
	}
	// A worker is never part of a tree once it released: KillRunning must
	// not signal it. A SIGTERM is journaled as a fault.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		for range term {
			io.WriteString(j, signalledLine(w.pid, int(w.round.Load()), time.Now().UnixNano()))
		}
	}()
	if err := w.send(report{kind: repReady, pid: w.pid}); err != nil {
		return err
	}
	for w.in.Scan() {
		c, err := parseCommand(w.in.Text())
		if err != nil {
			return err
		}
		w.round.Store(int64(c.round))
		if c.kind == cmdRelease {
			return fmt.Errorf("worker %d: %v outside a hold", w.pid, c)
		}
		if err := w.race(c); err != nil {
			return err
		}
	}
	return w.in.Err()
}

// race tries the lock once without waiting ("race"), or waits for it
// ("wait"). A winner reports "locked" at once (the coordinator may SIGKILL
// it from then on), journals its entry, starts its tree if told to, works
// for c.work, then holds until released.
func (w *worker) race(c command) error {
	opts := w.opts
	if c.kind == cmdWait {
		hook := &waitHook{next: w.logger.Handler(), queued: new(atomic.Bool),
			report: func() { w.send(report{kind: repQueued, round: c.round}) }}
		opts = append(opts[:len(opts):len(opts)], singleinstance.WithTimeout(c.timeout),
			singleinstance.WithLogger(slog.New(hook)))
	}
	start := time.Now()
	inst, err := singleinstance.New(w.name, opts...)
	returned := time.Now()
	switch {
	case errors.Is(err, singleinstance.ErrAlreadyRunning):
		return w.send(report{kind: repRefused, round: c.round})
	case err != nil:
		return w.send(report{kind: repError, round: c.round, text: err.Error()})
	}
	if err := w.send(report{kind: repLocked, round: c.round, at: returned.UnixNano(), took: returned.Sub(start)}); err != nil {
		return err
	}
	if _, err := io.WriteString(w.journal, enterLine(w.pid, c.round, inst.Token(), returned.UnixNano())); err != nil {
		return err
	}
	if c.tree != noTree {
		if err := w.startTree(inst, c); err != nil {
			inst.Release()
			return fmt.Errorf("worker %d: tree of round %d: %w", w.pid, c.round, err)
		}
	}
	if err := w.send(report{kind: repEntered, round: c.round}); err != nil {
		return err
	}
	w.work(c.work)
	if !w.in.Scan() {
		inst.Release()
		return fmt.Errorf("worker %d: input ended while holding the lock: %v", w.pid, w.in.Err())
	}
	if rc, err := parseCommand(w.in.Text()); err != nil || rc.kind != cmdRelease || rc.round != c.round {
		inst.Release()
		return fmt.Errorf("worker %d: got %q while holding the lock of round %d", w.pid, w.in.Text(), c.round)
	}
	if w.treeCmd != nil {
		// The wrapper's command exits by itself; its child holds on.
		err := w.treeCmd.Wait()
		w.treeCmd = nil
		if err != nil {
			inst.Release()
			return fmt.Errorf("worker %d: command of round %d: %w", w.pid, c.round, err)
		}
	}
	lost := false
	select {
	case <-inst.Lost():
		lost = true
	default:
	}
	if _, err := io.WriteString(w.journal, leaveLine(w.pid, c.round)); err != nil {
		return err
	}
	at := time.Now().UnixNano()
	var text string
	if err := inst.Release(); err != nil {
		text = err.Error()
	}
	return w.send(report{kind: repReleased, round: c.round, at: at, lost: lost, text: text})
}

// startTree runs this process's own executable as the guarded command,
// with StartCommand: the command starts a background child that keeps
// the lock's descriptors (see commandMain). It reports both PIDs.
func (w *worker) startTree(inst *singleinstance.Instance, c command) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), workerRoleEnv+"="+commandRole, roundEnv+"="+strconv.Itoa(c.round))
	if c.tree == treeStays || c.tree == treeStaysLockOnly {
		cmd.Env = append(cmd.Env, stayEnv+"=1")
	}
	if c.tree == treeStaysLockOnly {
		cmd.Env = append(cmd.Env, lockOnlyEnv+"=1")
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := inst.StartCommand(cmd); err != nil {
		return err
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		cmd.Wait()
		return fmt.Errorf("command %d printed no child: %v", cmd.Process.Pid, sc.Err())
	}
	child, err := strconv.Atoi(sc.Text())
	if err != nil {
		cmd.Wait()
		return fmt.Errorf("command %d printed %q", cmd.Process.Pid, sc.Text())
	}
	w.treeCmd = cmd
	return w.send(report{kind: repTree, round: c.round, pid: cmd.Process.Pid, child: child})
}

// work keeps the CPU busy for d: the holder's critical section. It is work,
// not a wait: nothing else depends on when it ends.
func (w *worker) work(d time.Duration) {
	buf := []byte(strconv.Itoa(w.pid))
	for start := time.Now(); time.Since(start) < d; {
		w.sink = sha256.Sum256(append(buf, w.sink[:]...))
	}
}

func (w *worker) send(r report) error {
	_, err := io.WriteString(w.out, r.String()+"\n")
	return err
}

// waitMessage is what New logs (at debug level) when it starts to wait for
// the holder to exit: from then on the waiter is queued.
const waitMessage = "singleinstance: waiting for the running instance to exit"

// A waitHook passes records on to next and calls report, once, when New
// announces that it waits.
type waitHook struct {
	next   slog.Handler
	queued *atomic.Bool // shared by the handlers derived from this one
	report func()
}

func (h *waitHook) Enabled(ctx context.Context, l slog.Level) bool {
	return l == slog.LevelDebug && !h.queued.Load() || h.next.Enabled(ctx, l)
}

func (h *waitHook) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == waitMessage && h.queued.CompareAndSwap(false, true) {
		h.report()
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *waitHook) WithAttrs(as []slog.Attr) slog.Handler {
	return &waitHook{next: h.next.WithAttrs(as), queued: h.queued, report: h.report}
}

func (h *waitHook) WithGroup(name string) slog.Handler {
	return &waitHook{next: h.next.WithGroup(name), queued: h.queued, report: h.report}
}

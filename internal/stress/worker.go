package main

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/singleinstance/singleinstance"
)

// The coordinator re-executes its own binary with these variables set to
// get worker processes. Under go test, TestMain looks for workerRoleEnv.
const (
	workerRoleEnv = "SINGLEINSTANCE_STRESS_ROLE"
	workerRole    = "worker"
	lockDirEnv    = "SINGLEINSTANCE_STRESS_LOCK_DIR"
	lockNameEnv   = "SINGLEINSTANCE_STRESS_NAME"
	journalEnv    = "SINGLEINSTANCE_STRESS_JOURNAL"
	verboseEnv    = "SINGLEINSTANCE_STRESS_VERBOSE"
)

// isWorker reports whether this process was started as a worker.
func isWorker() bool { return os.Getenv(workerRoleEnv) == workerRole }

// A worker races for the lock when told to, and holds it when it wins
// until told to release it (see protocol.go).
type worker struct {
	name    string
	opts    []singleinstance.Option
	journal *os.File
	pid     int
	in      *bufio.Scanner
	out     io.Writer
	sink    [sha256.Size]byte // keeps the busy work from being optimised away
}

// workerMain runs this process as a worker and returns its exit status.
func workerMain() int {
	if err := runWorker(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "stress worker %d: %v\n", os.Getpid(), err)
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
		journal: j,
		pid:     os.Getpid(),
		in:      bufio.NewScanner(in),
		out:     out,
	}
	if err := w.send(report{kind: repReady, pid: w.pid}); err != nil {
		return err
	}
	for w.in.Scan() {
		c, err := parseCommand(w.in.Text())
		if err != nil {
			return err
		}
		if c.kind != cmdRace {
			return fmt.Errorf("worker %d: %v outside a hold", w.pid, c)
		}
		if err := w.race(c); err != nil {
			return err
		}
	}
	return w.in.Err()
}

// race tries the lock once, without waiting. A winner reports "locked" at
// once (the coordinator may SIGKILL it from then on), journals its entry,
// works for c.work, then holds until released.
func (w *worker) race(c command) error {
	start := time.Now()
	inst, err := singleinstance.New(w.name, w.opts...)
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

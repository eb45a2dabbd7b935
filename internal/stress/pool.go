package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// A proc is one worker process.
type proc struct {
	pid      int
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	killed   bool  // SIGKILLed by the coordinator
	killedAt int64 // when, Unix ns: just before the signal
	exited   bool  // its output ended and it was reaped
}

// An event is a line from a worker, or the end of its output.
type event struct {
	p    *proc
	line string
	eof  bool
}

// A pool starts worker processes and gathers their output into one stream
// of events.
type pool struct {
	exe    string
	env    []string
	events chan event
	live   []*proc
	stall  time.Duration
}

// stallLimit bounds how long the coordinator waits for any worker to say
// anything. It only turns a hung run into an error; it orders nothing.
const stallLimit = time.Minute

func newPool(env []string) (*pool, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot re-execute self: %w", err)
	}
	return &pool{
		exe:    exe,
		env:    append(os.Environ(), env...),
		events: make(chan event, 1024),
		stall:  stallLimit,
	}, nil
}

// spawn starts n workers and waits until each has reported ready.
func (pl *pool) spawn(n int) error {
	started := make(map[*proc]bool)
	for range n {
		// Not tied to a context: a worker ends when its input does, which
		// is when the coordinator says so or dies.
		cmd := exec.Command(pl.exe)
		cmd.Env = pl.env
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		p := &proc{pid: cmd.Process.Pid, cmd: cmd, stdin: stdin}
		go pl.read(p, stdout)
		started[p] = true
	}
	for len(started) > 0 {
		ev, err := pl.next()
		if err != nil {
			return err
		}
		r, err := parseReport(ev.line)
		switch {
		case ev.eof:
			return fmt.Errorf("worker %d exited before it was ready: %v", ev.p.pid, ev.p.reap())
		case err != nil || r.kind != repReady || !started[ev.p]:
			return fmt.Errorf("worker %d: %q while starting", ev.p.pid, ev.line)
		}
		delete(started, ev.p)
		pl.live = append(pl.live, ev.p)
	}
	return nil
}

func (pl *pool) read(p *proc, stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		pl.events <- event{p: p, line: sc.Text()}
	}
	pl.events <- event{p: p, eof: true}
}

// next returns the next event from any worker.
func (pl *pool) next() (event, error) {
	t := time.NewTimer(pl.stall)
	defer t.Stop()
	select {
	case ev := <-pl.events:
		return ev, nil
	case <-t.C:
		return event{}, fmt.Errorf("no worker said anything for %v", pl.stall)
	}
}

func (p *proc) send(c command) error {
	_, err := io.WriteString(p.stdin, c.String()+"\n")
	return err
}

// kill sends SIGKILL (TerminateProcess on Windows), and records the wall
// clock just before as killedAt.
func (p *proc) kill() error {
	p.killedAt = time.Now().UnixNano()
	p.killed = true
	return p.cmd.Process.Kill()
}

// reap waits for the process once its output has ended. A process killed
// by the coordinator is expected to report the kill.
func (p *proc) reap() error {
	if p.exited {
		return nil
	}
	p.exited = true
	err := p.cmd.Wait()
	if p.killed {
		return nil
	}
	return err
}

// remove drops p from the live workers.
func (pl *pool) remove(p *proc) {
	for i, q := range pl.live {
		if q == p {
			pl.live = append(pl.live[:i], pl.live[i+1:]...)
			return
		}
	}
}

// shutdown closes every worker's input, which ends it, and reaps them all.
func (pl *pool) shutdown() error {
	waiting := make(map[*proc]bool)
	for _, p := range pl.live {
		p.stdin.Close()
		waiting[p] = true
	}
	var firstErr error
	for len(waiting) > 0 {
		ev, err := pl.next()
		if err != nil {
			for p := range waiting {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
			return err
		}
		if !ev.eof || !waiting[ev.p] {
			continue
		}
		delete(waiting, ev.p)
		if err := ev.p.reap(); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("worker %d: %w", ev.p.pid, err)
		}
	}
	pl.live = nil
	return firstErr
}

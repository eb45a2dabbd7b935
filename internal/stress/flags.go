package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"time"
)

// A config is one stress run, as the flags describe it.
type config struct {
	procs           int
	rounds          int
	duration        time.Duration // 0: no cap
	lockDir         string        // "": a fresh temporary directory
	seed            uint64        // 0: one from the clock
	killRate        float64
	tamperRate      float64
	treeRate        float64 // tree rounds (Linux)
	waiterRate      float64 // tamper and tree rounds that queue waiters
	waiters         int     // waiters queued in such a round
	wrapperKillRate float64 // tree rounds that delete every file, then SIGKILL the wrapper
	verbose         bool
}

// errUsage marks errors in the command line.
var errUsage = errors.New("usage")

// defaultTamperRate is 0.2 on Linux only: elsewhere a newcomer cannot ask
// the kernel which file a holder locked, so an intruder that comes before
// the holder restores a deleted lock file is not refused (see the package
// documentation of singleinstance).
func defaultTamperRate() float64 {
	if runtime.GOOS == "linux" {
		return 0.2
	}
	return 0
}

// defaultTreeRate is 0.2 where tree rounds can be played (Linux), 0
// elsewhere.
func defaultTreeRate() float64 {
	if treeSupported {
		return 0.2
	}
	return 0
}

// defaultWaiterRate is 0.3 on Linux, 0 elsewhere: waiters queue in tamper
// and tree rounds, which are Linux-only by default.
func defaultWaiterRate() float64 {
	if runtime.GOOS == "linux" {
		return 0.3
	}
	return 0
}

// parseFlags parses the command line (without the program name).
func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("stress", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: go run ./internal/stress [flags]")
		fs.PrintDefaults()
	}
	var c config
	fs.IntVar(&c.procs, "procs", 16, "number of worker `processes` racing for the lock each round (at least 2)")
	fs.IntVar(&c.rounds, "rounds", 200, "number of `rounds`")
	fs.DurationVar(&c.duration, "duration", 0, "stop starting rounds after this `time` (0: no cap)")
	fs.StringVar(&c.lockDir, "lockdir", "", "lock `directory` (default: a fresh temporary directory, removed at the end)")
	fs.Uint64Var(&c.seed, "seed", 0, "random `seed` of the schedule (0: from the clock; the summary prints it)")
	fs.Float64Var(&c.killRate, "kill-rate", 0.2, "`probability` that a round SIGKILLs its winner")
	fs.Float64Var(&c.tamperRate, "tamper-rate", defaultTamperRate(), "`probability` that a round tampers with the held lock's files")
	fs.Float64Var(&c.treeRate, "tree-rate", defaultTreeRate(), "`probability` that a round's winner runs a command (StartCommand) that leaves a background child holding the lock (Linux only)")
	fs.Float64Var(&c.waiterRate, "waiter-rate", defaultWaiterRate(), "`probability` that a tamper or tree round queues waiters (New with a timeout) before it deletes every file")
	fs.IntVar(&c.waiters, "waiters", 2, "`number` of waiters a waiter round queues (at most -procs minus 2)")
	fs.Float64Var(&c.wrapperKillRate, "wrapper-kill-rate", 0.5, "`probability` that a tree round deletes every file, then SIGKILLs the wrapper")
	fs.BoolVar(&c.verbose, "v", false, "log every round, and the library's warnings from the workers")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := c.validate(fs.NArg()); err != nil {
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.lockDir != "" {
		abs, err := filepath.Abs(c.lockDir)
		if err != nil {
			return c, err
		}
		c.lockDir = abs
	}
	return c, nil
}

func (c *config) validate(extraArgs int) error {
	switch {
	case extraArgs > 0:
		return errors.New("no arguments expected, only flags")
	case c.procs < 2:
		return fmt.Errorf("-procs %d: at least 2 processes must race", c.procs)
	case c.rounds < 1:
		return fmt.Errorf("-rounds %d: at least 1", c.rounds)
	case c.duration < 0:
		return fmt.Errorf("-duration %v: must not be negative", c.duration)
	case !(c.killRate >= 0 && c.killRate <= 1):
		return fmt.Errorf("-kill-rate %v: a probability, 0 to 1", c.killRate)
	case !(c.tamperRate >= 0 && c.tamperRate <= 1):
		return fmt.Errorf("-tamper-rate %v: a probability, 0 to 1", c.tamperRate)
	case !(c.treeRate >= 0 && c.treeRate <= 1):
		return fmt.Errorf("-tree-rate %v: a probability, 0 to 1", c.treeRate)
	case c.treeRate > 0 && !treeSupported:
		return fmt.Errorf("-tree-rate %v: tree rounds need Linux", c.treeRate)
	case c.killRate+c.tamperRate+c.treeRate > 1:
		return fmt.Errorf("-kill-rate %v plus -tamper-rate %v plus -tree-rate %v: above 1 (a round is of one kind)",
			c.killRate, c.tamperRate, c.treeRate)
	case !(c.waiterRate >= 0 && c.waiterRate <= 1):
		return fmt.Errorf("-waiter-rate %v: a probability, 0 to 1", c.waiterRate)
	case c.waiters < 1:
		return fmt.Errorf("-waiters %d: at least 1", c.waiters)
	case !(c.wrapperKillRate >= 0 && c.wrapperKillRate <= 1):
		return fmt.Errorf("-wrapper-kill-rate %v: a probability, 0 to 1", c.wrapperKillRate)
	}
	return nil
}

// Command stress is the reproducible proof of speed and safety of
// singleinstance: K real processes race for one lock name round after
// round, while winners are SIGKILLed and the files of held locks are
// deleted, replaced or garbled, and a journal shared by all of them shows
// that no two critical sections ever overlap.
//
// Usage:
//
//	go run ./internal/stress [flags]
//
// The long run behind the README's figures:
//
//	go run ./internal/stress -procs 32 -rounds 10000
//
// A failing run prints its -seed; running again with it replays the same
// schedule of round kinds, tamperings, kill delays and work times (the
// operating system's scheduling is, of course, not replayed).
//
// # Flags
//
//	-procs K        worker processes racing each round (default 16, at least 2)
//	-rounds R       rounds to play (default 200)
//	-duration D     start no round after D has passed (default 0: no cap)
//	-lockdir DIR    lock directory (default: a fresh temporary directory,
//	                removed at the end)
//	-seed N         seed of the schedule (default 0: from the clock)
//	-kill-rate P    probability that a round SIGKILLs its winner (default 0.2)
//	-tamper-rate P  probability that a round tampers with the held lock's
//	                files (default 0.2 on Linux, 0 elsewhere); a round kills
//	                or tampers, never both, so the two add up to at most 1
//	-v              a line per round on stderr, and the library's warnings
//	                from every process
//
// # A round
//
// The tool re-executes itself to get K worker processes, and tells each on
// its stdin when to race, so they all start together. Every worker calls
// singleinstance.New with WithTimeout(0): nobody holds the lock when a round
// starts, so exactly one must win and every other must get
// ErrAlreadyRunning. The winner reports "locked" to the coordinator as soon
// as New returns, appends "+PID ROUND TOKEN TIME" to a journal opened with
// O_APPEND, works (busy, 0.5 to 3 ms), and holds the lock until the
// coordinator, having heard from every racer, tells it to release; it then
// appends "-PID ROUND" and calls Release. Each round is one of three kinds:
//
//   - plain: just that.
//   - kill: the coordinator SIGKILLs the winner 0 to 2 ms after its
//     "locked", possibly before its "+" line, reaps it, and appends
//     "!PID ROUND TIME" to the journal. A racer that tries after the kill
//     may win in the same round: that is a legitimate acquisition, provided
//     its New returned after the kill. If none did, CheckRunning must then
//     report false, and the next round must have a winner, with no manual
//     step; otherwise Status must name the new holder, never the dead one.
//     A new worker replaces the killed one.
//   - tamper: 0 to 2 ms after the winner's "locked", while the other
//     racers may still be trying (each of them is then an intruder too),
//     the coordinator deletes the lock file, renames a new empty file over
//     it, deletes the .info and .pid files, or overwrites them in place
//     with random bytes. Once every racer has an outcome, one more worker
//     (the intruder) calls New. All of them must be refused while the
//     holder runs, CheckRunning must still report the holder, and the
//     holder must finish its round normally.
//
// The winner can report "locked" only once New has returned, having written
// its .info file: the kill and the tampering strike a holder that is fully
// set up, possibly before its "+" line, never inside New.
//
// At the end the journal is checked: "+" and "-" lines alternate strictly
// (a killed holder may lack its "-", and then the next "+" must come from a
// New that returned after the kill), tokens strictly increase, and every
// round has a "+" line unless its winner was killed. The tool then checks
// that the lock is free and can be taken.
//
// # The summary
//
//	config             processes, rounds planned, seed, lock directory
//	rounds             rounds played (fewer if -duration or Ctrl-C stopped
//	                   the run), and how many had no winner: must be 0
//	wall time          from the first round's start to the last one's end
//	acquisitions       successful New calls by workers, and per second of
//	                   wall time
//	overlaps           critical sections that began while another live
//	                   holder's was open: must be 0. The largest of: the
//	                   journal's count, racers the coordinator saw win while
//	                   the round's holder lived, and intruders admitted
//	kills              winners SIGKILLed
//	recoveries         kills followed by a successful New (WithTimeout(0),
//	                   so at once): must equal kills. In parentheses, those
//	                   by a racer of the same round; "dead holders reported"
//	                   counts CheckRunning or Status reporting a killed
//	                   holder as running: must be 0
//	tamper rounds      tamper rounds, by kind
//	intruders refused  intruders that got ErrAlreadyRunning, of those sent;
//	                   "holder missed" counts CheckRunning or Status saying
//	                   "not running" while a holder ran: must be 0
//	lost signals       holders whose Lost channel had fired when they were
//	                   told to release (expected 0; counted, not a failure)
//	unexpected errors  New errors other than ErrAlreadyRunning, Release
//	                   errors, tampering that failed: must be 0
//	journal            "+" lines, and faults found in the journal: all 0
//	handoff p50/p99    from the holder's wall clock just before Release to
//	                   the wall clock when the next round's winner's New
//	                   returned. It includes the coordinator's turnaround:
//	                   the "released" report, and the "race" line to every
//	                   worker. Rounds after a kill have no handoff
//	acquire p50/p99    how long a successful New took, in the winner
//	result             PASS or FAIL
//
// A failed run keeps its journal and prints where.
//
// # Exit status
//
// 0 if the run passed: no overlap, a winner in every round, a recovery for
// every kill, and none of the faults above. 1 if it failed. 2 if it could
// not run (bad flags, a worker that crashed or hung).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	if isWorker() {
		os.Exit(workerMain())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := stress(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	// The flags' errors and the summary are printed already.
	if err != nil && !errors.Is(err, errFailed) && !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errUsage) {
		fmt.Fprintln(os.Stderr, "stress:", err)
	}
	os.Exit(exitCode(err))
}

// errFailed means the run showed a fault of the library.
var errFailed = errors.New("stress run failed")

// stress parses the flags, runs, and prints the summary to stdout.
func stress(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	res, err := run(ctx, cfg, stderr)
	if res != nil {
		res.print(stdout)
	}
	if err != nil {
		return err
	}
	if !res.OK() {
		return errFailed
	}
	return nil
}

// exitCode turns the result of a run, or of a worker, into an exit status.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errFailed):
		return 1
	default:
		return 2
	}
}

// Command stress is the reproducible proof of speed and safety of
// singleinstance: K real processes race for one lock name round after
// round, while winners are SIGKILLed, the files of held locks are deleted,
// replaced or garbled, winners run commands that leave background children
// holding the lock, and waiters queue while every file is deleted; a
// journal shared by all of them shows that no two acquisitions ever had
// live processes at once.
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
//	                files (default 0.2 on Linux, 0 elsewhere)
//	-tree-rate P    probability that a round is a tree round (default 0.2 on
//	                Linux; Linux only). A round is of one kind: the three
//	                rates add up to at most 1
//	-waiter-rate P  probability that a tamper or tree round queues waiters
//	                and then deletes every file (default 0.3 on Linux, 0
//	                elsewhere)
//	-waiters N      waiters such a round queues (default 2; at most K-2)
//	-wrapper-kill-rate P
//	                probability that a tree round deletes every file, then
//	                SIGKILLs the wrapper (default 0.5)
//	-v              a line per round on stderr, and the library's warnings
//	                from every process (and its debug lines from the
//	                coordinator: whom KillRunning signals)
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
// appends "-PID ROUND" and calls Release. Each round is one of four kinds:
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
//     it, deletes the .info and .pid files, overwrites them in place with
//     random bytes, or deletes all three files at once, as a temporary-file
//     cleaner does. Once every racer has an outcome, one more worker (the
//     intruder) calls New. All of them must be refused while the holder
//     runs, CheckRunning must still report the holder, and the holder must
//     finish its round normally.
//   - tree (Linux): the winner acts as a wrapper. Having journaled its "+",
//     it runs the tool's own binary as a command with
//     Instance.StartCommand; the command, which inherits the lock and the
//     name token as descriptors 3 and 4, starts a background child that
//     keeps them, and both journal ">PID WINNER ROUND" as they start. The
//     coordinator follows both through pidfds (and reaps them: it is their
//     subreaper). Then, 0 to 2 ms later, either:
//     the files are tampered with (in half of these rounds; any kind) and
//     an intruder must be refused; the wrapper is told to release, waits
//     for its command, which has exited (journaling "-PID ROUND"), and
//     calls Release, which closes its descriptors while the child keeps the
//     name held;
//     or (-wrapper-kill-rate) every file is deleted, the wrapper is
//     SIGKILLed, and the command, which waits to die with it, must be
//     killed by the kernel (parent-death signal): the coordinator proves
//     its death through its pidfd within 10 s and journals "!PID ROUND
//     TIME" with the wrapper's kill time.
//     Either way the child alone must now keep the name held: an intruder
//     must be refused, CheckRunning must report true, and Status must list
//     the child among the holding processes. Then the child ends, as the
//     seed says: told to exit (SIGUSR1 through its pidfd), or stopped by
//     KillRunning (SIGTERM), or by KillRunning with force (SIGKILL). A
//     child that is not killed journals "-PID ROUND" and exits; for a
//     SIGKILLed one the coordinator, having proven its exit, journals
//     "!PID ROUND TIME" with the time KillRunning was called. After a
//     tampering of the .info file the child is told to exit: KillRunning
//     refuses, by design, to signal on a damaged .info file.
//
// Waiters (-waiter-rate) join tamper and tree rounds: once the winner (or
// its tree) holds, -waiters idle workers call New with WithTimeout(30s),
// and the coordinator waits until New has announced, in each, that it
// waits (its debug log line); only then does it strike, always by
// deleting every file. When the holder and its whole tree have ended, the
// waiters take the lock one after another, each released as soon as it
// holds; none may win while a process of an earlier acquisition lives.
//
// The winner can report "locked" only once New has returned, having written
// its .info file: the kill and the tampering strike a holder that is fully
// set up, possibly before its "+" line, never inside New.
//
// Workers are no process of any tree once they have released: a worker
// that gets SIGTERM journals "~PID ROUND TIME", and one that dies of a
// signal the coordinator did not send (KillRunning with force is the only
// other sender) is counted and replaced. Both are faults.
//
// At the end the journal is checked. An acquisition lives from its "+" line
// until every process of it (its worker, and the command and child of a
// tree) is out, by its own "-" line or by a "!" line; a "+" line written
// while a process of another acquisition lives is an overlap, unless that
// process was killed before this New returned (its "!" line may come
// later). Tokens strictly increase, every round has a "+" line unless its
// winner was killed, every process that joined is out at the end, and no
// "~" line appears. The tool then checks that the lock is free and can be
// taken.
//
// # The summary
//
//	config             processes, rounds planned, seed, lock directory
//	rounds             rounds played (fewer if -duration or Ctrl-C stopped
//	                   the run), and how many had no winner: must be 0
//	wall time          from the first round's start to the last one's end
//	acquisitions       successful New calls by workers, and per second of
//	                   wall time
//	overlaps           acquisitions that began while a process of another
//	                   lived: must be 0. The largest of: the journal's
//	                   count, winners the coordinator saw win while a
//	                   process it had not yet let end lived (a holder not
//	                   told to release, a tree's child not told to end, a
//	                   command whose wrapper was not killed), and intruders
//	                   admitted
//	kills              winners SIGKILLed
//	recoveries         kills followed by a successful New (WithTimeout(0),
//	                   so at once): must equal kills. In parentheses, those
//	                   by a racer of the same round; "dead holders reported"
//	                   counts CheckRunning or Status reporting a killed
//	                   holder as running: must be 0
//	tamper rounds      rounds whose files were tampered with (tamper rounds
//	                   and tree rounds), by kind
//	tree rounds        tree rounds; wrappers SIGKILLed after every file was
//	                   deleted, their commands proven killed with them, and
//	                   those that survived (must be 0); how the children
//	                   ended, and those still running 10 s after (must be
//	                   0); workers outside the tree killed during
//	                   KillRunning (must be 0)
//	waiter rounds      rounds that queued waiters, waiters queued, and
//	                   acquisitions by waiters
//	intruders refused  intruders that got ErrAlreadyRunning, of those sent;
//	                   "holder missed" counts CheckRunning or Status saying
//	                   "not running", or Status not listing a tree's child,
//	                   while a holder ran: must be 0
//	lost signals       holders whose Lost channel had fired when they were
//	                   told to release (expected 0; counted, not a failure)
//	unexpected errors  New errors other than ErrAlreadyRunning (a waiter's
//	                   timeout included), Release errors, tampering that
//	                   failed, KillRunning failing to stop a tree: must be 0
//	journal            "+" lines, processes of trees (">" lines), and faults
//	                   found in the journal, SIGTERMs to workers ("~"
//	                   lines) among them: all 0
//	handoff p50/p99    from the holder's wall clock just before Release to
//	                   the wall clock when the next round's winner's New
//	                   returned. It includes the coordinator's turnaround:
//	                   the "released" report, and the "race" line to every
//	                   worker. Rounds after a kill, or after a tree with no
//	                   waiters, have no handoff
//	acquire p50/p99    how long a successful New took, in the winner (of a
//	                   race or an intruder; a waiter's New measures its wait)
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

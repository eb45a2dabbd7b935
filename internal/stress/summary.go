package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// A result is what a run counted. The fields marked "must be 0" and the
// equalities in OK decide the exit status.
type result struct {
	Procs        int
	Seed         uint64
	LockDir      string
	Planned      int    // -rounds
	Rounds       int    // rounds played
	StoppedEarly string // why fewer rounds than planned were played, or ""
	Wall         time.Duration

	Acquisitions        int // successful New calls by workers
	RoundsWithoutWinner int // must be 0
	SecondWinners       int // a racer won while the round's holder lived: must be 0

	Kills        int
	Recoveries   int // must equal Kills
	LateWinners  int // racers of a kill round that won after the kill
	DeadReported int // a killed holder reported as running: must be 0

	TamperRounds      int
	TamperByKind      [numTamperKinds]int
	IntrudersSent     int
	IntrudersRefused  int
	IntrudersAdmitted int // must be 0
	HolderMissed      int // CheckRunning false while the holder ran: must be 0
	LostSignals       int

	TreeRounds       int // rounds whose winner ran a command that left a background child
	WrapperKills     int // tree wrappers SIGKILLed after every file was deleted
	LockOnlyChildren int // of those, the rounds whose child kept the lock's descriptor only
	CommandsDied     int // their commands, proven dead (parent-death signal)
	CommandsSurvived int // commands still running treeDeadline after the wrapper's kill: must be 0
	ChildEnds        [numChildEnds]int
	ChildrenSurvived int // children still running treeDeadline after their end: must be 0
	InnocentKilled   int // workers outside every tree killed during KillRunning: must be 0

	WaiterRounds  int // rounds that queued waiters before deleting every file
	WaitersQueued int
	WaiterWins    int // acquisitions by waiters

	Unexpected int // errors other than ErrAlreadyRunning, release errors: must be 0
	Errors     []string

	Journal     *journalReport
	JournalKept string // where the journal of a failed run was kept

	handoffs []time.Duration
	acquires []time.Duration
}

// maxErrors bounds the unexpected errors a result keeps in words.
const maxErrors = 10

func (r *result) unexpected(format string, args ...any) {
	r.Unexpected++
	if len(r.Errors) < maxErrors {
		r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
	}
}

// Overlaps counts critical sections that began while another live holder's
// was open, in the journal or as the coordinator saw it.
func (r *result) Overlaps() int {
	n := r.SecondWinners + r.IntrudersAdmitted
	if r.Journal != nil {
		n = max(n, r.Journal.Overlaps)
	}
	return n
}

// OK reports whether the run proved what it should: no overlap, a winner
// in every round, every kill recovered from, and nothing unexpected.
func (r *result) OK() bool {
	return r.Overlaps() == 0 && r.RoundsWithoutWinner == 0 && r.Recoveries == r.Kills &&
		r.DeadReported == 0 && r.HolderMissed == 0 && r.Unexpected == 0 &&
		r.CommandsSurvived == 0 && r.ChildrenSurvived == 0 && r.InnocentKilled == 0 &&
		r.Journal != nil && r.Journal.OK()
}

// percentile returns the p-th percentile (0 < p <= 100, nearest rank) of
// ds, or 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// print writes the summary: one line per figure, "name: value".
func (r *result) print(w io.Writer) {
	line := func(name, format string, args ...any) {
		fmt.Fprintf(w, "%-20s %s\n", name+":", fmt.Sprintf(format, args...))
	}
	line("config", "%d processes, %d rounds planned, seed %d, lock dir %s", r.Procs, r.Planned, r.Seed, r.LockDir)
	rounds := fmt.Sprintf("%d", r.Rounds)
	if r.StoppedEarly != "" {
		rounds += " (stopped early: " + r.StoppedEarly + ")"
	}
	line("rounds", "%s, %d without a winner", rounds, r.RoundsWithoutWinner)
	secs := r.Wall.Seconds()
	line("wall time", "%v", r.Wall.Round(time.Millisecond))
	rate := 0.0
	if secs > 0 {
		rate = float64(r.Acquisitions) / secs
	}
	line("acquisitions", "%d (%.1f/s)", r.Acquisitions, rate)
	line("overlaps", "%d (journal %d, second winners %d, intruders admitted %d)",
		r.Overlaps(), r.journalOverlaps(), r.SecondWinners, r.IntrudersAdmitted)
	line("kills", "%d", r.Kills)
	line("recoveries", "%d (%d by a racer of the same round after the kill), dead holders reported %d",
		r.Recoveries, r.LateWinners, r.DeadReported)
	var kinds []string
	for k := range numTamperKinds {
		kinds = append(kinds, fmt.Sprintf("%v %d", k, r.TamperByKind[k]))
	}
	line("tamper rounds", "%d (%s)", r.TamperRounds, strings.Join(kinds, ", "))
	var ends []string
	for e := range numChildEnds {
		ends = append(ends, fmt.Sprintf("%v %d", e, r.ChildEnds[e]))
	}
	line("tree rounds", "%d (wrapper SIGKILLed after delete-all %d, with a child that kept the lock only %d, its command died with it %d, survived %d; child ended by %s, survived %d; workers outside the tree killed %d)",
		r.TreeRounds, r.WrapperKills, r.LockOnlyChildren, r.CommandsDied, r.CommandsSurvived, strings.Join(ends, ", "), r.ChildrenSurvived, r.InnocentKilled)
	line("waiter rounds", "%d (%d waiters queued while every file was deleted, %d acquired in turn)",
		r.WaiterRounds, r.WaitersQueued, r.WaiterWins)
	line("intruders refused", "%d of %d, holder missed by CheckRunning or Status %d", r.IntrudersRefused, r.IntrudersSent, r.HolderMissed)
	line("lost signals", "%d", r.LostSignals)
	line("unexpected errors", "%d", r.Unexpected)
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  %s\n", e)
	}
	if j := r.Journal; j != nil {
		line("journal", "%d entries, %d tree processes, %d token errors, %d unmatched, %d signalled, %d malformed, %d rounds missing",
			j.Entries, j.Joins, j.TokenErrors, j.Unmatched, j.Signalled, j.Malformed, len(j.MissingRound))
		for _, p := range j.Problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	if r.JournalKept != "" {
		line("journal kept", "%s", r.JournalKept)
	}
	line("handoff p50/p99", "%v / %v over %d handoffs (holder's clock just before Release -> next round's winner's New returned)",
		round(percentile(r.handoffs, 50)), round(percentile(r.handoffs, 99)), len(r.handoffs))
	line("acquire p50/p99", "%v / %v (a winner's New call, start to return)",
		round(percentile(r.acquires, 50)), round(percentile(r.acquires, 99)))
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	line("result", "%s", verdict)
}

func (r *result) journalOverlaps() int {
	if r.Journal == nil {
		return 0
	}
	return r.Journal.Overlaps
}

func round(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

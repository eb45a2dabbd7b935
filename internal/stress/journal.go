package main

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The journal is one file opened with O_APPEND by every process, so each
// line, written with a single write, lands whole and in the order the
// writes happened:
//
//	+PID ROUND TOKEN AT_NS   a worker's New returned at AT_NS: acquisition
//	                         (PID, ROUND) begins, with PID as its first process
//	>PID WINNER ROUND        PID, a process of the tree of acquisition
//	                         (WINNER, ROUND), writes this as it starts
//	-PID ROUND               PID's part in its acquisition ends: a worker
//	                         before it calls Release, a process of a tree
//	                         just before it exits
//	!PID ROUND KILL_NS       the coordinator killed PID (a worker, a tree's
//	                         command or child) at KILL_NS, and has since
//	                         proven it dead (reaped it, or seen its pidfd)
//	~PID ROUND AT_NS         a worker outside every tree got SIGTERM
//
// An acquisition lives from its "+" line until every process of it has
// ended: its worker, and every process of its tree (a command started
// with StartCommand, and a background child of the command that kept the
// lock's descriptors). A process of a tree joins before the worker that
// started it ends, so an acquisition never looks over while a process of
// it runs. A killed process may lack its "-" line, or even its "+" line.

func enterLine(pid, round int, token uint64, at int64) string {
	return fmt.Sprintf("+%d %d %d %d\n", pid, round, token, at)
}

func joinLine(pid, winner, round int) string { return fmt.Sprintf(">%d %d %d\n", pid, winner, round) }

func leaveLine(pid, round int) string { return fmt.Sprintf("-%d %d\n", pid, round) }

func killLine(pid, round int, at int64) string { return fmt.Sprintf("!%d %d %d\n", pid, round, at) }

func signalledLine(pid, round int, at int64) string {
	return fmt.Sprintf("~%d %d %d\n", pid, round, at)
}

// maxProblems bounds the problems a journalReport describes in words.
const maxProblems = 10

// A journalReport is what checkJournal found.
type journalReport struct {
	Entries      int   // "+" lines
	Joins        int   // ">" lines: processes of trees
	Overlaps     int   // "+" lines written while a process of another acquisition lived
	TokenErrors  int   // "+" lines whose token is not above the previous one
	Unmatched    int   // "-" lines of no live process, joins to no live acquisition, processes never out
	Signalled    int   // "~" lines: SIGTERM reached a worker outside every tree
	Malformed    int   // lines that do not parse
	MissingRound []int // rounds with neither a "+" nor a "!" line
	Problems     []string
}

// OK reports whether the journal shows no fault at all.
func (j *journalReport) OK() bool {
	return j.Overlaps == 0 && j.TokenErrors == 0 && j.Unmatched == 0 && j.Signalled == 0 &&
		j.Malformed == 0 && len(j.MissingRound) == 0
}

func (j *journalReport) problem(format string, args ...any) {
	if len(j.Problems) < maxProblems {
		j.Problems = append(j.Problems, fmt.Sprintf(format, args...))
	}
}

// holderKey names one process's part in one round: PIDs are reused in a
// long run, PID and round together are not.
type holderKey struct{ pid, round int }

type journalLine struct {
	op     byte // '+', '>', '-', '!' or '~'
	key    holderKey
	winner int // '>': the PID of the acquisition's worker
	token  uint64
	at     int64
	number int
	text   string
}

// An acquisition is one successful New and the processes of its tree.
type acquisition struct {
	enter   journalLine
	members []*member // the worker first
	open    int       // members not yet out
}

type member struct {
	key  holderKey
	line journalLine // its "+" or ">" line
	out  bool
}

// checkJournal reads a journal of rounds 1..rounds and checks that no two
// acquisitions ever had live processes at once: when a "+" line is
// written, every process of every earlier acquisition has written its "-"
// line, or was killed by the coordinator before that New returned. Tokens
// must strictly increase, and every round must have a "+" line unless its
// winner was killed.
func checkJournal(r io.Reader, rounds int) (*journalReport, error) {
	var lines []journalLine
	rep := &journalReport{}
	kills := make(map[holderKey]int64)
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		l, ok := parseJournalLine(sc.Text())
		if !ok {
			rep.Malformed++
			rep.problem("line %d: malformed %q", n, sc.Text())
			continue
		}
		l.number = n
		if l.op == '!' {
			kills[l.key] = l.at
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}

	var inside []*acquisition // acquisitions with a process not yet out, oldest first
	acqs := make(map[holderKey]*acquisition)
	members := make(map[holderKey]*member) // by the process's own key
	owner := make(map[*member]*acquisition)
	leave := func(m *member) {
		if m.out {
			return
		}
		m.out = true
		a := owner[m]
		if a.open--; a.open == 0 {
			for i, in := range inside {
				if in == a {
					inside = append(inside[:i], inside[i+1:]...)
					break
				}
			}
		}
	}
	seen := make(map[int]bool)
	var lastToken uint64
	for _, l := range lines {
		switch l.op {
		case '+':
			// A process killed before this New returned is no overlap.
			for _, in := range append([]*acquisition(nil), inside...) {
				for _, m := range in.members {
					if killedAt, ok := kills[m.key]; ok && !m.out && l.at > killedAt {
						leave(m)
					}
				}
			}
			if len(inside) > 0 {
				a := inside[0]
				var live *member
				for _, m := range a.members {
					if !m.out {
						live = m
						break
					}
				}
				rep.Overlaps++
				rep.problem("line %d: %q entered while pid %d (line %d) of the acquisition of pid %d in round %d (line %d) was alive",
					l.number, l.text, live.key.pid, live.line.number, a.enter.key.pid, a.enter.key.round, a.enter.number)
			}
			if rep.Entries > 0 && l.token <= lastToken {
				rep.TokenErrors++
				rep.problem("line %d: token %d not above the previous %d", l.number, l.token, lastToken)
			}
			lastToken = l.token
			rep.Entries++
			seen[l.key.round] = true
			a := &acquisition{enter: l}
			acqs[l.key] = a
			inside = append(inside, a)
			join(a, l, members, owner)
		case '>':
			rep.Joins++
			a := acqs[holderKey{pid: l.winner, round: l.key.round}]
			if a == nil || a.open == 0 {
				rep.Unmatched++
				rep.problem("line %d: %q joined an acquisition that is not alive", l.number, l.text)
				continue
			}
			join(a, l, members, owner)
		case '-', '!':
			m := members[l.key]
			if l.op == '!' {
				seen[l.key.round] = true // its winner may have died before "+"
			}
			switch {
			case m != nil && !m.out:
				leave(m)
			case l.op == '-':
				rep.Unmatched++
				rep.problem("line %d: %q left, but it was not inside", l.number, l.text)
			}
		case '~':
			rep.Signalled++
			rep.problem("line %d: %q: a worker outside every tree got SIGTERM", l.number, l.text)
		}
	}
	for _, a := range inside {
		for _, m := range a.members {
			if _, killed := kills[m.key]; !killed && !m.out {
				rep.Unmatched++
				rep.problem("line %d: %q never left", m.line.number, m.line.text)
			}
		}
	}
	for round := 1; round <= rounds; round++ {
		if !seen[round] {
			rep.MissingRound = append(rep.MissingRound, round)
			rep.problem("round %d: no holder entered", round)
		}
	}
	return rep, nil
}

// join adds the process of l to a.
func join(a *acquisition, l journalLine, members map[holderKey]*member, owner map[*member]*acquisition) {
	m := &member{key: l.key, line: l}
	a.members = append(a.members, m)
	a.open++
	members[l.key] = m
	owner[m] = a
}

func parseJournalLine(s string) (journalLine, bool) {
	l := journalLine{text: s}
	if s == "" {
		return l, false
	}
	l.op = s[0]
	f := strings.Fields(s[1:])
	want := map[byte]int{'+': 4, '>': 3, '-': 2, '!': 3, '~': 3}[l.op]
	if want == 0 || len(f) != want {
		return l, false
	}
	var nums [4]uint64
	for i, field := range f {
		n, err := strconv.ParseUint(field, 10, 64)
		if err != nil {
			return l, false
		}
		nums[i] = n
	}
	l.key = holderKey{pid: int(nums[0]), round: int(nums[1])}
	switch l.op {
	case '+':
		l.token, l.at = nums[2], int64(nums[3])
	case '>':
		l.winner = int(nums[1])
		l.key.round = int(nums[2])
	case '!', '~':
		l.at = int64(nums[2])
	}
	return l, true
}

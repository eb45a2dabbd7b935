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
//	+PID ROUND TOKEN AT_NS   a holder entered its critical section; AT_NS is
//	                         when its New returned
//	-PID ROUND               it left, before calling Release
//	!PID ROUND KILL_NS       the coordinator SIGKILLed PID, the first
//	                         winner of ROUND, at KILL_NS, and has reaped it
//
// A killed holder may lack its "-" line, or even its "+" line.

func enterLine(pid, round int, token uint64, at int64) string {
	return fmt.Sprintf("+%d %d %d %d\n", pid, round, token, at)
}

func leaveLine(pid, round int) string { return fmt.Sprintf("-%d %d\n", pid, round) }

func killLine(pid, round int, at int64) string { return fmt.Sprintf("!%d %d %d\n", pid, round, at) }

// maxProblems bounds the problems a journalReport describes in words.
const maxProblems = 10

// A journalReport is what checkJournal found.
type journalReport struct {
	Entries      int   // "+" lines
	Overlaps     int   // "+" lines written while another live holder was inside
	TokenErrors  int   // "+" lines whose token is not above the previous one
	Unmatched    int   // "-" lines of no holder inside, and holders never out
	Malformed    int   // lines that do not parse
	MissingRound []int // rounds with neither a "+" nor a "!" line
	Problems     []string
}

// OK reports whether the journal shows no fault at all.
func (j *journalReport) OK() bool {
	return j.Overlaps == 0 && j.TokenErrors == 0 && j.Unmatched == 0 && j.Malformed == 0 && len(j.MissingRound) == 0
}

func (j *journalReport) problem(format string, args ...any) {
	if len(j.Problems) < maxProblems {
		j.Problems = append(j.Problems, fmt.Sprintf(format, args...))
	}
}

// holderKey names one holding: PIDs are reused in a long run, PID and round
// together are not.
type holderKey struct{ pid, round int }

type journalLine struct {
	op     byte // '+', '-' or '!'
	key    holderKey
	token  uint64
	at     int64
	number int
	text   string
}

// checkJournal reads a journal of rounds 1..rounds and checks that
// critical sections never overlap: "+" and "-" lines alternate strictly,
// except that a holder killed by the coordinator may lack its "-", and then
// the next "+" must come from a New that returned after the kill. Tokens
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

	var inside []journalLine // "+" lines of holders not yet out, oldest first
	seen := make(map[int]bool)
	var lastToken uint64
	for _, l := range lines {
		switch l.op {
		case '+':
			live := inside[:0]
			for _, in := range inside {
				if killedAt, ok := kills[in.key]; ok && l.at > killedAt {
					continue // dead before this New returned: no overlap
				}
				live = append(live, in)
			}
			inside = live
			if len(inside) > 0 {
				rep.Overlaps++
				rep.problem("line %d: %q entered while pid %d (round %d, line %d) was inside",
					l.number, l.text, inside[0].key.pid, inside[0].key.round, inside[0].number)
			}
			if rep.Entries > 0 && l.token <= lastToken {
				rep.TokenErrors++
				rep.problem("line %d: token %d not above the previous %d", l.number, l.token, lastToken)
			}
			lastToken = l.token
			rep.Entries++
			seen[l.key.round] = true
			inside = append(inside, l)
		case '-', '!':
			found := false
			for i, in := range inside {
				if in.key == l.key {
					inside = append(inside[:i], inside[i+1:]...)
					found = true
					break
				}
			}
			if l.op == '!' {
				seen[l.key.round] = true // its winner may have died before "+"
			} else if !found {
				rep.Unmatched++
				rep.problem("line %d: %q left, but it was not inside", l.number, l.text)
			}
		}
	}
	for _, in := range inside {
		if _, killed := kills[in.key]; !killed {
			rep.Unmatched++
			rep.problem("line %d: %q never left", in.number, in.text)
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

func parseJournalLine(s string) (journalLine, bool) {
	l := journalLine{text: s}
	if s == "" {
		return l, false
	}
	l.op = s[0]
	f := strings.Fields(s[1:])
	want := map[byte]int{'+': 4, '-': 2, '!': 3}[l.op]
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
	case '!':
		l.at = int64(nums[2])
	}
	return l, true
}

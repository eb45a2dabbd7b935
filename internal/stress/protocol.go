package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The coordinator and each worker talk through the worker's stdin and
// stdout, one line per message. Times are wall-clock Unix nanoseconds, so
// that stamps taken in different processes can be compared.
//
//	coordinator → worker       worker → coordinator
//	race ROUND WORK_US         ready PID                         once, at start
//	release ROUND              refused ROUND                     New said ErrAlreadyRunning
//	                           error ROUND "MESSAGE"             New failed otherwise
//	                           locked ROUND RETURNED_NS TOOK_NS  New succeeded
//	                           entered ROUND                     the "+" journal line is written
//	                           released ROUND AT_NS LOST "ERR"   AT_NS: just before Release
//
// A worker that wins holds the lock until it reads "release ROUND".

// Kinds of worker reports.
const (
	repReady    = "ready"
	repRefused  = "refused"
	repError    = "error"
	repLocked   = "locked"
	repEntered  = "entered"
	repReleased = "released"
)

// A report is one parsed line from a worker.
type report struct {
	kind  string
	round int
	pid   int           // ready
	at    int64         // locked: when New returned; released: just before Release
	took  time.Duration // locked: how long New took
	lost  bool          // released: the Lost channel had fired
	text  string        // error: New's error; released: Release's error, or ""
}

func (r report) String() string {
	switch r.kind {
	case repReady:
		return fmt.Sprintf("%s %d", r.kind, r.pid)
	case repError:
		return fmt.Sprintf("%s %d %s", r.kind, r.round, strconv.Quote(r.text))
	case repLocked:
		return fmt.Sprintf("%s %d %d %d", r.kind, r.round, r.at, int64(r.took))
	case repReleased:
		lost := 0
		if r.lost {
			lost = 1
		}
		return fmt.Sprintf("%s %d %d %d %s", r.kind, r.round, r.at, lost, strconv.Quote(r.text))
	}
	return fmt.Sprintf("%s %d", r.kind, r.round)
}

// parseReport parses a worker's line.
func parseReport(line string) (report, error) {
	bad := func() (report, error) { return report{}, fmt.Errorf("bad worker report %q", line) }
	kind, rest, _ := strings.Cut(line, " ")
	r := report{kind: kind}
	var nums []int64
	switch kind {
	case repReady, repRefused, repEntered:
		nums = make([]int64, 1)
	case repLocked:
		nums = make([]int64, 3)
	case repError:
		nums = make([]int64, 1)
	case repReleased:
		nums = make([]int64, 3)
	default:
		return bad()
	}
	for i := range nums {
		var field string
		field, rest, _ = strings.Cut(rest, " ")
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return bad()
		}
		nums[i] = n
	}
	if kind == repError || kind == repReleased {
		text, err := strconv.Unquote(rest)
		if err != nil {
			return bad()
		}
		r.text = text
	} else if rest != "" {
		return bad()
	}
	switch kind {
	case repReady:
		r.pid = int(nums[0])
	case repLocked:
		r.round, r.at, r.took = int(nums[0]), nums[1], time.Duration(nums[2])
	case repReleased:
		r.round, r.at, r.lost = int(nums[0]), nums[1], nums[2] == 1
	default:
		r.round = int(nums[0])
	}
	return r, nil
}

// Commands from the coordinator.
const (
	cmdRace    = "race"
	cmdRelease = "release"
)

// A command is one parsed line to a worker.
type command struct {
	kind  string
	round int
	work  time.Duration // race: how long a winner works before it waits for release
}

func (c command) String() string {
	if c.kind == cmdRace {
		return fmt.Sprintf("%s %d %d", c.kind, c.round, c.work.Microseconds())
	}
	return fmt.Sprintf("%s %d", c.kind, c.round)
}

// parseCommand parses a coordinator's line.
func parseCommand(line string) (command, error) {
	f := strings.Fields(line)
	bad := fmt.Errorf("bad command %q", line)
	if len(f) < 2 {
		return command{}, bad
	}
	round, err := strconv.Atoi(f[1])
	if err != nil {
		return command{}, bad
	}
	c := command{kind: f[0], round: round}
	switch {
	case c.kind == cmdRace && len(f) == 3:
		us, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || us < 0 {
			return command{}, bad
		}
		c.work = time.Duration(us) * time.Microsecond
	case c.kind == cmdRelease && len(f) == 2:
	default:
		return command{}, bad
	}
	return c, nil
}

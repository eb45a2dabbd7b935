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
//	race ROUND WORK_US TREE    ready PID                         once, at start
//	wait ROUND TIMEOUT_MS      queued ROUND                      a waiter is inside New's wait
//	release ROUND              refused ROUND                     New said ErrAlreadyRunning
//	                           error ROUND "MESSAGE"             New failed otherwise
//	                           locked ROUND RETURNED_NS TOOK_NS  New succeeded
//	                           tree ROUND CMD_PID CHILD_PID      a tree winner started its command
//	                           entered ROUND                     the "+" journal line is written
//	                           released ROUND AT_NS LOST "ERR"   AT_NS: just before Release
//
// A worker that wins holds the lock until it reads "release ROUND". "race"
// tries once (WithTimeout(0)); "wait" waits up to TIMEOUT_MS. TREE says
// what a winner of the race does (see treeMode); a tree winner reports
// "tree" before "entered".

// Kinds of worker reports.
const (
	repReady    = "ready"
	repQueued   = "queued"
	repTree     = "tree"
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
	pid   int           // ready; tree: the command
	child int           // tree: the command's background child
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
	case repTree:
		return fmt.Sprintf("%s %d %d %d", r.kind, r.round, r.pid, r.child)
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
	case repReady, repRefused, repEntered, repQueued:
		nums = make([]int64, 1)
	case repLocked, repTree:
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
	case repTree:
		r.round, r.pid, r.child = int(nums[0]), int(nums[1]), int(nums[2])
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
	cmdWait    = "wait"
	cmdRelease = "release"
)

// A treeMode says what the winner of a race does once it holds the lock.
type treeMode int

const (
	noTree            treeMode = iota // hold, as in every round but tree rounds
	treeExits                         // start a command that starts a background child and exits
	treeStays                         // the same, but the command stays until its wrapper dies
	treeStaysLockOnly                 // the same, and the child keeps the lock's descriptor but closes the name token's
	numTreeModes
)

// A command is one parsed line to a worker.
type command struct {
	kind    string
	round   int
	work    time.Duration // race: how long a winner works before it waits for release
	tree    treeMode      // race: what a winner does
	timeout time.Duration // wait: New's WithTimeout
}

func (c command) String() string {
	switch c.kind {
	case cmdRace:
		return fmt.Sprintf("%s %d %d %d", c.kind, c.round, c.work.Microseconds(), c.tree)
	case cmdWait:
		return fmt.Sprintf("%s %d %d", c.kind, c.round, c.timeout.Milliseconds())
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
	var nums []int64
	for _, field := range f[2:] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil || n < 0 {
			return command{}, bad
		}
		nums = append(nums, n)
	}
	c := command{kind: f[0], round: round}
	switch {
	case c.kind == cmdRace && len(nums) == 2 && nums[1] < int64(numTreeModes):
		c.work = time.Duration(nums[0]) * time.Microsecond
		c.tree = treeMode(nums[1])
	case c.kind == cmdWait && len(nums) == 1 && nums[0] > 0:
		c.timeout = time.Duration(nums[0]) * time.Millisecond
	case c.kind == cmdRelease && len(nums) == 0:
	default:
		return command{}, bad
	}
	return c, nil
}

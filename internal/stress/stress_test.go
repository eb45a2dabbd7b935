package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// run re-executes os.Executable, the test binary here: its workers
	// land in this TestMain.
	if isWorker() {
		os.Exit(workerMain())
	}
	goleak.VerifyTestMain(m)
}

// TestStress plays a short run in-process, with real worker processes: no
// overlap, a winner in every round, a recovery for every kill; on Linux,
// tree rounds (the wrapper released or SIGKILLed, the child ended each way)
// and waiters queued while every file is deleted.
func TestStress(t *testing.T) {
	// Seed 5 plays kills, every kind of tampering, every move of tree
	// rounds, and waiter rounds (tamper and tree) in 50 rounds. Longer runs
	// (CI's soak step with SINGLEINSTANCE_SOAK=1, 1,000 rounds; README's figures) also stop trees with KillRunning
	// while waiters queue.
	cfg := config{procs: 8, rounds: 50, seed: 5, killRate: 0.15, tamperRate: defaultTamperRate(),
		treeRate: defaultTreeRate(), waiterRate: defaultWaiterRate(), waiters: 2, wrapperKillRate: 0.5}
	if os.Getenv("SINGLEINSTANCE_SOAK") == "1" {
		cfg.rounds = 1000
	}
	res, err := run(t.Context(), cfg, io.Discard)
	if res != nil {
		var sum strings.Builder
		res.print(&sum)
		t.Logf("summary:\n%s", sum.String())
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if n := res.Overlaps(); n != 0 {
		t.Errorf("%d overlaps", n)
	}
	if res.Rounds != cfg.rounds || res.RoundsWithoutWinner != 0 {
		t.Errorf("%d rounds played, %d without a winner; want %d, 0", res.Rounds, res.RoundsWithoutWinner, cfg.rounds)
	}
	if res.Kills == 0 || res.Recoveries != res.Kills {
		t.Errorf("%d kills, %d recoveries; want some kills, each recovered", res.Kills, res.Recoveries)
	}
	if cfg.tamperRate > 0 {
		if res.IntrudersRefused != res.IntrudersSent || res.IntrudersSent < res.TamperRounds {
			t.Errorf("%d tamper rounds, %d intruders sent, %d refused; want all refused", res.TamperRounds, res.IntrudersSent, res.IntrudersRefused)
		}
		for k, n := range res.TamperByKind {
			if n == 0 {
				t.Errorf("no %v round: seed %d should play every kind", tamperKind(k), cfg.seed)
			}
		}
	}
	if cfg.treeRate > 0 {
		if res.WrapperKills == 0 || res.CommandsDied != res.WrapperKills {
			t.Errorf("%d wrappers SIGKILLed, %d commands died with them; want some, all", res.WrapperKills, res.CommandsDied)
		}
		if res.LockOnlyChildren == 0 || res.LockOnlyChildren == res.WrapperKills {
			t.Errorf("%d of %d killed wrappers had a child that kept the lock only; want some, not all: seed %d should play both",
				res.LockOnlyChildren, res.WrapperKills, cfg.seed)
		}
		for e, n := range res.ChildEnds {
			if n == 0 {
				t.Errorf("no child ended by %v: seed %d should play every end", childEnd(e), cfg.seed)
			}
		}
		if res.Journal == nil || res.Journal.Joins != 2*res.TreeRounds {
			t.Errorf("%d tree rounds, journal %+v; want a command and a child joined in each", res.TreeRounds, res.Journal)
		}
	}
	if cfg.waiterRate > 0 && (res.WaiterRounds == 0 || res.WaiterWins != res.WaitersQueued) {
		t.Errorf("%d waiter rounds, %d waiters queued, %d acquired; want some, all", res.WaiterRounds, res.WaitersQueued, res.WaiterWins)
	}
	if !res.OK() {
		t.Errorf("run failed: see the summary")
	}
}

func TestCheckJournal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		journal string
		rounds  int
		check   func(*journalReport) bool
	}{
		{"clean", "+10 1 5 100\n-10 1\n+11 2 6 200\n-11 2\n", 2,
			func(j *journalReport) bool { return j.OK() && j.Entries == 2 }},
		{"overlap", "+10 1 5 100\n+11 1 6 200\n-11 1\n-10 1\n", 1,
			func(j *journalReport) bool { return j.Overlaps == 1 && j.Unmatched == 0 }},
		{"killed holder without its leave line", "+10 1 5 100\n!10 1 150\n+11 2 6 200\n-11 2\n", 2,
			func(j *journalReport) bool { return j.OK() }},
		{"late winner after the kill, kill journaled later", "+10 1 5 100\n+11 1 6 200\n!10 1 150\n-11 1\n", 1,
			func(j *journalReport) bool { return j.OK() }},
		{"winner whose New returned before the kill", "+10 1 5 100\n+11 1 6 140\n!10 1 150\n-11 1\n", 1,
			func(j *journalReport) bool { return j.Overlaps == 1 }},
		{"killed before its enter line", "!10 1 150\n+11 2 6 200\n-11 2\n", 2,
			func(j *journalReport) bool { return j.OK() }},
		{"token not increasing", "+10 1 5 100\n-10 1\n+11 2 5 200\n-11 2\n", 2,
			func(j *journalReport) bool { return j.TokenErrors == 1 }},
		{"leave without enter", "-10 1\n", 1,
			func(j *journalReport) bool { return j.Unmatched == 1 && len(j.MissingRound) == 1 }},
		{"never left", "+10 1 5 100\n", 1,
			func(j *journalReport) bool { return j.Unmatched == 1 }},
		{"missing round", "+10 1 5 100\n-10 1\n", 2,
			func(j *journalReport) bool { return len(j.MissingRound) == 1 && j.MissingRound[0] == 2 }},
		{"malformed", "+10 1 5\n?\n>1 2\n~1 2\n", 0,
			func(j *journalReport) bool { return j.Malformed == 4 }},

		// Trees: an acquisition lives until its last process is out.
		{"tree: child outlives the wrapper, next enters after it",
			"+10 1 5 100\n>20 10 1\n>21 10 1\n-20 1\n-10 1\n-21 1\n+11 2 6 200\n-11 2\n", 2,
			func(j *journalReport) bool { return j.OK() && j.Joins == 2 }},
		{"tree: waiter enters while the child lives (synthetic overlap)",
			"+10 1 5 100\n>20 10 1\n>21 10 1\n-20 1\n-10 1\n+11 1 6 200\n-11 1\n-21 1\n", 1,
			func(j *journalReport) bool {
				return j.Overlaps == 1 && j.Unmatched == 0 && strings.Contains(j.Problems[0], "pid 21")
			}},
		{"tree: wrapper and command killed, intruder enters while the child lives",
			"+10 1 5 100\n>20 10 1\n>21 10 1\n!10 1 150\n!20 1 150\n+11 1 6 200\n-11 1\n-21 1\n", 1,
			func(j *journalReport) bool { return j.Overlaps == 1 }},
		{"tree: wrapper and command killed, next enters after the child",
			"+10 1 5 100\n>20 10 1\n>21 10 1\n!10 1 150\n!20 1 150\n-21 1\n+11 2 6 200\n-11 2\n", 2,
			func(j *journalReport) bool { return j.OK() }},
		{"tree: child SIGKILLed by KillRunning before the waiter's New returned, journaled later",
			"+10 1 5 100\n>21 10 1\n-10 1\n+11 1 6 300\n!21 1 250\n-11 1\n", 1,
			func(j *journalReport) bool { return j.OK() }},
		{"tree: waiter's New returned before the child's kill",
			"+10 1 5 100\n>21 10 1\n-10 1\n+11 1 6 200\n!21 1 250\n-11 1\n", 1,
			func(j *journalReport) bool { return j.Overlaps == 1 }},
		{"tree: the wrapper killed, the command not yet proven dead",
			"+10 1 5 100\n>20 10 1\n>21 10 1\n!10 1 150\n-21 1\n+11 1 6 200\n!20 1 150\n-11 1\n", 1,
			func(j *journalReport) bool { return j.OK() }},
		{"tree: command survives, next enters",
			"+10 1 5 100\n>20 10 1\n-10 1\n+11 2 6 200\n-11 2\n-20 1\n", 2,
			func(j *journalReport) bool { return j.Overlaps == 1 }},
		{"tree: join to an acquisition that ended",
			"+10 1 5 100\n-10 1\n>20 10 1\n-20 1\n", 1,
			func(j *journalReport) bool { return j.Unmatched == 2 && j.Overlaps == 0 }},
		{"tree: a process never left",
			"+10 1 5 100\n>20 10 1\n-10 1\n", 1,
			func(j *journalReport) bool { return j.Unmatched == 1 }},
		{"a worker outside every tree got SIGTERM",
			"+10 1 5 100\n~30 1 120\n-10 1\n", 1,
			func(j *journalReport) bool { return j.Signalled == 1 && !j.OK() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j, err := checkJournal(strings.NewReader(tt.journal), tt.rounds)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(j) {
				t.Errorf("unexpected report %+v", j)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"-procs", "32", "-rounds", "10000", "-duration", "1m", "-seed", "7", "-v"}, true},
		{[]string{"-kill-rate", "1", "-tamper-rate", "0", "-tree-rate", "0"}, true},
		{[]string{"-waiter-rate", "1", "-waiters", "5", "-wrapper-kill-rate", "0"}, true},
		{[]string{"-tree-rate", "1.5"}, false},
		{[]string{"-waiter-rate", "-1"}, false},
		{[]string{"-waiters", "0"}, false},
		{[]string{"-wrapper-kill-rate", "2"}, false},
		{[]string{"-kill-rate", "0.4", "-tamper-rate", "0.4", "-tree-rate", "0.4"}, false},
		{[]string{"-procs", "1"}, false},
		{[]string{"-rounds", "0"}, false},
		{[]string{"-duration", "-1s"}, false},
		{[]string{"-kill-rate", "1.5"}, false},
		{[]string{"-tamper-rate", "-0.1"}, false},
		{[]string{"-kill-rate", "0.6", "-tamper-rate", "0.6"}, false},
		{[]string{"extra"}, false},
		{[]string{"-nosuchflag"}, false},
	}
	for _, tt := range tests {
		c, err := parseFlags(tt.args, io.Discard)
		if ok := err == nil; ok != tt.ok {
			t.Errorf("parseFlags(%q) = %+v, %v; want ok %v", tt.args, c, err, tt.ok)
		}
		if err != nil && !errors.Is(err, errUsage) {
			t.Errorf("parseFlags(%q): %v does not match errUsage", tt.args, err)
		}
		if exitCode(err) != map[bool]int{true: 0, false: 2}[tt.ok] {
			t.Errorf("parseFlags(%q): exit code %d", tt.args, exitCode(err))
		}
	}
	c, err := parseFlags([]string{"-lockdir", "rel"}, io.Discard)
	if err != nil || !filepath.IsAbs(c.lockDir) || filepath.Base(c.lockDir) != "rel" {
		t.Errorf("-lockdir rel: %q, %v; want an absolute path", c.lockDir, err)
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) || exitCode(err) != 0 {
		t.Errorf("-h: %v", err)
	}
}

func TestProtocolRoundTrip(t *testing.T) {
	t.Parallel()
	reports := []report{
		{kind: repReady, pid: 42},
		{kind: repQueued, round: 3},
		{kind: repTree, round: 3, pid: 43, child: 44},
		{kind: repRefused, round: 3},
		{kind: repError, round: 3, text: `disk "full"` + "\nline"},
		{kind: repLocked, round: 4, at: 1_700_000_000_123_456_789, took: 1234 * time.Microsecond},
		{kind: repEntered, round: 4},
		{kind: repReleased, round: 4, at: 1_700_000_000_223_456_789, lost: true, text: ""},
		{kind: repReleased, round: 5, at: 9, text: "release failed: x y"},
	}
	for _, r := range reports {
		line := r.String()
		if strings.Contains(line, "\n") {
			t.Errorf("%+v: line %q has a newline", r, line)
		}
		got, err := parseReport(line)
		if err != nil || got != r {
			t.Errorf("parseReport(%q) = %+v, %v; want %+v", line, got, err, r)
		}
	}
	for _, bad := range []string{"", "locked", "locked 1 2", "ready x", "refused 1 2", "error 1 unquoted", "hello 1", "tree 1 2", "queued"} {
		if _, err := parseReport(bad); err == nil {
			t.Errorf("parseReport(%q) succeeded", bad)
		}
	}
	commands := []command{{kind: cmdRace, round: 1, work: 1500 * time.Microsecond}, {kind: cmdRace, round: 2},
		{kind: cmdRace, round: 3, work: time.Millisecond, tree: treeStays},
		{kind: cmdRace, round: 4, work: time.Millisecond, tree: treeStaysLockOnly}, {kind: cmdWait, round: 3, timeout: 30 * time.Second},
		{kind: cmdRelease, round: 2}}
	for _, c := range commands {
		got, err := parseCommand(c.String())
		if err != nil || got != c {
			t.Errorf("parseCommand(%q) = %+v, %v; want %+v", c.String(), got, err, c)
		}
	}
	for _, bad := range []string{"", "race", "race 1", "race x 1", "race 1 1500", "race 1 1500 4", "race 1 -1 0",
		"wait 1", "wait 1 0", "release 1 2", "go 1"} {
		if _, err := parseCommand(bad); err == nil {
			t.Errorf("parseCommand(%q) succeeded", bad)
		}
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentile(ds, tt.p); got != tt.want {
			t.Errorf("percentile(1..100, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile(nil) = %v", got)
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("percentile([7], 99) = %v", got)
	}
}

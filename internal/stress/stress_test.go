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
// overlap, a winner in every round, a recovery for every kill.
func TestStress(t *testing.T) {
	// Seed 4 plays kills and every kind of tampering in 40 rounds; the soak
	// run (SINGLEINSTANCE_SOAK=1) plays 1,000.
	cfg := config{procs: 8, rounds: 40, seed: 4, killRate: 0.2, tamperRate: defaultTamperRate()}
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
		if res.IntrudersRefused != res.TamperRounds {
			t.Errorf("%d tamper rounds, %d intruders refused; want all refused", res.TamperRounds, res.IntrudersRefused)
		}
		for k, n := range res.TamperByKind {
			if n == 0 {
				t.Errorf("no %v round: seed %d should play every kind", tamperKind(k), cfg.seed)
			}
		}
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
		{"malformed", "+10 1 5\n?\n", 0,
			func(j *journalReport) bool { return j.Malformed == 2 }},
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
		{[]string{"-kill-rate", "1", "-tamper-rate", "0"}, true},
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
	for _, bad := range []string{"", "locked", "locked 1 2", "ready x", "refused 1 2", "error 1 unquoted", "hello 1"} {
		if _, err := parseReport(bad); err == nil {
			t.Errorf("parseReport(%q) succeeded", bad)
		}
	}
	commands := []command{{kind: cmdRace, round: 1, work: 1500 * time.Microsecond}, {kind: cmdRace, round: 2}, {kind: cmdRelease, round: 2}}
	for _, c := range commands {
		got, err := parseCommand(c.String())
		if err != nil || got != c {
			t.Errorf("parseCommand(%q) = %+v, %v; want %+v", c.String(), got, err, c)
		}
	}
	for _, bad := range []string{"", "race", "race 1", "race x 1", "release 1 2", "go 1"} {
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

//go:build unix

package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// raceIterations is how many times TestRunRaceOneWinner starts two copies.
const raceIterations = 30

// raceDeadline bounds one iteration; a passing one takes milliseconds.
const raceDeadline = 30 * time.Second

// raceCommand is what each copy guards: it appends one line to $JOURNAL,
// then keeps the lock until $RELEASE exists (at most about 30s, should the
// test be gone). The test creates $RELEASE only after one copy has exited,
// so the loser cannot be late enough to find the lock free.
const raceCommand = `echo "$ITERATION $$" >> "$JOURNAL"
i=0
while [ ! -e "$RELEASE" ] && [ "$i" -lt 3000 ]; do i=$((i + 1)); sleep 0.01; done`

type raceResult struct {
	copy   int
	err    error
	stderr string
}

// TestRunRaceOneWinner starts two copies of "singleinstance run app" at
// the same time, again and again: exactly one runs its command, and the
// other exits 1 reporting the conflict.
func TestRunRaceOneWinner(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	lockDir := filepath.Join(dir, "locks")
	journal := filepath.Join(dir, "journal")

	for i := range raceIterations {
		release := filepath.Join(dir, fmt.Sprintf("release-%d", i))
		// On failure, let the guarded commands that outlive their killed
		// wrappers end.
		t.Cleanup(func() { os.WriteFile(release, nil, 0o666) })
		ctx, cancel := context.WithTimeout(t.Context(), raceDeadline)
		results := make(chan raceResult, 2)
		for c := range 2 {
			cmd := exec.CommandContext(ctx, exe, "run", "app", "--", "sh", "-c", raceCommand)
			cmd.Env = append(os.Environ(),
				cliEnv+"=1",
				"GORACE="+goRace(),
				"SINGLEINSTANCE_LOCK_DIR="+lockDir,
				"JOURNAL="+journal,
				"RELEASE="+release,
				fmt.Sprintf("ITERATION=%d", i))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				cancel()
				t.Fatalf("iteration %d: start copy %d: %v", i, c, err)
			}
			go func() {
				err := cmd.Wait()
				results <- raceResult{c, err, stderr.String()}
			}()
		}

		first := awaitCopy(t, ctx, i, results, journal)
		if code := exitCode(first.err); code != exitNo || !strings.Contains(first.stderr, "already running") {
			cancel()
			t.Fatalf("iteration %d: copy %d exited first with code %d (%v), want 1 and a conflict report; stderr:\n%s",
				i, first.copy, code, first.err, first.stderr)
		}
		t.Logf("iteration %d: copy %d refused", i, first.copy)
		if err := os.WriteFile(release, nil, 0o666); err != nil {
			cancel()
			t.Fatal(err)
		}
		second := awaitCopy(t, ctx, i, results, journal)
		cancel()
		if second.err != nil {
			t.Fatalf("iteration %d: copy %d (the one that ran) failed: %v; stderr:\n%s", i, second.copy, second.err, second.stderr)
		}

		if n := journalLines(t, journal, i); n != 1 {
			t.Fatalf("iteration %d: %d copies ran their command, want exactly 1; journal:\n%s", i, n, readJournal(t, journal))
		}
	}
}

// awaitCopy returns the next copy to exit, failing the test if none does
// before ctx ends.
func awaitCopy(t *testing.T, ctx context.Context, i int, results <-chan raceResult, journal string) raceResult {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-ctx.Done():
		t.Fatalf("iteration %d: no copy exited within %s (did both take the lock?); journal:\n%s",
			i, raceDeadline, readJournal(t, journal))
		panic("unreachable")
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func readJournal(t *testing.T, journal string) string {
	t.Helper()
	data, err := os.ReadFile(journal)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

// journalLines counts the lines that iteration i appended.
func journalLines(t *testing.T, journal string, i int) int {
	t.Helper()
	n := 0
	for line := range strings.Lines(readJournal(t, journal)) {
		if strings.HasPrefix(line, fmt.Sprintf("%d ", i)) {
			n++
		}
	}
	return n
}

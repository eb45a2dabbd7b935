//go:build unix

package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
)

// varying matches what differs between two reports of the same holder
// made a moment apart: its uptime, CPU, memory and scheduler state.
var varying = regexp.MustCompile(`(up [0-9hms.]+|cpu=[0-9.]+%|memory=[0-9.]+ [kMG]?B|status=[a-z -]+|"uptime_seconds": [0-9.e+-]+|"cpu_percent": [0-9.e+-]+|"memory_rss": [0-9]+|"status": "[^"]*")`)

// runCLI runs the CLI (this test binary) on args in its own process, with
// Main's fast paths on or off, and returns what it printed and its exit
// code, with the holder's varying figures blanked.
func runCLI(t *testing.T, env []string, args []string, fast bool) outcome {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(env, cliEnv+"=1", "GORACE="+goRace())
	if !fast {
		cmd.Env = append(cmd.Env, slowEnv+"=1")
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	return outcome{varying.ReplaceAllString(stdout.String(), "X"), varying.ReplaceAllString(stderr.String(), "X"), exitCode(err)}
}

// TestFastRunSameAsTree runs a table of run command lines through Main's
// fast path of run and through the command tree, each in a process of its own, and
// compares stdout, stderr and the exit code. fast says whether the fast
// path takes the command line; when it does not, the row shows that it
// falls back (both runs go through the command tree).
func TestFastRunSameAsTree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	locks, other := filepath.Join(dir, "locks"), filepath.Join(dir, "other")
	env := append(os.Environ(), singleinstance.LockDirEnv+"="+locks, etcdflags.EndpointsEnv+"=")
	inst, err := singleinstance.New("held", singleinstance.WithLockDir(locks))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Release()
	for _, tt := range []struct {
		fast bool
		args []string
	}{
		{true, []string{"run", "app", "--", "true"}},
		{true, []string{"run", "app", "--", "false"}},
		{true, []string{"run", "app", "--", "sh", "-c", "echo out; echo err >&2; exit 3"}},
		{true, []string{"run", "app", "--", "sh", "-c", "kill -TERM $$"}},
		{true, []string{"run", "app", "--", "/nonexistent/command"}},
		{true, []string{"run", "app", "--", filepath.Join(dir)}},
		{true, []string{"run", "app", "--", "sh", "-c", "echo $#", "--", "--wait", "-v"}},
		{true, []string{"run", "held", "--", "true"}},
		{true, []string{"--json", "run", "held", "--", "true"}},
		{true, []string{"run", "held", "--json", "--", "true"}},
		{true, []string{"-v", "run", "app", "--", "true"}},
		{true, []string{"run", "--lock-dir", other, "held", "--", "true"}},
		{true, []string{"--lock-dir=" + other, "run", "app", "--", "true"}},
		{true, []string{"run", "bad/name", "--", "true"}},
		{true, []string{"run", "", "--", "true"}},
		// Everything else goes through the command tree.
		{false, []string{"run", "app", "true"}},
		{false, []string{"run", "app", "--"}},
		{false, []string{"run", "--", "true"}},
		{false, []string{"run", "a", "b", "--", "true"}},
		{false, []string{"run", "--wait", "1s", "app", "--", "true"}},
		{false, []string{"run", "--wait", "app", "--", "true"}},
		{false, []string{"run", "--replace", "app", "--", "true"}},
		{false, []string{"run", "--conflict-exit-code", "7", "held", "--", "true"}},
		{false, []string{"run", "-h", "app", "--", "true"}},
		{false, []string{"run", "-app", "--", "true"}},
		{false, []string{"run", "--lock-dir", "--", "true"}},
		// Nothing listens there: a short dial timeout spares the default 5s.
		{false, []string{"--etcd", "127.0.0.1:1", "--etcd-dial-timeout", "300ms", "run", "app", "--", "true"}},
		{false, []string{"app", "run", "--", "true"}},
		{false, []string{"check", "app", "--", "true"}},
		{false, []string{"Run", "app", "--", "true"}},
	} {
		t.Run(strings.ReplaceAll(strings.Join(tt.args, " "), dir, "DIR"), func(t *testing.T) {
			if _, _, ok := new(app).parseFastRun(tt.args, func(string) string { return "" }); ok != tt.fast {
				t.Fatalf("parseFastRun(%q) took the fast path: %v, want %v", tt.args, ok, tt.fast)
			}
			fast, slow := runCLI(t, env, tt.args, true), runCLI(t, env, tt.args, false)
			if fast != slow {
				t.Errorf("fast path: %+v\ntree:      %+v", fast, slow)
			}
		})
	}
}

// TestFastRunEtcdEnv checks that $SINGLEINSTANCE_ETCD_ENDPOINTS turns the
// fast path of run off, as for check.
func TestFastRunEtcdEnv(t *testing.T) {
	args := []string{"run", "app", "--", "true"}
	getenv := func(k string) string {
		if k == etcdflags.EndpointsEnv {
			return "127.0.0.1:1"
		}
		return ""
	}
	if _, _, ok := new(app).parseFastRun(args, getenv); ok {
		t.Fatalf("parseFastRun(%q) with $%s set took the fast path", args, etcdflags.EndpointsEnv)
	}
}

//go:build unix

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cli"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdcli"
)

// TestMain runs the CLI with etcd support when the test binary is started
// as singleinstance-etcd: it stands in for that command (whose main is
// this same call) in TestEtcdCommandLinesGoToTheEtcdBuild, which so does
// not compile the etcd client a second time, without -race.
func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == etcdBuild {
		os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, etcdcli.Connect))
	}
	os.Exit(m.Run())
}

// TestEtcdCommandLinesGoToTheEtcdBuild builds the lean command alone, then
// puts singleinstance-etcd (this test binary, see TestMain) beside it: a
// command line that names etcd is refused with how to install the etcd
// build, then handed to it (which reports the unreachable cluster with
// exit 4); one that does not stays with the lean command. The release
// check (scripts/release) does the same with the real pair.
func TestEtcdCommandLinesGoToTheEtcdBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both commands")
	}
	dir := t.TempDir()
	lean := filepath.Join(dir, "singleinstance")
	build(t, lean, ".")
	run := func(env []string, args ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(lean, args...)
		cmd.Env = append([]string{"PATH=/nonexistent", "HOME=" + dir}, env...)
		out, err := cmd.CombinedOutput()
		return exitCode(err), string(out)
	}
	unreachable := "unix://" + filepath.Join(dir, "no-etcd.sock")

	code, out := run(nil, "--etcd", unreachable, "check", "app")
	if code != 3 || !strings.Contains(out, "singleinstance-etcd") || !strings.Contains(out, "go install") {
		t.Fatalf("without singleinstance-etcd: exit %d\n%s", code, out)
	}
	code, out = run(nil, "--lock-dir", filepath.Join(dir, "locks"), "check", "app")
	if code != 1 || !strings.Contains(out, "NOT RUNNING") {
		t.Fatalf("file locks: exit %d\n%s", code, out)
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(dir, etcdBuild)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  []string
		args []string
	}{
		{nil, []string{"--etcd", unreachable, "--etcd-dial-timeout", "300ms", "check", "app"}},
		{[]string{"SINGLEINSTANCE_ETCD_ENDPOINTS=" + unreachable}, []string{"check", "--etcd-dial-timeout=300ms", "app"}},
	} {
		code, out := run(tc.env, tc.args...)
		if code != 4 {
			t.Fatalf("%v %q: exit %d, want 4 from singleinstance-etcd\n%s", tc.env, tc.args, code, out)
		}
	}
}

func build(t *testing.T, out, pkg string) {
	t.Helper()
	if b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}

// exitCode is the exit code in err from exec.Cmd.Wait (-1 if it did not
// exit normally).
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

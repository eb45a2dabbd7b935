package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
)

// outcome is what one run of Main printed and returned.
type outcome struct {
	stdout, stderr string
	code           int
}

// uptime matches the one field of check --json that changes between two
// runs: the holder's uptime.
var uptime = regexp.MustCompile(`"uptime_seconds": [0-9.e+-]+`)

// runMain runs mainWith on args, with the fast path of check on or off.
func runMain(args []string, fast bool) outcome {
	var stdout, stderr bytes.Buffer
	code := mainWith(slices.Clone(args), strings.NewReader(""), &stdout, &stderr, nil, fast)
	return outcome{uptime.ReplaceAllString(stdout.String(), `"uptime_seconds": X`), stderr.String(), code}
}

// TestFastCheckSameAsTree runs a table of command lines through Main's
// fast path of check and through the command tree, and compares stdout,
// stderr and the exit code. fast says whether the fast path takes the
// command line: when it does not, both runs go through the command tree,
// and the row shows that it falls back.
func TestFastCheckSameAsTree(t *testing.T) {
	dir := t.TempDir()
	locks := filepath.Join(dir, "locks")
	other := filepath.Join(dir, "other")
	afile := filepath.Join(dir, "afile")
	if err := os.WriteFile(afile, []byte("not a directory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(singleinstance.LockDirEnv, locks)
	t.Setenv(etcdflags.EndpointsEnv, "")
	inst, err := singleinstance.New("held", singleinstance.WithLockDir(locks))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Release()
	for _, tt := range []struct {
		fast bool
		args []string
	}{
		{true, []string{"check", "app"}},
		{true, []string{"check", "held"}},
		{true, []string{"check", "--json", "app"}},
		{true, []string{"check", "--json", "held"}},
		{true, []string{"--json", "check", "held"}},
		{true, []string{"check", "held", "--json"}},
		{true, []string{"-v", "check", "held"}},
		{true, []string{"check", "-v", "app"}},
		{true, []string{"check", "app", "--verbose"}},
		{true, []string{"--verbose", "--json", "-v", "check", "--json", "held"}},
		{true, []string{"--lock-dir", locks, "check", "held"}},
		{true, []string{"check", "--lock-dir", locks, "held"}},
		{true, []string{"check", "held", "--lock-dir", locks}},
		{true, []string{"--lock-dir=" + locks, "check", "held"}},
		{true, []string{"check", "--lock-dir=" + locks, "held"}},
		{true, []string{"--lock-dir", locks, "check", "--lock-dir", other, "held"}},
		{true, []string{"--lock-dir", other, "check", "--lock-dir=" + locks, "held"}},
		{true, []string{"check", "--lock-dir", "", "held"}},
		{true, []string{"check", "--lock-dir=", "held"}},
		{true, []string{"check", "--lock-dir", filepath.Join(dir, "missing", "dir"), "app"}},
		{true, []string{"check", "--json", "--lock-dir", filepath.Join(dir, "missing"), "app"}},
		// Errors: bad names, a relative or unusable lock directory.
		{true, []string{"check", "../app"}},
		{true, []string{"check", "--json", "../app"}},
		{true, []string{"check", ""}},
		{true, []string{"check", "a/b"}},
		{true, []string{"check", strings.Repeat("n", 300)}},
		{true, []string{"check", "--lock-dir", "relative", "app"}},
		{true, []string{"--json", "check", "--lock-dir=relative", "app"}},
		{true, []string{"--lock-dir", "check", "check", "app"}},
		{true, []string{"check", "--lock-dir", afile, "app"}},
		{true, []string{"check", "--json", "--lock-dir", afile, "app"}},
		// NAMEs that are also command names.
		{true, []string{"check", "check"}},
		{true, []string{"check", "help"}},
		{true, []string{"check", "run"}},
		{true, []string{"check", "version"}},
		// Everything else goes through the command tree.
		{false, nil},
		{false, []string{"check"}},
		{false, []string{"check", "a", "b"}},
		{false, []string{"check", "--help"}},
		{false, []string{"check", "-h", "app"}},
		{false, []string{"--help", "check", "app"}},
		{false, []string{"help", "check"}},
		{false, []string{"check", "--", "app"}},
		{false, []string{"check", "app", "--"}},
		{false, []string{"check", "--"}},
		{false, []string{"check", "-app"}},
		{false, []string{"check", "-"}},
		{false, []string{"check", "--lock-dir"}},
		{false, []string{"check", "app", "--lock-dir"}},
		{false, []string{"check", "--lock-dir", "-x", "app"}},
		{false, []string{"check", "--lock-dir", "--json", "app"}},
		{false, []string{"check", "--json=true", "app"}},
		{false, []string{"check", "--json=false", "held"}},
		{false, []string{"check", "-vv", "app"}},
		{false, []string{"check", "--verbose=false", "app"}},
		{false, []string{"check", "--unknown", "app"}},
		{false, []string{"check", "-x", "app"}},
		{false, []string{"check", "--kill", "app"}},
		{false, []string{"check", "--version"}},
		{false, []string{"check", "--wait", "app"}},
		{false, []string{"check", "--etcd", "127.0.0.1:1", "app"}},
		{false, []string{"check", "--etcd-ttl", "5s", "app"}},
		{false, []string{"app", "--check"}},
		{false, []string{"held", "--check"}},
		{false, []string{"--check", "app"}},
		{false, []string{"app", "check"}},
		{false, []string{"", "check", "app"}},
		{false, []string{"status", "app"}},
		{false, []string{"Check", "app"}},
		{false, []string{"chec", "app"}},
	} {
		t.Run(strings.ReplaceAll(strings.Join(tt.args, " "), dir, "DIR"), func(t *testing.T) {
			if _, ok := new(app).parseFastCheck(tt.args, os.Getenv); ok != tt.fast {
				t.Fatalf("parseFastCheck(%q) took the fast path: %v, want %v", tt.args, ok, tt.fast)
			}
			fast, slow := runMain(tt.args, true), runMain(tt.args, false)
			if fast != slow {
				t.Errorf("fast path: %+v\ntree:      %+v", fast, slow)
			}
		})
	}
}

// TestFastCheckEtcdEnv checks that $SINGLEINSTANCE_ETCD_ENDPOINTS turns
// the fast path off: check then goes to the command tree, which connects to etcd.
func TestFastCheckEtcdEnv(t *testing.T) {
	t.Setenv(singleinstance.LockDirEnv, t.TempDir())
	t.Setenv(etcdflags.EndpointsEnv, "127.0.0.1:1")
	args := []string{"check", "app"}
	if _, ok := new(app).parseFastCheck(args, os.Getenv); ok {
		t.Fatalf("parseFastCheck(%q) with $%s set took the fast path", args, etcdflags.EndpointsEnv)
	}
	// Without etcd support both runs say so, through the command tree.
	if fast, slow := runMain(args, true), runMain(args, false); fast != slow || fast.code != exitError {
		t.Errorf("fast path: %+v\ntree:      %+v", fast, slow)
	}
}

// TestFastCheckUsage checks the usage lines that the fast path would print
// after a usage error of check: the command tree's, for the check command
// it ran. (check itself returns none, but exitCode is given one.) An
// error that merely reads like a flag parser's, as a write error can, is
// no usage error.
func TestFastCheckUsage(t *testing.T) {
	dir := t.TempDir()
	args := []string{"check", "--lock-dir", dir, "app"}
	exit := func(err error, command func() *cmdline.Command) outcome {
		var stderr bytes.Buffer
		a := &app{stdout: new(bytes.Buffer), stderr: &stderr}
		code := a.exitCode(err, args, command)
		return outcome{"", stderr.String(), code}
	}
	run := func(command func() *cmdline.Command) outcome {
		return exit(usagef("unknown flag: --nosuch"), command)
	}
	if got := exit(errors.New("write /dev/stdout: invalid argument"), fastCheckCommand); got.code != exitError || strings.Contains(got.stderr, "Usage:") {
		t.Errorf("a write error: %+v, want exit %d without usage", got, exitError)
	}
	root := (&app{stdout: new(bytes.Buffer), stderr: new(bytes.Buffer)}).rootCommand()
	cmd, err := root.Execute(t.Context(), args)
	if code := codeOf(err); code != exitNo {
		t.Fatalf("check: exit %d (%v), want %d", code, err, exitNo)
	}
	fast, slow := run(fastCheckCommand), run(func() *cmdline.Command { return cmd })
	if fast != slow || slow.code != exitUsage || !strings.Contains(slow.stderr, "Usage: singleinstance check NAME [flags]") {
		t.Errorf("fast path: %+v\ntree:      %+v", fast, slow)
	}
}

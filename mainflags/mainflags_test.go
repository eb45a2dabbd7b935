package mainflags

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/internal/filelock"
)

// flagsResult is what Flags.Handle returned and printed.
type flagsResult struct {
	code    int
	handled bool
	stdout  string
	stderr  string
}

// handleFlags parses args with a fresh flag set that has the flags of
// Register, then runs Handle for name, capturing its output.
func handleFlags(t *testing.T, args []string, name string, opts ...singleinstance.Option) flagsResult {
	t.Helper()
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	flags := Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	var stdout, stderr bytes.Buffer
	var r flagsResult
	r.code, r.handled = flags.handleTo(&stdout, &stderr, name, opts...)
	r.stdout, r.stderr = stdout.String(), stderr.String()
	t.Logf("%q for %q: code %d, handled %v, stdout %q, stderr %q", args, name, r.code, r.handled, r.stdout, r.stderr)
	return r
}

// dirContents maps each file in dir to its contents.
func dirContents(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

// holdInProcess holds the lock in the test process until the test ends.
func holdInProcess(t *testing.T, _ string, opt singleinstance.Option) {
	t.Helper()
	inst, err := singleinstance.New(testName, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Release() })
}

// holdUnproven locks the lock file through an open file of the test
// process, with no Instance behind it and a damaged .info file, so the
// holder cannot be proven and nothing may be signalled.
func holdUnproven(t *testing.T, dir string, _ singleinstance.Option) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, testName+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := filelock.TryLock(f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, testName+".info"), []byte("not an info file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFlagsHandle(t *testing.T) {
	t.Parallel()
	const (
		running    = "Application 'trading_bot': RUNNING\n"
		notRunning = "Application 'trading_bot': NOT RUNNING\n"
	)
	tests := []struct {
		desc  string
		args  []string
		name  string // default testName
		setup func(t *testing.T, dir string, opt singleinstance.Option)
		want  flagsResult
		// wantStderr is a prefix of stderr, and wantInStderr must occur in
		// it; want.stderr is then not compared.
		wantStderr, wantInStderr string
	}{
		{desc: "no flag", args: nil, want: flagsResult{code: 0, handled: false}},
		{desc: "arguments only", args: []string{"run", "-check-instance"}, want: flagsResult{code: 0, handled: false}},
		{desc: "flags set to false", args: []string{"-check-instance=false", "-kill-instance=false"},
			want: flagsResult{code: 0, handled: false}},
		{desc: "check, not running", args: []string{"-check-instance"},
			want: flagsResult{code: 1, handled: true, stdout: notRunning}},
		{desc: "check with two dashes, running", args: []string{"--check-instance"}, setup: holdInProcess,
			want: flagsResult{code: 0, handled: true, stdout: running}},
		{desc: "kill, not running", args: []string{"-kill-instance"},
			want: flagsResult{code: 1, handled: true, stdout: notRunning}},
		{desc: "force kill, not running", args: []string{"--kill-instance", "--force-kill"},
			want: flagsResult{code: 1, handled: true, stdout: notRunning}},
		{desc: "kill, holder unproven", args: []string{"-kill-instance", "-force-kill"}, setup: holdUnproven,
			want:       flagsResult{code: singleinstance.ExitLockError, handled: true},
			wantStderr: "Failed to terminate 'trading_bot': ", wantInStderr: singleinstance.ErrHolderUnproven.Error()},
		{desc: "force kill alone", args: []string{"-force-kill"},
			want: flagsResult{code: 2, handled: true}, wantStderr: "-force-kill can only be used with -kill-instance"},
		{desc: "force kill with check", args: []string{"-check-instance", "-force-kill"},
			want: flagsResult{code: 2, handled: true}, wantStderr: "-force-kill can only be used with -kill-instance"},
		{desc: "check and kill", args: []string{"-check-instance", "-kill-instance"},
			want: flagsResult{code: 2, handled: true}, wantStderr: "-check-instance and -kill-instance cannot be used together"},
		{desc: "usage error before name check", args: []string{"-force-kill"}, name: "bad/name",
			want: flagsResult{code: 2, handled: true}, wantStderr: "-force-kill can only be used with -kill-instance"},
		{desc: "check, bad name", args: []string{"-check-instance"}, name: "bad/name",
			want:       flagsResult{code: singleinstance.ExitLockError, handled: true},
			wantStderr: "Cannot check 'bad/name': ", wantInStderr: singleinstance.ErrInvalidName.Error()},
		{desc: "kill, bad name", args: []string{"-kill-instance"}, name: "bad/name",
			want:       flagsResult{code: singleinstance.ExitLockError, handled: true},
			wantStderr: "Failed to terminate 'bad/name': ", wantInStderr: singleinstance.ErrInvalidName.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			dir, opt := lockDir(t)
			if tt.setup != nil {
				tt.setup(t, dir, opt)
			}
			name := tt.name
			if name == "" {
				name = testName
			}
			before := dirContents(t, dir)
			got := handleFlags(t, tt.args, name, opt)
			if tt.wantStderr != "" {
				if !strings.HasPrefix(got.stderr, tt.wantStderr) || !strings.Contains(got.stderr, tt.wantInStderr) ||
					!strings.HasSuffix(got.stderr, "\n") || strings.Count(got.stderr, "\n") != 1 {
					t.Errorf("stderr = %q, want one line starting %q and containing %q", got.stderr, tt.wantStderr, tt.wantInStderr)
				}
				got.stderr = ""
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			// Handle never takes the lock or writes a file.
			if after := dirContents(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("lock directory changed:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// TestFlagsKillInstance stops a holder in another process with
// -kill-instance, gracefully or with -force-kill.
func TestFlagsKillInstance(t *testing.T) {
	t.Parallel()
	for _, force := range []bool{false, true} {
		t.Run(fmt.Sprintf("force=%v", force), func(t *testing.T) {
			t.Parallel()
			dir, opt := lockDir(t)
			holder := startChild(t, roleHold, dir, testName)
			holder.Expect("ready")

			args := []string{"--kill-instance"}
			if force {
				args = append(args, "--force-kill")
			}
			got := handleFlags(t, args, testName, opt)
			want := flagsResult{code: 0, handled: true,
				stdout: fmt.Sprintf("Application 'trading_bot' terminated (pid %d)\n", holder.Pid)}
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			// "Terminated" means the lock is free at once.
			if running, err := singleinstance.CheckRunning(testName, opt); err != nil || running {
				t.Fatalf("CheckRunning after -kill-instance = %v, %v; want false", running, err)
			}
			expectStopped(t, holder, force)

			got = handleFlags(t, []string{"-check-instance"}, testName, opt)
			if want := (flagsResult{code: 1, handled: true, stdout: "Application 'trading_bot': NOT RUNNING\n"}); got != want {
				t.Fatalf("-check-instance after the kill: got %+v, want %+v", got, want)
			}
		})
	}
}

// flagsExitEnv holds the arguments for the re-executed test binary in
// TestFlagsHandleAndExit.
const flagsExitEnv = "SINGLEINSTANCE_TEST_FLAGS_ARGS"

// TestFlagsHandleAndExit re-runs itself in a child process that calls
// HandleAndExit, and checks the child's exit status and output.
func TestFlagsHandleAndExit(t *testing.T) {
	if args, ok := os.LookupEnv(flagsExitEnv); ok {
		fs := flag.NewFlagSet("app", flag.ExitOnError)
		flags := Register(fs)
		fs.Parse(strings.Fields(args))
		flags.HandleAndExit(testName, singleinstance.WithLockDir(os.Getenv("SI_DIR")))
		fmt.Println("continued")
		return
	}
	t.Parallel()
	tests := []struct {
		args       string
		wantCode   int
		wantStdout string // prefix
		wantStderr string // prefix
	}{
		{"", 0, "continued\n", ""},
		{"-check-instance", 1, "Application 'trading_bot': NOT RUNNING\n", ""},
		{"-kill-instance", 1, "Application 'trading_bot': NOT RUNNING\n", ""},
		{"-force-kill", 2, "", "-force-kill can only be used with -kill-instance\n"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.args), func(t *testing.T) {
			t.Parallel()
			dir, _ := lockDir(t)
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFlagsHandleAndExit$")
			cmd.Env = append(os.Environ(), flagsExitEnv+"="+tt.args, "SI_DIR="+dir)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			t.Logf("child: %v; stdout %q; stderr %q", err, stdout.String(), stderr.String())
			if code := cmd.ProcessState.ExitCode(); code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			if !strings.HasPrefix(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout %q, want prefix %q", stdout.String(), tt.wantStdout)
			}
			if !strings.HasPrefix(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr %q, want prefix %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	Register(fs)
	for _, name := range []string{"check-instance", "kill-instance", "force-kill"} {
		f := fs.Lookup(name)
		if f == nil {
			t.Errorf("-%s not defined", name)
			continue
		}
		if f.DefValue != "false" || f.Usage == "" {
			t.Errorf("-%s: default %q, usage %q; want false and a usage text", name, f.DefValue, f.Usage)
		}
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
			t.Errorf("-%s is not a boolean flag", name)
		}
	}
}

func TestRegisterNilPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		r := recover()
		t.Logf("recovered: %v", r)
		if r == nil {
			t.Fatal("Register(nil) did not panic")
		}
	}()
	Register(nil)
}

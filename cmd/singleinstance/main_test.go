package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/singleinstance/singleinstance"
	"go.uber.org/goleak"
)

var update = flag.Bool("u", false, "update testscript output files")

// cliEnv makes the test binary run as the singleinstance CLI, for Go tests
// that start it directly (race_test.go) rather than through testscript.
const cliEnv = "SINGLEINSTANCE_CMD_TEST_AS_CLI"

// scriptDeadline bounds each waitfile and waitstate command.
const scriptDeadline = 30 * time.Second

// pollInterval is how often waitfile and waitstate look again.
const pollInterval = 5 * time.Millisecond

func cliMain() {
	os.Exit(mainCode(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func TestMain(m *testing.M) {
	if os.Getenv(cliEnv) != "" {
		cliMain()
	}
	// Main runs m (through leakCheck) or, when the binary was started as
	// "singleinstance" from a script, the CLI itself. It always exits.
	testscript.Main(leakCheck{m}, map[string]func(){"singleinstance": cliMain})
}

// leakCheck fails a passing test run that leaves goroutines behind.
type leakCheck struct{ m *testing.M }

func (l leakCheck) Run() int {
	code := l.m.Run()
	if code != 0 {
		return code
	}
	if err := goleak.Find(); err != nil {
		fmt.Fprintf(os.Stderr, "goleak: goroutines leaked after the tests: %v\n", err)
		return 1
	}
	return 0
}

func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			if err := os.Mkdir(home, 0o700); err != nil {
				return err
			}
			env.Setenv("HOME", home)
			lockDir := filepath.Join(env.WorkDir, "locks")
			env.Setenv(singleinstance.LockDirEnv, lockDir)
			env.Setenv("GORACE", goRace())
			for name, text := range helperScripts {
				if err := os.WriteFile(filepath.Join(env.WorkDir, name), []byte(text), 0o666); err != nil {
					return err
				}
			}
			env.Defer(func() { stopLeftovers(env.T(), env.WorkDir, lockDir) })
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile":    cmdWaitFile,
			"waitstate":   cmdWaitState,
			"waitcommand": cmdWaitCommand,
		},
	})
}

// goRace is $GORACE for the CLI processes that tests start: under -race a
// process otherwise sleeps for a second before it exits (atexit_sleep_ms),
// which would make each run of the CLI take a second.
func goRace() string {
	v := os.Getenv("GORACE")
	if strings.Contains(v, "atexit_sleep_ms") {
		return v
	}
	return strings.TrimSpace(v + " atexit_sleep_ms=0")
}

// helperScripts are written to $WORK before each script runs.
var helperScripts = map[string]string{
	// sh code.sh COMMAND [ARGS...] runs COMMAND and prints its exit status
	// as "code=N" on stdout, since testscript's "! exec" only tells that a
	// command failed.
	"code.sh": `"$@"
echo "code=$?"
`,
	// sh bg.sh ID COMMAND [ARGS...] runs COMMAND as a child of its own,
	// writes the child's PID to ID.pid (so that a script can send it any
	// signal, where testscript's kill knows only INT and KILL), waits for
	// it, and writes its exit status as "code=N" to ID.code. Both files
	// appear complete or not at all. COMMAND keeps the script's stdin, which
	// sh would otherwise replace with /dev/null. Files named *.pid in $WORK
	// are for bg.sh only: stopLeftovers kills the PIDs they hold.
	"bg.sh": `id=$1
shift
exec 3<&0
"$@" <&3 3<&- &
exec 3<&-
echo "$!" > "$id.pid.tmp" && mv "$id.pid.tmp" "$id.pid"
wait "$!"
echo "code=$?" > "$id.code.tmp" && mv "$id.code.tmp" "$id.code"
`,
	// sh signal.sh SIG PIDFILE DONE sends SIG to the process whose PID is in
	// PIDFILE, then again every 10ms until the file DONE exists, for at most
	// 30s. Sending once is not enough: run drops a signal that arrives while
	// it is still starting COMMAND (bug_signal_at_start.txtar), and the
	// scripts cannot see when it has finished; waitcommand only narrows
	// that window.
	"signal.sh": `sig=$1
pid=$(cat "$2")
want=$3
i=0
while [ ! -e "$want" ]; do
	if [ "$i" -ge 3000 ]; then
		echo "signal.sh: $want did not appear after SIG$sig to $pid" >&2
		exit 1
	fi
	kill -s "$sig" "$pid" 2>/dev/null
	i=$((i + 1))
	sleep 0.01
done
`,
}

// stopLeftovers runs before testscript waits for the background commands
// of a script: it kills what a failed script left behind, which would
// otherwise keep the output pipes of those commands open and hang the
// test. It kills the holder of every lock in lockDir and every bg.sh child
// that has not exited yet. A passing script leaves nothing to kill.
func stopLeftovers(t testscript.T, work, lockDir string) {
	locks, _ := filepath.Glob(filepath.Join(lockDir, "*.lock"))
	for _, lock := range locks {
		name := strings.TrimSuffix(filepath.Base(lock), ".lock")
		killed, err := singleinstance.KillRunning(name, true, singleinstance.WithLockDir(lockDir),
			singleinstance.WithStopTimeout(5*time.Second))
		switch {
		case err != nil:
			t.Log(fmt.Sprintf("cleanup: cannot stop the holder of %q: %v", name, err))
		case killed:
			t.Log(fmt.Sprintf("cleanup: killed the holder of %q left running", name))
		}
	}
	pids, _ := filepath.Glob(filepath.Join(work, "*.pid"))
	for _, pidFile := range pids {
		if _, err := os.Stat(strings.TrimSuffix(pidFile, ".pid") + ".code"); err == nil {
			continue // exited and reaped: the PID may belong to another process now
		}
		data, err := os.ReadFile(pidFile)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil && p.Kill() == nil {
			t.Log(fmt.Sprintf("cleanup: killed background process %d (%s) left running", pid, pidFile))
		}
	}
}

// poll calls done every pollInterval until it reports true, and fails the
// script after scriptDeadline, describing what it waited for.
func poll(ts *testscript.TestScript, what string, done func() (bool, error)) {
	deadline := time.Now().Add(scriptDeadline)
	for {
		ok, err := done()
		if err != nil {
			ts.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("gave up waiting for %s after %s", what, scriptDeadline)
		}
		time.Sleep(pollInterval)
	}
}

// cmdWaitFile waits until FILE exists and, with REGEXP, until its content
// matches REGEXP:
//
//	waitfile FILE [REGEXP]
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! waitfile")
	}
	if len(args) != 1 && len(args) != 2 {
		ts.Fatalf("usage: waitfile FILE [REGEXP]")
	}
	file := ts.MkAbs(args[0])
	var re *regexp.Regexp
	what := file
	if len(args) == 2 {
		var err error
		if re, err = regexp.Compile("(?m)" + args[1]); err != nil {
			ts.Fatalf("waitfile: %v", err)
		}
		what = fmt.Sprintf("%s to match %q", file, args[1])
	}
	poll(ts, what, func() (bool, error) {
		data, err := os.ReadFile(file)
		if os.IsNotExist(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return re == nil || re.Match(data), nil
	})
}

// cmdWaitState waits until the lock NAME in $SINGLEINSTANCE_LOCK_DIR is
// held (running) or free, as the library's CheckRunning sees it:
//
//	waitstate NAME running|free
func cmdWaitState(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! waitstate")
	}
	if len(args) != 2 || (args[1] != "running" && args[1] != "free") {
		ts.Fatalf("usage: waitstate NAME running|free")
	}
	name, want := args[0], args[1] == "running"
	dir := ts.Getenv(singleinstance.LockDirEnv)
	poll(ts, fmt.Sprintf("%q to be %s", name, args[1]), func() (bool, error) {
		running, err := singleinstance.CheckRunning(name, singleinstance.WithLockDir(dir))
		return running == want, err
	})
}

// cmdWaitCommand waits until the lock NAME in $SINGLEINSTANCE_LOCK_DIR is
// held and its .info file describes the COMMAND that "run" started, not
// run itself. Until then, kill and status see run, and a signal sent to run
// may be lost (see bug_signal_at_start.txtar):
//
//	waitcommand NAME
func cmdWaitCommand(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! waitcommand")
	}
	if len(args) != 1 {
		ts.Fatalf("usage: waitcommand NAME")
	}
	name := args[0]
	dir := ts.Getenv(singleinstance.LockDirEnv)
	poll(ts, fmt.Sprintf("%q to be held by the command run started", name), func() (bool, error) {
		st, err := singleinstance.Status(name, singleinstance.WithLockDir(dir), singleinstance.WithLiveStats(false))
		if err != nil {
			return false, err
		}
		return st.Running && st.Holder != nil && st.Holder.OwnerPID != 0, nil
	})
}

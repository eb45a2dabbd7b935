package cli

import (
	"context"
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
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdcli"
	etcdbackend "github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
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

// slowEnv makes the test binary, run as the CLI, skip Main's fast paths
// (see fastrun_test.go).
const slowEnv = "SINGLEINSTANCE_CMD_TEST_NO_FAST_PATH"

func cliMain() {
	if os.Getenv(slowEnv) != "" {
		os.Exit(mainWith(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, etcdcli.Connect, false))
	}
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, etcdcli.Connect))
}

func TestMain(m *testing.M) {
	if file := os.Getenv(unlockEnv); file != "" {
		unlockInheritedMain(file)
	}
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

// TestScript runs the scripts in testdata/script. One embedded etcd server
// (or the external cluster named by $SINGLEINSTANCE_TEST_ETCD_ENDPOINTS)
// serves them all: each script finds its endpoints in $ETCD and a key
// prefix of its own in $ETCD_PREFIX. The etcd_*.txtar scripts use them;
// the others keep file locks, as $SINGLEINSTANCE_ETCD_ENDPOINTS is unset.
func TestScript(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cluster := etcdtest.Start(t)
	endpoints := strings.Join(cluster.Endpoints(), ",")
	prefixes := cluster.Prefix(t)
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
			// A script may set $SINGLEINSTANCE_ETCD_ENDPOINTS itself; one
			// inherited from the environment would turn every script to etcd.
			env.Setenv(etcdbackend.EndpointsEnv, "")
			env.Setenv(etcdbackend.PrefixEnv, "")
			env.Setenv("ETCD", endpoints)
			// The repository, for scripts that check its examples.
			env.Setenv("REPO", repo)
			prefix := prefixes + filepath.Base(env.WorkDir) + "/"
			env.Setenv("ETCD_PREFIX", prefix)
			for name, text := range helperScripts {
				if err := os.WriteFile(filepath.Join(env.WorkDir, name), []byte(text), 0o666); err != nil {
					return err
				}
			}
			env.Defer(func() {
				stopLeftovers(env.T(), env.WorkDir, lockDir)
				stopEtcdLeftovers(env.T(), endpoints, prefix)
			})
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfile":    cmdWaitFile,
			"waitstate":   cmdWaitState,
			"waitcommand": cmdWaitCommand,
			"waitgone":    cmdWaitGone,
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

// cmdWaitState waits until the lock NAME is held (running), held by a
// holder stopped with "kill --force" (fenced), or free, as the library
// sees it in $SINGLEINSTANCE_LOCK_DIR, or in etcd when the script has set
// $SINGLEINSTANCE_ETCD_ENDPOINTS (and $SINGLEINSTANCE_ETCD_PREFIX):
//
//	waitstate NAME running|fenced|free
func cmdWaitState(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! waitstate")
	}
	if len(args) != 2 || (args[1] != "running" && args[1] != "fenced" && args[1] != "free") {
		ts.Fatalf("usage: waitstate NAME running|fenced|free")
	}
	name, want := args[0], args[1]
	opts, done := scriptLockOptions(ts)
	defer done()
	poll(ts, fmt.Sprintf("%q to be %s", name, want), func() (bool, error) {
		st, err := singleinstance.Status(name, append(opts, singleinstance.WithLiveStats(false))...)
		if err != nil {
			return false, err
		}
		switch want {
		case "running":
			return st.Running, nil
		case "fenced":
			return st.Fenced, nil
		}
		return !st.Running, nil
	})
}

// cmdWaitCommand waits until the lock NAME (where waitstate looks) is held
// and described as the COMMAND that "run" started, not run itself. Until
// then, kill and status see run, and a signal sent to run may be lost (see
// bug_signal_at_start.txtar):
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
	opts, done := scriptLockOptions(ts)
	defer done()
	poll(ts, fmt.Sprintf("%q to be held by the command run started", name), func() (bool, error) {
		st, err := singleinstance.Status(name, append(opts, singleinstance.WithLiveStats(false))...)
		if err != nil {
			return false, err
		}
		if !st.Running || st.Holder == nil || st.Holder.OwnerPID == 0 {
			return false, nil
		}
		if st.LockDir == "" {
			return true, nil // etcd: no .pid file
		}
		// The .pid file is written right after the .info file: wait for
		// it to name the command too.
		data, err := os.ReadFile(filepath.Join(st.LockDir, name+".pid"))
		return err == nil && strings.TrimSpace(string(data)) == strconv.Itoa(st.Holder.PID), nil
	})
}

// scriptLockOptions returns the options that reach the locks of the
// script's CLI: the etcd cluster if the script has set
// $SINGLEINSTANCE_ETCD_ENDPOINTS, else $SINGLEINSTANCE_LOCK_DIR. Call done
// when finished with them.
func scriptLockOptions(ts *testscript.TestScript) (opts []singleinstance.Option, done func()) {
	endpoints := etcdbackend.SplitEndpoints(ts.Getenv(etcdbackend.EndpointsEnv))
	if len(endpoints) == 0 {
		return []singleinstance.Option{singleinstance.WithLockDir(ts.Getenv(singleinstance.LockDirEnv))}, func() {}
	}
	b, err := dialScriptEtcd(endpoints, ts.Getenv(etcdbackend.PrefixEnv))
	if err != nil {
		ts.Fatalf("%v", err)
	}
	return []singleinstance.Option{singleinstance.WithBackend(b)}, func() { b.Close() }
}

// dialScriptEtcd connects to the test cluster with prefix, if not empty.
func dialScriptEtcd(endpoints []string, prefix string) (*etcdbackend.Backend, error) {
	var opts []etcdbackend.Option
	if prefix != "" {
		opts = append(opts, etcdbackend.WithPrefix(prefix))
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptDeadline)
	defer cancel()
	return etcdbackend.Dial(ctx, etcdbackend.Config{Endpoints: endpoints}, opts...)
}

// stopEtcdLeftovers is stopLeftovers for the etcd locks under a script's
// prefix: it stops every holder that a failed script left running there,
// fencing it if it does not stop within a second, so that its "run" kills
// its command. A passing script leaves nothing to stop.
func stopEtcdLeftovers(t testscript.T, endpoints, prefix string) {
	b, err := dialScriptEtcd(etcdbackend.SplitEndpoints(endpoints), prefix)
	if err != nil {
		t.Log(fmt.Sprintf("cleanup: %v", err))
		return
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts := []singleinstance.Option{singleinstance.WithBackend(b), singleinstance.WithStopTimeout(time.Second)}
	states, err := singleinstance.List(ctx, opts...)
	if err != nil {
		t.Log(fmt.Sprintf("cleanup: list %s: %v", prefix, err))
		return
	}
	for _, st := range states {
		if !st.Running || st.Fenced {
			continue
		}
		if _, err := singleinstance.KillRunningContext(ctx, st.Name, true, opts...); err != nil {
			t.Log(fmt.Sprintf("cleanup: cannot stop the holder of %q: %v", st.Name, err))
		} else {
			t.Log(fmt.Sprintf("cleanup: stopped the holder of %q left running", st.Name))
		}
	}
}

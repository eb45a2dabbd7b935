//go:build unix

package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
)

// lostDeadline bounds TestRunLostLeaseStopsCommandFirst; a passing run
// takes about one TTL (2s) after the partition.
const lostDeadline = 30 * time.Second

// lostHolderCommand is the command of the run cut off from etcd: it
// journals its start, and SIGTERM, on which it exits.
const lostHolderCommand = `trap 'echo "holder got TERM" >> "$JOURNAL"; exit 0' TERM
echo "holder start" >> "$JOURNAL"
while :; do sleep 0.05; done`

// TestRunLostLeaseStopsCommandFirst cuts a "run" off from etcd (a network
// partition between it and the cluster) while a standby "run --wait
// forever", connected directly, waits for the same name. The cut-off run
// must stop its command (SIGTERM) before the cluster expires its lease and
// lets the standby start its own: the journal both commands append to
// (O_APPEND) shows the holder's TERM before the standby's start. The cut-off
// run exits 121.
func TestRunLostLeaseStopsCommandFirst(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cluster := etcdtest.Start(t)
	prefix := cluster.Prefix(t)
	proxy := etcdtest.NewProxy(t, cluster.Endpoints()[0])
	dir := t.TempDir()
	journal := filepath.Join(dir, "journal")
	ctx, cancel := context.WithTimeout(t.Context(), lostDeadline)
	defer cancel()

	cli := func(endpoint string, args ...string) (*exec.Cmd, *bytes.Buffer) {
		args = append([]string{"--etcd", endpoint, "--etcd-prefix", prefix, "--etcd-ttl", "2s"}, args...)
		cmd := exec.CommandContext(ctx, exe, args...)
		cmd.Env = append(os.Environ(), cliEnv+"=1", "GORACE="+goRace(), "JOURNAL="+journal)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		return cmd, &stderr
	}

	holder, holderErr := cli(proxy.Endpoint(), "run", "app", "--", "sh", "-c", lostHolderCommand)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	holderDone := waitAsync(holder)
	// Until the record describes the command, the command may not have
	// set its trap.
	awaitJournal(t, ctx, journal, "holder start")
	awaitCommand(t, ctx, cluster.Endpoints(), prefix, "app")

	// The standby's stderr goes to a file so that its progress can be read
	// while it runs.
	standbyLog := filepath.Join(dir, "standby.err")
	logFile, err := os.Create(standbyLog)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	standby, _ := cli(cluster.Endpoints()[0], "-v", "run", "--wait", "forever", "app", "--",
		"sh", "-c", `echo "standby start" >> "$JOURNAL"`)
	standby.Stderr = logFile
	if err := standby.Start(); err != nil {
		t.Fatal(err)
	}
	standbyDone := waitAsync(standby)
	eventually(t, ctx, "the standby to wait for the holder", func() bool {
		data, _ := os.ReadFile(standbyLog)
		return strings.Contains(string(data), "singleinstance: waiting for 'app'")
	})

	proxy.Partition()
	t.Log("partitioned the holder from etcd")

	if err := awaitExit(t, ctx, "holder", holderDone); exitCode(err) != exitLockLost {
		t.Errorf("holder run: %v (exit %d), want exit %d; stderr:\n%s", err, exitCode(err), exitLockLost, holderErr)
	}
	if !strings.Contains(holderErr.String(), "lock 'app' lost") {
		t.Errorf("holder run's stderr does not report the lost lock:\n%s", holderErr)
	}
	if err := awaitExit(t, ctx, "standby", standbyDone); err != nil {
		data, _ := os.ReadFile(standbyLog)
		t.Errorf("standby run: %v; stderr:\n%s", err, data)
	}
	got := readJournal(t, journal)
	want := "holder start\nholder got TERM\nstandby start\n"
	if got != want {
		t.Fatalf("journal:\n%s\nwant:\n%s", got, want)
	}
}

// waitAsync waits for cmd in the background.
func waitAsync(cmd *exec.Cmd) <-chan error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return done
}

// awaitExit returns the result of a command's Wait, failing t if ctx ends
// first.
func awaitExit(t *testing.T, ctx context.Context, what string, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		t.Fatalf("%s did not exit within %s", what, lostDeadline)
		panic("unreachable")
	}
}

// eventually polls cond every pollInterval until it holds, failing t if
// ctx ends first.
func eventually(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-tick.C:
		}
	}
}

// awaitJournal waits until the journal holds line.
func awaitJournal(t *testing.T, ctx context.Context, journal, line string) {
	t.Helper()
	eventually(t, ctx, "journal line "+line, func() bool {
		data, _ := os.ReadFile(journal)
		return strings.Contains(string(data), line+"\n")
	})
}

// awaitCommand waits until the holder of name in etcd is described as the
// command that "run" started.
func awaitCommand(t *testing.T, ctx context.Context, endpoints []string, prefix, name string) {
	t.Helper()
	b, err := dialScriptEtcd(endpoints, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	opts := []singleinstance.Option{singleinstance.WithBackend(b), singleinstance.WithLiveStats(false)}
	eventually(t, ctx, name+" to be held by the command run started", func() bool {
		st, err := singleinstance.StatusContext(ctx, name, opts...)
		return err == nil && st.Running && st.Holder != nil && st.Holder.OwnerPID != 0
	})
}

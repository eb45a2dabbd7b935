//go:build unix

package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/etcd/etcdtest"
)

// cutOffExitLimit is how soon a run cut off from etcd must exit after
// SIGTERM.
const cutOffExitLimit = time.Second

// TestRunCutOffExitsPromptly: a holder and a waiting standby, each cut
// off from etcd (a partition), get SIGTERM. Each exits within a second
// and says what happened: the holder stopped its command, but etcd did
// not confirm the release, so the key stays until its lease expires
// (exit 122); the standby was interrupted while waiting (exit 143).
func TestRunCutOffExitsPromptly(t *testing.T) {
	forTrials(t, 5, func(t *testing.T) {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cluster := etcdtest.Start(t)
		prefix := cluster.Prefix(t)
		dir := t.TempDir()
		journal := filepath.Join(dir, "journal")
		ctx, cancel := context.WithTimeout(t.Context(), lostDeadline)
		defer cancel()
		holderProxy := etcdtest.NewProxy(t, cluster.Endpoints()[0])
		standbyProxy := etcdtest.NewProxy(t, cluster.Endpoints()[0])
		cli := func(endpoint string, stderr *os.File, args ...string) *exec.Cmd {
			// The default TTL: the holder is far from its deadline when
			// it is cut off and stopped.
			args = append([]string{"--etcd", endpoint, "--etcd-prefix", prefix}, args...)
			cmd := exec.CommandContext(ctx, exe, args...)
			cmd.Env = append(os.Environ(), cliEnv+"=1", "GORACE="+goRace(), "JOURNAL="+journal)
			cmd.Stderr = stderr
			return cmd
		}
		logFile := func(name string) (*os.File, string) {
			path := filepath.Join(dir, name)
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f, path
		}

		holderErr, holderLog := logFile("holder.err")
		holder := cli(holderProxy.Endpoint(), holderErr, "run", "app", "--", "sh", "-c",
			`trap 'echo "holder got TERM" >> "$JOURNAL"; exit 0' TERM
	echo "holder start" >> "$JOURNAL"
	while :; do sleep 0.05; done`)
		if err := holder.Start(); err != nil {
			t.Fatal(err)
		}
		holderDone := waitAsync(holder)
		awaitJournal(t, ctx, journal, "holder start")
		awaitCommand(t, ctx, cluster.Endpoints(), prefix, "app")

		standbyErr, standbyLog := logFile("standby.err")
		standby := cli(standbyProxy.Endpoint(), standbyErr, "-v", "run", "--wait", "forever", "app", "--",
			"sh", "-c", `echo "standby start" >> "$JOURNAL"`)
		if err := standby.Start(); err != nil {
			t.Fatal(err)
		}
		standbyDone := waitAsync(standby)
		eventually(t, ctx, "the standby to wait for the holder", func() bool {
			data, _ := os.ReadFile(standbyLog)
			return strings.Contains(string(data), "waiting for 'app'")
		})

		holderProxy.Partition()
		standbyProxy.Partition()
		signalled := time.Now()
		holder.Process.Signal(syscall.SIGTERM)
		standby.Process.Signal(syscall.SIGTERM)
		type exit struct {
			err  error
			took time.Duration
		}
		await := func(what string, done <-chan error) exit {
			err := awaitExit(t, ctx, what, done)
			return exit{err, time.Since(signalled)}
		}
		h, s := await("holder", holderDone), await("standby", standbyDone)
		holderOut, _ := os.ReadFile(holderLog)
		standbyOut, _ := os.ReadFile(standbyLog)
		t.Logf("cut off and sent SIGTERM: the holder exited %d after %v, the standby %d after %v",
			exitCode(h.err), h.took.Round(time.Millisecond), exitCode(s.err), s.took.Round(time.Millisecond))
		t.Logf("holder's stderr:\n%s", holderOut)
		if got := readJournal(t, journal); got != "holder start\nholder got TERM\n" {
			t.Errorf("journal:\n%s", got)
		}
		if exitCode(h.err) != exitNotReleased || !bytes.Contains(holderOut, []byte("lock 'app' not released (exit 122 instead of 0)")) ||
			!bytes.Contains(holderOut, []byte("the key stays until the lease expires")) {
			t.Errorf("holder: exit %d, want %d with the reason", exitCode(h.err), exitNotReleased)
		}
		if exitCode(s.err) != 128+int(syscall.SIGTERM) || !bytes.Contains(standbyOut, []byte("terminated while waiting for 'app'")) {
			t.Errorf("standby: exit %d; stderr:\n%s", exitCode(s.err), standbyOut)
		}
		for what, e := range map[string]exit{"holder": h, "standby": s} {
			if e.took > cutOffExitLimit {
				t.Errorf("the cut-off %s took %v to exit after SIGTERM, more than %v", what, e.took, cutOffExitLimit)
			}
		}
	})
}

//go:build linux

package singleinstance_test

// Fault tests: a lock directory and a lock file owned by another user.
// The shared helpers and the overview are in faults_helpers_linux_test.go.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/singleinstance/singleinstance/internal/local"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/singleinstance/singleinstance"
)

// Lock directory owned by another user.

// faultForeignChildEnv selects, in a re-executed test binary running as an
// unprivileged user, the scenario of TestFaultForeignOwnedLockDir.
const faultForeignChildEnv = "SINGLEINSTANCE_TEST_FAULT_FOREIGN_OWNED_LOCK_DIR"

const faultResultPrefix = "fault-result "

// faultOp is what a child saw of one call.
type faultOp struct {
	Err     string   `json:"err,omitempty"`
	Matches []string `json:"matches,omitempty"`
	Running bool     `json:"running,omitempty"`
}

type faultChildResult struct {
	Euid       int                `json:"euid"`
	DefaultDir string             `json:"default_dir"`
	Ops        map[string]faultOp `json:"ops"`
}

func faultOpOf(err error) faultOp {
	var op faultOp
	if err != nil {
		op.Err = err.Error()
		for _, s := range faultSentinels {
			if errors.Is(err, s.err) {
				op.Matches = append(op.Matches, s.name)
			}
		}
	}
	return op
}

// faultForeignChild runs in the child, as the unprivileged user: it probes
// the lock (the lock directory comes from SINGLEINSTANCE_LOCK_DIR, or is
// the default), takes it, probes again, and prints what it saw.
func faultForeignChild(t *testing.T) {
	res := faultChildResult{Euid: os.Geteuid(), Ops: map[string]faultOp{}}
	res.DefaultDir, _ = singleinstance.DefaultLockDir()
	running, err := singleinstance.CheckRunning(faultName)
	op := faultOpOf(err)
	op.Running = running
	res.Ops["CheckRunning"] = op
	st, err := singleinstance.Status(faultName)
	op = faultOpOf(err)
	op.Running = st != nil && st.Running
	res.Ops["Status"] = op
	inst, err := singleinstance.New(faultName)
	res.Ops["New"] = faultOpOf(err)
	if err == nil {
		res.Ops["Release"] = faultOpOf(inst.Release())
		running, err := singleinstance.CheckRunning(faultName)
		op := faultOpOf(err)
		op.Running = running
		res.Ops["CheckRunningAfter"] = op
	}
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%s%s\n", faultResultPrefix, out)
}

// faultCopyTestBinary copies the test binary where an unprivileged user can
// run it: go test builds it in a directory only root can enter. cp writes
// the copy, not this process: a descriptor open for writing here would be
// inherited by a child that another test forks meanwhile, and while any
// process has one, executing the copy fails with ETXTBSY.
func faultCopyTestBinary(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "faults.test")
	if out, err := exec.Command("cp", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp %s %s: %v\n%s", src, dst, err, out)
	}
	if err := os.Chmod(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// faultOpenTempDir makes a t.TempDir() enterable by other users (its
// parent, created by the testing package, is mode 0700).
func faultOpenTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func faultChown(t *testing.T, path string, uid int) {
	t.Helper()
	if err := os.Lchown(path, uid, uid); err != nil {
		t.Fatal(err)
	}
}

func TestFaultForeignOwnedLockDir(t *testing.T) {
	if os.Getenv(faultForeignChildEnv) != "" {
		faultForeignChild(t)
		return
	}
	faultRequireRoot(t)
	t.Parallel()
	base := faultOpenTempDir(t)
	bin := faultCopyTestBinary(t, base)
	// A user of its own, so that its default lock directory,
	// /tmp/singleinstance-UID, is used by nobody else on the machine.
	uid := 3_000_000 + os.Getpid()%1_000_000
	defaultDir := "/tmp/singleinstance-" + strconv.Itoa(uid)
	if _, err := os.Lstat(defaultDir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s already exists (%v); cannot plant it", defaultDir, err)
	}

	// run runs the child as uid. lockDir "" means the default directory.
	run := func(t *testing.T, scenario, lockDir string) faultChildResult {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), bin, "-test.run=^TestFaultForeignOwnedLockDir$", "-test.count=1")
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, singleinstance.LockDirEnv+"=") && !strings.HasPrefix(kv, "GOCOVERDIR=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, faultForeignChildEnv+"="+scenario)
		if lockDir != "" {
			cmd.Env = append(cmd.Env, singleinstance.LockDirEnv+"="+lockDir)
		}
		cmd.Dir = base
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}},
			Pdeathsig:  syscall.SIGKILL,
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		t.Logf("child as uid %d (%s): err %v\nstdout:\n%s\nstderr:\n%s", uid, scenario, err, out, stderr.Bytes())
		if err != nil {
			t.Fatalf("child failed: %v", err)
		}
		for line := range strings.Lines(string(out)) {
			if rest, ok := strings.CutPrefix(line, faultResultPrefix); ok {
				var res faultChildResult
				if err := json.Unmarshal([]byte(rest), &res); err != nil {
					t.Fatalf("child result %q: %v", rest, err)
				}
				if res.Euid != uid {
					t.Fatalf("child ran as euid %d, want %d", res.Euid, uid)
				}
				return res
			}
		}
		t.Fatalf("child printed no result")
		return faultChildResult{}
	}
	// expect checks that op failed, matching want and not ErrAlreadyRunning.
	expect := func(t *testing.T, res faultChildResult, op string, want ...string) {
		t.Helper()
		got, ok := res.Ops[op]
		if !ok || got.Err == "" {
			t.Errorf("%s in the child: no error, want %v", op, want)
			return
		}
		for _, w := range want {
			if !slices.Contains(got.Matches, w) {
				t.Errorf("%s in the child: %q matches %v, want %s", op, got.Err, got.Matches, w)
			}
		}
		if slices.Contains(got.Matches, "ErrAlreadyRunning") {
			t.Errorf("%s in the child: fault %q reported as another instance running", op, got.Err)
		}
	}
	// plant creates the default lock directory of the child's user the way
	// create says, and removes it at cleanup.
	plant := func(t *testing.T, create func(path string)) {
		t.Helper()
		t.Cleanup(func() { os.RemoveAll(defaultDir) })
		create(defaultDir)
	}

	t.Run("explicit directory owned by another user", func(t *testing.T) {
		dir := filepath.Join(base, "foreign")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		faultChown(t, dir, faultNobody)
		res := run(t, "explicit", dir)
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrPermission", "fs.ErrPermission")
		}
		faultAssertDirHolds(t, dir)
	})

	t.Run("explicit directory inside one owned by another user", func(t *testing.T) {
		outer := filepath.Join(base, "foreign-outer")
		if err := os.Mkdir(outer, 0o700); err != nil {
			t.Fatal(err)
		}
		faultChown(t, outer, faultNobody)
		res := run(t, "explicit-inner", filepath.Join(outer, "locks"))
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrPermission", "fs.ErrPermission")
		}
		faultAssertDirHolds(t, outer)
	})

	t.Run("default directory planted by another user", func(t *testing.T) {
		plant(t, func(p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			faultChown(t, p, faultNobody)
		})
		res := run(t, "default-foreign", "")
		if res.DefaultDir != defaultDir {
			t.Fatalf("child's default lock directory is %q, want %q", res.DefaultDir, defaultDir)
		}
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrInsecureLockDir")
			// The error names the directory, its owner and the fix.
			for _, want := range []string{"lock directory " + defaultDir + ` belongs to user "nobody" (uid 65534)`,
				"not to you (uid " + strconv.Itoa(uid) + ")", "remove it as root", "set SINGLEINSTANCE_LOCK_DIR to a directory you own"} {
				if !strings.Contains(res.Ops[op].Err, want) {
					t.Errorf("%s in the child: %q does not contain %q", op, res.Ops[op].Err, want)
				}
			}
		}
		faultAssertDirHolds(t, defaultDir)
	})

	t.Run("default directory planted open to all by another user", func(t *testing.T) {
		// The child could write here; it must not trust it.
		plant(t, func(p string) {
			if err := os.Mkdir(p, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
			faultChown(t, p, faultNobody)
		})
		res := run(t, "default-foreign-open", "")
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrInsecureLockDir")
		}
		faultAssertDirHolds(t, defaultDir)
	})

	t.Run("default directory is a symlink", func(t *testing.T) {
		target := filepath.Join(base, "symlink-target")
		if err := os.Mkdir(target, 0o700); err != nil {
			t.Fatal(err)
		}
		faultChown(t, target, uid)
		plant(t, func(p string) {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		})
		res := run(t, "default-symlink", "")
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrInsecureLockDir")
		}
		faultAssertDirHolds(t, target)
	})

	t.Run("default directory is a file of another user", func(t *testing.T) {
		plant(t, func(p string) {
			faultVictim(t, p, "planted\n", 0o644)
			faultChown(t, p, faultNobody)
		})
		res := run(t, "default-foreign-file", "")
		for _, op := range []string{"CheckRunning", "Status", "New"} {
			expect(t, res, op, "ErrInsecureLockDir")
		}
	})

	t.Run("control: own default directory with loose mode is tightened", func(t *testing.T) {
		plant(t, func(p string) {
			if err := os.Mkdir(p, 0o777); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o777); err != nil {
				t.Fatal(err)
			}
			faultChown(t, p, uid)
		})
		res := run(t, "default-own-loose", "")
		// Checking changes nothing, so the loose directory is refused...
		expect(t, res, "CheckRunning", "ErrInsecureLockDir")
		// ...and New, which may, makes it private and succeeds.
		for _, op := range []string{"New", "Release", "CheckRunningAfter"} {
			if got, ok := res.Ops[op]; !ok || got.Err != "" || got.Running {
				t.Errorf("%s in the child = %+v (present %v), want success, not running", op, got, ok)
			}
		}
		fi, err := os.Lstat(defaultDir)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("default directory mode %v after New, want 0700", fi.Mode().Perm())
		}
		lfi, err := os.Lstat(filepath.Join(defaultDir, faultName+".lock"))
		if err != nil {
			t.Fatalf("lock file: %v", err)
		}
		if owner := lfi.Sys().(*syscall.Stat_t).Uid; owner != uint32(uid) {
			t.Errorf("lock file owned by uid %d, want %d", owner, uid)
		}
	})
}

// Lock file owned by another user.

func TestFaultForeignLockFile(t *testing.T) {
	faultRequireRoot(t)
	t.Parallel()
	dir := t.TempDir()
	opt := singleinstance.WithLockDir(dir)
	faultMustRelease(t, faultMustNew(t, opt))
	lock := faultPath(dir, ".lock")
	faultChown(t, lock, faultNobody)
	before := faultSnapshot(t, lock)
	faultExpectNewFails(t, local.ErrForeignLockFile, opt)
	// Looking needs no write access, and nothing holds the lock.
	faultNotRunning(t, opt)
	faultAssertUnchanged(t, lock, before)
	if got := faultSnapshot(t, lock).uid; got != faultNobody {
		t.Errorf("lock file now owned by uid %d", got)
	}
}

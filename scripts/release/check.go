package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// checkInstall checks the release the way its users will get it:
//
//   - the go command, fetching the tags straight from the clone, gets
//     the hashes written to go.sum;
//   - every module builds on its own (GOWORK=off) at the release versions,
//     and its go.sum verifies;
//   - in an empty module cache, "go install MODULE/cmd/singleinstance@V"
//     and the same for singleinstance-etcd work, and the commands run and
//     say they are V;
//   - a new module can "go get" the library at V and build a program with
//     it, and neither that program nor its module graph has cobra, etcd
//     or gRPC in it.
func checkInstall(o *options, env *goEnv, work string, rel *release, mods []mod) error {
	v := o.version
	if err := checkDirectHashes(o, env, work, rel, mods); err != nil {
		return err
	}
	// -trimpath and CGO_ENABLED=0, as in the archive builds, so that the
	// builds below find most packages in the build cache.
	flags := "GOFLAGS=-trimpath"
	modcache := filepath.Join(o.out, "modcache")
	for _, m := range mods {
		dir := filepath.Join(work, filepath.FromSlash(m.dir))
		log.Printf("checking that %s builds on its own at %s", m.path, v)
		e := env.env(modcache, "CGO_ENABLED=0", flags+" -mod=readonly")
		if err := runGo(dir, e, "mod", "verify"); err != nil {
			return err
		}
		if err := runGo(dir, e, "build", "./..."); err != nil {
			return err
		}
	}

	check := filepath.Join(o.out, "check")
	bin := filepath.Join(check, "bin")
	empty := filepath.Join(check, "modcache")
	for _, d := range []string{bin, filepath.Join(check, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	e := env.env(empty, "CGO_ENABLED=0", flags, "GOBIN="+bin)
	for _, c := range commands {
		pkg := rootModule + "/" + cmdModuleDir
		if c.pkg != "." {
			pkg += "/" + strings.TrimPrefix(c.pkg, "./")
		}
		log.Printf("go install %s@%s in an empty module cache", pkg, v)
		if err := runGo(check, e, "install", pkg+"@"+v); err != nil {
			return err
		}
	}
	// And both at once, as README.md says.
	all := rootModule + "/" + cmdModuleDir + "/...@" + v
	log.Printf("go install %s", all)
	if err := runGo(check, e, "install", all); err != nil {
		return err
	}
	lean, withEtcd := filepath.Join(bin, "singleinstance"), filepath.Join(bin, "singleinstance-etcd")
	wantFirst := "singleinstance version " + v + "\n"
	for _, c := range []struct {
		exe, arg, etcd string
	}{
		{lean, "--version", "etcd:   not linked"},
		{lean, "version", "etcd:   not linked"},
		{withEtcd, "--version", "etcd:   linked"},
		{withEtcd, "version", "etcd:   linked"},
	} {
		out, code := runExe(c.exe, nil, c.arg)
		if code != 0 || !strings.HasPrefix(out, wantFirst) || !strings.Contains(out, c.etcd) {
			return fmt.Errorf("%s %s: exit %d, want the first line %q and %q:\n%s", c.exe, c.arg, code, wantFirst, c.etcd, out)
		}
	}
	if out, code := runExe(lean, nil, "--lock-dir", filepath.Join(check, "tmp", "locks"), "check", "app"); code != 1 || !strings.Contains(out, "NOT RUNNING") {
		return fmt.Errorf("singleinstance check: exit %d, want 1 and NOT RUNNING:\n%s", code, out)
	}
	// The lean command hands etcd command lines to singleinstance-etcd
	// beside it, which reports an unreachable cluster with exit 4.
	sock := "unix://" + filepath.Join(check, "tmp", "no-etcd.sock")
	if out, code := runExe(lean, []string{"PATH=/nonexistent"}, "--etcd", sock, "--etcd-dial-timeout", "300ms", "check", "app"); code != 4 {
		return fmt.Errorf("singleinstance --etcd: exit %d, want 4 from singleinstance-etcd:\n%s", code, out)
	}
	log.Printf("both commands installed and report %s", v)

	return checkLibraryUser(o, env, empty, flags)
}

// userProgram is a library user's program.
const userProgram = `package main

import (
	"fmt"
	"os"

	"github.com/singleinstance/singleinstance"
)

func main() {
	inst, err := singleinstance.New("release-check", singleinstance.WithLockDir(os.Args[1]))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("held with token", inst.Token())
	if err := inst.Release(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// heavy matches what the library must not pull in.
var heavy = regexp.MustCompile(`(?m)^\S*(etcd|grpc|opentelemetry|cobra|pflag|protobuf)\S*`)

func checkLibraryUser(o *options, env *goEnv, modcache, flags string) error {
	dir := filepath.Join(o.out, "check", "user")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/user\n\ngo 1.26\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(userProgram), 0o644); err != nil {
		return err
	}
	e := env.env(modcache, "CGO_ENABLED=0", flags+" -mod=mod")
	log.Printf("go get %s@%s in a new module, and build", rootModule, o.version)
	if err := runGo(dir, e, "get", rootModule+"@"+o.version); err != nil {
		return err
	}
	exe := filepath.Join(dir, "user")
	if err := runGo(dir, e, "build", "-o", exe, "."); err != nil {
		return err
	}
	if out, code := runExe(exe, nil, filepath.Join(o.out, "check", "tmp", "user-locks")); code != 0 || !strings.HasPrefix(out, "held with token ") {
		return fmt.Errorf("the library user's program: exit %d:\n%s", code, out)
	}
	for _, args := range [][]string{{"list", "-deps", "."}, {"list", "-m", "all"}} {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, e
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("go %s: %v", strings.Join(args, " "), err)
		}
		if m := heavy.FindAll(out, -1); m != nil {
			return fmt.Errorf("a library user's go %s has %s", strings.Join(args, " "), bytes.Join(m, []byte(", ")))
		}
	}
	if req, err := os.ReadFile(filepath.Join(dir, "go.mod")); err != nil || !strings.Contains(string(req), rootModule+" "+o.version) {
		return fmt.Errorf("the library user's go.mod does not require %s %s:\n%s", rootModule, o.version, req)
	}
	log.Printf("a library user builds with %s@%s, without cobra, etcd or gRPC", rootModule, o.version)
	return nil
}

// runExe runs a program with extra environment variables and returns its
// combined output and exit code (-1 if it did not run or exit).
func runExe(exe string, env []string, args ...string) (string, int) {
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	case err != nil:
		return string(out) + err.Error(), -1
	}
	return string(out), 0
}

// checkDirectHashes has the go command fetch every module at the release
// straight from the clone's tags (GOPROXY=direct, with git told that the
// repository's URL is the clone), as the public proxy will from the
// pushed tags, and checks that it hashes them as go.sum says.
func checkDirectHashes(o *options, env *goEnv, work string, rel *release, mods []mod) error {
	modcache := filepath.Join(o.out, "check", "direct")
	defer cleanModCache(env, modcache)
	e := env.env(modcache, "GOPROXY=direct", "GOSUMDB=off", "GOFLAGS=-modcacherw",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=url."+work+".insteadOf", "GIT_CONFIG_VALUE_0=https://"+rootModule)
	for _, m := range mods {
		cmd := exec.Command("go", "mod", "download", "-json", m.path+"@"+o.version)
		cmd.Dir, cmd.Env = o.out, e
		out, err := cmd.Output()
		var got struct{ Sum, GoModSum, Error string }
		if jerr := json.Unmarshal(out, &got); err != nil || jerr != nil || got.Error != "" {
			return fmt.Errorf("go mod download %s@%s from the clone: %v %v %s", m.path, o.version, err, jerr, out)
		}
		if want := rel.sums[m.path]; got.Sum != want.zip || got.GoModSum != want.mod {
			return fmt.Errorf("%s@%s: the go command hashes the tag %s %s, go.sum says %s %s",
				m.path, o.version, got.Sum, got.GoModSum, want.zip, want.mod)
		}
	}
	log.Printf("the go command, fetching the tags from the clone, hashes every module as go.sum says")
	return nil
}

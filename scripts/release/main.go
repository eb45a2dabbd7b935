// Command release releases the singleinstance modules at one version: in a
// clone of the repository it moves the modules' requirements on each other
// (and go.work's replace lines) to that version, writes their go.sum lines,
// commits and tags every module, writes the module zips a proxy would
// serve, builds static release archives with a SHA256SUMS file, and checks
// from an empty module cache that both commands install and the library
// builds for a user. Run it through scripts/release.sh; docs/releasing.md
// describes the process.
//
//	scripts/release.sh [-dry-run] [-out DIR] [-targets os/arch,...] [-check=false] [-online] VERSION
//
// With -dry-run nothing leaves the clone: the tags and the release commit
// stay in DIR/repo. Without it the release commit and the tags are then
// fetched into the repository (the current branch is fast-forwarded to the
// release commit), ready to push.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/semver"
)

// allTargets are the systems and architectures of a release.
const allTargets = "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64,windows/arm64,freebsd/amd64,freebsd/arm64"

type options struct {
	repo    string   // the repository's top directory
	out     string   // where the clone, proxy, archives and checks go
	version string   // the release, e.g. v1.2.3
	dryRun  bool     // keep everything in out
	check   bool     // check installability from the local proxy
	online  bool     // let the go command reach $GOPROXY for third-party modules
	targets []target // release archives to build
}

type target struct{ goos, goarch string }

func (t target) String() string { return t.goos + "/" + t.goarch }

func main() {
	log.SetFlags(0)
	log.SetPrefix("release: ")
	var o options
	var targets string
	flag.StringVar(&o.repo, "repo", ".", "the repository to release (its top directory)")
	flag.StringVar(&o.out, "out", "", "output directory, which must not exist or be empty (default: a new temporary directory)")
	flag.BoolVar(&o.dryRun, "dry-run", false, "tag and build in the clone only; change nothing in the repository")
	flag.BoolVar(&o.check, "check", true, "install the commands and build a library user from the local proxy in an empty module cache")
	flag.BoolVar(&o.online, "online", false, "fall back to $GOPROXY for third-party modules missing from the local module cache")
	flag.StringVar(&targets, "targets", allTargets, "comma-separated GOOS/GOARCH list of archives to build")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: scripts/release.sh [flags] VERSION\n\nFlags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	o.version = flag.Arg(0)
	if err := checkVersion(o.version); err != nil {
		log.Fatal(err)
	}
	var err error
	if o.targets, err = parseTargets(targets); err != nil {
		log.Fatal(err)
	}
	if o.repo, err = filepath.Abs(o.repo); err != nil {
		log.Fatal(err)
	}
	if err := run(&o); err != nil {
		log.Fatal(err)
	}
}

// checkVersion accepts a canonical semantic version of major version 0 or
// 1 (v2 and later would need /v2 module paths).
func checkVersion(v string) error {
	if !semver.IsValid(v) || semver.Canonical(v) != v {
		return fmt.Errorf("version %q is not of the form vX.Y.Z or vX.Y.Z-PRERELEASE", v)
	}
	if m := semver.Major(v); m != "v0" && m != "v1" {
		return fmt.Errorf("version %s: major version %s would need module paths ending in /%s", v, m, m)
	}
	return nil
}

func parseTargets(s string) ([]target, error) {
	var ts []target
	for _, f := range strings.Split(s, ",") {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(f), "/")
		if !ok || goos == "" || goarch == "" {
			return nil, fmt.Errorf("target %q is not GOOS/GOARCH", f)
		}
		ts = append(ts, target{goos, goarch})
	}
	return ts, nil
}

func run(o *options) error {
	head, err := git(o.repo, "rev-parse", "HEAD")
	if err != nil {
		return err
	}
	if !o.dryRun {
		if status, err := git(o.repo, "status", "--porcelain"); err != nil {
			return err
		} else if status != "" {
			return fmt.Errorf("the repository has uncommitted changes:\n%s", status)
		}
	}
	if err := prepareOut(o); err != nil {
		return err
	}
	work := filepath.Join(o.out, "repo")
	log.Printf("cloning %s at %s into %s", o.repo, head[:12], work)
	if _, err := git("", "clone", "-q", "--no-checkout", o.repo, work); err != nil {
		return err
	}
	if _, err := git(work, "checkout", "-q", "--detach", head); err != nil {
		return err
	}
	mods, err := loadModules(work)
	if err != nil {
		return err
	}
	if !o.dryRun {
		for _, m := range mods {
			if _, err := git(o.repo, "rev-parse", "-q", "--verify", "refs/tags/"+m.tag(o.version)); err == nil {
				return fmt.Errorf("tag %s already exists", m.tag(o.version))
			}
		}
	}

	rel, err := makeReleaseCommit(o, work, mods)
	if err != nil {
		return err
	}
	log.Printf("release commit %s; tags %s", rel.commit[:12], strings.Join(rel.tags, " "))
	proxy := filepath.Join(o.out, "proxy")
	if err := writeProxy(proxy, work, rel, mods); err != nil {
		return err
	}
	log.Printf("module proxy: file://%s", proxy)

	env := newGoEnv(o, proxy)
	// The module caches' files are read-only: remove them, so that the
	// output directory can be removed as usual.
	defer cleanModCache(env, filepath.Join(o.out, "check", "modcache"))
	defer cleanModCache(env, filepath.Join(o.out, "modcache"))
	if err := buildArchives(o, env, work, rel); err != nil {
		return err
	}
	if o.check {
		if err := checkInstall(o, env, work, rel, mods); err != nil {
			return err
		}
	}
	if o.dryRun {
		log.Printf("dry run: nothing was changed in %s; the release is in %s", o.repo, o.out)
		return nil
	}
	return land(o, work, rel)
}

// prepareOut creates the output directory, or checks that it is empty.
func prepareOut(o *options) error {
	if o.out == "" {
		dir, err := os.MkdirTemp("", "singleinstance-release-"+o.version+"-")
		if err != nil {
			return err
		}
		o.out = dir
		return nil
	}
	out, err := filepath.Abs(o.out)
	if err != nil {
		return err
	}
	o.out = out
	entries, err := os.ReadDir(out)
	if os.IsNotExist(err) {
		return os.MkdirAll(out, 0o755)
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("output directory %s is not empty", out)
	}
	return nil
}

// land fetches the release commit and the tags into the repository and
// fast-forwards its current branch to the release commit.
func land(o *options, work string, rel *release) error {
	args := []string{"fetch", "-q", work}
	for _, t := range rel.tags {
		args = append(args, "refs/tags/"+t+":refs/tags/"+t)
	}
	if _, err := git(o.repo, args...); err != nil {
		return err
	}
	if _, err := git(o.repo, "merge", "-q", "--ff-only", rel.commit); err != nil {
		return fmt.Errorf("the tags are in place, but the branch could not be fast-forwarded to %s: %w", rel.commit, err)
	}
	fmt.Printf(`Released %s: commit %s, tags %s.
Archives and SHA256SUMS: %s
Publish with:
	git push origin HEAD %s
then attach the files in %s to the release.
`, o.version, rel.commit, strings.Join(rel.tags, " "), filepath.Join(o.out, "dist"),
		strings.Join(rel.tags, " "), filepath.Join(o.out, "dist"))
	return nil
}

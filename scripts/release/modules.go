package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/zip"
)

// A mod is one of the repository's modules.
type mod struct {
	dir  string   // slash-separated, relative to the top; "" for the root
	path string   // module path
	deps []string // paths of the repository's modules it requires
}

// tag is the module's tag for version v: v for the root module, DIR/v
// for the others.
func (m mod) tag(v string) string {
	if m.dir == "" {
		return v
	}
	return m.dir + "/" + v
}

func (m mod) file(name string) string {
	if m.dir == "" {
		return name
	}
	return m.dir + "/" + name
}

// loadModules reads the modules that go.work uses, ordered so that every
// module comes after the ones it requires. Each must be free of replace
// and exclude directives, which "go install MODULE@VERSION" refuses.
func loadModules(top string) ([]mod, error) {
	data, err := os.ReadFile(filepath.Join(top, "go.work"))
	if err != nil {
		return nil, err
	}
	wf, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return nil, err
	}
	var mods []mod
	files := map[string]*modfile.File{}
	for _, u := range wf.Use {
		dir := strings.TrimPrefix(path.Clean(filepath.ToSlash(u.Path)), "./")
		if dir == "." {
			dir = ""
		}
		m := mod{dir: dir}
		gomod := filepath.Join(top, filepath.FromSlash(m.file("go.mod")))
		data, err := os.ReadFile(gomod)
		if err != nil {
			return nil, err
		}
		f, err := modfile.Parse(m.file("go.mod"), data, nil)
		if err != nil {
			return nil, err
		}
		if len(f.Replace) > 0 || len(f.Exclude) > 0 {
			return nil, fmt.Errorf("%s has replace or exclude directives, which go install MODULE@VERSION refuses; use go.work for development", m.file("go.mod"))
		}
		m.path = f.Module.Mod.Path
		files[m.path] = f
		mods = append(mods, m)
	}
	for i := range mods {
		for _, r := range files[mods[i].path].Require {
			if files[r.Mod.Path] != nil {
				mods[i].deps = append(mods[i].deps, r.Mod.Path)
			}
		}
	}
	return orderModules(mods)
}

// orderModules sorts mods so that each comes after those it requires.
func orderModules(mods []mod) ([]mod, error) {
	var out []mod
	done := map[string]bool{}
	for len(out) < len(mods) {
		progress := false
		for _, m := range mods {
			if done[m.path] {
				continue
			}
			ready := true
			for _, d := range m.deps {
				ready = ready && done[d]
			}
			if ready {
				out = append(out, m)
				done[m.path] = true
				progress = true
			}
		}
		if !progress {
			return nil, fmt.Errorf("the modules require each other in a cycle")
		}
	}
	return out, nil
}

// A release is the tagged commit.
type release struct {
	version string
	commit  string
	time    time.Time // the commit's time, for the archives and the proxy
	tags    []string
	sums    map[string]sum // by module path
}

// sum is a module's go.sum hashes.
type sum struct{ zip, mod string }

// makeReleaseCommit moves every requirement on the repository's modules and
// go.work's replace lines to the version, then, module by module in
// dependency order, adds the go.sum lines of the modules it requires (whose
// zips are final by then) and hashes its own zip, amending one commit.
// Then it tags every module and checks that the final commit's zips have
// the hashes that were written.
func makeReleaseCommit(o *options, work string, mods []mod) (*release, error) {
	v := o.version
	ours := map[string]bool{}
	for _, m := range mods {
		ours[m.path] = true
	}
	for _, m := range mods {
		name := filepath.Join(work, filepath.FromSlash(m.file("go.mod")))
		if err := editFile(name, func(data []byte) ([]byte, error) { return setRequirements(name, data, ours, v) }); err != nil {
			return nil, err
		}
	}
	name := filepath.Join(work, "go.work")
	if err := editFile(name, func(data []byte) ([]byte, error) { return setWorkReplacements(name, data, ours, v) }); err != nil {
		return nil, err
	}
	if err := gitIdentity(o, work); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("Release %s: the modules require each other at %s", v, v)
	// Empty when the requirements already name the version (the first
	// release): the go.sum lines then make the change.
	if _, err := git(work, "commit", "-q", "-a", "--allow-empty", "-m", msg); err != nil {
		return nil, err
	}
	rel := &release{version: v, sums: map[string]sum{}}
	for _, m := range mods {
		if len(m.deps) > 0 {
			name := filepath.Join(work, filepath.FromSlash(m.file("go.sum")))
			err := editFile(name, func(data []byte) ([]byte, error) {
				lines := map[module.Version]string{}
				for _, d := range m.deps {
					s := rel.sums[d]
					lines[module.Version{Path: d, Version: v}] = s.zip
					lines[module.Version{Path: d, Version: v + "/go.mod"}] = s.mod
				}
				return setGoSum(data, lines, ours), nil
			})
			if err != nil {
				return nil, err
			}
			if _, err := git(work, "commit", "-q", "-a", "--amend", "--no-edit"); err != nil {
				return nil, err
			}
		}
		s, err := hashModule(work, "HEAD", m, v)
		if err != nil {
			return nil, err
		}
		rel.sums[m.path] = s
	}
	commit, err := git(work, "rev-parse", "HEAD")
	if err != nil {
		return nil, err
	}
	ct, err := git(work, "show", "-s", "--format=%cI", "HEAD")
	if err != nil {
		return nil, err
	}
	if rel.time, err = time.Parse(time.RFC3339, ct); err != nil {
		return nil, err
	}
	rel.commit = commit
	rel.time = rel.time.UTC()
	for _, m := range mods {
		s, err := hashModule(work, commit, m, v)
		if err != nil {
			return nil, err
		}
		if s != rel.sums[m.path] {
			return nil, fmt.Errorf("%s@%s: the release commit's zip hashes %v, not the %v written to go.sum", m.path, v, s, rel.sums[m.path])
		}
		t := m.tag(v)
		if _, err := git(work, "tag", "-a", "-m", m.path+" "+v, t, commit); err != nil {
			return nil, err
		}
		rel.tags = append(rel.tags, t)
	}
	return rel, nil
}

// setRequirements moves the requirements on the modules in ours to v.
func setRequirements(name string, data []byte, ours map[string]bool, v string) ([]byte, error) {
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range f.Require {
		if ours[r.Mod.Path] {
			if err := f.AddRequire(r.Mod.Path, v); err != nil {
				return nil, err
			}
		}
	}
	f.Cleanup()
	return f.Format()
}

// setWorkReplacements moves go.work's versioned replace lines of the
// modules in ours to v, keeping the file's layout and comments.
func setWorkReplacements(name string, data []byte, ours map[string]bool, v string) ([]byte, error) {
	wf, err := modfile.ParseWork(name, data, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range wf.Replace {
		if !ours[r.Old.Path] || r.Old.Version == "" {
			continue
		}
		// The line's tokens are [replace] OLD-PATH OLD-VERSION => NEW-PATH.
		tok := r.Syntax.Token
		i := slices.Index(tok, "=>") - 1
		if i < 1 || tok[i] != r.Old.Version {
			return nil, fmt.Errorf("%s:%d: cannot read the replace line", name, r.Syntax.Start.Line)
		}
		tok[i] = v
		r.Old.Version = v
	}
	return modfile.Format(wf.Syntax), nil
}

// setGoSum replaces the go.sum lines of the modules in ours with lines.
func setGoSum(data []byte, lines map[module.Version]string, ours map[string]bool) []byte {
	all := map[module.Version]string{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || ours[f[0]] {
			continue
		}
		all[module.Version{Path: f[0], Version: f[1]}] = f[2]
	}
	for mv, h := range lines {
		all[mv] = h
	}
	keys := make([]module.Version, 0, len(all))
	for mv := range all {
		keys = append(keys, mv)
	}
	module.Sort(keys)
	var b bytes.Buffer
	for _, mv := range keys {
		fmt.Fprintf(&b, "%s %s %s\n", mv.Path, mv.Version, all[mv])
	}
	return b.Bytes()
}

// hashModule returns the go.sum hashes of module m at version v, from the
// zip that a module proxy makes of it at the revision.
func hashModule(work, rev string, m mod, v string) (sum, error) {
	f, err := os.CreateTemp("", "module-*.zip")
	if err != nil {
		return sum{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := createZip(f, work, rev, m, v); err != nil {
		return sum{}, err
	}
	if err := f.Close(); err != nil {
		return sum{}, err
	}
	zh, err := dirhash.HashZip(f.Name(), dirhash.Hash1)
	if err != nil {
		return sum{}, err
	}
	gomod, err := gitShow(work, rev, m.file("go.mod"))
	if err != nil {
		return sum{}, err
	}
	return sum{zip: zh, mod: goModHash(gomod)}, nil
}

// createZip writes the module zip of m at the revision, the way the go
// command and module proxies make it from a repository (files that git
// archive gives, less nested modules, plus the top LICENSE for a module
// without one). It fails on any file that a module zip cannot hold.
func createZip(w io.Writer, work, rev string, m mod, v string) error {
	subdir := ""
	if m.dir != "" {
		subdir = m.dir + "/"
	}
	return zip.CreateFromVCS(w, module.Version{Path: m.path, Version: v}, work, rev, subdir)
}

// goModHash is the go.sum hash of a go.mod file.
func goModHash(data []byte) string {
	h, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		panic(err) // only the open function can fail
	}
	return h
}

func editFile(name string, edit func([]byte) ([]byte, error)) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	out, err := edit(data)
	if err != nil {
		return err
	}
	return os.WriteFile(name, out, 0o644)
}

// gitIdentity lets a dry run commit where git has no user configured.
func gitIdentity(o *options, work string) error {
	if email, _ := git(work, "config", "user.email"); email != "" || !o.dryRun {
		return nil
	}
	for _, kv := range [][2]string{{"user.name", "singleinstance release dry run"}, {"user.email", "release@example.invalid"}} {
		if _, err := git(work, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// git runs git in dir and returns its trimmed output.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return strings.TrimSpace(string(out)), nil
}

// gitShow returns a file's content at a revision, untrimmed.
func gitShow(dir, rev, file string) ([]byte, error) {
	cmd := exec.Command("git", "show", rev+":"+file)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git show %s:%s: %v\n%s", rev, file, err, stderr.Bytes())
	}
	return out, nil
}

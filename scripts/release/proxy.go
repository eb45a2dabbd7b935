package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
)

// writeProxy lays out a file-system module proxy (GOPROXY=file://DIR) that
// serves every module at the release, from the release commit, and checks
// each zip against the hashes the release commit's go.sum files name.
func writeProxy(dir, work string, rel *release, mods []mod) error {
	for _, m := range mods {
		ep, err := module.EscapePath(m.path)
		if err != nil {
			return err
		}
		ev, err := module.EscapeVersion(rel.version)
		if err != nil {
			return err
		}
		vdir := filepath.Join(dir, filepath.FromSlash(ep), "@v")
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			return err
		}
		zipName := filepath.Join(vdir, ev+".zip")
		f, err := os.Create(zipName)
		if err != nil {
			return err
		}
		err = createZip(f, work, rel.commit, m, rel.version)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		zh, err := dirhash.HashZip(zipName, dirhash.Hash1)
		if err != nil {
			return err
		}
		gomod, err := gitShow(work, rel.commit, m.file("go.mod"))
		if err != nil {
			return err
		}
		if s := (sum{zh, goModHash(gomod)}); s != rel.sums[m.path] {
			return fmt.Errorf("%s@%s: proxy zip hashes %v, go.sum says %v", m.path, rel.version, s, rel.sums[m.path])
		}
		if err := os.WriteFile(filepath.Join(vdir, ev+".mod"), gomod, 0o644); err != nil {
			return err
		}
		info, err := json.Marshal(struct {
			Version string
			Time    string
		}{rel.version, rel.time.Format(time.RFC3339)})
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(vdir, ev+".info"), append(info, '\n'), 0o644); err != nil {
			return err
		}
		list, err := os.OpenFile(filepath.Join(vdir, "list"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(list, rel.version)
		if cerr := list.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// goEnv builds the environment of the go commands that build and check the
// release: no workspace, our modules from the local proxy, third-party
// modules from the local module cache (and with -online from $GOPROXY),
// and each run with a module cache of its own, so that the release
// versions never enter the user's module cache.
type goEnv struct {
	base  []string
	proxy string
}

// goVars are the variables goEnv sets itself.
var goVars = []string{"GOFLAGS", "GOWORK", "GOPROXY", "GONOPROXY", "GOPRIVATE", "GONOSUMDB", "GONOSUMCHECK",
	"GOSUMDB", "GOMODCACHE", "GOOS", "GOARCH", "CGO_ENABLED", "GOBIN", "GOTOOLCHAIN", "GOINSECURE"}

func newGoEnv(o *options, proxyDir string) *goEnv {
	cache := goVar("GOMODCACHE")
	proxy := "file://" + filepath.ToSlash(proxyDir)
	if cache != "" {
		proxy += ",file://" + filepath.ToSlash(filepath.Join(cache, "cache", "download"))
	}
	upstream := goVar("GOPROXY")
	if o.online && upstream != "" && upstream != "off" {
		proxy += "," + upstream
	} else {
		proxy += ",off"
	}
	var base []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, v := range goVars {
			if k == v {
				keep = false
			}
		}
		if keep {
			base = append(base, kv)
		}
	}
	base = append(base,
		"GOWORK=off",
		"GOTOOLCHAIN=local",
		"GOPROXY="+proxy,
		// The release is in no checksum database yet: the go.sum files,
		// or the hashes checked in writeProxy, vouch for it.
		"GONOSUMDB="+rootModule,
	)
	if !o.online {
		// Third-party modules then come only from the local module
		// cache, which verified them when it downloaded them.
		base = append(base, "GOSUMDB=off")
	} else if s := goVar("GOSUMDB"); s != "" {
		base = append(base, "GOSUMDB="+s)
	}
	return &goEnv{base: base, proxy: proxy}
}

// rootModule is the library's module path, a prefix of the others.
const rootModule = "github.com/singleinstance/singleinstance"

// env is the environment for a go command with the module cache and the
// extra variables.
func (e *goEnv) env(modcache string, extra ...string) []string {
	return append(append(append([]string(nil), e.base...), "GOMODCACHE="+modcache), extra...)
}

// goVar is the go command's value of a variable.
func goVar(name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// runGo runs the go command in dir with env, its output to stderr.
func runGo(dir string, env []string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("in %s: go %s: %v", dir, strings.Join(args, " "), err)
	}
	return nil
}

// cleanModCache removes a module cache that runGo filled (its files are
// read-only).
func cleanModCache(env *goEnv, modcache string) {
	if _, err := os.Stat(modcache); err != nil {
		return
	}
	cmd := exec.Command("go", "clean", "-modcache")
	cmd.Env = env.env(modcache)
	cmd.Dir = filepath.Dir(modcache)
	if err := cmd.Run(); err == nil {
		os.RemoveAll(modcache)
	}
}

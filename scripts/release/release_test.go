package main

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

var ours = map[string]bool{rootModule: true, rootModule + "/etcd": true}

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{
		"v0.1.0": true, "v1.2.3": true, "v0.1.0-rc.1": true, "v0.1.0-ci": true,
		"0.1.0": false, "v0.1": false, "v1.2.3+meta": false, "v2.0.0": false, "latest": false,
	} {
		if err := checkVersion(v); (err == nil) != ok {
			t.Errorf("checkVersion(%q) = %v", v, err)
		}
	}
}

func TestSetRequirements(t *testing.T) {
	in := `module ` + rootModule + `/cmd/singleinstance

go 1.26.0

require (
	github.com/spf13/cobra v1.10.2
	` + rootModule + ` v0.1.0
	` + rootModule + `/etcd v0.1.0
)

require golang.org/x/sys v0.50.0 // indirect
`
	out, err := setRequirements("go.mod", []byte(in), ours, "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(in, "v0.1.0", "v1.2.3")
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestSetWorkReplacements(t *testing.T) {
	in := `go 1.26.8

use (
	.
	./etcd
)

// Development gives the required version from the checkout.
replace (
	` + rootModule + ` v0.1.0 => ./
	` + rootModule + `/etcd v0.1.0 => ./etcd // the backend
)

replace example.com/other v1.0.0 => ../other
`
	out, err := setWorkReplacements("go.work", []byte(in), ours, "v0.2.0")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(in, "v0.1.0", "v0.2.0")
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestSetGoSum(t *testing.T) {
	in := "github.com/b/b v1.0.0 h1:b=\n" +
		rootModule + " v0.1.0 h1:old=\n" +
		rootModule + " v0.1.0/go.mod h1:oldmod=\n" +
		"github.com/a/a v1.0.0/go.mod h1:a=\n"
	out := setGoSum([]byte(in), map[module.Version]string{
		{Path: rootModule, Version: "v0.2.0"}:        "h1:new=",
		{Path: rootModule, Version: "v0.2.0/go.mod"}: "h1:newmod=",
	}, ours)
	want := "github.com/a/a v1.0.0/go.mod h1:a=\n" +
		"github.com/b/b v1.0.0 h1:b=\n" +
		rootModule + " v0.2.0 h1:new=\n" +
		rootModule + " v0.2.0/go.mod h1:newmod=\n"
	if string(out) != want {
		t.Errorf("got:\n%s\nwant:\n%s", out, want)
	}
}

func TestOrderModules(t *testing.T) {
	mods, err := orderModules([]mod{
		{dir: "cmd/singleinstance", path: "c", deps: []string{"e", "r"}},
		{dir: "", path: "r"},
		{dir: "etcd", path: "e", deps: []string{"r"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range mods {
		got = append(got, m.path)
	}
	if strings.Join(got, " ") != "r e c" {
		t.Errorf("order %v", got)
	}
	if _, err := orderModules([]mod{{path: "a", deps: []string{"b"}}, {path: "b", deps: []string{"a"}}}); err == nil {
		t.Error("a cycle was not reported")
	}
	if tag := (mod{dir: "etcd"}).tag("v1.0.0"); tag != "etcd/v1.0.0" {
		t.Errorf("tag %q", tag)
	}
}

// TestModulesOfThisRepository loads the modules from the repository's
// go.work and checks every file name in them against the module zip rules
// (no Windows device names such as NUL or CON, no names that differ only
// in case, no other invalid names), as a proxy would when making the zips.
func TestModulesOfThisRepository(t *testing.T) {
	top, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mods, err := loadModules(top)
	if err != nil {
		t.Fatal(err)
	}
	if len(mods) != 3 || mods[0].path != rootModule || mods[len(mods)-1].dir != cmdModuleDir {
		t.Fatalf("modules %+v", mods)
	}
	for _, m := range mods {
		cf, err := zip.CheckDir(filepath.Join(top, filepath.FromSlash(m.dir)))
		for _, fe := range cf.Invalid {
			t.Errorf("%s: %s: %v", m.path, fe.Path, fe.Err)
		}
		if err != nil && len(cf.Invalid) == 0 {
			t.Errorf("%s: %v", m.path, err)
		}
	}
}

func TestWriteTarGz(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "exe")
	if err := os.WriteFile(src, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	name := filepath.Join(dir, "a.tar.gz")
	files := []archiveFile{{src: src, name: "exe", mode: 0o755}, {src: src, name: "man/exe.1", mode: 0o644}}
	if err := writeTarGz(name, "top", files, mtime); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(mtime) || h.Uid != 0 {
			t.Errorf("%s: mtime %v uid %d", h.Name, h.ModTime, h.Uid)
		}
		got = append(got, h.Name)
	}
	if strings.Join(got, " ") != "top/ top/exe top/man/ top/man/exe.1" {
		t.Errorf("entries %v", got)
	}
}

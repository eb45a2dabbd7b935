package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// cmdModuleDir is the module of the commands, which are built from it on
// its own (GOWORK=off), as "go install" builds them.
const cmdModuleDir = "cmd/singleinstance"

// commands are the binaries of a release archive: name and package in
// cmdModuleDir.
var commands = []struct{ name, pkg string }{
	{"singleinstance", "."},
	{"singleinstance-etcd", "./singleinstance-etcd"},
}

// versionPkg holds the variables that -ldflags -X stamps.
const versionPkg = rootModule + "/cmd/singleinstance/internal/cli"

// docFiles go into every archive; the generated man pages, and any that
// manGlobs find, go into its man/ directory.
var (
	docFiles = []string{"LICENSE", "README.md"}
	manGlobs = []string{"man/*.[1-9]", "docs/man/*.[1-9]", "cmd/singleinstance/man/*.[1-9]"}
)

// ldflags stamps the version, commit and date into the commands.
func ldflags(rel *release) string {
	return fmt.Sprintf("-s -w -X %s.buildVersion=%s -X %s.buildCommit=%s -X %s.buildDate=%s",
		versionPkg, rel.version, versionPkg, rel.commit, versionPkg, rel.time.Format(time.RFC3339))
}

// archiveName is the archive's name without extension, and its top
// directory.
func archiveName(version string, t target) string {
	return fmt.Sprintf("singleinstance-%s-%s-%s", version, t.goos, t.goarch)
}

// buildArchives builds the commands for every target, static
// (CGO_ENABLED=0) and with -trimpath, from the release commit's command
// module on its own and the local proxy, and writes one archive per target
// (.zip for windows, else .tar.gz) and dist/SHA256SUMS.
func buildArchives(o *options, env *goEnv, work string, rel *release) error {
	dist := filepath.Join(o.out, "dist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return err
	}
	var docs []archiveFile
	for _, name := range docFiles {
		docs = append(docs, archiveFile{src: filepath.Join(work, name), name: name, mode: 0o644})
	}
	// The man pages are generated from the command tree of the release
	// commit, dated by the release.
	modcache := filepath.Join(o.out, "modcache")
	manDir := filepath.Join(o.out, "man")
	log.Printf("generating man pages")
	if err := runGo(filepath.Join(work, filepath.FromSlash(cmdModuleDir)),
		env.env(modcache, "GOFLAGS=-mod=readonly", fmt.Sprintf("SOURCE_DATE_EPOCH=%d", rel.time.Unix())),
		"run", "./internal/gendocs", manDir); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	pages, err := filepath.Glob(filepath.Join(manDir, "*.[1-9]"))
	if err != nil {
		return err
	}
	if len(pages) == 0 {
		return fmt.Errorf("man pages: none generated in %s", manDir)
	}
	for _, m := range pages {
		docs = append(docs, archiveFile{src: m, name: "man/" + filepath.Base(m), mode: 0o644})
	}
	for _, g := range manGlobs {
		matches, err := filepath.Glob(filepath.Join(work, filepath.FromSlash(g)))
		if err != nil {
			return err
		}
		for _, m := range matches {
			docs = append(docs, archiveFile{src: m, name: "man/" + filepath.Base(m), mode: 0o644})
		}
	}
	for _, d := range docs {
		if _, err := os.Stat(d.src); err != nil {
			return fmt.Errorf("archive file: %w", err)
		}
	}

	var archives []string
	for _, t := range o.targets {
		name := archiveName(rel.version, t)
		bin := filepath.Join(o.out, "build", name)
		files := []archiveFile{}
		for _, c := range commands {
			exe := c.name
			if t.goos == "windows" {
				exe += ".exe"
			}
			log.Printf("building %s for %s", c.name, t)
			err := runGo(filepath.Join(work, filepath.FromSlash(cmdModuleDir)),
				env.env(modcache, "GOOS="+t.goos, "GOARCH="+t.goarch, "CGO_ENABLED=0", "GOFLAGS=-mod=readonly"),
				"build", "-trimpath", "-ldflags="+ldflags(rel), "-o", filepath.Join(bin, exe), c.pkg)
			if err != nil {
				return err
			}
			files = append(files, archiveFile{src: filepath.Join(bin, exe), name: exe, mode: 0o755})
		}
		files = append(files, docs...)
		archive := name + ".tar.gz"
		write := writeTarGz
		if t.goos == "windows" {
			archive, write = name+".zip", writeZip
		}
		if err := write(filepath.Join(dist, archive), name, files, rel.time); err != nil {
			return err
		}
		archives = append(archives, archive)
	}
	return writeChecksums(dist, archives)
}

type archiveFile struct {
	src, name string // file, and its name in the archive's directory
	mode      int64
}

// writeTarGz writes a gzipped tar of files under the directory dir, with
// every time set to mtime and no owner, so that the same release builds
// the same archive.
func writeTarGz(name, dir string, files []archiveFile, mtime time.Time) error {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatUSTAR}); err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f.src)
		if err != nil {
			return err
		}
		if sub := filepath.ToSlash(filepath.Dir(f.name)); sub != "." && !dirs[sub] {
			dirs[sub] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/" + sub + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatUSTAR}); err != nil {
				return err
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: dir + "/" + f.name, Mode: f.mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return os.WriteFile(name, buf.Bytes(), 0o644)
}

// writeZip writes a zip of files under the directory dir.
func writeZip(name, dir string, files []archiveFile, mtime time.Time) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		data, err := os.ReadFile(f.src)
		if err != nil {
			return err
		}
		hdr := &zip.FileHeader{Name: dir + "/" + f.name, Method: zip.Deflate, Modified: mtime}
		hdr.SetMode(os.FileMode(f.mode))
		w, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(name, buf.Bytes(), 0o644)
}

// writeChecksums writes SHA256SUMS in the format of sha256sum, which
// "sha256sum -c SHA256SUMS" checks.
func writeChecksums(dist string, archives []string) error {
	slices.Sort(archives)
	var b strings.Builder
	for _, a := range archives {
		f, err := os.Open(filepath.Join(dist, a))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), a)
	}
	log.Printf("archives and SHA256SUMS in %s", dist)
	return os.WriteFile(filepath.Join(dist, "SHA256SUMS"), []byte(b.String()), 0o644)
}

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cli"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
)

// TestGenerate writes the man pages and checks that every command that
// the help lists, and the etcd help topic, has a page that names it, and
// that the etcd page lists the --etcd flags that the other pages leave
// out.
func TestGenerate(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dir := filepath.Join(t.TempDir(), "man1")
	files, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	var walk func(c *cmdline.Command)
	walk = func(c *cmdline.Command) {
		if c.Parent() == nil || c.Documented() {
			want[ManPage(c)] = true
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cli.Command())
	for _, page := range []string{"singleinstance.1", "singleinstance-run.1", "singleinstance-check.1",
		"singleinstance-status.1", "singleinstance-kill.1", "singleinstance-list.1", "singleinstance-wait.1",
		"singleinstance-etcd.1", "singleinstance-completion-bash.1"} {
		if !want[page] {
			t.Errorf("the command tree has no command for %s", page)
		}
	}
	if len(files) != len(want) {
		t.Errorf("wrote %d pages, want %d: %q", len(files), len(want), files)
	}
	for page := range want {
		data, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("no man page for a command: %v", err)
			continue
		}
		text := strings.ReplaceAll(string(data), `\-`, "-")
		name := strings.TrimSuffix(page, ".1")
		title := strings.ToUpper(name)
		if !strings.Contains(text, `.TH "`+title+`" "1" "Nov 2023" "singleinstance `) {
			t.Errorf("%s: no .TH line for %s with the date of $SOURCE_DATE_EPOCH:\n%.300s", page, title, text)
		}
		if !strings.Contains(text, ".SH DESCRIPTION") {
			t.Errorf("%s has no DESCRIPTION", page)
		}
		if strings.Contains(text, `\fB--etcd`) {
			t.Errorf("%s lists the etcd flags among its options", page)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "singleinstance-etcd.1"))
	etcd := strings.ReplaceAll(string(data), `\-`, "-")
	for _, flag := range []string{"--etcd-ttl duration", "--etcd-password string", "--etcd-dial-timeout duration", "$SINGLEINSTANCE_ETCD_* variable"} {
		if !strings.Contains(etcd, flag) {
			t.Errorf("singleinstance-etcd.1 does not contain %s:\n%s", flag, etcd)
		}
	}
}

// TestLeanBinary checks that the singleinstance binary links no package
// whose initialisation every start would pay for and that it does not
// need: regular expressions (and with them Unicode's tables), templates,
// the network stack (net/netip interns values at start), or a general
// command-line framework.
func TestLeanBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/singleinstance/singleinstance/cmd/singleinstance").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range []string{"regexp", "text/template", "net", "net/netip", "net/url",
		"github.com/spf13/cobra", "github.com/spf13/pflag"} {
		for _, dep := range strings.Fields(string(out)) {
			if dep == pkg {
				t.Errorf("singleinstance links %s", pkg)
			}
		}
	}
}

// TestPagesRender renders every page with groff, where installed, and
// fails on any warning: a line the text turned into a request, an escape
// it broke.
func TestPagesRender(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("no groff here")
	}
	dir := t.TempDir()
	files, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", f).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff %s: %v\n%s", filepath.Base(f), err, out)
		}
		text, err := exec.Command(groff, "-man", "-Tutf8", f).Output()
		if err != nil {
			t.Fatal(err)
		}
		if name := strings.TrimSuffix(filepath.Base(f), ".1"); !strings.Contains(string(text), name) {
			t.Errorf("%s renders without its name:\n%s", filepath.Base(f), text)
		}
	}
}

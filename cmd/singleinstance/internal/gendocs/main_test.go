package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cli"
	"github.com/spf13/cobra"
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
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
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
		text := string(data)
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
	etcd, _ := os.ReadFile(filepath.Join(dir, "singleinstance-etcd.1"))
	for _, flag := range []string{"--etcd-ttl duration", "--etcd-password string", "--etcd-dial-timeout duration", "$SINGLEINSTANCE_ETCD_* variable"} {
		if !strings.Contains(string(etcd), flag) {
			t.Errorf("singleinstance-etcd.1 does not contain %s:\n%s", flag, etcd)
		}
	}
}

// TestLeanBinary checks that the singleinstance binary does not link the
// man page renderer, which only this tool needs.
func TestLeanBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/singleinstance/singleinstance/cmd/singleinstance").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range []string{"github.com/spf13/cobra/doc", "github.com/cpuguy83/go-md2man/v2/md2man"} {
		for _, dep := range strings.Fields(string(out)) {
			if dep == pkg {
				t.Errorf("singleinstance links %s", pkg)
			}
		}
	}
}

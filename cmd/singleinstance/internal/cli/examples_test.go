package cli

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance"
)

// examplesDir holds the systemd unit and crontab that README shows.
var examplesDir = filepath.Join("..", "..", "..", "..", "examples")

// splitWords splits a command line as systemd and sh do for the simple
// quoting the examples use: words separated by blanks, '...' and "..."
// quoting.
func splitWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unterminated quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// checkInvocation checks that argv is a singleinstance command line that
// the CLI accepts (flags and arguments parse, the NAME is valid) without
// running it, and returns the command's name and its arguments.
func checkInvocation(t *testing.T, where string, argv []string) (string, []string) {
	t.Helper()
	if len(argv) == 0 || filepath.Base(argv[0]) != "singleinstance" {
		t.Fatalf("%s: %q does not run singleinstance", where, argv)
	}
	root := (&app{}).rootCommand()
	cmd, rest := root.Find(argv[1:])
	args, err := cmd.Parse(rest)
	if err != nil {
		t.Fatalf("%s: %q: %v", where, argv, err)
	}
	if cmd.Args != nil {
		if err := cmd.Args(cmd, args); err != nil {
			t.Fatalf("%s: %q: %v", where, argv, err)
		}
	}
	if cmd == root || len(args) == 0 {
		t.Fatalf("%s: %q names no command and NAME", where, argv)
	}
	if err := singleinstance.ValidateName(args[0]); err != nil {
		t.Fatalf("%s: %q: %v", where, argv, err)
	}
	if f := cmd.Lookup("conflict-exit-code"); f != nil {
		if code, err := strconv.Atoi(f.Value.String()); err != nil || code < 0 || code > 255 {
			t.Fatalf("%s: %q: --conflict-exit-code %s is not 0-255", where, argv, f.Value)
		}
	}
	return cmd.Name(), args
}

// TestSystemdExample checks examples/systemd: ExecStart runs a valid
// singleinstance command line, PIDFile names the .pid file of its NAME,
// and systemd-analyze verify (where installed) finds nothing to say about
// the unit, run on a copy whose ExecStart names an executable that exists
// here.
func TestSystemdExample(t *testing.T) {
	units, _ := filepath.Glob(filepath.Join(examplesDir, "systemd", "*.service"))
	if len(units) == 0 {
		t.Fatal("no systemd units in examples/systemd")
	}
	for _, unit := range units {
		data, err := os.ReadFile(unit)
		if err != nil {
			t.Fatal(err)
		}
		var execStart, pidFile string
		for line := range strings.Lines(string(data)) {
			line = strings.TrimSpace(line)
			if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
				execStart = strings.TrimLeft(v, "-@:+!")
			}
			if v, ok := strings.CutPrefix(line, "PIDFile="); ok {
				pidFile = v
			}
		}
		if execStart == "" {
			t.Fatalf("%s has no ExecStart=", unit)
		}
		name, args := checkInvocation(t, unit, splitWords(t, execStart))
		if name != "run" {
			t.Errorf("%s: ExecStart= runs %q, want run", unit, name)
		}
		if want := args[0] + ".pid"; pidFile != "" && filepath.Base(pidFile) != want {
			t.Errorf("%s: PIDFile=%s does not name %s, the .pid file of NAME", unit, pidFile, want)
		}

		analyze, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Logf("systemd-analyze is not installed: %s not verified by systemd", unit)
			continue
		}
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		here := strings.Replace(string(data), "ExecStart="+strings.Fields(execStart)[0], "ExecStart="+exe, 1)
		copied := filepath.Join(t.TempDir(), filepath.Base(unit))
		if err := os.WriteFile(copied, []byte(here), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", copied).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, out)
		}
	}
}

// TestCronExample checks examples/cron: every crontab line has five time
// fields and runs a valid singleinstance command line (after its shell
// redirections are set aside), with no unescaped % (which cron turns into
// a line break).
func TestCronExample(t *testing.T) {
	tabs, _ := filepath.Glob(filepath.Join(examplesDir, "cron", "*.crontab"))
	if len(tabs) == 0 {
		t.Fatal("no crontabs in examples/cron")
	}
	for _, tab := range tabs {
		f, err := os.Open(tab)
		if err != nil {
			t.Fatal(err)
		}
		jobs := 0
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			where := fmt.Sprintf("%s:%d", tab, n)
			fields := strings.Fields(line)
			if len(fields) < 6 {
				t.Fatalf("%s: not a crontab line: %q", where, line)
			}
			command := strings.Join(fields[5:], " ")
			if strings.Contains(strings.ReplaceAll(command, `\%`, ""), "%") {
				t.Errorf("%s: unescaped %% in %q", where, command)
			}
			var argv []string
			for _, w := range splitWords(t, command) {
				if redir := strings.TrimLeft(w, "0123456789&"); strings.HasPrefix(redir, ">") || strings.HasPrefix(redir, "<") {
					continue // a redirection
				}
				argv = append(argv, w)
			}
			checkInvocation(t, where, argv)
			jobs++
		}
		f.Close()
		if jobs == 0 {
			t.Errorf("%s has no job", tab)
		}
	}
}

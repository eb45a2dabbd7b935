package cmdline

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// progEnv makes the test binary, started as "prog", run newTree's program.
const progEnv = "CMDLINE_TEST_PROG"

func TestMain(m *testing.M) {
	if os.Getenv(progEnv) != "" {
		tr := newTree()
		tr.root.SetOutput(os.Stdout)
		if _, err := tr.root.Execute(tr.root.Context(), os.Args[1:]); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestComplete(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{""}, "completion\tGenerate the autocompletion script for the specified shell\nget\tGet NAME\nhelp\tHelp about any command\nlist\tList\nwait\tWait for NAME\n:4\n"},
		{[]string{"w"}, "wait\tWait for NAME\n:4\n"},
		{[]string{"wait", ""}, "alpha\nbeta\nblue\n:4\n"},
		{[]string{"-v", "--dir", "/d", "wait", "b"}, "beta\nblue\n:4\n"},
		{[]string{"wait", "alpha", ""}, ":4\n"},
		{[]string{"wait", "--timeout", ""}, ":0\n"},
		{[]string{"wait", "--t"}, "--timeout\thow long\n:4\n"},
		{[]string{"get", ""}, ":0\n"},
		{[]string{"wait", "--", ""}, "alpha\nbeta\nblue\n:4\n"},
		{[]string{"wait", `""`}, "alpha\nbeta\nblue\n:4\n"},
		{[]string{"completion", ""}, "bash\tGenerate the autocompletion script for bash\nfish\tGenerate the autocompletion script for fish\npowershell\tGenerate the autocompletion script for powershell\nzsh\tGenerate the autocompletion script for zsh\n:4\n"},
	} {
		for _, desc := range []bool{true, false} {
			tr := newTree()
			command := completeCmd
			if !desc {
				command = completeNoDescCmd
			}
			if _, err := tr.run(append([]string{command}, tc.words...)...); err != nil {
				t.Fatal(err)
			}
			out := tr.stdout
			want := tc.want
			if !desc {
				var lines []string
				for _, l := range strings.SplitAfter(want, "\n") {
					name, _, tab := strings.Cut(l, "\t")
					if tab {
						l = name + "\n"
					}
					lines = append(lines, l)
				}
				want = strings.Join(lines, "")
			}
			if out.String() != want {
				t.Errorf("complete %q (descriptions %v):\n%q\nwant\n%q", tc.words, desc, out.String(), want)
			}
		}
	}
	tr := newTree()
	if _, err := tr.run(completeCmd, "wait", "-"); err != nil {
		t.Fatal(err)
	}
	out := tr.stdout
	for _, flag := range []string{"--timeout\t", "-f\t", "--force\t", "--dir\t", "-v\t", "--help\t"} {
		if !strings.Contains(out.String(), "\n"+flag) && !strings.HasPrefix(out.String(), flag) {
			t.Errorf("complete wait -: no %q in\n%s", flag, out.String())
		}
	}
}

// TestBashCompletion loads the bash script into bash and completes a few
// command lines through it, with the test binary as the program.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash here")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, "prog")); err != nil {
		t.Fatal(err)
	}
	complete := func(line string) string {
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		script := `source <(prog completion bash) || exit 1
COMP_WORDS=(` + strings.Join(quoteAll(words), " ") + `)
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_prog_complete
printf '%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script)
		cmd.Env = append(os.Environ(), progEnv+"=1", "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return string(out)
	}
	for line, want := range map[string]string{
		"prog w":             "wait\n",
		"prog wait b":        "beta\nblue\n",
		"prog --dir x wait ": "alpha\nbeta\nblue\n",
		"prog wait alpha ":   "\n",
	} {
		if got := complete(line); got != want {
			t.Errorf("%q completes to %q, want %q", line, got, want)
		}
	}
}

func quoteAll(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return out
}

// TestCompletionScripts checks that each shell's script names the
// program, calls the completion command (__completeNoDesc with
// --no-descriptions) and installs itself for the program.
func TestCompletionScripts(t *testing.T) {
	for shell, installs := range map[string]string{
		"bash": "complete -o bashdefault -F _prog_complete prog", "zsh": "compdef _prog prog",
		"fish": "complete -c prog -f -a '(__prog_complete)'", "powershell": "-CommandName 'prog'",
	} {
		for _, noDesc := range []bool{false, true} {
			tr := newTree()
			args := []string{"completion", shell}
			want := " __complete "
			if noDesc {
				args = append(args, "--no-descriptions")
				want = " __completeNoDesc "
			}
			if _, err := tr.run(args...); err != nil {
				t.Fatalf("%q: %v", args, err)
			}
			script := tr.stdout.String()
			if !strings.Contains(script, installs) || !strings.Contains(script, want) || strings.Contains(script, "PROG") {
				t.Errorf("%q: want %q and %q, no PROG left:\n%s", args, installs, want, script)
			}
		}
	}
}

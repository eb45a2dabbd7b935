package cmdline

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// durationValue is a Value of a type of its own, as callers define them.
type durationValue struct{ d *time.Duration }

func (v durationValue) String() string { return v.d.String() }
func (v durationValue) Type() string   { return "duration" }
func (v durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration")
	}
	*v.d = d
	return nil
}

// tree is a small program: "prog [-v] [--dir D] {get NAME | wait [--timeout D] [-f] NAME | topic}".
type tree struct {
	root              *Command
	verbose, force    bool
	dir               string
	timeout, optional time.Duration
	count             int
	ran               string // the command that ran, and its arguments
	stdout            bytes.Buffer
}

func newTree() *tree {
	t := &tree{}
	record := func(c *Command, args []string) error {
		t.ran = fmt.Sprintf("%s %q dash=%d", c.Name(), args, c.ArgsLenAtDash())
		return nil
	}
	t.root = &Command{Use: "prog", Short: "A program", Long: "prog does things.", Version: "v1", VersionText: "prog v1\n",
		UsageFooter: "See the manual."}
	t.root.PersistentFlags().BoolVarP(&t.verbose, "verbose", "v", false, "say more")
	t.root.PersistentFlags().StringVar(&t.dir, "dir", "/tmp", "where")
	get := &Command{Use: "get NAME", Short: "Get NAME", Run: record,
		Args: func(c *Command, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("get takes one NAME")
			}
			return nil
		}}
	wait := &Command{Use: "wait NAME", Short: "Wait for NAME", Run: record,
		Complete: func(c *Command, args []string, toComplete string) ([]string, Directive) {
			if len(args) > 0 {
				return nil, DirectiveNoFileComp
			}
			var out []string
			for _, n := range []string{"alpha", "beta", "blue"} {
				if strings.HasPrefix(n, toComplete) {
					out = append(out, n)
				}
			}
			return out, DirectiveNoFileComp
		}}
	wait.Flags().Var(durationValue{&t.timeout}, "timeout", "how long")
	wait.Flags().BoolVarP(&t.force, "force", "f", false, "hard")
	wait.Flags().IntVar(&t.count, "count", 0, "how many")
	wait.Flags().Var(durationValue{&t.optional}, "after", "delay").NoValue = "1s"
	list := &Command{Use: "list", Short: "List", Run: record, Args: NoArgs}
	topic := &Command{Use: "topic", Short: "About a topic", Long: "The topic's text."}
	secret := &Command{Use: "secret", Short: "Hidden", Hidden: true, Run: record}
	t.root.AddCommand(get, wait, list, topic, secret)
	t.root.AddCompletion()
	t.root.SetOutput(&t.stdout)
	return t
}

func (t *tree) run(args ...string) (*Command, error) {
	return t.root.Execute(t.root.Context(), args)
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args             []string
		ran              string
		verbose, force   bool
		dir              string
		timeout, delayed time.Duration
		count            int
	}{
		{args: []string{"get", "x"}, ran: `get ["x"] dash=-1`, dir: "/tmp"},
		{args: []string{"-v", "get", "x"}, ran: `get ["x"] dash=-1`, verbose: true, dir: "/tmp"},
		{args: []string{"--dir", "/d", "get", "x"}, ran: `get ["x"] dash=-1`, dir: "/d"},
		{args: []string{"get", "--dir=/d", "x", "-v"}, ran: `get ["x"] dash=-1`, verbose: true, dir: "/d"},
		{args: []string{"get", "--verbose=false", "x"}, ran: `get ["x"] dash=-1`, dir: "/tmp"},
		{args: []string{"wait", "--timeout", "5s", "-f", "x"}, ran: `wait ["x"] dash=-1`, force: true, dir: "/tmp", timeout: 5 * time.Second},
		{args: []string{"wait", "-vf", "x"}, ran: `wait ["x"] dash=-1`, verbose: true, force: true, dir: "/tmp"},
		{args: []string{"wait", "--count", "3", "x", "--", "-v", "--dir"}, ran: `wait ["x" "-v" "--dir"] dash=1`, dir: "/tmp", count: 3},
		{args: []string{"wait", "--after", "x"}, ran: `wait ["x"] dash=-1`, dir: "/tmp", delayed: time.Second},
		{args: []string{"wait", "--after=3s", "x"}, ran: `wait ["x"] dash=-1`, dir: "/tmp", delayed: 3 * time.Second},
		{args: []string{"wait", "--", "get"}, ran: `wait ["get"] dash=0`, dir: "/tmp"},
		{args: []string{"wait", "-", "get"}, ran: `wait ["-" "get"] dash=-1`, dir: "/tmp"},
		{args: []string{"secret", "a"}, ran: `secret ["a"] dash=-1`, dir: "/tmp"},
	} {
		tr := newTree()
		_, err := tr.run(tc.args...)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		got := []any{tr.ran, tr.verbose, tr.force, tr.dir, tr.timeout, tr.optional, tr.count}
		want := []any{tc.ran, tc.verbose, tc.force, tc.dir, tc.timeout, tc.delayed, tc.count}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: ran, verbose, force, dir, timeout, after, count = %v, want %v", tc.args, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "--nosuch", "x"}, "unknown flag: --nosuch"},
		{[]string{"get", "-z"}, "unknown shorthand flag: 'z' in -z"},
		{[]string{"wait", "-fz", "x"}, "unknown shorthand flag: 'z' in -fz"},
		{[]string{"wait", "x", "--timeout"}, "flag needs an argument: --timeout"},
		{[]string{"wait", "--timeout=soon", "x"}, `invalid argument "soon" for "--timeout" flag: not a duration`},
		{[]string{"wait", "--count", "many", "x"}, `invalid argument "many" for "--count" flag: not an integer`},
		{[]string{"get", "--verbose=maybe", "x"}, `invalid argument "maybe" for "--verbose" flag: not a boolean: use true or false`},
		{[]string{"get", "-v=maybe", "x"}, `invalid argument "maybe" for "-v, --verbose" flag`},
		{[]string{"get", "---x"}, "bad flag syntax: ---x"},
		{[]string{"get", "--=x"}, "bad flag syntax: --=x"},
		{[]string{"list", "extra"}, `unknown command "extra" for "prog list"`},
	} {
		_, err := newTree().run(tc.args...)
		var ue *UsageError
		if tc.args[0] == "list" {
			// NoArgs's error is a usage error too.
			if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q: %v, want a UsageError %q", tc.args, err, tc.want)
			}
			continue
		}
		if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: %v, want a UsageError %q", tc.args, err, tc.want)
		}
	}
	// The command's own Args check returns its own error.
	if _, err := newTree().run("get"); err == nil || err.Error() != "get takes one NAME" {
		t.Errorf("get without NAME: %v", err)
	}
}

func TestFind(t *testing.T) {
	root := newTree().root
	for _, tc := range []struct {
		args     []string
		cmd      string
		leftover []string
	}{
		{nil, "prog", nil},
		{[]string{"get", "x"}, "get", []string{"x"}},
		{[]string{"--dir", "get", "wait", "x"}, "wait", []string{"--dir", "get", "x"}},
		{[]string{"--dir=get", "wait"}, "wait", []string{"--dir=get"}},
		{[]string{"-v", "completion", "bash"}, "bash", []string{"-v"}},
		{[]string{"x", "get"}, "prog", []string{"x", "get"}},
		{[]string{"--", "get"}, "prog", []string{"--", "get"}},
	} {
		cmd, rest := root.Find(tc.args)
		if cmd.Name() != tc.cmd || !reflect.DeepEqual(rest, tc.leftover) {
			t.Errorf("Find(%q) = %s %q, want %s %q", tc.args, cmd.Name(), rest, tc.cmd, tc.leftover)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {}, {"help", "nosuch"}} {
		tr := newTree()
		if _, err := tr.run(args...); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		want := `prog does things.

Usage:
  prog [command]

Available Commands:
  completion  Generate the autocompletion script for the specified shell
  get         Get NAME
  help        Help about any command
  list        List
  wait        Wait for NAME

Flags:
      --dir string   where (default "/tmp")
  -h, --help         help for prog
  -v, --verbose      say more
      --version      version for prog

Additional help topics:
  prog topic      About a topic

Use "prog [command] --help" for more information about a command.

See the manual.
`
		got := tr.stdout.String()
		if got != want {
			t.Errorf("%q:\n%s\nwant:\n%s", args, got, want)
		}
		if strings.Contains(got, "secret") || strings.Contains(got, "__complete") {
			t.Errorf("%q: help lists a hidden command:\n%s", args, got)
		}
	}
	tr := newTree()
	if _, err := tr.run("wait", "--help"); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"Usage:\n  prog wait NAME [flags]\n",
		"      --after duration[=1s]   delay (default 0s)\n",
		"      --count int             how many\n",
		"  -f, --force                 hard\n",
		"      --timeout duration      how long (default 0s)\n",
		"Global Flags:\n      --dir string   where (default \"/tmp\")\n  -v, --verbose      say more\n",
	} {
		if !strings.Contains(tr.stdout.String(), line) {
			t.Errorf("wait --help lacks %q:\n%s", line, tr.stdout.String())
		}
	}
	tr = newTree()
	if _, err := tr.run("help", "topic"); err != nil || tr.stdout.String() != "The topic's text.\n\n" {
		t.Errorf("help topic: %v, %q", err, tr.stdout.String())
	}
	tr = newTree()
	if _, err := tr.run("--version"); err != nil || tr.stdout.String() != "prog v1\n" {
		t.Errorf("--version: %v, %q", err, tr.stdout.String())
	}
}

func TestBeforeRun(t *testing.T) {
	tr := newTree()
	var saw []string
	tr.root.BeforeRun = func(c *Command, args []string) error {
		saw = append(saw, c.CommandPath())
		if c.Name() == "list" {
			return errors.New("refused")
		}
		return nil
	}
	if _, err := tr.run("get", "x"); err != nil || tr.ran == "" {
		t.Errorf("get: %v, ran %q", err, tr.ran)
	}
	tr.ran = ""
	if _, err := tr.run("list"); err == nil || tr.ran != "" {
		t.Errorf("list: %v, ran %q; want refused before it runs", err, tr.ran)
	}
	if !reflect.DeepEqual(saw, []string{"prog get", "prog list"}) {
		t.Errorf("BeforeRun saw %q", saw)
	}
}

package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
)

// helpOf returns the output of "singleinstance ARGS... --help".
func helpOf(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := Main(append(args, "--help"), strings.NewReader(""), &stdout, &stderr, nil); code != 0 {
		t.Fatalf("singleinstance %s --help: exit %d, stderr:\n%s", strings.Join(args, " "), code, stderr.String())
	}
	return stdout.String()
}

// commandPaths returns the words that name every command of the tree,
// the root ([]) first.
func commandPaths() [][]string {
	a := &app{}
	root := a.rootCommand()
	var out [][]string
	var walk func(c *cmdline.Command, path []string)
	walk = func(c *cmdline.Command, path []string) {
		out = append(out, path)
		for _, sub := range c.Commands() {
			if sub.Hidden {
				continue
			}
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(root, nil)
	return out
}

// TestHelpDefaultsOnce checks that no line of any command's help states a
// default twice, as "(default 10s) (default 10s)" did when a flag's usage
// text named the default that the flag's help adds anyway.
func TestHelpDefaultsOnce(t *testing.T) {
	paths := commandPaths()
	if len(paths) < 10 {
		t.Fatalf("found only %d commands: %q", len(paths), paths)
	}
	for _, path := range paths {
		help := helpOf(t, path...)
		for _, line := range strings.Split(help, "\n") {
			if strings.Count(line, "(default") > 1 {
				t.Errorf("singleinstance %s --help states a default twice:\n%s", strings.Join(path, " "), line)
			}
		}
	}
	var stdout, stderr bytes.Buffer
	Main([]string{"help", "etcd"}, strings.NewReader(""), &stdout, &stderr, nil)
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.Count(line, "(default") > 1 {
			t.Errorf("singleinstance help etcd states a default twice:\n%s", line)
		}
	}
}

// TestHelpLeavesOutEtcdFlags checks that each command's help leaves the
// --etcd* flags to "help etcd" and points there, and that the topic lists
// every one of them.
func TestHelpLeavesOutEtcdFlags(t *testing.T) {
	for _, path := range commandPaths() {
		if len(path) > 0 && path[0] == etcdTopic {
			continue
		}
		help := helpOf(t, path...)
		for _, line := range strings.Split(help, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "--etcd") {
				t.Errorf("singleinstance %s --help lists an etcd flag: %s", strings.Join(path, " "), line)
			}
		}
		if !strings.Contains(help, etcdHelpLine) {
			t.Errorf("singleinstance %s --help does not point to \"help etcd\":\n%s", strings.Join(path, " "), help)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"help", "etcd"}, strings.NewReader(""), &stdout, &stderr, nil); code != 0 {
		t.Fatalf("help etcd: exit %d: %s", code, stderr.String())
	}
	for _, flag := range []string{"--etcd string", "--etcd-prefix", "--etcd-ttl", "--etcd-cacert", "--etcd-cert",
		"--etcd-key", "--etcd-user", "--etcd-password", "--etcd-dial-timeout"} {
		if !strings.Contains(stdout.String(), flag) {
			t.Errorf("help etcd does not list %s:\n%s", flag, stdout.String())
		}
	}
}

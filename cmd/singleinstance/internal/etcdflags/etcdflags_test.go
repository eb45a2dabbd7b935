package etcdflags

import "testing"

func TestRequested(t *testing.T) {
	noEnv := func(string) string { return "" }
	withEnv := func(k string) string {
		if k == EndpointsEnv {
			return "a:2379"
		}
		return ""
	}
	for _, tt := range []struct {
		args   []string
		getenv func(string) string
		want   bool
	}{
		{[]string{"check", "bot"}, noEnv, false},
		{[]string{"check", "bot"}, withEnv, true},
		{[]string{"--etcd", "a:2379", "check", "bot"}, noEnv, true},
		{[]string{"check", "--etcd=a:2379", "bot"}, noEnv, true},
		{[]string{"status", "--etcd-prefix", "/x/", "bot"}, noEnv, true},
		{[]string{"run", "bot", "--", "prog", "--etcd", "x"}, noEnv, false},
		{[]string{"run", "--etcdx", "bot"}, noEnv, false},
	} {
		if got := Requested(tt.args, tt.getenv); got != tt.want {
			t.Errorf("Requested(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

package etcdcli

import (
	"testing"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
	"github.com/singleinstance/singleinstance/etcd"
)

// TestSettingsAgree: the lean command's copy of the etcd module's names
// and defaults has not drifted.
func TestSettingsAgree(t *testing.T) {
	for _, c := range []struct{ lean, module any }{
		{etcdflags.EndpointsEnv, etcd.EndpointsEnv},
		{etcdflags.CACertEnv, etcd.CACertEnv},
		{etcdflags.CertEnv, etcd.CertEnv},
		{etcdflags.KeyEnv, etcd.KeyEnv},
		{etcdflags.UserEnv, etcd.UserEnv},
		{etcdflags.PasswordEnv, etcd.PasswordEnv},
		{etcdflags.PrefixEnv, etcd.PrefixEnv},
		{etcdflags.DefaultPrefix, etcd.DefaultPrefix},
		{etcdflags.DefaultTTL, etcd.DefaultTTL},
		{etcdflags.MinTTL, etcd.MinTTL},
		{etcdflags.DefaultDialTimeout, etcd.DefaultDialTimeout},
	} {
		if c.lean != c.module {
			t.Errorf("command has %v, etcd module %v", c.lean, c.module)
		}
	}
	if got := etcdflags.SplitEndpoints(" a:1,,b:2 "); len(got) != 2 || got[0] != "a:1" || got[1] != "b:2" {
		t.Errorf("SplitEndpoints = %q", got)
	}
}

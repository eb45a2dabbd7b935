package cli

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
)

// TestEtcdFlagsResolve checks how the etcd flags combine with the
// SINGLEINSTANCE_ETCD_* environment: a flag wins over its variable, and
// etcd settings without endpoints are a usage error.
func TestEtcdFlagsResolve(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		flags   map[string]string // flag name to value, as given on the command line
		wantOn  bool
		wantErr string
		check   func(t *testing.T, s etcdflags.Settings)
	}{
		{name: "nothing", wantOn: false},
		{
			name:   "environment",
			env:    map[string]string{etcdflags.EndpointsEnv: "a:2379, b:2379", etcdflags.PrefixEnv: "/p/"},
			wantOn: true,
			check: func(t *testing.T, s etcdflags.Settings) {
				if !slices.Equal(s.Endpoints, []string{"a:2379", "b:2379"}) || s.Prefix != "/p/" {
					t.Errorf("endpoints %q, prefix %q", s.Endpoints, s.Prefix)
				}
			},
		},
		{
			name:   "flags win",
			env:    map[string]string{etcdflags.EndpointsEnv: "a:2379", etcdflags.PrefixEnv: "/p/"},
			flags:  map[string]string{"etcd": "c:2379", "etcd-prefix": "/q/", "etcd-ttl": "5s"},
			wantOn: true,
			check: func(t *testing.T, s etcdflags.Settings) {
				if !slices.Equal(s.Endpoints, []string{"c:2379"}) || s.Prefix != "/q/" || s.TTL != 5*time.Second {
					t.Errorf("endpoints %q, prefix %q, ttl %v", s.Endpoints, s.Prefix, s.TTL)
				}
			},
		},
		{
			name:   "empty --etcd turns etcd off",
			env:    map[string]string{etcdflags.EndpointsEnv: "a:2379"},
			flags:  map[string]string{"etcd": ""},
			wantOn: false,
		},
		{
			name:    "setting without endpoints",
			flags:   map[string]string{"etcd-prefix": "/q/"},
			wantErr: "--etcd-prefix needs --etcd",
		},
		{
			name:    "TTL too short",
			flags:   map[string]string{"etcd": "a:2379", "etcd-ttl": "1s"},
			wantErr: "--etcd-ttl must be at least 2s",
		},
		{
			name:    "no dial timeout",
			flags:   map[string]string{"etcd": "a:2379", "etcd-dial-timeout": "0"},
			wantErr: "--etcd-dial-timeout must be positive",
		},
		{
			name:   "user:password",
			env:    map[string]string{etcdflags.UserEnv: "alice:env-secret"},
			flags:  map[string]string{"etcd": "a:2379", "etcd-user": "bob:secret"},
			wantOn: true,
			check: func(t *testing.T, s etcdflags.Settings) {
				if s.Username != "bob" || s.Password != "secret" {
					t.Errorf("user %q, password %q", s.Username, s.Password)
				}
			},
		},
		{
			name:   "user with the password from the environment",
			env:    map[string]string{etcdflags.UserEnv: "alice:env-secret", etcdflags.PasswordEnv: "pw"},
			flags:  map[string]string{"etcd": "a:2379", "etcd-user": "bob"},
			wantOn: true,
			check: func(t *testing.T, s etcdflags.Settings) {
				if s.Username != "bob" || s.Password != "pw" {
					t.Errorf("user %q, password %q", s.Username, s.Password)
				}
			},
		},
		{
			name:   "password flag wins",
			env:    map[string]string{etcdflags.UserEnv: "alice:env-secret"},
			flags:  map[string]string{"etcd": "a:2379", "etcd-password": "flag-secret"},
			wantOn: true,
			check: func(t *testing.T, s etcdflags.Settings) {
				if s.Username != "alice" || s.Password != "flag-secret" {
					t.Errorf("user %q, password %q", s.Username, s.Password)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{etcdflags.EndpointsEnv, etcdflags.PrefixEnv, etcdflags.CACertEnv,
				etcdflags.CertEnv, etcdflags.KeyEnv, etcdflags.UserEnv, etcdflags.PasswordEnv} {
				t.Setenv(name, tt.env[name])
			}
			var f etcdFlags
			var fs cmdline.FlagSet
			f.register(&fs)
			for name, value := range tt.flags {
				fl := fs.Lookup(name)
				if fl == nil {
					t.Fatalf("no flag --%s", name)
				}
				if err := fl.Value.Set(value); err != nil {
					t.Fatalf("--%s %q: %v", name, value, err)
				}
				fl.Changed = true
			}
			s, on, err := f.resolve(func(name string) bool { return fs.Lookup(name) != nil && fs.Lookup(name).Changed })
			if tt.wantErr != "" {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || on != tt.wantOn {
				t.Fatalf("on, err = %v, %v; want %v, nil", on, err, tt.wantOn)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

// TestEtcdStopHint checks the global flags that a conflict report shows to
// reach the same cluster: endpoints and a prefix that is not the default,
// quoted for the shell, never credentials.
func TestEtcdStopHint(t *testing.T) {
	tests := []struct {
		s    etcdflags.Settings
		want string
	}{
		{etcdflags.Settings{Endpoints: []string{"a:2379", "b:2379"}, Prefix: etcdflags.DefaultPrefix},
			"--etcd a:2379,b:2379"},
		{etcdflags.Settings{Endpoints: []string{"a:2379"}, Prefix: "/singleinstance"},
			"--etcd a:2379"},
		{etcdflags.Settings{Endpoints: []string{"a:2379"}, Username: "bob", Password: "secret", Prefix: "/jobs/"},
			"--etcd a:2379 --etcd-prefix /jobs/"},
		{etcdflags.Settings{Endpoints: []string{"a:2379"}, Prefix: "/my jobs/it's/"},
			`--etcd a:2379 --etcd-prefix '/my jobs/it'\''s/'`},
	}
	for _, tt := range tests {
		if got := stopHint(&tt.s); got != tt.want {
			t.Errorf("stopHint() = %q, want %q", got, tt.want)
		}
	}
}

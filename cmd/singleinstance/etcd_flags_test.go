package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	etcdbackend "github.com/singleinstance/singleinstance/etcd"
	"github.com/spf13/pflag"
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
		check   func(t *testing.T, s etcdSettings)
	}{
		{name: "nothing", wantOn: false},
		{
			name:   "environment",
			env:    map[string]string{etcdbackend.EndpointsEnv: "a:2379, b:2379", etcdbackend.PrefixEnv: "/p/"},
			wantOn: true,
			check: func(t *testing.T, s etcdSettings) {
				if !slices.Equal(s.cfg.Endpoints, []string{"a:2379", "b:2379"}) || s.prefix != "/p/" {
					t.Errorf("endpoints %q, prefix %q", s.cfg.Endpoints, s.prefix)
				}
			},
		},
		{
			name:   "flags win",
			env:    map[string]string{etcdbackend.EndpointsEnv: "a:2379", etcdbackend.PrefixEnv: "/p/"},
			flags:  map[string]string{"etcd": "c:2379", "etcd-prefix": "/q/", "etcd-ttl": "5s"},
			wantOn: true,
			check: func(t *testing.T, s etcdSettings) {
				if !slices.Equal(s.cfg.Endpoints, []string{"c:2379"}) || s.prefix != "/q/" || s.ttl != 5*time.Second {
					t.Errorf("endpoints %q, prefix %q, ttl %v", s.cfg.Endpoints, s.prefix, s.ttl)
				}
			},
		},
		{
			name:   "empty --etcd turns etcd off",
			env:    map[string]string{etcdbackend.EndpointsEnv: "a:2379"},
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
			env:    map[string]string{etcdbackend.UserEnv: "alice:env-secret"},
			flags:  map[string]string{"etcd": "a:2379", "etcd-user": "bob:secret"},
			wantOn: true,
			check: func(t *testing.T, s etcdSettings) {
				if s.cfg.Username != "bob" || s.cfg.Password != "secret" {
					t.Errorf("user %q, password %q", s.cfg.Username, s.cfg.Password)
				}
			},
		},
		{
			name:   "user with the password from the environment",
			env:    map[string]string{etcdbackend.UserEnv: "alice:env-secret", etcdbackend.PasswordEnv: "pw"},
			flags:  map[string]string{"etcd": "a:2379", "etcd-user": "bob"},
			wantOn: true,
			check: func(t *testing.T, s etcdSettings) {
				if s.cfg.Username != "bob" || s.cfg.Password != "pw" {
					t.Errorf("user %q, password %q", s.cfg.Username, s.cfg.Password)
				}
			},
		},
		{
			name:   "password flag wins",
			env:    map[string]string{etcdbackend.UserEnv: "alice:env-secret"},
			flags:  map[string]string{"etcd": "a:2379", "etcd-password": "flag-secret"},
			wantOn: true,
			check: func(t *testing.T, s etcdSettings) {
				if s.cfg.Username != "alice" || s.cfg.Password != "flag-secret" {
					t.Errorf("user %q, password %q", s.cfg.Username, s.cfg.Password)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, name := range []string{etcdbackend.EndpointsEnv, etcdbackend.PrefixEnv, etcdbackend.CACertEnv,
				etcdbackend.CertEnv, etcdbackend.KeyEnv, etcdbackend.UserEnv, etcdbackend.PasswordEnv} {
				t.Setenv(name, tt.env[name])
			}
			var f etcdFlags
			fs := pflag.NewFlagSet("singleinstance", pflag.ContinueOnError)
			f.register(fs)
			for name, value := range tt.flags {
				if err := fs.Set(name, value); err != nil {
					t.Fatalf("--%s %q: %v", name, value, err)
				}
			}
			s, on, err := f.resolve(fs.Changed)
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
		s    etcdSettings
		want string
	}{
		{etcdSettings{cfg: etcdbackend.Config{Endpoints: []string{"a:2379", "b:2379"}}, prefix: etcdbackend.DefaultPrefix},
			"--etcd a:2379,b:2379"},
		{etcdSettings{cfg: etcdbackend.Config{Endpoints: []string{"a:2379"}}, prefix: "/singleinstance"},
			"--etcd a:2379"},
		{etcdSettings{cfg: etcdbackend.Config{Endpoints: []string{"a:2379"}, Username: "bob", Password: "secret"}, prefix: "/jobs/"},
			"--etcd a:2379 --etcd-prefix /jobs/"},
		{etcdSettings{cfg: etcdbackend.Config{Endpoints: []string{"a:2379"}}, prefix: "/my jobs/it's/"},
			`--etcd a:2379 --etcd-prefix '/my jobs/it'\''s/'`},
	}
	for _, tt := range tests {
		if got := tt.s.stopHint(); got != tt.want {
			t.Errorf("stopHint() = %q, want %q", got, tt.want)
		}
	}
}

package main

import (
	"errors"
	"os"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
	etcdbackend "github.com/singleinstance/singleinstance/etcd"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// etcdFlags are the global flags that keep the locks in an etcd cluster
// instead of the lock directory, so that one holder runs across hosts.
type etcdFlags struct {
	endpoints   string
	prefix      string
	ttl         time.Duration
	caCert      string
	cert        string
	key         string
	user        string
	password    string
	dialTimeout time.Duration
}

// register adds the flags to fs.
func (f *etcdFlags) register(fs *pflag.FlagSet) {
	f.ttl = etcdbackend.DefaultTTL
	f.dialTimeout = etcdbackend.DefaultDialTimeout
	fs.StringVar(&f.endpoints, "etcd", "",
		"keep the locks in the etcd cluster at these comma-separated endpoints, across hosts (default $"+etcdbackend.EndpointsEnv+")")
	fs.StringVar(&f.prefix, "etcd-prefix", etcdbackend.DefaultPrefix,
		"etcd key prefix of the locks ($"+etcdbackend.PrefixEnv+")")
	fs.Var(durationFlag{&f.ttl}, "etcd-ttl",
		"etcd lease TTL: how long a holder cut off from etcd keeps the lock (at least 2s)")
	fs.StringVar(&f.caCert, "etcd-cacert", "", "PEM file of the CA that signed the etcd servers' certificates ($"+etcdbackend.CACertEnv+")")
	fs.StringVar(&f.cert, "etcd-cert", "", "PEM file of the etcd client certificate ($"+etcdbackend.CertEnv+")")
	fs.StringVar(&f.key, "etcd-key", "", "PEM file of the etcd client key ($"+etcdbackend.KeyEnv+")")
	fs.StringVar(&f.user, "etcd-user", "", "etcd user, or user:password ($"+etcdbackend.UserEnv+")")
	fs.StringVar(&f.password, "etcd-password", "",
		"etcd password; other users can see command lines, so prefer $"+etcdbackend.PasswordEnv)
	fs.Var(durationFlag{&f.dialTimeout}, "etcd-dial-timeout", "how long to try to reach etcd before giving up with exit 4")
}

// etcdSettings is what the etcd flags and environment resolve to.
type etcdSettings struct {
	cfg    etcdbackend.Config
	prefix string
	ttl    time.Duration
}

// resolve combines the flags given on the command line (set reports which)
// with the SINGLEINSTANCE_ETCD_* environment; a flag wins over its
// variable, and --etcd ” turns etcd off even when the variable is set.
// on is false without endpoints: the locks are then file locks.
func (f *etcdFlags) resolve(set func(name string) bool) (s etcdSettings, on bool, err error) {
	s.cfg = etcdbackend.ConfigFromEnv()
	if set("etcd") {
		s.cfg.Endpoints = etcdbackend.SplitEndpoints(f.endpoints)
	}
	if len(s.cfg.Endpoints) == 0 {
		// These mean nothing without endpoints.
		for _, name := range []string{"etcd-prefix", "etcd-ttl", "etcd-cacert", "etcd-cert", "etcd-key",
			"etcd-user", "etcd-password", "etcd-dial-timeout"} {
			if set(name) {
				return s, false, usagef("--%s needs --etcd ENDPOINTS (or $%s)", name, etcdbackend.EndpointsEnv)
			}
		}
		return s, false, nil
	}
	if set("etcd-cacert") {
		s.cfg.CACert = f.caCert
	}
	if set("etcd-cert") {
		s.cfg.Cert = f.cert
	}
	if set("etcd-key") {
		s.cfg.Key = f.key
	}
	if set("etcd-user") {
		user, password, ok := strings.Cut(f.user, ":")
		if !ok {
			password = os.Getenv(etcdbackend.PasswordEnv)
		}
		s.cfg.Username, s.cfg.Password = user, password
	}
	if set("etcd-password") {
		s.cfg.Password = f.password
	}
	if f.dialTimeout <= 0 {
		return s, false, usagef("--etcd-dial-timeout must be positive, not %s", durationFlag{&f.dialTimeout})
	}
	s.cfg.DialTimeout = f.dialTimeout
	s.prefix = f.prefix
	if p := os.Getenv(etcdbackend.PrefixEnv); !set("etcd-prefix") && p != "" {
		s.prefix = p
	}
	if s.prefix == "" {
		return s, false, usagef("--etcd-prefix must not be empty")
	}
	if f.ttl < etcdbackend.MinTTL {
		return s, false, usagef("--etcd-ttl must be at least %v, not %s", etcdbackend.MinTTL, durationFlag{&f.ttl})
	}
	s.ttl = f.ttl
	return s, true, nil
}

// stopHint is the global flags that reach the same cluster, for the
// "To stop it" line of a conflict report: the endpoints, and the prefix
// unless it is the default. Credentials are left out, the password above
// all.
func (s *etcdSettings) stopHint() string {
	hint := "--etcd " + shellQuote(strings.Join(s.cfg.Endpoints, ","))
	if p := strings.TrimSuffix(s.prefix, "/") + "/"; p != etcdbackend.DefaultPrefix {
		hint += " --etcd-prefix " + shellQuote(s.prefix)
	}
	return hint
}

// connect dials the etcd cluster once per invocation, if the flags or the
// environment name one; the commands then use it through options. Call it
// at the start of every command that looks at a lock.
func (a *app) connect(cmd *cobra.Command) error {
	if a.backend != nil {
		return nil
	}
	flags := cmd.Flags()
	s, on, err := a.etcd.resolve(flags.Changed)
	if err != nil || !on {
		return err
	}
	if flags.Changed("lock-dir") {
		return usagef("--lock-dir cannot be used with etcd (--etcd or $%s): the locks are kept in etcd", etcdbackend.EndpointsEnv)
	}
	b, err := etcdbackend.Dial(cmd.Context(), s.cfg,
		etcdbackend.WithPrefix(s.prefix),
		etcdbackend.WithTTL(s.ttl),
		etcdbackend.WithLogger(a.logger()),
		etcdbackend.WithStopHint(s.stopHint()))
	switch {
	case errors.Is(err, etcdbackend.ErrInvalidConfig):
		return &usageError{err}
	case err != nil:
		return failed(exitError, err)
	}
	a.backend = b
	return nil
}

// close closes the etcd client, if connect dialled one.
func (a *app) close() {
	if a.backend != nil {
		a.backend.Close()
	}
}

// lockOptions are the library options that reach the locks: the etcd
// backend if connected, else the lock directory.
func (a *app) lockOptions() []singleinstance.Option {
	if a.backend != nil {
		return []singleinstance.Option{singleinstance.WithBackend(a.backend)}
	}
	if a.lockDir != "" {
		return []singleinstance.Option{singleinstance.WithLockDir(a.lockDir)}
	}
	return nil
}

// shellQuote quotes s for a POSIX shell if it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:,=@%+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

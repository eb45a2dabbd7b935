package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
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
func (f *etcdFlags) register(fs *cmdline.FlagSet) {
	f.ttl = etcdflags.DefaultTTL
	f.dialTimeout = etcdflags.DefaultDialTimeout
	fs.StringVar(&f.endpoints, "etcd", "",
		"keep the locks in the etcd cluster at these comma-separated endpoints, across hosts (default $"+etcdflags.EndpointsEnv+")")
	fs.StringVar(&f.prefix, "etcd-prefix", etcdflags.DefaultPrefix,
		"etcd key prefix of the locks ($"+etcdflags.PrefixEnv+")")
	fs.Var(durationFlag{&f.ttl}, "etcd-ttl",
		"etcd lease TTL: how long a holder cut off from etcd keeps the lock (at least 2s)")
	fs.StringVar(&f.caCert, "etcd-cacert", "", "PEM file of the CA that signed the etcd servers' certificates ($"+etcdflags.CACertEnv+")")
	fs.StringVar(&f.cert, "etcd-cert", "", "PEM file of the etcd client certificate ($"+etcdflags.CertEnv+")")
	fs.StringVar(&f.key, "etcd-key", "", "PEM file of the etcd client key ($"+etcdflags.KeyEnv+")")
	fs.StringVar(&f.user, "etcd-user", "", "etcd user, or user:password ($"+etcdflags.UserEnv+")")
	fs.StringVar(&f.password, "etcd-password", "",
		"etcd password; other users can see command lines, so prefer $"+etcdflags.PasswordEnv)
	fs.Var(durationFlag{&f.dialTimeout}, "etcd-dial-timeout", "how long to try to reach etcd before giving up with exit 4")
}

// resolve combines the flags given on the command line (set reports which)
// with the SINGLEINSTANCE_ETCD_* environment; a flag wins over its
// variable, and --etcd ” turns etcd off even when the variable is set.
// on is false without endpoints: the locks are then file locks.
func (f *etcdFlags) resolve(set func(name string) bool) (s etcdflags.Settings, on bool, err error) {
	s = settingsFromEnv()
	if set("etcd") {
		s.Endpoints = etcdflags.SplitEndpoints(f.endpoints)
	}
	if len(s.Endpoints) == 0 {
		// These mean nothing without endpoints.
		for _, name := range []string{"etcd-prefix", "etcd-ttl", "etcd-cacert", "etcd-cert", "etcd-key",
			"etcd-user", "etcd-password", "etcd-dial-timeout"} {
			if set(name) {
				return s, false, usagef("--%s needs --etcd ENDPOINTS (or $%s)", name, etcdflags.EndpointsEnv)
			}
		}
		return s, false, nil
	}
	if set("etcd-cacert") {
		s.CACert = f.caCert
	}
	if set("etcd-cert") {
		s.Cert = f.cert
	}
	if set("etcd-key") {
		s.Key = f.key
	}
	if set("etcd-user") {
		user, password, ok := strings.Cut(f.user, ":")
		if !ok {
			password = os.Getenv(etcdflags.PasswordEnv)
		}
		s.Username, s.Password = user, password
	}
	if set("etcd-password") {
		s.Password = f.password
	}
	if s.CACert != "" || s.Cert != "" || s.Key != "" {
		// clientv3 would connect to http:// endpoints in plaintext,
		// ignoring the TLS files.
		for _, ep := range s.Endpoints {
			if rest, ok := strings.CutPrefix(ep, "http://"); ok {
				return s, false, usagef("--etcd-cacert, --etcd-cert and --etcd-key (or $%s, $%s, $%s) need TLS, but endpoint %s is plain http: use https://%s, or no TLS files",
					etcdflags.CACertEnv, etcdflags.CertEnv, etcdflags.KeyEnv, ep, rest)
			}
		}
	}
	if f.dialTimeout <= 0 {
		return s, false, usagef("--etcd-dial-timeout must be positive, not %s", durationFlag{&f.dialTimeout})
	}
	s.DialTimeout = f.dialTimeout
	s.Prefix = f.prefix
	if p := os.Getenv(etcdflags.PrefixEnv); !set("etcd-prefix") && p != "" {
		s.Prefix = p
	}
	if s.Prefix == "" {
		return s, false, usagef("--etcd-prefix must not be empty")
	}
	if f.ttl < etcdflags.MinTTL {
		return s, false, usagef("--etcd-ttl must be at least %v, not %s", etcdflags.MinTTL, durationFlag{&f.ttl})
	}
	s.TTL = f.ttl
	return s, true, nil
}

// exitNotReleased is run's exit code when its command ended but etcd did
// not confirm the release of the lock: unless the request reached etcd,
// the key stays until its lease expires (within --etcd-ttl), and no other
// host can take the lock until then.
const exitNotReleased = 122

// release releases the lock that run held, once its command ended with
// result (run's error so far). Over etcd, a release that etcd did not
// confirm is reported, and the exit code says so, unless the lock was
// lost already (exit 121, reported). A file lock's release cannot fail in
// a way that matters: the kernel frees the lock with the process.
func (a *app) release(name string, inst *singleinstance.Instance, result error) error {
	err := inst.Release()
	if err == nil || a.backend == nil || codeOf(result) == exitLockLost {
		return result
	}
	var ce *codeError
	if errors.As(result, &ce) && ce.err != nil {
		printError(a.stderr, ce.err)
	}
	printError(a.stderr, fmt.Errorf("lock '%s' not released (exit %d instead of %d): %s",
		name, exitNotReleased, codeOf(result), strings.TrimPrefix(err.Error(), "singleinstance/")))
	return withCode(exitNotReleased, nil)
}

// stopHint is the global flags that reach the same cluster, for the
// "To stop it" line of a conflict report: the endpoints, and the prefix
// unless it is the default. Credentials are left out, the password above
// all.
func stopHint(s *etcdflags.Settings) string {
	hint := "--etcd " + shellQuote(strings.Join(s.Endpoints, ","))
	if p := strings.TrimSuffix(s.Prefix, "/") + "/"; p != etcdflags.DefaultPrefix {
		hint += " --etcd-prefix " + shellQuote(s.Prefix)
	}
	return hint
}

// connect dials the etcd cluster once per invocation, if the flags or the
// environment name one; the commands then use it through options. Call it
// at the start of every command that looks at a lock.
func (a *app) connect(cmd *cmdline.Command) error {
	if a.backend != nil {
		return nil
	}
	s, on, err := a.etcd.resolve(cmd.Changed)
	if err != nil || !on {
		return err
	}
	if cmd.Changed("lock-dir") {
		return usagef("--lock-dir cannot be used with etcd (--etcd or $%s): the locks are kept in etcd", etcdflags.EndpointsEnv)
	}
	if a.connectEtcd == nil {
		return failed(exitError, errors.New("this build of singleinstance has no etcd support; run singleinstance-etcd"))
	}
	s.StopHint = stopHint(&s)
	b, err := a.connectEtcd(cmd.Context(), s, a.logger())
	switch {
	case errors.Is(err, etcdflags.ErrInvalid):
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
	if a.closeStderr != nil {
		a.closeStderr()
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

// settingsFromEnv returns the etcd settings that the SINGLEINSTANCE_ETCD_*
// environment variables describe; a user given as "name:password" sets
// both.
func settingsFromEnv() etcdflags.Settings {
	s := etcdflags.Settings{
		Endpoints: etcdflags.SplitEndpoints(os.Getenv(etcdflags.EndpointsEnv)),
		CACert:    os.Getenv(etcdflags.CACertEnv),
		Cert:      os.Getenv(etcdflags.CertEnv),
		Key:       os.Getenv(etcdflags.KeyEnv),
		Username:  os.Getenv(etcdflags.UserEnv),
		Password:  os.Getenv(etcdflags.PasswordEnv),
	}
	if u, p, ok := strings.Cut(s.Username, ":"); ok && s.Password == "" {
		s.Username, s.Password = u, p
	}
	return s
}

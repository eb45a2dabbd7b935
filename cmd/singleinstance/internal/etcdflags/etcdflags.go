// Package etcdflags holds what the singleinstance command knows about etcd
// without linking the etcd client: the settings its flags and environment
// resolve to, their defaults, and the connection it needs. The lean
// singleinstance binary (file locks only) uses it to recognise etcd
// settings and hand them to singleinstance-etcd; package etcdcli connects.
package etcdflags

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
)

// Environment variables; the etcd module reads the same ones
// (etcdcli's tests check that the two agree).
const (
	EndpointsEnv = "SINGLEINSTANCE_ETCD_ENDPOINTS"
	CACertEnv    = "SINGLEINSTANCE_ETCD_CACERT"
	CertEnv      = "SINGLEINSTANCE_ETCD_CERT"
	KeyEnv       = "SINGLEINSTANCE_ETCD_KEY"
	UserEnv      = "SINGLEINSTANCE_ETCD_USER"
	PasswordEnv  = "SINGLEINSTANCE_ETCD_PASSWORD"
	PrefixEnv    = "SINGLEINSTANCE_ETCD_PREFIX"
)

// Defaults and limits, as in the etcd module.
const (
	DefaultPrefix      = "/singleinstance/"
	DefaultTTL         = 10 * time.Second
	MinTTL             = 2 * time.Second
	DefaultDialTimeout = 5 * time.Second
)

// Settings are the resolved etcd flags and environment.
type Settings struct {
	Endpoints          []string
	CACert, Cert, Key  string
	Username, Password string
	DialTimeout        time.Duration
	Prefix             string
	TTL                time.Duration
	// StopHint is the global flags that reach the same cluster, shown in
	// "To stop it" lines; never credentials.
	StopHint string
}

// A Backend is a connected etcd backend as the command uses it.
type Backend interface {
	singleinstance.Backend
	// StopGrace is how long a command may take between SIGTERM and
	// SIGKILL once the lock is lost.
	StopGrace() time.Duration
	// Close closes the connection.
	Close() error
}

// A Connector dials the cluster that s describes. An unreachable cluster
// is an error matching singleinstance.ErrUnavailable; settings that cannot
// work, one matching ErrInvalid.
type Connector func(ctx context.Context, s Settings, logger *slog.Logger) (Backend, error)

// ErrInvalid marks etcd settings that cannot work (a usage error).
var ErrInvalid = errors.New("invalid etcd settings")

// Invalid marks err as matching ErrInvalid, keeping its message.
func Invalid(err error) error { return invalidError{err} }

type invalidError struct{ err error }

func (e invalidError) Error() string   { return e.err.Error() }
func (e invalidError) Unwrap() []error { return []error{ErrInvalid, e.err} }

// SplitEndpoints splits a comma-separated endpoint list, dropping empty
// entries and spaces.
func SplitEndpoints(s string) []string {
	var out []string
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// Requested reports whether a command line asks for etcd: an --etcd or
// --etcd-* flag before the first "--", or SINGLEINSTANCE_ETCD_ENDPOINTS
// set in the environment (getenv). Whether the settings are valid, and
// whether "--etcd ”" turns etcd off again, is for the command to decide.
func Requested(args []string, getenv func(string) string) bool {
	if getenv(EndpointsEnv) != "" {
		return true
	}
	for _, arg := range args {
		if arg == "--" {
			return false
		}
		if arg == "--etcd" || strings.HasPrefix(arg, "--etcd=") || strings.HasPrefix(arg, "--etcd-") {
			return true
		}
	}
	return false
}

package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/singleinstance/singleinstance"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// DefaultDialTimeout bounds how long Dial tries to reach the cluster.
const DefaultDialTimeout = 5 * time.Second

// Environment variables read by ConfigFromEnv.
const (
	EndpointsEnv = "SINGLEINSTANCE_ETCD_ENDPOINTS"
	CACertEnv    = "SINGLEINSTANCE_ETCD_CACERT"
	CertEnv      = "SINGLEINSTANCE_ETCD_CERT"
	KeyEnv       = "SINGLEINSTANCE_ETCD_KEY"
	UserEnv      = "SINGLEINSTANCE_ETCD_USER"
	PasswordEnv  = "SINGLEINSTANCE_ETCD_PASSWORD"
	PrefixEnv    = "SINGLEINSTANCE_ETCD_PREFIX"
)

// Config says how Dial reaches a cluster. Programs that build their own
// *clientv3.Client use New instead.
type Config struct {
	// Endpoints are the cluster's client URLs or host:port pairs.
	Endpoints []string
	// CACert, Cert and Key are PEM files: the CA that signed the servers'
	// certificates, and this client's certificate and key. With any of
	// them set, TLS is used.
	CACert, Cert, Key string
	// InsecureSkipVerify turns off server certificate checks (testing
	// only).
	InsecureSkipVerify bool
	// Username and Password authenticate with etcd's auth, if enabled.
	Username, Password string
	// DialTimeout bounds how long Dial tries to reach the cluster (default
	// DefaultDialTimeout).
	DialTimeout time.Duration
}

// ConfigFromEnv returns the Config that the SINGLEINSTANCE_ETCD_*
// environment variables describe; Endpoints is empty if
// SINGLEINSTANCE_ETCD_ENDPOINTS is unset. A user given as "name:password"
// sets both.
func ConfigFromEnv() Config {
	c := Config{
		Endpoints: SplitEndpoints(os.Getenv(EndpointsEnv)),
		CACert:    os.Getenv(CACertEnv),
		Cert:      os.Getenv(CertEnv),
		Key:       os.Getenv(KeyEnv),
		Password:  os.Getenv(PasswordEnv),
	}
	c.Username = os.Getenv(UserEnv)
	if u, p, ok := strings.Cut(c.Username, ":"); ok && c.Password == "" {
		c.Username, c.Password = u, p
	}
	return c
}

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

// Dial connects to the cluster that cfg describes, checks within the dial
// timeout that it answers, and returns a Backend whose Close closes the
// client. An unreachable cluster yields an error matching
// singleinstance.ErrUnavailable; a bad Config one matching
// ErrInvalidConfig.
func Dial(ctx context.Context, cfg Config, opts ...Option) (*Backend, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("singleinstance/etcd: %w: no endpoints (set --etcd or %s)", ErrInvalidConfig, EndpointsEnv)
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.DialTimeout < 0 {
		return nil, fmt.Errorf("singleinstance/etcd: %w: negative dial timeout", ErrInvalidConfig)
	}
	tlsConfig, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, fmt.Errorf("singleinstance/etcd: %w: a password without a user name", ErrInvalidConfig)
	}
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		TLS:         tlsConfig,
		Username:    cfg.Username,
		Password:    cfg.Password,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("singleinstance/etcd: connect to %s: %w: %w",
			strings.Join(cfg.Endpoints, ","), singleinstance.ErrUnavailable, err)
	}
	b, err := New(client, opts...)
	if err != nil {
		client.Close()
		return nil, err
	}
	b.ownClient = true
	pctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	// A serializable read answers from any member that is up, and proves
	// the endpoints, TLS and credentials work.
	if _, err := client.Get(pctx, b.prefix, clientv3.WithCountOnly(), clientv3.WithSerializable()); err != nil {
		client.Close()
		return nil, b.unavailable("connect", err)
	}
	return b, nil
}

// tlsConfig loads the certificate files, or returns nil without TLS.
func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.CACert == "" && c.Cert == "" && c.Key == "" && !c.InsecureSkipVerify {
		return nil, nil
	}
	t := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CACert != "" {
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, fmt.Errorf("singleinstance/etcd: %w: CA certificate: %w", ErrInvalidConfig, err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("singleinstance/etcd: %w: CA certificate %s holds no PEM certificate", ErrInvalidConfig, c.CACert)
		}
	}
	if (c.Cert == "") != (c.Key == "") {
		return nil, fmt.Errorf("singleinstance/etcd: %w: a client certificate needs both a certificate and a key file", ErrInvalidConfig)
	}
	if c.Cert != "" {
		pair, err := tls.LoadX509KeyPair(c.Cert, c.Key)
		if err != nil {
			return nil, fmt.Errorf("singleinstance/etcd: %w: client certificate: %w", ErrInvalidConfig, err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	return t, nil
}

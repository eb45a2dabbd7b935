package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strings"
	"sync"
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
	// them set, TLS is used: endpoints must then be https://, unixs://,
	// unix:// or host:port, and Dial refuses an http:// one (which would
	// silently connect in plaintext) with ErrInvalidConfig. An https://
	// endpoint without them uses TLS with the system's CAs.
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
	if tlsConfig != nil {
		for _, ep := range cfg.Endpoints {
			if rest, ok := strings.CutPrefix(ep, "http://"); ok {
				return nil, fmt.Errorf("singleinstance/etcd: %w: TLS files are set, but endpoint %s is plain http: use https://%s, or no TLS files",
					ErrInvalidConfig, ep, rest)
			}
		}
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
	// If the cluster is slow to answer, look for a TLS mismatch, which the
	// client reports only as a timeout: a definite one on every endpoint
	// ends the wait. (A cluster that answers never sees the probes.)
	ping, stopPing := context.WithCancel(pctx)
	defer stopPing()
	mismatch := make(chan error, 1)
	go func() {
		t := time.NewTimer(probeDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ping.Done():
			mismatch <- nil
			return
		}
		err := probeTLS(pctx, cfg.Endpoints, tlsConfig)
		if err != nil {
			stopPing()
		}
		mismatch <- err
	}()
	// A serializable read answers from any member that is up, and proves
	// the endpoints, TLS and credentials work.
	_, err = client.Get(ping, b.prefix, clientv3.WithCountOnly(), clientv3.WithSerializable())
	cancel()
	diagnosis := <-mismatch
	if err != nil {
		client.Close()
		if diagnosis != nil {
			return nil, fmt.Errorf("singleinstance/etcd: connect (%s): %w: %w", b.where, singleinstance.ErrUnavailable, diagnosis)
		}
		return nil, b.unavailable("connect", err)
	}
	b.answered.Store(true)
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

// probeDelay is how long Dial waits for the cluster's answer before it
// probes the endpoints for a TLS mismatch.
const probeDelay = 300 * time.Millisecond

// ErrTLSMismatch means that an endpoint and the client disagree about TLS:
// an https:// endpoint (or TLS files) for a server that answers in
// plaintext, a plaintext endpoint for a server that speaks TLS, or a
// server certificate that the CA given does not vouch for. Dial's error
// then matches both it and singleinstance.ErrUnavailable.
var ErrTLSMismatch = errors.New("likely TLS mismatch")

// probeTLS tries a TLS handshake with each endpoint (bounded by ctx) and
// returns an error matching ErrTLSMismatch if every endpoint showed one,
// naming them; nil otherwise.
func probeTLS(ctx context.Context, endpoints []string, tlsConfig *tls.Config) error {
	errs := make([]error, len(endpoints))
	var wg sync.WaitGroup
	for i, ep := range endpoints {
		wg.Go(func() { errs[i] = probeEndpoint(ctx, ep, tlsConfig) })
	}
	wg.Wait()
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return errors.Join(errs...)
}

// probeEndpoint reports a TLS mismatch with one endpoint, or nil if there
// is none or it cannot tell (such as when nothing answers).
func probeEndpoint(ctx context.Context, ep string, tlsConfig *tls.Config) error {
	network, address, host, wantTLS := endpointAddress(ep, tlsConfig != nil)
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil
	}
	defer conn.Close()
	var c *tls.Config
	switch {
	case !wantTLS:
		// Does the server speak TLS although the endpoint says not to?
		c = &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}
	case tlsConfig != nil:
		c = tlsConfig.Clone()
	default:
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName = host
	}
	err = tls.Client(conn, c).HandshakeContext(ctx)
	var header tls.RecordHeaderError
	var verify *tls.CertificateVerificationError
	switch {
	case !wantTLS && err == nil:
		return fmt.Errorf("%w: %s answers with TLS, but the endpoint is plaintext (use https:// and a CA file)", ErrTLSMismatch, ep)
	case !wantTLS:
		return nil
	case errors.As(err, &verify):
		return fmt.Errorf("%w: %s presented a certificate that is not accepted: %w", ErrTLSMismatch, ep, verify.Err)
	case err != nil && (errors.As(err, &header) || speaksPlainHTTP2(ctx, network, address)):
		// An etcd server without TLS closes the connection on a TLS
		// hello; it answers a plaintext HTTP/2 preface.
		return fmt.Errorf("%w: %s answers in plaintext, not TLS (use http:// and no TLS files, or enable TLS on the server)", ErrTLSMismatch, ep)
	}
	return nil
}

// speaksPlainHTTP2 reports whether the server at address answers an
// HTTP/2 connection preface without TLS (as etcd's gRPC server without TLS
// does) with a SETTINGS frame.
func speaksPlainHTTP2(ctx context.Context, network, address string) bool {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, address)
	if err != nil {
		return false
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	// The preface, then an empty SETTINGS frame.
	preface := append([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 0, 0, 0, 4, 0, 0, 0, 0, 0)
	if _, err := conn.Write(preface); err != nil {
		return false
	}
	var header [9]byte // length (3 bytes), type, flags, stream ID
	if _, err := io.ReadFull(conn, header[:]); err != nil {
		return false
	}
	return header[3] == 4 // SETTINGS
}

// endpointAddress is where an endpoint is dialled, the host name its
// certificate must name, and whether the client uses TLS with it (as
// clientv3 decides: https and unixs always, http never, and unix or a bare
// host:port when TLS files are set).
func endpointAddress(ep string, tlsFiles bool) (network, address, host string, useTLS bool) {
	scheme, rest, ok := strings.Cut(ep, "://")
	if !ok {
		if after, found := strings.CutPrefix(ep, "unix:"); found {
			return "unix", after, path.Base(after), tlsFiles
		}
		if after, found := strings.CutPrefix(ep, "unixs:"); found {
			return "unix", after, path.Base(after), true
		}
		h, _, err := net.SplitHostPort(ep)
		if err != nil {
			h = ep
		}
		return "tcp", ep, h, tlsFiles
	}
	switch scheme {
	case "unix", "unixs":
		return "unix", rest, path.Base(rest), scheme == "unixs" || tlsFiles
	}
	h, _, err := net.SplitHostPort(rest)
	if err != nil {
		h = rest
	}
	return "tcp", rest, h, scheme == "https"
}

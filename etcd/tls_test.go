package etcd_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance"
	"github.com/singleinstance/singleinstance/etcd"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
)

// TestTLSMisuse: TLS files with an http:// endpoint are refused (they
// would be ignored: plaintext), and a TLS mismatch with the server is named
// with the endpoint instead of being only a timeout. A correct setup works.
func TestTLSMisuse(t *testing.T) {
	certs := etcdtest.NewCerts(t)
	plain := etcdtest.Start(t)
	proxy := etcdtest.NewProxy(t, plain.Endpoints()[0]) // a TCP endpoint
	addr := strings.TrimPrefix(proxy.Endpoint(), "http://")
	dial := func(cfg etcd.Config) (*etcd.Backend, error, time.Duration) {
		t.Helper()
		if cfg.DialTimeout == 0 {
			cfg.DialTimeout = 3 * time.Second
		}
		start := time.Now()
		b, err := etcd.Dial(context.Background(), cfg)
		if b != nil {
			t.Cleanup(func() { b.Close() })
		}
		return b, err, time.Since(start)
	}

	t.Run("TLS files with http", func(t *testing.T) {
		for _, cfg := range []etcd.Config{
			{Endpoints: []string{"http://" + addr}, CACert: certs.CA},
			{Endpoints: []string{"https://" + addr, "http://" + addr}, Cert: certs.ClientCert, Key: certs.ClientKey},
		} {
			_, err, _ := dial(cfg)
			if !errors.Is(err, etcd.ErrInvalidConfig) || !strings.Contains(err.Error(), "http://"+addr+" is plain http") {
				t.Errorf("%v: %v, want ErrInvalidConfig naming the endpoint", cfg.Endpoints, err)
			}
		}
	})

	t.Run("https to a plaintext server", func(t *testing.T) {
		ep := "https://" + addr
		_, err, took := dial(etcd.Config{Endpoints: []string{ep}, CACert: certs.CA})
		if !errors.Is(err, singleinstance.ErrUnavailable) || !errors.Is(err, etcd.ErrTLSMismatch) ||
			!strings.Contains(err.Error(), ep+" answers in plaintext") {
			t.Fatalf("Dial: %v; want ErrUnavailable and ErrTLSMismatch naming %s", err, ep)
		}
		t.Logf("after %v: %v", took.Round(time.Millisecond), err)
		if took > 2*time.Second {
			t.Errorf("a definite mismatch took %v to report", took)
		}
	})

	tlsCluster := etcdtest.StartTLS(t, certs)
	ep := tlsCluster.Endpoints()[0]
	good := etcd.Config{Endpoints: []string{ep}, CACert: certs.CA, Cert: certs.ClientCert, Key: certs.ClientKey}

	t.Run("plaintext endpoint to a TLS server", func(t *testing.T) {
		plainEP := "unix://" + strings.TrimPrefix(ep, "unixs://")
		_, err, _ := dial(etcd.Config{Endpoints: []string{plainEP}, DialTimeout: time.Second})
		if !errors.Is(err, etcd.ErrTLSMismatch) || !strings.Contains(err.Error(), plainEP+" answers with TLS") {
			t.Fatalf("Dial: %v; want ErrTLSMismatch naming %s", err, plainEP)
		}
	})

	t.Run("certificate from another CA", func(t *testing.T) {
		other := etcdtest.NewCerts(t)
		cfg := good
		cfg.CACert = other.CA
		_, err, _ := dial(cfg)
		if !errors.Is(err, etcd.ErrTLSMismatch) || !strings.Contains(err.Error(), "certificate that is not accepted") {
			t.Fatalf("Dial: %v; want ErrTLSMismatch for the certificate", err)
		}
	})

	t.Run("TLS", func(t *testing.T) {
		b, err, _ := dial(good)
		if err != nil {
			t.Fatalf("Dial over TLS: %v", err)
		}
		inst := hold(t, b, testName)
		if err := inst.Release(); err != nil {
			t.Fatal(err)
		}
	})
}

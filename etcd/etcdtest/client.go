package etcdtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// DialTimeout is the dial timeout of the clients created by this package.
const DialTimeout = 5 * time.Second

// NewClient returns a new etcd client for endpoints, for example a
// Proxy's endpoint. The client is closed when the test ends; closing it
// earlier as well is harmless.
//
// Create clients after calling Start (with the same or a descendant t) so
// that they are closed before the embedded server: the server's shutdown
// stalls for seconds while client streams are still open.
func NewClient(t testing.TB, endpoints ...string) *clientv3.Client {
	t.Helper()
	cli, err := newClient(endpoints)
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	t.Cleanup(func() {
		// The error is ignored on purpose: it is context.Canceled when the
		// test already closed the client itself.
		_ = cli.Close()
	})
	return cli
}

// newClient creates a quiet client whose lifetime the caller manages.
func newClient(endpoints []string) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: DialTimeout,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("creating etcd client for %s: %w", strings.Join(endpoints, ","), err)
	}
	return cli, nil
}

package etcdtest

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// EndpointsEnv names the environment variable that, when set to a
// comma-separated list of client endpoints, makes Start use that external
// etcd cluster instead of starting an embedded server.
const EndpointsEnv = "SINGLEINSTANCE_TEST_ETCD_ENDPOINTS"

// Cluster is an etcd cluster available to a test: either an embedded
// single-member server owned by the test, or an external cluster shared by
// all tests (see EndpointsEnv).
type Cluster struct {
	endpoints []string
}

// Start returns a cluster for t. Unless EndpointsEnv is set, it starts an
// in-process etcd member listening on UNIX sockets and stops it when the
// test ends, after the clients created by Client and NewClient are closed.
// It fails the test if the server is not ready within 30 seconds.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if eps := externalEndpoints(); len(eps) > 0 {
		return &Cluster{endpoints: eps}
	}
	return &Cluster{endpoints: startEmbedded(t)}
}

// externalEndpoints parses EndpointsEnv, ignoring empty items.
func externalEndpoints() []string {
	var eps []string
	for ep := range strings.SplitSeq(os.Getenv(EndpointsEnv), ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			eps = append(eps, ep)
		}
	}
	return eps
}

// Endpoints returns the client endpoints of the cluster, in a form accepted
// by clientv3.Config.Endpoints and by NewProxy. The embedded server uses
// "unix:///absolute/path" endpoints.
func (c *Cluster) Endpoints() []string {
	return append([]string(nil), c.endpoints...)
}

// Client returns a new client connected to the cluster (dial timeout
// DialTimeout). It is closed when the test ends, before the embedded
// server; closing it earlier as well is harmless.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	return NewClient(t, c.endpoints...)
}

// StartTLS starts an embedded single-member server (never an external
// cluster) that serves its clients over TLS only, with the server
// certificate of certs, and requires a client certificate signed by its
// CA. Its endpoint has the form "unixs:///path/client.sock". Clients of
// this package (Client, NewClient, Prefix) cannot reach it: connect with
// the certificates.
func StartTLS(t testing.TB, certs *Certs) *Cluster {
	t.Helper()
	eps := startEmbedded(t, func(cfg *embed.Config) {
		for _, list := range [][]url.URL{cfg.ListenClientUrls, cfg.AdvertiseClientUrls} {
			for i := range list {
				list[i].Scheme = "unixs"
			}
		}
		cfg.ClientTLSInfo = transport.TLSInfo{
			CertFile:       certs.ServerCert,
			KeyFile:        certs.ServerKey,
			TrustedCAFile:  certs.CA,
			ClientCertAuth: true,
		}
	})
	return &Cluster{endpoints: eps}
}

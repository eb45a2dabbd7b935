package etcdtest

import (
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// readyTimeout bounds how long Start waits for the embedded server.
const readyTimeout = 30 * time.Second

// memberName is the name of the embedded member.
const memberName = "etcdtest"

// startEmbedded starts a single-member etcd server for t and returns its
// client endpoints. The server is closed by a cleanup registered before any
// client can be created, so it runs after the clients' cleanups.
func startEmbedded(t testing.TB, adjust ...func(*embed.Config)) []string {
	t.Helper()
	cfg, err := embeddedConfig(shortTempDir(t, "etcd"))
	if err != nil {
		t.Fatalf("etcdtest: %v", err)
	}
	for _, f := range adjust {
		f(cfg)
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("etcdtest: starting embedded etcd: %v", err)
	}
	t.Cleanup(e.Close)

	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatalf("etcdtest: embedded etcd failed before becoming ready: %v", err)
	case <-timer.C:
		t.Fatalf("etcdtest: embedded etcd not ready after %v", readyTimeout)
	}

	eps := make([]string, len(cfg.AdvertiseClientUrls))
	for i, u := range cfg.AdvertiseClientUrls {
		eps[i] = u.String()
	}
	return eps
}

// embeddedConfig returns the configuration of a fast, quiet, single-member
// server whose data and UNIX sockets live in dir, an absolute path.
func embeddedConfig(dir string) (*embed.Config, error) {
	clientURL, err := url.Parse("unix://" + filepath.Join(dir, "client.sock"))
	if err != nil {
		return nil, fmt.Errorf("parsing client URL: %w", err)
	}
	peerURL, err := url.Parse("unix://" + filepath.Join(dir, "peer.sock"))
	if err != nil {
		return nil, fmt.Errorf("parsing peer URL: %w", err)
	}

	cfg := embed.NewConfig()
	cfg.Name = memberName
	cfg.Dir = filepath.Join(dir, "data")
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	cfg.UnsafeNoFsync = true
	cfg.EnableGRPCGateway = false

	// Client listeners on "unix" URLs listen on Host+Path, so the usual
	// absolute form "unix:///path" works and is also what clientv3 dials.
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}

	// Peer listeners, however, listen on the URL's Host alone, which for
	// "unix:///path" is empty. Hand the listener a URL whose Host holds the
	// absolute path; it cannot be written as a string (url.Parse rejects
	// "%2F" in hosts), so the advertised URL keeps the usual form. A single
	// member never dials its own peer URL.
	cfg.ListenPeerUrls = []url.URL{{Scheme: "unix", Host: peerURL.Path}}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.InitialCluster = memberName + "=" + peerURL.String()
	return cfg, nil
}

//go:build unix

package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
	"github.com/singleinstance/singleinstance/etcd/etcdtest"
)

// TestEtcdTLSMisuse runs the command with TLS settings that cannot work:
// TLS files with an http:// endpoint (flags or environment) are a usage
// error, as they would be ignored; an https:// endpoint of a server
// without TLS exits 4 at once, naming the endpoint and the mismatch. The
// certificates come from a CA made for this test; with the right ones,
// over TLS, run works.
func TestEtcdTLSMisuse(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	certs := etcdtest.NewCerts(t)
	plain := etcdtest.Start(t)
	proxy := etcdtest.NewProxy(t, plain.Endpoints()[0])
	addr := strings.TrimPrefix(proxy.Endpoint(), "http://")
	run := func(env []string, args ...string) (int, string, time.Duration) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, exe, args...)
		cmd.Env = append(os.Environ(), cliEnv+"=1", "GORACE="+goRace(), etcdflags.EndpointsEnv+"=",
			etcdflags.CACertEnv+"=", etcdflags.CertEnv+"=", etcdflags.KeyEnv+"=")
		cmd.Env = append(cmd.Env, env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		err := cmd.Run()
		return exitCode(err), stderr.String(), time.Since(start)
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"flags", nil, []string{"--etcd", "http://" + addr, "--etcd-cacert", certs.CA, "check", "app"}},
		{"client certificate", nil, []string{"--etcd", "https://" + addr + ",http://" + addr,
			"--etcd-cert", certs.ClientCert, "--etcd-key", certs.ClientKey, "check", "app"}},
		{"environment", []string{etcdflags.EndpointsEnv + "=http://" + addr, etcdflags.CACertEnv + "=" + certs.CA},
			[]string{"run", "app", "--", "true"}},
	} {
		code, stderr, _ := run(tc.env, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, "endpoint http://"+addr+" is plain http: use https://"+addr) {
			t.Errorf("%s: exit %d, want %d with the endpoint; stderr:\n%s", tc.name, code, exitUsage, stderr)
		}
	}

	code, stderr, took := run(nil, "--etcd", "https://"+addr, "--etcd-cacert", certs.CA, "check", "app")
	t.Logf("https:// to a server without TLS: exit %d after %v: %s", code, took.Round(time.Millisecond), stderr)
	if code != exitUnavailable || !strings.Contains(stderr, "likely TLS mismatch: https://"+addr+" answers in plaintext, not TLS") {
		t.Errorf("https:// to a server without TLS: exit %d, want %d naming the mismatch; stderr:\n%s", code, exitUnavailable, stderr)
	}

	secure := etcdtest.StartTLS(t, certs)
	code, stderr, _ = run(nil, "--etcd", secure.Endpoints()[0], "--etcd-cacert", certs.CA,
		"--etcd-cert", certs.ClientCert, "--etcd-key", certs.ClientKey, "run", "app", "--", "true")
	if code != 0 {
		t.Errorf("run over TLS: exit %d; stderr:\n%s", code, stderr)
	}
}

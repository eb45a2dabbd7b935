package cli

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdcli"
	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/etcdflags"
)

// TestVersion runs "version" and "--version" in the lean build (no etcd
// connector) and in the etcd build, unstamped and stamped as a release.
func TestVersion(t *testing.T) {
	run := func(t *testing.T, etcd bool, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		var connect etcdflags.Connector
		if etcd {
			connect = etcdcli.Connect
		}
		if code := Main(args, nil, &stdout, &stderr, connect); code != 0 {
			t.Fatalf("%q: exit %d\n%s", args, code, stderr.String())
		}
		return stdout.String()
	}

	t.Run("unstamped", func(t *testing.T) {
		for _, args := range [][]string{{"version"}, {"--version"}} {
			out := run(t, false, args...)
			for _, want := range []string{
				"singleinstance version devel\n",
				"go:     " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n",
				"etcd:   not linked",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("%q: no %q in\n%s", args, want, out)
				}
			}
		}
		if out := run(t, true, "version"); !strings.Contains(out, "etcd:   linked\n") {
			t.Errorf("etcd build: %s", out)
		}
	})

	t.Run("stamped", func(t *testing.T) {
		defer func(v, c, d string) { buildVersion, buildCommit, buildDate = v, c, d }(buildVersion, buildCommit, buildDate)
		buildVersion, buildCommit, buildDate = "v1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-01-02T03:04:05Z"
		want := "singleinstance version v1.2.3\n" +
			"commit: 0123456789abcdef0123456789abcdef01234567\n" +
			"date:   2026-01-02T03:04:05Z\n" +
			"go:     " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n" +
			"etcd:   linked\n"
		for _, args := range [][]string{{"version"}, {"--version"}} {
			if out := run(t, true, args...); out != want {
				t.Errorf("%q:\n%s\nwant:\n%s", args, out, want)
			}
		}
		var got versionInfo
		if err := json.Unmarshal([]byte(run(t, false, "version", "--json")), &got); err != nil {
			t.Fatal(err)
		}
		if got.Version != "v1.2.3" || got.Commit != buildCommit || got.Date != buildDate || got.Etcd ||
			got.Go != runtime.Version() {
			t.Errorf("--json: %+v", got)
		}
	})
}

func TestPseudoVersionCommit(t *testing.T) {
	for v, want := range map[string]string{
		"v0.1.1-0.20260102150405-0123456789ab":      "0123456789ab",
		"v0.2.0-rc.1.0.20260102150405-abcdefabcdef": "abcdefabcdef",
		"v0.1.0": "",
		"v2.0.0-20260102150405-0123456789ab+incompatible": "0123456789ab",
		"v0.0.0-20260102150405-0123456789AB":              "",
		"v0.0.0-2026010215040x-0123456789ab":              "",
		"v0.0.0_20260102150405-0123456789ab":              "",
		"0123456789ab":                                    "",
	} {
		if got := pseudoCommit(v); got != want {
			t.Errorf("%s: commit %q, want %q", v, got, want)
		}
	}
}

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cmdline"
)

// The release build stamps these with
//
//	-ldflags "-X github.com/singleinstance/singleinstance/cmd/singleinstance/internal/cli.buildVersion=v1.2.3 ..."
//
// (see scripts/release). A plain "go build" or "go install" leaves them
// empty, and buildInfo falls back to what the Go toolchain recorded.
var (
	buildVersion string // the release, e.g. v1.2.3
	buildCommit  string // the full commit hash the release was built from
	buildDate    string // the commit's time, RFC 3339 in UTC
)

// versionInfo is what "singleinstance version" prints.
type versionInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Date     string `json:"date,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	Etcd     bool   `json:"etcd"`
}

// pseudoCommit returns the commit at the end of a pseudo-version such as
// v0.1.1-0.20260102150405-0123456789ab (optionally +incompatible): the 12
// hex digits after "-", after 14 decimal ones (the time), after "." or
// "-". It returns "" for another version.
func pseudoCommit(version string) string {
	v := strings.TrimSuffix(version, "+incompatible")
	const tail = 1 + 14 + 1 + 12 // [.-]TIME-COMMIT
	if len(v) < tail {
		return ""
	}
	t := v[len(v)-tail:]
	stamp, commit := t[1:15], t[16:]
	if t[0] != '.' && t[0] != '-' || t[15] != '-' ||
		strings.Trim(stamp, "0123456789") != "" || strings.Trim(commit, "0123456789abcdef") != "" {
		return ""
	}
	return commit
}

// buildInfo gathers the version: the stamped values first; else the
// module version that "go install MODULE@VERSION" records (and the commit
// of a pseudo-version); else the VCS details of a build in a checkout;
// else "devel".
func buildInfo(etcd bool) versionInfo {
	v := versionInfo{
		Version:  buildVersion,
		Commit:   buildCommit,
		Date:     buildDate,
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
		Etcd:     etcd,
	}
	bi, ok := debug.ReadBuildInfo()
	if v.Version == "" && ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v.Version = bi.Main.Version
		if v.Commit == "" {
			v.Commit = pseudoCommit(v.Version)
		}
	}
	if v.Version == "" {
		v.Version = "devel"
	}
	if ok && v.Commit == "" {
		var modified bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				if v.Date == "" {
					v.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if v.Commit != "" && modified {
			v.Commit += "-dirty"
		}
	}
	return v
}

// text is the human-readable form, which --version prints too; its first
// line is the usual "singleinstance version V".
func (v versionInfo) text() string {
	orUnknown := func(s string) string {
		if s == "" {
			return "unknown"
		}
		return s
	}
	etcd := "linked"
	if !v.Etcd {
		etcd = "not linked (command lines that name etcd go to singleinstance-etcd)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "singleinstance version %s\n", v.Version)
	fmt.Fprintf(&b, "commit: %s\n", orUnknown(v.Commit))
	fmt.Fprintf(&b, "date:   %s\n", orUnknown(v.Date))
	fmt.Fprintf(&b, "go:     %s %s\n", v.Go, v.Platform)
	fmt.Fprintf(&b, "etcd:   %s\n", etcd)
	return b.String()
}

func (v versionInfo) write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := io.WriteString(w, v.text())
	return err
}

// addVersion makes --version print the full version text and adds the
// version command.
func (a *app) addVersion(root *cmdline.Command) {
	info := buildInfo(a.connectEtcd != nil)
	root.Version, root.VersionText = info.Version, info.text()
	root.AddCommand(&cmdline.Command{
		Use:   "version",
		Short: "Print the version, commit, build date, Go version and whether etcd is linked",
		Long: `version prints the release version (or the module version that
"go install" recorded, or "devel"), the commit and date it was built from,
the Go version and platform, and whether this binary links the etcd client
(singleinstance-etcd does; singleinstance hands etcd command lines to it).
With --json it prints them as one JSON object. "singleinstance --version"
prints the same text.

Exit 0.`,
		Args: cmdline.NoArgs,
		Run: func(cmd *cmdline.Command, args []string) error {
			return info.write(a.stdout, a.json)
		},
	})
}

//go:build darwin || freebsd

package safefs

import (
	"strings"

	"golang.org/x/sys/unix"
)

func networkFS(path string) (string, bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "", false, err
	}
	b := make([]byte, 0, len(st.Fstypename))
	for _, c := range st.Fstypename {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	kind := string(b)
	for _, p := range []string{"nfs", "smbfs", "cifs", "fuse", "osxfuse", "macfuse", "afpfs", "webdav"} {
		if strings.HasPrefix(kind, p) {
			return kind, true, nil
		}
	}
	return kind, false, nil
}

package etcdtest

import (
	"fmt"
	"strings"
)

// dialAddress returns the network ("unix" or "tcp") and address to dial for
// a plain-text clientv3 endpoint: "unix:///abs/path", "unix://rel/path",
// "unix:path", "http://host:port" or "host:port". TLS endpoints ("https",
// "unixs") are rejected because the clients of this package do not use TLS.
func dialAddress(endpoint string) (network, address string, err error) {
	scheme, rest, found := strings.Cut(endpoint, ":")
	if !found {
		return "", "", fmt.Errorf("endpoint %q: missing port or scheme", endpoint)
	}
	switch scheme {
	case "unix":
		// "unix:///abs" -> "/abs"; "unix://rel" and "unix:rel" -> "rel".
		address = strings.TrimPrefix(rest, "//")
		if address == "" {
			return "", "", fmt.Errorf("endpoint %q: empty socket path", endpoint)
		}
		return "unix", address, nil
	case "http":
		address = strings.TrimPrefix(rest, "//")
		if address == "" || strings.Contains(address, "/") {
			return "", "", fmt.Errorf("endpoint %q: want http://host:port", endpoint)
		}
		return "tcp", address, nil
	case "https", "unixs":
		return "", "", fmt.Errorf("endpoint %q: TLS endpoints are not supported", endpoint)
	}
	if strings.Contains(endpoint, "/") {
		return "", "", fmt.Errorf("endpoint %q: unsupported form", endpoint)
	}
	return "tcp", endpoint, nil // host:port
}

#!/usr/bin/env bash
# Release the singleinstance modules at VERSION: see docs/releasing.md.
#
#   scripts/release.sh [-dry-run] [-out DIR] [-targets os/arch,...] [-check=false] [-online] VERSION
#
# The tool is a module of its own (scripts/release, outside go.work), so it
# is built with GOWORK=off. It needs golang.org/x/mod in the module cache,
# or the module proxy to fetch it once.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
tool=$(mktemp -d)
trap 'rm -rf "$tool"' EXIT
(cd "$top/scripts/release" && GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" go build -o "$tool/release" .)
"$tool/release" -repo "$top" "$@"

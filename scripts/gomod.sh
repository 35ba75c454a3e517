#!/usr/bin/env bash
# `go get` / `go mod tidy` for a module of this repository, run in its
# directory:
#
#   cd redisstore && ../scripts/gomod.sh get github.com/redis/go-redis/v9@latest
#   cd redisstore && ../scripts/gomod.sh mod tidy
#
# Both resolve the unpublished sibling versions the go.mod files require
# (github.com/coatcheck/coatcheck v0.1.0, ...) even in workspace mode
# (golang/go#66516), so this serves them from a local file:// module proxy
# built from the working tree (scripts/modproxy.py), with GOWORK=off; every
# other module comes from the usual GOPROXY. Sibling lines are dropped from
# go.sum afterwards: they hash the working tree, not a release.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version=$(sed -n 's/^[[:space:]]*github.com\/coatcheck\/coatcheck \(v[^ ]*\) => .*/\1/p' "$root/go.work" | head -1)
[ -f go.mod ] || { echo "gomod.sh: run it in a module directory" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
python3 "$root/scripts/modproxy.py" "$version" "$root" "$tmp/proxy" >/dev/null
GOWORK=off GOFLAGS=-mod=mod GONOSUMDB=github.com/coatcheck GONOSUMCHECK=1 \
  GOPROXY="file://$tmp/proxy,$(go env GOPROXY)" go "$@"
[ -f go.sum ] && sed -i '/^github\.com\/coatcheck\/coatcheck[/ ]/d' go.sum
exit 0

#!/usr/bin/env bash
# Install test: do the published modules install as a user gets them?
#
#   scripts/installtest.sh [VERSION]     # default: the version in go.work
#
# Builds a file-based module proxy of the working tree at VERSION
# (scripts/modproxy.py; no go.work, no replace), then in a fresh module:
# `go get` the root, redisstore and sqlitestore, builds and runs a small app
# using all three, and `go install .../cmd/coatcheck@VERSION` runs
# `coatcheck keygen` and `coatcheck version`. Only the Go module proxy is
# used besides the local one. scripts/test.sh runs it as module "install".
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${1:-$(sed -n 's/^[[:space:]]*github.com\/coatcheck\/coatcheck \(v[^ ]*\) => .*/\1/p' "$root/go.work" | head -1)}"
tmp="$(mktemp -d)"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
rsync -a --exclude .git --exclude node_modules "$root/" "$tmp/tree/"
python3 "$root/scripts/modgraph.py" "$version" "$tmp/tree" >/dev/null
python3 "$root/scripts/modproxy.py" "$version" "$tmp/tree" "$tmp/proxy" >/dev/null
# A module cache of its own: the machine's cache may hold an older build of
# these very versions (an earlier run's working tree), which go would use
# instead of this one. Third-party modules come from the machine's cache
# download directory (a valid proxy) before the Go module proxy.
shared_cache="$(go env GOMODCACHE)/cache/download"
export GOMODCACHE="$tmp/modcache"
export GOWORK=off GOFLAGS="-mod=mod -modcacherw" GONOSUMDB=github.com/coatcheck GONOSUMCHECK=1
GOPROXY="file://$tmp/proxy,file://$shared_cache,$(go env GOPROXY)"
export GOPROXY
export GOBIN="$tmp/bin"
mkdir -p "$tmp/app"
cd "$tmp/app"
go mod init example.com/app >/dev/null 2>&1
cat >main.go <<'GO'
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/coatcheck/coatcheck"
	"github.com/coatcheck/coatcheck/redisstore"
	"github.com/coatcheck/coatcheck/sqlitestore"
)

var _ = redisstore.New

func main() {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(os.Args[1], "s.db"), sqlitestore.Options{})
	if err != nil {
		panic(err)
	}
	m, err := coatcheck.New(coatcheck.Config{SecretKey: "install-test", Store: st})
	if err != nil {
		panic(err)
	}
	_ = m
	rec := httptest.NewRecorder()
	http.NotFound(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println("app ok")
}
GO
go get "github.com/coatcheck/coatcheck@$version" "github.com/coatcheck/coatcheck/redisstore@$version" "github.com/coatcheck/coatcheck/sqlitestore@$version"
go build -o app .
out=$(./app "$tmp")
[ "$out" = "app ok" ] || { echo "installtest: app printed $out"; exit 1; }
echo "installtest: go get of root, redisstore, sqlitestore @$version: app built and ran"
go install "github.com/coatcheck/coatcheck/cmd/coatcheck@$version"
key=$("$GOBIN/coatcheck" keygen)
[[ "$key" =~ ^[0-9a-f]{64}$ ]] || { echo "installtest: keygen printed $key"; exit 1; }
v=$("$GOBIN/coatcheck" version)
[ "$v" = "coatcheck $version" ] || { echo "installtest: version printed $v"; exit 1; }
echo "installtest: go install .../cmd/coatcheck@$version: keygen ok, $v"

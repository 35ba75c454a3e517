#!/usr/bin/env bash
# Releases every module of the repository at one version.
#
#   scripts/release.sh [--dry-run] VERSION      # e.g. v0.2.0
#
# 1. scripts/modgraph.py sets every cross-module requirement to VERSION and
#    rewrites go.work's version-specific replace lines (no go.mod keeps a
#    replace);
# 2. scripts/modproxy.py builds a file-based module proxy of the tree at
#    VERSION, and every module is built and vetted with GOWORK=off against it
#    (as a user's `go get` would resolve it), in a copy of the tree;
# 3. without --dry-run: commits the go.mod/go.work changes and tags every
#    module: VERSION for the root, <dir>/VERSION for the others.
# --dry-run does steps 1-2 in a temporary copy and changes nothing here.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dry=
if [ "${1:-}" = --dry-run ]; then dry=1; shift; fi
version="${1:-}"
if ! [[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "usage: scripts/release.sh [--dry-run] vMAJOR.MINOR.PATCH" >&2
  exit 2
fi
tmp="$(mktemp -d)"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
tree="$tmp/tree"
rsync -a --exclude .git --exclude node_modules "$root/" "$tree/"
python3 "$root/scripts/modgraph.py" "$version" "$tree"
python3 "$root/scripts/modproxy.py" "$version" "$tree" "$tmp/proxy" >/dev/null
mods=$(sed -n '/^use (/,/^)/{s/^[[:space:]]*\.\/\{0,1\}//p}' "$tree/go.work" | sed 's/^$/./; s/^)$//' | grep -v '^$')
rc=0
for m in $mods; do
  [ "$m" = bench ] && continue # benchmarks compare other projects; not published for users
  if (cd "$tree/$m" && GOWORK=off GOFLAGS=-mod=mod GONOSUMDB=github.com/coatcheck GONOSUMCHECK=1 \
      GOPROXY="file://$tmp/proxy,$(go env GOPROXY)" go vet ./... >"$tmp/$(echo "$m" | tr / _).log" 2>&1); then
    echo "release: ok   $m (GOWORK=off, siblings from the proxy at $version)"
  else
    echo "release: FAIL $m"; sed 's/^/    /' "$tmp/$(echo "$m" | tr / _).log" | tail -20; rc=1
  fi
done
[ $rc -eq 0 ] || { echo "release: not releasing $version"; exit 1; }
if [ -n "$dry" ]; then
  echo "release: dry run: would set siblings to $version and create tags:"
  for m in $mods; do [ "$m" = . ] && echo "  $version" || echo "  $m/$version"; done
  exit 0
fi
python3 "$root/scripts/modgraph.py" "$version" "$root"
cd "$root"
files=$(git ls-files -m -- go.work '*go.mod')
[ -z "$files" ] || git commit -q -m "release $version: siblings at $version" -- $files
for m in $mods; do
  if [ "$m" = . ]; then t="$version"; else t="$m/$version"; fi
  git tag -a "$t" -m "coatcheck $t"
  echo "release: tagged $t"
done
echo "release: push with: git push origin --tags"

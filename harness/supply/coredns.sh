#!/usr/bin/env bash
# The CoreDNS binary at one version, from its Go module.
#
# usage: coredns.sh vX.Y.Z OUT_DIR
set -euo pipefail
version=$1 out=$2
rm -rf "$out.partial"; mkdir -p "$out.partial"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOBIN=$out.partial
if ! go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$version" 2>"$out.partial/build.log"; then
  cat "$out.partial/build.log" >&2
  if grep -qE '403|not available' "$out.partial/build.log"; then
    echo "[coredns] the Go module proxy refused coredns $version; it lists: $(go list -m -versions github.com/coredns/coredns | tr ' ' '\n' | tail -n 8 | tr '\n' ' ')" >&2
    exit 5
  fi
  exit 1
fi
rm -f "$out.partial/build.log"
rm -rf "$out"; mv "$out.partial" "$out"

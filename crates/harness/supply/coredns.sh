#!/usr/bin/env bash
# The CoreDNS binary at one version, from its Go module.
#
# usage: coredns.sh vX.Y.Z OUT_DIR
set -euo pipefail
source "$(dirname "$0")/lib.sh"
version=$1 out=$2
rm -rf "$out.partial"; mkdir -p "$out.partial"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local} GOBIN=$out.partial
go_run coredns go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$version"
rm -rf "$out"; mv "$out.partial" "$out"

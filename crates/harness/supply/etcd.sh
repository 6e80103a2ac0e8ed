#!/usr/bin/env bash
# The etcd server binary at one version.
#
# usage: etcd.sh vX.Y.Z OUT_DIR WORK_DIR
#
# go.etcd.io/etcd/server/v3 carries replace directives, so `go install ...@v` refuses
# it; a throwaway module that requires all of etcd's modules at the same version
# builds it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
version=$1 out=$2 work=$3
rm -rf "$work" "$out.partial"; mkdir -p "$work" "$out.partial"; cd "$work"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
cat >go.mod <<MOD
module sidecar-conformance.local/etcd-build

go 1.23

require (
	go.etcd.io/etcd/server/v3 $version
	go.etcd.io/etcd/api/v3 $version
	go.etcd.io/etcd/client/pkg/v3 $version
	go.etcd.io/etcd/client/v3 $version
	go.etcd.io/etcd/pkg/v3 $version
)
MOD
printf '//go:build tools\npackage tools\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
go_run etcd go mod tidy
go build -trimpath -ldflags "-s -w" -o "$out.partial/etcd" go.etcd.io/etcd/server/v3
"$out.partial/etcd" --version | head -n1 >&2
rm -rf "$out"; mv "$out.partial" "$out"; rm -rf "$work"

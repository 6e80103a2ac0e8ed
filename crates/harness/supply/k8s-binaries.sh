#!/usr/bin/env bash
# Build kubelet, kubeadm, kubectl, kube-apiserver, kube-controller-manager,
# kube-scheduler and kube-proxy for one Kubernetes version from the
# k8s.io/kubernetes module.
#
# usage: k8s-binaries.sh vX.Y.Z OUT_DIR WORK_DIR
#
# k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every staging
# module (k8s.io/api, k8s.io/client-go, ...) with ./staging/src/..., which only exists
# in a git checkout. So we write a throwaway main module that requires
# k8s.io/kubernetes and points each of those replaces at the published staging
# module of the same minor (v0.Y.Z), then build the seven cmd/ packages from it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
version=$1 out=$2 work=$3
minor=${version#v1.}; minor=${minor%%.*}
staging_version="v0.${version#v1.}"

log() { printf '[k8s-binaries %s] %s\n' "$version" "$*" >&2; }
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}
rm -rf "$work"; mkdir -p "$work"; cd "$work"

log "downloading k8s.io/kubernetes@$version"
go_run "k8s-binaries $version" go mod download "k8s.io/kubernetes@$version"
info=$(go mod download -json "k8s.io/kubernetes@$version")
gomod=$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')

cat >go.mod <<MOD
module sidecar-conformance.local/k8s-build

go 1.23

require k8s.io/kubernetes $version
MOD
# Every "k8s.io/foo => ./staging/src/k8s.io/foo" becomes "k8s.io/foo => k8s.io/foo v0.Y.Z".
grep -E '^[[:space:]]*k8s\.io/[^ ]+ => \./staging/' "$gomod" \
  | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}' >>go.mod
# A replace block ("replace (\n ... \n)") is matched by the same pattern; a single-line
# "replace k8s.io/foo => ./staging/..." form is handled too:
{ grep -E '^replace k8s\.io/[^ ]+ => \./staging/' "$gomod" || true; } \
  | awk -v v="$staging_version" '{print "replace " $2 " => " $2 " " v}' >>go.mod
grep -q '^replace ' go.mod || { log "found no staging replaces in $gomod"; exit 1; }

cmds="kubelet kubeadm kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy"
{
  echo '//go:build tools'
  echo 'package tools'
  echo 'import ('
  for c in $cmds; do echo "  _ \"k8s.io/kubernetes/cmd/$c\""; done
  echo ')'
} >tools.go

log "resolving dependencies (go mod tidy)"
go_run "k8s-binaries $version" go mod tidy

ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

mkdir -p "$out"
for c in $cmds; do
  [ -x "$out/$c" ] && { log "$c already built"; continue; }
  start=$SECONDS
  go build -trimpath -ldflags "$ldflags" -o "$out/$c.partial" "k8s.io/kubernetes/cmd/$c"
  mv "$out/$c.partial" "$out/$c"
  log "built $c in $((SECONDS - start)) s"
done
"$out/kubeadm" version -o short | grep -qx "$version" || { log "kubeadm does not report $version"; exit 1; }

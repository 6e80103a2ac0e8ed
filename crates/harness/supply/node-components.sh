#!/usr/bin/env bash
# The container runtime pieces of a kind node, built from their Go modules at the
# versions kind's base image pins: containerd (+ ctr, shim), runc, crictl and the
# CNI plugins kind ships.
#
# usage: node-components.sh OUT_DIR CONTAINERD RUNC CRICTL CNI_PLUGINS
# (versions with their leading "v")
set -euo pipefail
out=$1 containerd=$2 runc=$3 crictl=$4 cni=$5
source "$(dirname "$0")/lib.sh"
log() { printf '[node-components] %s\n' "$*" >&2; }
build() { # name, then go install arguments
  local name=$1; shift
  local start=$SECONDS
  go_run "node-components: $name" go install "$@"
  log "built $name in $((SECONDS - start)) s"
}
rm -rf "$out.partial"; mkdir -p "$out.partial/bin" "$out.partial/cni"
export GOBIN=$out.partial/bin GOFLAGS=-mod=mod GOTOOLCHAIN=${GOTOOLCHAIN:-local}

CGO_ENABLED=1 build containerd -tags "no_aufs no_zfs no_btrfs no_devmapper" \
  "github.com/containerd/containerd/v2/cmd/containerd@$containerd" \
  "github.com/containerd/containerd/v2/cmd/ctr@$containerd" \
  "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$containerd"
CGO_ENABLED=1 build runc -tags seccomp "github.com/opencontainers/runc@$runc"
CGO_ENABLED=0 build crictl "sigs.k8s.io/cri-tools/cmd/crictl@$crictl"
GOBIN=$out.partial/cni CGO_ENABLED=0 build cni-plugins \
  "github.com/containernetworking/plugins/plugins/main/ptp@$cni" \
  "github.com/containernetworking/plugins/plugins/main/bridge@$cni" \
  "github.com/containernetworking/plugins/plugins/main/loopback@$cni" \
  "github.com/containernetworking/plugins/plugins/ipam/host-local@$cni" \
  "github.com/containernetworking/plugins/plugins/meta/portmap@$cni"
rm -rf "$out"; mv "$out.partial" "$out"

#!/usr/bin/env bash
# A Debian bookworm root file system imported as a Docker image: the base of the kind
# node image and of the Kubernetes component images.
#
# usage: rootfs.sh IMAGE_TAG LABEL WORK_DIR
#
# Bookworm, not trixie as upstream kind uses: trixie's systemd (>= 256) no longer boots
# on cgroup v1 hosts, and these machines are cgroup v1.
set -euo pipefail
tag=$1 label=$2 work=$3
packages=systemd,systemd-sysv,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,e2fsprogs,bash,ca-certificates,curl,jq,procps
rm -rf "$work"; mkdir -p "$work"
echo "[rootfs] debootstrap bookworm into $work/root" >&2
debootstrap --variant=minbase --include="$packages" bookworm "$work/root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
# Package caches and logs are not part of the image.
rm -rf "$work/root/var/cache/apt/archives/"*.deb "$work/root/var/lib/apt/lists/"* "$work/root/var/log/"*
echo "[rootfs] importing as $tag" >&2
tar -C "$work/root" -c . | docker import --change "LABEL $label" - "$tag" >/dev/null
rm -rf "$work"

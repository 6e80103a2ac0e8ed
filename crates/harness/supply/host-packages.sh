#!/usr/bin/env bash
# Debian packages the image builds need on the host: debootstrap for the node's root
# file system, libseccomp-dev and pkg-config for runc, gcc for the pause binary.
#
# usage: host-packages.sh PACKAGE...
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "[host-packages] all present: $*" >&2; exit 0; }
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "[host-packages] missing ${missing[*]}: install them (Debian/Ubuntu package names) and run again" >&2
  exit 3
fi
echo "[host-packages] installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

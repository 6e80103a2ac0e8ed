#!/usr/bin/env bash
# Makes the node image of one cell available before `run`, as the runner user, without
# cargo under sudo:
# - route `published`: nothing to do, `run` pulls kind's image by digest;
# - route `build`: load it from the saved-images cache (IMAGES_DIR) when there, else
#   build it with the harness binary under sudo (debootstrap needs root) and save it
#   there (`docker save`, zstd): a cache the runner user owns, a few hundred MB a
#   version, not Go's caches (~12 GiB).
#
# Usage: ci/github/supply.sh ROUTE VERSION IMAGES_DIR [BIN]
set -euo pipefail
cd "$(dirname "$0")/../.."
route=$1 version=$2 images=$3
bin=${4:-${CARGO_TARGET_DIR:-target}/debug/sidecar-conformance}
say() { printf '[supply.sh] %s\n' "$*" >&2; }
case $route in
  published) say "$version: kind's published image, pulled by run"; exit 0 ;;
  build) ;;
  *) say "unknown route $route"; exit 2 ;;
esac
mkdir -p "$images"
saved="$images/node-v$version.tar.zst"
if [ -f "$saved" ]; then
  say "$version: loading the node image saved by an earlier run"
  zstd -dc "$saved" | docker load
else
  say "$version: building the node image from source (root: sudo for the harness binary only)"
  sudo apt-get install -y -qq debootstrap libseccomp-dev pkg-config jq >/dev/null
  # HOME=/root: Go's caches stay root's, out of the runner's home and out of any cache.
  sudo env "PATH=$PATH" HOME=/root "SIDECAR_CONFORMANCE_CACHE=$images/harness-cache" "$bin" supply -k "$version"
  sudo chown -R "$(id -u):$(id -g)" "$images"
  # Only the image is kept: the harness's step outputs are rebuilt from it next time.
  rm -rf "$images/harness-cache"
fi
# Saved for the next run.
[ -f "$saved" ] || docker save "sidecar-conformance/node:v$version" | zstd -q -T0 -o "$saved"

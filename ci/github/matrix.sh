#!/usr/bin/env bash
# The e2e job's matrix, from the one list of clusters (clusters.txt): each cell as it
# runs on GitHub's hosted runners, which reach Docker Hub: on kind's published node
# image of its version or of its minor, else built from source (see
# `sidecar-conformance clusters matrix`). Prints `include=<json>` for $GITHUB_OUTPUT.
#
# Usage: ci/github/matrix.sh [BIN]   (BIN: the harness binary, default target/debug/...)
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${1:-${CARGO_TARGET_DIR:-target}/debug/sidecar-conformance}
[ -x "$bin" ] || { echo "matrix.sh: $bin is missing: cargo build -p sidecar-conformance" >&2; exit 2; }
echo "include=$("$bin" clusters matrix --clusters-file clusters.txt)"

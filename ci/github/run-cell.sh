#!/usr/bin/env bash
# Runs the page's behaviours on one cluster, as the runner user (no sudo), into RUN_DIR.
# Its exit status is the harness's: 0 all passed, 1 a failure, 2 an error.
#
# Usage: ci/github/run-cell.sh CLUSTER RUN_DIR [BIN]    e.g. 1.37.0:default runs/1.37.2-default
set -euo pipefail
cd "$(dirname "$0")/../.."
cluster=$1 run_dir=$2
bin=${3:-${CARGO_TARGET_DIR:-target}/debug/sidecar-conformance}
exec "$bin" run --cluster "$cluster" --run-dir "$run_dir"

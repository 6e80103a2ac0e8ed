#!/usr/bin/env bash
# On a pull request: compares the cell's report with the base branch's last one and
# fails on a regression (a result that passed there and does not here, or is missing:
# `report diff` exits 1). Where the base has no report for the cell yet, says so and
# passes.
#
# Usage: ci/github/diff-base.sh CELL REPORT [BIN]
#   BASE_REPORT=path   compare with this file instead of downloading (local use, tests)
#   otherwise: gh run download of artifact `run-<cell>` from the newest successful run
#   of this workflow on $BASE_REF (needs GH_TOKEN, actions: read).
set -euo pipefail
cd "$(dirname "$0")/../.."
cell=$1 report=$2
bin=${3:-${CARGO_TARGET_DIR:-target}/debug/sidecar-conformance}
base=${BASE_REPORT:-}
if [ -z "$base" ]; then
  : "${BASE_REF:?BASE_REF (the base branch) is not set}"
  name="run-${cell//:/-}"
  id=$(gh run list --branch "$BASE_REF" --workflow conformance.yml --status success \
         --limit 1 --json databaseId --jq '.[0].databaseId // empty')
  dir=$(mktemp -d)
  if [ -z "$id" ] || ! gh run download "$id" --name "$name" --dir "$dir" >/dev/null 2>&1; then
    echo "diff-base.sh: no report of $cell on $BASE_REF yet: nothing to compare" >&2
    exit 0
  fi
  base="$dir/report.json"
fi
[ -f "$base" ] || { echo "diff-base.sh: $base is missing" >&2; exit 2; }
[ -f "$report" ] || { echo "diff-base.sh: $report is missing: the run left no report" >&2; exit 2; }
"$bin" report diff "$base" "$report" --format markdown

#!/usr/bin/env bash
# Copies what a run may publish into OUT: the reports, the journal, the observations and
# the logs. Never a kubeconfig or a key: clusters/ (kubeconfigs, kind configs) is not
# copied, and OUT is then searched for credentials; any found fails the step, naming
# the file, and nothing is uploaded.
#
# Usage: ci/github/collect.sh RUN_DIR OUT
set -euo pipefail
run=$1 out=$2
mkdir -p "$out"
for f in report.json report.md report.xml report.html results.jsonl run.log; do
  [ -f "$run/$f" ] && cp "$run/$f" "$out/"
done
for d in observations logs; do
  # -L: a symlink is copied as what it points to, which the search below then sees.
  [ -d "$run/$d" ] && cp -rL "$run/$d" "$out/"
done
bad=$( { find "$out" -type f -iname '*kubeconfig*'
         grep -rlE 'client-key-data|client-certificate-data|BEGIN [A-Z ]*PRIVATE KEY' "$out" || true; } | sort -u)
if [ -n "$bad" ]; then
  echo "collect.sh: refusing to publish credentials:" >&2
  echo "$bad" >&2
  rm -rf "$out"
  exit 1
fi
echo "collect.sh: $(find "$out" -type f | wc -l) files in $out" >&2

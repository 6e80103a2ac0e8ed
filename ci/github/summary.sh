#!/usr/bin/env bash
# The cell's report.md for the job summary ($GITHUB_STEP_SUMMARY), or a line saying
# that the run left none.
#
# Usage: ci/github/summary.sh DIR CELL
set -euo pipefail
dir=$1 cell=$2
echo "## $cell"
if [ -f "$dir/report.md" ]; then cat "$dir/report.md"; else echo "The run left no report (see its log)."; fi

#!/usr/bin/env bash
# Writes DIR/README.md for a results folder made by `amc run SPEC --out DIR` and `amc report DIR`:
# the command, commit, machine and date, then the report's tables verbatim (generated from the
# Parquet files, so prose and tables cannot drift) and the run's raw log.
#   bash scripts/results_readme.sh DIR "COMMAND" RUN_LOG [TITLE [READING.md]]
# READING.md, if given, is a hand-written reading of the tables, inserted before them.
set -euo pipefail
dir=$1; cmd=$2; log=$3; title=${4:-$(basename "$dir")}; reading=${5:-}
cd "$(dirname "$0")/.."
{
  echo "# $title"
  echo
  echo "- command: \`$cmd\`, then \`bin/amc report $dir\`"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet -- . ":(exclude)$dir/README.md" || echo ' (with uncommitted changes)')"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(./bin/amc info | sed -n 's/^blas: *//p') BLAS"
  echo "- date: $(date -u +%Y-%m-%d)"
  echo "- files: runs.parquet, episodes.parquet (every episode), <spec>/<run>/summary.json, report.md and its plots"
  echo
  if [ -n "$reading" ]; then cat "$reading"; echo; fi
  echo "The tables below are report.md's, copied by this script."
  echo
  sed -n '/^## /,$p' "$dir/report.md" | sed 's/^## /### /'
  echo
  echo "## Raw log (progress lines elided)"
  echo
  echo '```'
  grep -v '^search .*ETA' "$log" || true
  echo '```'
} > "$dir/README.md"
echo "wrote $dir/README.md"

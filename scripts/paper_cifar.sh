#!/usr/bin/env bash
# Writes results/paper-cifar/README.md: the paper's CIFAR-10 comparison (50% MACs) from results/agents'
# runs and the clean ResNet-56's and MobileNet-V1's (runs.parquet, as amc report wrote them) and their fine-tunes (RUN/finetuned/, from
# scripts/finetune_best.sh), with the command, commit, machine and date, a hand-written reading
# (results/paper-cifar/reading.md), the generated tables and targets, and every fine-tune's epochs.
#   bash scripts/paper_cifar.sh
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
out=results/paper-cifar
runs="results/agents/runs.parquet results/agents-resnet56-clean/runs.parquet results/agents-mobilenet_v1-clean/runs.parquet"
mkdir -p "$out"
{
  echo "# The paper's CIFAR-10 comparison at 50% MACs, on the lossless CIFAR-10"
  echo
  echo "- command: \`go run ./scripts/paper_cifar -amc ddpg-official,ddpg $runs\` (tables and targets); the runs are"
  echo "  \`results/agents\`'s (\`make reproduce REPRO_SETS=agents\`), \`results/agents-resnet56-clean\`'s and \`results/agents-mobilenet_v1-clean\`'s (their specs in \`experiments/\`); the fine-tunes: \`bash scripts/finetune_best.sh"
  echo "  results/agents/agents-resnet20 EXPORT OUT 30 ddpg-official uniform\` (likewise \`results/agents/agents-plain20 ... ddpg uniform\`,"
  echo "  and for the clean ResNet-56 and MobileNet-V1 \`DIR/agents-resnet56-clean ... ddpg uniform\` on the runs' folders, for MobileNet-V1 also \`deep\`) with EXPORT from \`amc data export\`"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet -- . ":(exclude)$out/README.md" || echo ' (with uncommitted changes)')"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "- date: $(date -u +%Y-%m-%d)"
  echo
  if [ -f "$out/reading.md" ]; then cat "$out/reading.md"; echo; fi
  echo "## Tables (generated from $runs)"
  echo
  go run ./scripts/paper_cifar -amc ddpg-official,ddpg $runs
  echo
  echo "## Fine-tunes: every epoch (the bridge's metrics.jsonl; held-out = all 5,000 held-out images)"
  for s in results/agents/*/*/finetuned/summary.json results/agents-*-clean/*/*/finetuned/summary.json; do
    d=$(dirname "$s")
    echo
    echo "### ${d#results/}"
    echo
    echo '```'
    sed -n 's/.*"command": "\(.*\)",$/command: \1/p' "$s"
    cat "$d/metrics.jsonl"
    echo "amc eval, test: $(cat "$d/eval-test.json")"
    echo "amc eval, held-out: $(cat "$d/eval-heldout.json")"
    echo '```'
  done
} > "$out/README.md"
echo "wrote $out/README.md"

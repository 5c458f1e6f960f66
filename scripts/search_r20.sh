#!/usr/bin/env bash
# One seed of every strategy on the clean ResNet-20 (trained without the
# held-out split, so held-out accuracy means generalisation) at 50% MACs.
#   bash scripts/search_r20.sh [EPISODES] [SEED]   (after make build)
set -euo pipefail
cd "$(dirname "$0")/.."
E=${1:-300}; S=${2:-1}
export AMC_DATA=${AMC_DATA:-../shared/data}
out=results/jpeg-copy/search-r20
mkdir -p $out
W=../shared/weights/cifar10-jpeg-scratch/resnet20.safetensors
for st in uniform deep shallow random ddpg; do
  ./bin/amc search --data cifar10-jpeg --model resnet20 --weights $W --budget macs=0.5 --strategy $st --episodes $E --seed $S \
    --out $out/$st-s$S --json > $out/$st-s$S.json 2> $out/$st-s$S.log
done
{
  echo "# Search on ResNet-20 (clean, never saw the held-out split) at 50% MACs, before fine-tuning"
  echo
  echo "- command: \`bash scripts/search_r20.sh $E $S\` (one \`amc search\` per strategy)"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(./bin/amc info | sed -n 's/^blas: *//p') BLAS"
  echo "- date: $(date -u +%Y-%m-%d)"
  echo "- reward: top-1 on a fixed 2,000-image subset of the canonical held-out split; reconstruction on 3,000 x 10 calibration samples; lower bound 0.2; seed $S (one seed: no spread yet)"
  echo "- unpruned: held-out 87.24, test 86.64 (results/jpeg-copy/foundation/accuracy.md)"
  echo
  echo "| strategy | episodes | best episode | MACs ratio | params ratio | reward-set top-1 | held-out top-1 unseen by the search | test top-1 | s/episode |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for st in uniform deep shallow random ddpg; do
    jq -r '"| \(.strategy) | \(.episodes) | \(.best_episode) | \(.macs_ratio*1000|round/1000) | \(.params_ratio*1000|round/1000) | \(.reward_top1) | \(.unseen_heldout_top1 // .heldout_top1) | \(.test_top1) | \(.seconds_per_episode*100|round/100) |"' $out/$st-s$S/summary.json
  done
  echo
  echo "Best policies (preserve ratio per group, in order):"
  echo
  for st in uniform deep shallow random ddpg; do
    echo "- $st: $(jq -r '[.best_policy | to_entries[] | "\(.key)=\(.value*100|round/100)"] | join(", ")' $out/$st-s$S/summary.json)"
  done
} > $out/README.md
cat $out/README.md

#!/usr/bin/env bash
# One seed of every strategy on the clean ResNet-20 (trained without the
# held-out split, so held-out accuracy means generalisation) at 50% MACs.
#   bash scripts/search_r20.sh [EPISODES] [SEED]   (after make build)
set -euo pipefail
cd "$(dirname "$0")/.."
E=${1:-300}; S=${2:-1}
export AMC_DATA=${AMC_DATA:-../shared/data}
out=results/search-r20
mkdir -p $out
W=../shared/weights/cifar10-jpeg-scratch/resnet20.safetensors
for st in uniform deep shallow random ddpg; do
  ./bin/amc search --model resnet20 --weights $W --budget macs=0.5 --strategy $st --episodes $E --seed $S \
    --out $out/$st-s$S --json > $out/$st-s$S.json 2> $out/$st-s$S.log
done

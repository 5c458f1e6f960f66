#!/usr/bin/env bash
# One seed of DDPG and the hand-crafted baselines on the adapted ResNet-56 at
# 50% MACs (random search not included: 2 cores, one session).
#   bash scripts/search_r56.sh [EPISODES] [SEED]   (after make build)
set -euo pipefail
cd "$(dirname "$0")/.."
E=${1:-300}; S=${2:-1}
export AMC_DATA=${AMC_DATA:-../shared/data}
out=results/jpeg-copy/search-r56
mkdir -p $out
W=../shared/weights/cifar10-jpeg-adapted/resnet56.safetensors
for st in uniform shallow deep ddpg; do
  [ -f $out/$st-s$S/summary.json ] && continue
  ./bin/amc search --data cifar10-jpeg --model resnet56 --weights $W --budget macs=0.5 --strategy $st --episodes $E --seed $S \
    --out $out/$st-s$S --json > $out/$st-s$S.json 2> $out/$st-s$S.log
done
./bin/amc report $out

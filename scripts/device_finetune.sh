#!/usr/bin/env bash
# Fine-tune several pruned models at once on a many-core machine, with one
# recipe, from a statically linked amc and the data under carry/ (git-ignored):
#   carry/amc.xz                          CGO_LDFLAGS=-L/usr/lib/x86_64-linux-gnu/openblas-pthread go build -tags openblas,netgo,osusergo
#                                         -ldflags '-s -w -linkmode external -extldflags "-static"' ./cmd/amc, xz-compressed
#   carry/data/cifar10-jpeg/cifar10-jpeg.tar.gz   the data archive
# Each pruned folder DIR (a search's best/) gets THREADS cores and writes
# $OUT/<name>/ (model, train-state.gob per epoch, metrics.jsonl, summary.json);
# a run cut short keeps its finished epochs and resumes with the same command.
#   OUT=... THREADS=3 EPOCHS=4 TRAIN_IMAGES=15000 bash scripts/device_finetune.sh name=DIR...
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/finetune-out}
THREADS=${THREADS:-3}
EPOCHS=${EPOCHS:-4}
TRAIN_IMAGES=${TRAIN_IMAGES:-15000}
LR=${LR:-0.01}
EVAL=${EVAL:-0}
work=${WORK:-/tmp/amcdev}
mkdir -p "$OUT" "$work"
[ -x "$work/amc" ] || { xz -dc carry/amc.xz > "$work/amc" && chmod +x "$work/amc"; }
export AMC_DATA=$PWD/carry/data
{ nproc; grep -m1 'model name' /proc/cpuinfo; free -g | head -2; date -u; } > "$OUT/machine.txt"
for arg in "$@"; do
  name=${arg%%=*} dir=${arg#*=}
  GOMAXPROCS=$THREADS AMC_CACHE=$work/cache-$name "$work/amc" finetune --pruned "$dir" --data cifar10-jpeg \
    --epochs "$EPOCHS" --train-images "$TRAIN_IMAGES" --lr "$LR" --eval-images "$EVAL" --out "$OUT/$name" \
    > "$OUT/$name.log" 2>&1 &
done
wait
date -u >> "$OUT/machine.txt"

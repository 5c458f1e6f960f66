#!/usr/bin/env bash
# A short search sweep on a many-core machine, from a statically linked amc
# and the data under carry/ (git-ignored):
#   carry/amc.gz                 CGO_ENABLED=1 go build -tags openblas -ldflags '-s -w -extldflags "-static"' ./cmd/amc, gzipped
#   carry/cifar10-jpeg.tar.gz    the data archive
#   carry/w/r20.safetensors      ../shared/weights/cifar10-jpeg-scratch/resnet20.safetensors
#   carry/w/r56.safetensors      ../shared/weights/cifar10-jpeg-adapted/resnet56.safetensors
# Writes one folder per run under $OUT (default ./sweep-out).
#   bash scripts/device_sweep.sh [EPISODES_R20] [EPISODES_R56]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/sweep-out}
E20=${1:-300}
E56=${2:-120}
mkdir -p "$OUT" /tmp/amcdev/data/cifar10-jpeg
gunzip -c carry/amc.gz > /tmp/amcdev/amc && chmod +x /tmp/amcdev/amc
cp carry/cifar10-jpeg.tar.gz /tmp/amcdev/data/cifar10-jpeg/
export AMC_DATA=/tmp/amcdev/data AMC_CACHE=/tmp/amcdev/cache
amc=/tmp/amcdev/amc
{ nproc; grep -m1 'model name' /proc/cpuinfo; $amc info; date -u; } > "$OUT/machine.txt"
# Decode the data once for all runs.
$amc eval --data cifar10-jpeg --model resnet20 --weights carry/w/r20.safetensors --split heldout --limit 100 --json > "$OUT/warmup.json" 2>&1
run() { # name threads args...
  local name=$1 threads=$2; shift 2
  GOMAXPROCS=$threads $amc search --data cifar10-jpeg --reward-images 1000 --out "$OUT/$name" --json "$@" > "$OUT/$name.log" 2>&1 &
}
R20=(--model resnet20 --weights carry/w/r20.safetensors --budget macs=0.5)
R56=(--model resnet56 --weights carry/w/r56.safetensors --budget macs=0.5)
for s in 1 2 3; do
  run r20-ddpg-s$s 1 "${R20[@]}" --strategy ddpg --episodes "$E20" --warmup $((E20 / 3)) --seed $s
  run r20-random-s$s 1 "${R20[@]}" --strategy random --episodes "$E20" --seed $s
done
for s in uniform deep shallow; do run r20-$s 1 "${R20[@]}" --strategy $s; done
run r56-ddpg-s1 2 "${R56[@]}" --strategy ddpg --episodes "$E56" --warmup $((E56 / 3)) --seed 1
run r56-random-s1 2 "${R56[@]}" --strategy random --episodes "$E56" --seed 1
for s in uniform deep shallow; do run r56-$s 1 "${R56[@]}" --strategy $s; done
wait
date -u >> "$OUT/machine.txt"
# Runs cut short leave episodes.parquet.partial; keep what exists.
ls -la "$OUT"/*/ > "$OUT/files.txt" 2>&1

#!/usr/bin/env bash
# Run some cells of a spec's sweep (amc run --shard K/N) in parallel on a
# many-core machine, under the same paths as this checkout (/work/main beside
# /work/shared), so that run fingerprints match and the outputs can be merged
# with (or resumed by) runs made here. Needs, under carry/ (git-ignored):
#   carry/amc.xz                                 static amc (see scripts/device_finetune.sh)
#   carry/data/cifar10-jpeg/cifar10-jpeg.tar.gz  the data archive
#   carry/shared/weights/...                     the spec's weights, at their path under ../shared
# Writes $OUT/cells.tgz (the output folder) and one log per shard; each shard
# stops after LIMIT seconds and keeps its checkpoint, so a cut-short run
# resumes with amc run on the merged folder.
#   OUT=... LIMIT=230 THREADS=5 bash scripts/device_shards.sh SPEC N K...
set -uo pipefail
spec=$1 n=$2
shift 2
OUT=${OUT:-$PWD/shards-out}
LIMIT=${LIMIT:-230}
THREADS=${THREADS:-5}
ROOT=${ROOT:-/work} # where this checkout lives here: ROOT/main beside ROOT/shared
mkdir -p "$OUT" "$ROOT/shared/data" /tmp/amcdev
cp -r carry/shared/. "$ROOT/shared/"
ln -sfn "$PWD/carry/data/cifar10-jpeg" "$ROOT/shared/data/cifar10-jpeg"
[ -x /tmp/amcdev/amc ] || { xz -dc carry/amc.xz > /tmp/amcdev/amc && chmod +x /tmp/amcdev/amc; }
if [ "$PWD" != "$ROOT/main" ]; then
  mkdir -p "$ROOT/main" && cp -r experiments "$ROOT/main/"
fi
{ nproc; grep -m1 'model name' /proc/cpuinfo; date -u; } > "$OUT/machine.txt"
cd "$ROOT/main"
export AMC_DATA=$ROOT/shared/data OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
export AMC_CACHE=/tmp/amcdev/cache
# Decode the data once (all cores) for every shard.
/tmp/amcdev/amc eval --data cifar10-jpeg --model resnet20 --weights "$ROOT/shared/weights/cifar10-jpeg-adapted/resnet20.safetensors" --split heldout --limit 100 > "$OUT/warmup.log" 2>&1
for k in "$@"; do
  GOMAXPROCS=$THREADS timeout -s INT "$LIMIT" /tmp/amcdev/amc run "$spec" --shard "$k/$n" \
    --out /tmp/amcdev/cells > "$OUT/shard-$k.log" 2>&1 &
done
wait
date -u >> "$OUT/machine.txt"
tar czf "$OUT/cells.tgz" -C /tmp/amcdev cells

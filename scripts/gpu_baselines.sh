#!/usr/bin/env bash
# Trains the CIFAR baselines that ../shared/weights/cifar10-clean lacks, all at once on one GPU, through
# the PyTorch bridge (python/amc_bridge; docs/bridge.md) with amc's recipe: one process per network on
# the same GPU, the training split as one uint8 tensor in GPU memory, crops and flips on the GPU, bf16
# autocast, a checkpoint per epoch (a rerun of `train` resumes). The data (170 MB) travels to a device
# machine in parts of at most PART_MB, each carried by one call and stashed in $WORK there:
#
#   here:  bin/amc data export --out carry/gpu-data && bash scripts/gpu_baselines.sh pack
#   there: bash scripts/gpu_baselines.sh stash carry/gpu-part-K      (one call per part, carry: [carry/gpu-part-K])
#   there: OUT=$OUT bash scripts/gpu_baselines.sh train               (checks every checksum first; packs $OUT)
#   here:  bash scripts/gpu_baselines.sh unpack FILES_AT checkpoints/gpu
#
# NETS, EPOCHS, BATCH, LR, DEVICE, BF16 (1/0), TRAIN_IMAGES (0: all 45,000) and EVAL_IMAGES choose the run;
# try it here first with DEVICE=cpu EPOCHS=1 TRAIN_IMAGES=256 EVAL_IMAGES=200 NETS="resnet20@0.25".
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/tmp/amc-gpu}
PART_MB=${PART_MB:-45}
NETS=${NETS:-resnet56 vgg16 mobilenet_v1 mobilenet_v2 mobilenet_v2@0.75 mobilenet_v2@0.5}
EPOCHS=${EPOCHS:-30}
BATCH=${BATCH:-128}
LR=${LR:-0.1}
DEVICE=${DEVICE:-cuda}
BF16=${BF16:-1}
TRAIN_IMAGES=${TRAIN_IMAGES:-0}
EVAL_IMAGES=${EVAL_IMAGES:-0}
PY=${PY:-python3}
export MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=17179869184

case "${1:-}" in
pack) # split carry/gpu-data (an amc data export) into carry/gpu-part-K folders of at most PART_MB
  src=carry/gpu-data
  [ -f $src/export.json ] || { echo "no $src/export.json: run bin/amc data export --out $src" >&2; exit 1; }
  rm -rf carry/gpu-part-*
  tmp=$(mktemp -d)
  tar -C $src -cf - . | split -b ${PART_MB}M -d -a 2 - $tmp/chunk-
  k=0
  for c in $tmp/chunk-*; do
    mkdir -p carry/gpu-part-$k && mv $c carry/gpu-part-$k/ && k=$((k + 1))
  done
  rmdir $tmp
  for d in carry/gpu-part-*; do (cd $d && sha256sum chunk-*); done > carry/gpu-parts.sha256
  cp carry/gpu-parts.sha256 carry/gpu-part-0/
  echo "$k parts under carry/gpu-part-*; carry each with one call of: bash scripts/gpu_baselines.sh stash carry/gpu-part-K"
  ;;
stash) # copy one carried part into $WORK (there)
  part=${2:?usage: stash carry/gpu-part-K}
  mkdir -p $WORK/parts && cp $part/* $WORK/parts/
  ls -la $WORK/parts
  ;;
train) # reassemble the export, check it, train NETS in parallel, pack $OUT (there)
  OUT=${OUT:?set OUT to the output folder there}
  if [ ! -f $WORK/data/export.json ]; then
    (cd $WORK/parts && sha256sum -c gpu-parts.sha256)
    mkdir -p $WORK/data && cat $WORK/parts/chunk-* | tar -C $WORK/data -xf -
  fi
  runs=$WORK/runs
  mkdir -p $runs
  { nproc; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU"; \
    $PY -c 'import torch; print("torch", torch.__version__)'; date -u; } > $runs/machine.txt
  pids=()
  for net in $NETS; do
    name=${net//@/-w}
    flags=()
    [ "$BF16" = 1 ] && flags+=(--bf16)
    PYTHONPATH=$PWD/python $PY -m amc_bridge train --model $net --data $WORK/data --epochs $EPOCHS --batch $BATCH --lr $LR \
      --train-images $TRAIN_IMAGES --eval-images $EVAL_IMAGES --device $DEVICE --threads 2 "${flags[@]}" --out $runs/$name \
      > $runs/$name.log 2>&1 &
    pids+=($!)
  done
  fail=0
  for p in "${pids[@]}"; do wait $p || fail=1; done
  date -u >> $runs/machine.txt
  # Pack weights, summaries, metrics and logs (not the resume state) into <= 8 files of < 16 MiB;
  # a network that failed leaves its log (and any finished epochs) in the pack.
  shopt -s nullglob
  files=(machine.txt)
  for f in $runs/*.log $runs/*/summary.json $runs/*/metrics.jsonl $runs/*/model.safetensors; do files+=("${f#$runs/}"); done
  (cd $runs && tar -cf - "${files[@]}") | split -b 15M -d -a 1 - $OUT/baselines.tar.part-
  parts=($OUT/baselines.tar.part-*)
  [ ${#parts[@]} -le 8 ] || { echo "packed into ${#parts[@]} parts: more than the 8 files a call brings back; train fewer NETS per call" >&2; fail=1; }
  ls -la $OUT
  exit $fail
  ;;
unpack) # reassemble what came back (here)
  from=${2:?usage: unpack FILES_AT DEST}
  dest=${3:?usage: unpack FILES_AT DEST}
  mkdir -p $dest && cat $from/baselines.tar.part-* | tar -C $dest -xf -
  ls -la $dest
  ;;
*)
  sed -n 2,16p "$0"
  exit 2
  ;;
esac

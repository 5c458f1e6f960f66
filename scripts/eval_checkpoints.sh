#!/usr/bin/env bash
# Evaluates every committed and shared CIFAR-10 checkpoint (unpruned and the
# fine-tuned pruned networks whose weights are committed) on the 10,000 test
# images with the amc binary
# given (default bin/amc), one line per network: path and top-1. Comparing the
# output of two builds checks that an engine change keeps every figure. Run
# from anywhere; a relative AMC_BINARY is taken from the repository root.
#   bash scripts/eval_checkpoints.sh [AMC_BINARY] > out.txt
set -euo pipefail
cd "$(dirname "$0")/.."
amc=${1:-bin/amc}
W=${WEIGHTS:-../shared/weights}
# top1 prints a network's test top-1, or stops the script with amc's error.
top1() {
  local out
  out=$("$amc" eval "$@" --json 2>&1) || { echo "eval_checkpoints: amc eval $*: $out" >&2; exit 1; }
  out=$(tail -1 <<<"$out" | jq -r '.top1')
  [ -n "$out" ] && [ "$out" != null ] || { echo "eval_checkpoints: amc eval $*: no top-1" >&2; exit 1; }
  echo "$out"
}
for m in resnet20:$W/akamaster-cifar10/resnet20-12fca82f.th resnet56:$W/akamaster-cifar10/resnet56-4bfd9763.th \
  resnet20:$W/cifar10-clean/resnet20.safetensors plain20:$W/cifar10-clean/plain20.safetensors \
  resnet20:checkpoints/cifar10/resnet20.safetensors; do
  t=$(top1 --model "${m%%:*}" --weights "${m#*:}")
  echo "${m#*:} $t"
done
# Baselines trained here: each NAME.safetensors has NAME-train/eval-test.json naming its zoo model
# (scripts/record_checkpoint.sh writes it).
for rec in checkpoints/cifar10/*-train/eval-test.json; do
  [ -e "$rec" ] || continue
  w=$(jq -r '.weights' "$rec")
  t=$(top1 --model "$(jq -r '.model' "$rec")" --weights "$w")
  echo "$w $t"
done
t=$(top1 --model plain20 --weights results/jpeg-copy/train-plain20/model.safetensors --data cifar10-jpeg)
echo "results/jpeg-copy/train-plain20/model.safetensors (cifar10-jpeg) $t"
# Pruned, fine-tuned networks whose weights are committed (on the JPEG copy
# for results/jpeg-copy).
for d in $(git ls-files 'results/*/finetuned/model.safetensors' | xargs -r -n1 dirname); do
  data=cifar10
  case $d in results/jpeg-copy/*) data=cifar10-jpeg ;; esac
  t=$(top1 --pruned "$d" --data $data)
  echo "$d ($data) $t"
done

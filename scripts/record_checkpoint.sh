#!/usr/bin/env bash
# Records a baseline trained by `amc train` (or the bridge's train) as a committed checkpoint:
# copies TRAIN_DIR/model.safetensors to checkpoints/cifar10/NAME.safetensors, keeps the per-epoch
# metrics, summary and log (progress lines dropped) in checkpoints/cifar10/NAME-train/, and evaluates
# the copy with amc's Go engine on the whole test and held-out splits into NAME-train/eval-*.json,
# the records TestCheckpointFiguresReproduce re-runs. Prints the lines checkpoints/README.md needs.
#   bash scripts/record_checkpoint.sh MODEL TRAIN_DIR [LOG...]
# MODEL: a zoo name, NAME or NAME@WIDTH (NAME@0.5 is stored as NAME-w0.5); LOG: extra files holding
# the run's console output (a resumed run's later parts), appended in order after TRAIN_DIR/train.log;
# AMC_BINARY: the amc to evaluate with (default bin/amc; relative to the repository root).
# The printed lines go under the network's "## " section with the training command, where
# TestCheckpointFiguresReproduce looks for them (the section naming the file's sha256).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bash scripts/record_checkpoint.sh MODEL TRAIN_DIR [LOG...]" >&2; exit 2; }
model=$1 train=$(realpath "$2"); shift 2
logs=(); [ -f "$train/train.log" ] && logs+=("$train/train.log")
for l in "$@"; do
  [ -f "$l" ] || { echo "record_checkpoint: no log $l" >&2; exit 1; }
  logs+=("$(realpath "$l")")
done
[ ${#logs[@]} -gt 0 ] || { echo "record_checkpoint: no TRAIN_DIR/train.log: pass the run's console output as LOG" >&2; exit 1; }
cd "$(dirname "$0")/.."
amc=${AMC_BINARY:-bin/amc}
name=${model/@/-w}
dest=${DEST:-checkpoints/cifar10}  # DEST: for a try elsewhere
[ -f "$train/model.safetensors" ] || { echo "record_checkpoint: no $train/model.safetensors" >&2; exit 1; }
[ -f "$train/summary.json" ] || { echo "record_checkpoint: no $train/summary.json: is the training finished?" >&2; exit 1; }
[ -f "$train/metrics.jsonl" ] || { echo "record_checkpoint: no $train/metrics.jsonl" >&2; exit 1; }
mkdir -p "$dest/$name-train"
cp "$train/model.safetensors" "$dest/$name.safetensors"
for f in metrics.jsonl summary.json before.json; do
  [ -f "$train/$f" ] && cp "$train/$f" "$dest/$name-train/$f"
done
# The console output without its progress lines ("epoch 4/30: 36/351 (2.05 batch/s, ...)").
cat -- "${logs[@]}" | grep -Ev '^(epoch [0-9]+/[0-9]+: [0-9]+/[0-9]+ \(|  step [0-9]+/)' > "$dest/$name-train/train.log" || true
for split in test heldout; do
  out=$("$amc" eval --model "$model" --weights "$dest/$name.safetensors" --split "$split" --json) \
    || { echo "record_checkpoint: amc eval --split $split failed" >&2; exit 1; }
  tail -1 <<<"$out" > "$dest/$name-train/eval-$split.json"
done
sum=$(sha256sum "$dest/$name.safetensors" | cut -d' ' -f1)
test=$(jq -r '.top1' "$dest/$name-train/eval-test.json")
held=$(jq -r '.top1' "$dest/$name-train/eval-heldout.json")
epochs=$(wc -l < "$dest/$name-train/metrics.jsonl")
mins=$(jq -s 'map(.seconds) | add / 60 | floor' "$dest/$name-train/metrics.jsonl")
rate=$(jq -s 'map(.images_per_second) | sort | "\(.[0] | floor)-\(.[-1] | floor)"' -r "$dest/$name-train/metrics.jsonl")
cat <<EOF
- file: \`cifar10/$name.safetensors\`, float32, sha256 \`$sum\`
- \`amc eval\` (Go engine): **test top-1 $(printf %.2f "$test")** (10,000 images), held-out $(printf %.2f "$held") (5,000);
  the network saw only the 45,000-image training split
- $epochs epochs, $mins minutes of training by its per-epoch log ($rate training images/s per epoch); per-epoch
  log, summary and both evaluations' JSON in [\`cifar10/$name-train/\`](cifar10/$name-train/)
EOF

#!/usr/bin/env bash
# Pruning engine results: accuracy before fine-tuning with and without
# least-squares reconstruction, and measured speedups against the MACs ratio,
# in the Go engine and in PyTorch with the same shapes.
# Writes results/jpeg-copy/pruning/README.md.   bash scripts/pruning.sh  (after make build)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${WEIGHTS:-../shared/weights}
export AMC_DATA=${AMC_DATA:-../shared/data}
amc=./bin/amc
work=$(mktemp -d)
out=results/jpeg-copy/pruning/README.md
mkdir -p results/jpeg-copy/pruning
py=/usr/bin/python3
torchbench() { $amc graph "$@" | MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=17179869184 $py scripts/bench_torch.py --batch "$B" --threads "$(nproc)" --seconds 3 | jq -r .images_per_sec; }
{
  echo "# Pruning engine: channel pruning at 50% MACs, before fine-tuning"
  echo
  echo "- command: \`bash scripts/pruning.sh\`"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $($amc info | sed -n 's/^blas: *//p') BLAS"
  echo "- date: $(date -u +%Y-%m-%d)"
  echo "- policy: \`uniform-macs:0.5\` (the largest uniform preserve ratio whose MACs are at most 50% of the original), default groups (block-internal channels for ResNets, like the paper), L1 selection of the channels the next layer reads"
  echo "- reconstruction: least squares on 3,000 training-split images x 10 random positions per layer (ridge 1e-6), bias folded into the next batch norm"
  echo
  echo "## Accuracy (CIFAR-10, JPEG copy; held-out = the canonical 5,000, test = 10,000)"
  echo
  echo "| model | weights | MACs ratio | params ratio | uniform ratio | held-out top-1 | test top-1 | calibration s | re-fit s |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
} > "$work/md"
for row in "resnet56|$W/cifar10-jpeg-adapted/resnet56.safetensors" "resnet20|$W/cifar10-jpeg-scratch/resnet20.safetensors"; do
  IFS='|' read -r model w <<<"$row"
  rel=${w#$W/}
  h=$($amc eval --model "$model" --weights "$w" --data cifar10-jpeg --split heldout --json 2>/dev/null | jq -r .top1)
  t=$($amc eval --model "$model" --weights "$w" --data cifar10-jpeg --split test --json 2>/dev/null | jq -r .top1)
  echo "| $model | $rel (unpruned) | 1 | 1 | 1 | $h | $t | - | - |" >> "$work/md"
  for mode in selection reconstruction; do
    extra=(--data cifar10-jpeg); [ $mode = selection ] && extra=()
    p=$($amc prune --model "$model" --weights "$w" --policy uniform-macs:0.5 "${extra[@]}" --out "$work/$model-$mode" --json | tail -1)
    h=$($amc eval --pruned "$work/$model-$mode" --data cifar10-jpeg --split heldout --json 2>/dev/null | jq -r .top1)
    t=$($amc eval --pruned "$work/$model-$mode" --data cifar10-jpeg --split test --json 2>/dev/null | jq -r .top1)
    jq -r --arg m "$model" --arg w "$rel ($mode)" --arg h "$h" --arg t "$t" \
      '"| \($m) | \($w) | \(.macs_ratio*1000|round/1000) | \(.params_ratio*1000|round/1000) | \(.uniform_ratio*1000|round/1000) | \($h) | \($t) | \(if .reconstructed then (.calibration_seconds*10|round/10|tostring) else "-" end) | \(if .reconstructed then (.reconstruction_seconds*1000|round/1000|tostring) else "-" end) |"' <<<"$p" >> "$work/md"
  done
done
$amc prune --model mobilenet_v2 --policy uniform-macs:0.5 --out "$work/mv2" --json > /dev/null
{
  echo
  echo "## Measured speedup at 50% MACs (random weights for MobileNet-V2: no CIFAR weights exist yet)"
  echo
  echo "Go: \`amc measure\` (batch 1: median of 100 runs after 3 warm-ups) and \`amc bench\` (batch 100). PyTorch: the same pruned shapes (\`amc graph --pruned\`) in \`scripts/bench_torch.py\`, $(nproc) threads."
  echo
  echo "| model | MACs ratio | Go ms/img b1 (orig -> pruned) | Go speedup b1 | Go speedup b100 | PyTorch speedup b1 | PyTorch speedup b100 |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} >> "$work/md"
for row in "resnet56|$work/resnet56-reconstruction" "mobilenet_v2|$work/mv2"; do
  IFS='|' read -r model dir <<<"$row"
  r=$(jq -r '.macs/.base_macs' "$dir/prune.json")
  l0=$($amc measure --model "$model" --repeats 100 --json | jq -r .latency_ms)
  l1=$($amc measure --pruned "$dir" --repeats 100 --json | jq -r .latency_ms)
  g0=$($amc bench --model "$model" --batch 100 --seconds 3 --json | jq -r .images_per_sec)
  g1=$($amc bench --pruned "$dir" --batch 100 --seconds 3 --json | jq -r .images_per_sec)
  B=1; p0=$(torchbench --model "$model"); p1=$(torchbench --pruned "$dir")
  B=100; q0=$(torchbench --model "$model"); q1=$(torchbench --pruned "$dir")
  awk -v m=$model -v r=$r -v l0=$l0 -v l1=$l1 -v g0=$g0 -v g1=$g1 -v p0=$p0 -v p1=$p1 -v q0=$q0 -v q1=$q1 \
    'BEGIN{printf "| %s | %.3f | %.2f -> %.2f | %.2fx | %.2fx | %.2fx | %.2fx |\n", m, r, l0, l1, l0/l1, g1/g0, p1/p0, q1/q0}' >> "$work/md"
done
mv "$work/md" "$out"
cat "$out"

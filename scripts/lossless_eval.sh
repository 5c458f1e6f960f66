#!/usr/bin/env bash
# Evaluates the shared CIFAR-10 checkpoints with the Go engine on the lossless
# CIFAR-10 (amc's default data: held-out = per class the 500 training images
# with the smallest SHA-256 of their pixels) and writes
# results/lossless-eval/README.md with every command's raw JSON output.
#   bash scripts/lossless_eval.sh            (after make build)
set -euo pipefail
cd "$(dirname "$0")/.."
W=${WEIGHTS:-../shared/weights}
export AMC_DATA=${AMC_DATA:-../shared/data}
out=results/lossless-eval
mkdir -p "$out"
# model | weights | published or README test | README held-out | which training images the network saw
rows=(
  "resnet20|$W/akamaster-cifar10/resnet20-12fca82f.th|91.25 (published)|-|all 50,000 training images (held-out split included)"
  "resnet56|$W/akamaster-cifar10/resnet56-4bfd9763.th|93.39 (published)|-|all 50,000 training images (held-out split included)"
  "resnet20|$W/cifar10-clean/resnet20.safetensors|90.07 (README, PyTorch)|89.80|the 45,000-image training split only"
  "plain20|$W/cifar10-clean/plain20.safetensors|88.15 (README, PyTorch)|87.56|the 45,000-image training split only"
)
raw=$(mktemp)
tmp=$(mktemp)
{
  echo "# Shared CIFAR-10 checkpoints on the lossless CIFAR-10, Go engine"
  echo
  echo "- command: \`bash scripts/lossless_eval.sh\` (runs \`bin/amc eval --json\` per split; no --data flag: the default is the lossless copy)"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(./bin/amc info | sed -n 's/^blas: *//p') BLAS"
  echo "- date: $(date -u +%Y-%m-%d)"
  echo "- data: ../shared/data/cifar10/cifar-10-binary.tar.gz; held-out = per class the 500 training images with the smallest pixel SHA-256 (5,000), test = the 10,000 test images"
  echo
  echo "| model | weights (sha256) | saw | test top-1 (Go) | test reference | held-out top-1 (Go) | held-out reference |"
  echo "|---|---|---|---:|---:|---:|---:|"
} > "$tmp"
for r in "${rows[@]}"; do
  IFS='|' read -r model w ref refho saw <<<"$r"
  t=$(./bin/amc eval --model "$model" --weights "$w" --split test --json 2>/dev/null | tail -1)
  h=$(./bin/amc eval --model "$model" --weights "$w" --split heldout --json 2>/dev/null | tail -1)
  printf '$ bin/amc eval --model %s --weights %s --split test --json\n%s\n$ bin/amc eval --model %s --weights %s --split heldout --json\n%s\n' \
    "$model" "$w" "$t" "$model" "$w" "$h" >> "$raw"
  /usr/bin/python3 - "$model" "$w" "$ref" "$refho" "$saw" "$t" "$h" >> "$tmp" <<'PY'
import hashlib, json, os, sys
model, w, ref, refho, saw, t, h = sys.argv[1:]
t, h = json.loads(t), json.loads(h)
sha = hashlib.sha256(open(w, 'rb').read()).hexdigest()
print(f"| {model} | {os.path.relpath(w, '..')} ({sha[:12]}) | {saw} | {t['top1']:.2f} | {ref} | {h['top1']:.2f} | {refho} |")
PY
done
{
  echo
  echo "The akamaster networks saw every training image, so their held-out figures measure memorisation, not"
  echo "generalisation: a held-out reward on them ranks policies by how much of the memorised set survives."
  echo "Read their test columns. The clean networks never saw the held-out split; their held-out figures track test."
  echo
  echo "## Raw output"
  echo
  echo '```'
  cat "$raw"
  echo '```'
} >> "$tmp"
mv "$tmp" "$out/README.md"
rm -f "$raw"
cat "$out/README.md"

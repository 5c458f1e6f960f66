#!/usr/bin/env bash
# Go engine throughput (pure-Go and OpenBLAS builds) against PyTorch on the
# same machine, same models, same batch, random weights and inputs.
# Prints a markdown table and writes it to results/speed/engine.md.
#   bash scripts/bench.sh [SECONDS_PER_CELL]
set -euo pipefail
cd "$(dirname "$0")/.."
sec=${1:-3}
threads=$(nproc)
mkdir -p bin results/speed
CGO_ENABLED=0 go build -o bin/amc-purego ./cmd/amc
if printf 'int main(void){return 0;}' | cc -x c - -lopenblas -o /dev/null >/dev/null 2>&1; then
  CGO_ENABLED=1 go build -tags openblas -o bin/amc-openblas ./cmd/amc
fi
py=/usr/bin/python3
havetorch=0; $py -c 'import torch' 2>/dev/null && havetorch=1
field() { jq -r ".$1" <<<"$2"; }
out=results/speed/engine.md
tmp=$(mktemp)
{
  echo "# Go engine vs PyTorch: forward throughput (images/s), eval mode, random weights and inputs"
  echo
  echo "- command: \`bash scripts/bench.sh $sec\` (\`amc bench\` and \`scripts/bench_torch.py\`, median of >= 5 runs and >= ${sec}s per cell)"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
  echo "- machine: $threads cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
  echo "- date: $(date -u +%Y-%m-%d)"
  if [ $havetorch = 1 ]; then echo "- PyTorch $($py -c 'import torch;print(torch.__version__)') (Debian python3-torch), $threads threads, eager mode, torch.no_grad()"; fi
  echo "- Go: $(go version | cut -d' ' -f3), $threads worker goroutines; OpenBLAS single-threaded per call"
  echo
  echo "| model | batch | Go pure-Go | Go OpenBLAS | PyTorch | OpenBLAS / PyTorch | pure-Go / PyTorch |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} > "$tmp"
for m in resnet20 resnet56 vgg16 mobilenet_v1 mobilenet_v2; do
  for b in 1 100; do
    pg=$(./bin/amc-purego bench --model $m --batch $b --seconds "$sec" --json | tail -1)
    pgi=$(field images_per_sec "$pg")
    obi=""
    if [ -x bin/amc-openblas ]; then obi=$(field images_per_sec "$(./bin/amc-openblas bench --model $m --batch $b --seconds "$sec" --json | tail -1)"); fi
    pti=""
    if [ $havetorch = 1 ]; then pti=$(field images_per_sec "$(./bin/amc-purego graph --model $m | $py scripts/bench_torch.py --batch $b --threads "$threads" --seconds "$sec")"); fi
    awk -v m=$m -v b=$b -v pg="$pgi" -v ob="$obi" -v pt="$pti" 'BEGIN{
      r1 = (ob != "" && pt != "") ? sprintf("%.2f", ob/pt) : "-";
      r2 = (pt != "") ? sprintf("%.2f", pg/pt) : "-";
      printf "| %s | %d | %.0f | %s | %s | %s | %s |\n", m, b, pg, (ob==""?"-":sprintf("%.0f",ob)), (pt==""?"-":sprintf("%.0f",pt)), r1, r2 }' >> "$tmp"
    tail -1 "$tmp"
  done
done
mv "$tmp" "$out"
echo; cat "$out"

#!/usr/bin/env bash
# Go engine throughput (pure-Go build, OpenBLAS build under this machine's
# OPENBLAS_CORETYPE, OpenBLAS build with the kernel OpenBLAS picks itself)
# against PyTorch on the same machine: same models (every zoo network; MODELS to
# choose), same batch, random weights and inputs, with achieved GFLOP/s (2 x MACs
# per image) against the machine's measured single-thread SGEMM peak times its
# cores. Prints a markdown table and writes results/speed/$OUT.md and its raw
# output, results/speed/raw/$OUT.txt (OUT: engine by default).
#   bash scripts/bench.sh [SECONDS_PER_CELL]
#   MODELS="imagenet_resnet50 imagenet_mobilenet_v2" BATCHES="1 32" OUT=engine-224 bash scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
sec=${1:-3}
threads=$(nproc)
MODELS=${MODELS:-resnet20 resnet32 resnet44 resnet56 resnet110 plain20 vgg16 mobilenet_v1 mobilenet_v2}
BATCHES=${BATCHES:-1 100}
OUT=${OUT:-engine}
mkdir -p bin results/speed/raw
raw=results/speed/raw/$OUT.txt
: > $raw
CGO_ENABLED=0 go build -o bin/amc-purego ./cmd/amc
ob=0
if printf 'int main(void){return 0;}' | cc -x c - -lopenblas -o /dev/null >/dev/null 2>&1; then
  CGO_ENABLED=1 go build -tags openblas -o bin/amc-openblas ./cmd/amc
  ob=1
  # The native kernel is only reported after the engine's correctness checks pass with it.
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE go test -count=1 -tags openblas -run 'FastPath|PlanMatches' ./nn/ ./models/ >/dev/null
fi
py=/usr/bin/python3
havetorch=0; $py -c 'import torch' 2>/dev/null && havetorch=1
native() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }
ips() { echo "$1" >> $raw; jq -r .images_per_sec <<<"$1"; }
macs() { ./bin/amc-purego models --long | awk -v m=$1 '$1 == m {print $2}'; }
peak=-; peakn=-
sgemm() { "$@" go test -tags openblas -run '^$' -bench 'Sgemm/m6400' -benchtime 2s ./nn/ | tee -a $raw | awk '{for (i = 1; i <= NF; i++) if ($(i+1) == "GFLOP/s") print $i}'; }
if [ $ob = 1 ]; then
  echo "## SGEMM, one thread, forced kernel ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))" >> $raw
  peak=$(sgemm env)
  echo "## SGEMM, one thread, native kernel" >> $raw
  peakn=$(sgemm native)
fi
out=results/speed/$OUT.md
tmp=$(mktemp)
kdef=$([ $ob = 1 ] && ./bin/amc-openblas info | sed -n 's/^blas: *//p' || echo -)
knat=$([ $ob = 1 ] && native ./bin/amc-openblas info | sed -n 's/^blas: *//p' || echo -)
{
  echo "# Go engine vs PyTorch: forward throughput (images/s), eval mode, random weights and inputs"
  echo
  echo "- command: \`MODELS=\"$MODELS\" BATCHES=\"$BATCHES\" OUT=$OUT bash scripts/bench.sh $sec\` (\`amc bench\` and \`scripts/bench_torch.py\`; median of >= 5 runs and >= ${sec}s per cell)"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet -- . ':(exclude)results/speed' || echo ' (with uncommitted changes)')"
  echo "- machine: $threads cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
  echo "- date: $(date -u +%Y-%m-%d)"
  if [ $havetorch = 1 ]; then echo "- PyTorch $($py -c 'import torch;print(torch.__version__)') (Debian python3-torch, oneDNN), $threads threads, eager, no_grad, glibc malloc thresholds fixed (MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_; without them PyTorch page-faults on every large allocation and runs up to 10x slower here)"; fi
  echo "- Go: $(go version | cut -d' ' -f3), $threads worker goroutines, one BLAS thread per call"
  echo "- amc's own kernels, Winograd for 3x3 stride-1 convolutions and SGEMM for the other convolutions: AVX-512 $([ "${AMC_AVX512:-}" = 0 ] && echo 'off (AMC_AVX512=0)' || (grep -qw avx512f /proc/cpuinfo && echo on || echo 'absent on this CPU')); OPENBLAS_CORETYPE governs only OpenBLAS's SGEMM, which with AVX-512 on runs only the final linear layer (so the two OpenBLAS columns then differ by run-to-run noise). GFLOP/s count a direct convolution's multiply-adds (Winograd does fewer), so they can exceed the SGEMM peak"
  echo "- GFLOP/s: 2 x MACs x images/s; the machine's SGEMM peak, measured on one thread (\`go test -bench Sgemm/m6400 ./nn\`, the engine's BLAS and its largest ResNet shape): $peak GFLOP/s with the forced kernel, $peakn with the native one, x $threads cores = $(echo "$peak * $threads" | bc -l 2>/dev/null | xargs printf '%.0f' 2>/dev/null || echo -) and $(echo "$peakn * $threads" | bc -l 2>/dev/null | xargs printf '%.0f' 2>/dev/null || echo -) GFLOP/s (PyTorch's oneDNN uses AVX-512 like the native kernel); raw output: [raw/$OUT.txt](raw/$OUT.txt)"
  echo "- OpenBLAS columns: \`$kdef\` is the kernel this machine's environment forces (OPENBLAS_CORETYPE, kept as is in tests and CI); \`$knat\` is what OpenBLAS picks with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, in this benchmark only, after the fast-path-vs-reference tests passed with it"
  echo
  echo "| model | batch | Go pure-Go | Go $kdef | Go $knat | PyTorch | $kdef / PyTorch | $knat / PyTorch | pure-Go / PyTorch | GFLOP/s $kdef / PyTorch |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$tmp"
for m in $MODELS; do
  mc=$(macs $m)
  for b in $BATCHES; do
    echo "## $m batch $b" >> $raw
    pg=$(ips "$(./bin/amc-purego bench --model $m --batch $b --seconds "$sec" --json | tail -1)")
    od=""; on=""; pt=""
    if [ $ob = 1 ]; then
      od=$(ips "$(./bin/amc-openblas bench --model $m --batch $b --seconds "$sec" --json | tail -1)")
      on=$(ips "$(native ./bin/amc-openblas bench --model $m --batch $b --seconds "$sec" --json | tail -1)")
    fi
    if [ $havetorch = 1 ]; then
      pt=$(ips "$(./bin/amc-purego graph --model $m | MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=17179869184 \
        $py scripts/bench_torch.py --batch $b --threads "$threads" --seconds "$sec")")
    fi
    awk -v m=$m -v b=$b -v pg="$pg" -v od="$od" -v on="$on" -v pt="$pt" -v mc="$mc" 'function f(x){return x==""?"-":sprintf("%.0f",x)}
      function r(x,y){return (x==""||y=="")?"-":sprintf("%.2f",x/y)}
      function g(x){return x==""?"-":sprintf("%.1f",2*mc*x/1e9)}
      BEGIN{printf "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s / %s |\n", m, b, f(pg), f(od), f(on), f(pt), r(od,pt), r(on,pt), r(pg,pt), g(od), g(pt)}' >> "$tmp"
    tail -1 "$tmp"
  done
done
mv "$tmp" "$out"
echo; cat "$out"

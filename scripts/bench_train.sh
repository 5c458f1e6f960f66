#!/usr/bin/env bash
# Training throughput (images/s: forward, backward and SGD update per batch of
# 128, train-mode batch norm) of amc's Go trainer against PyTorch on the same
# machine, every zoo network (MODELS to choose), random weights and inputs, with
# the achieved GFLOP/s (training ~ 3 x forward, forward = 2 x MACs per image).
# Writes results/speed/training.md and its raw output, results/speed/raw/training.txt.
#   bash scripts/bench_train.sh [STEPS]   (needs libopenblas-dev; python3-torch for the reference)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-8}
MODELS=${MODELS:-resnet20 resnet32 resnet44 resnet56 resnet110 plain20 vgg16 mobilenet_v1 mobilenet_v2}
mkdir -p bin results/speed/raw
raw=results/speed/raw/training.txt
: > $raw
load0=$(cut -d' ' -f1-3 /proc/loadavg)
go build -tags openblas -o bin/amc ./cmd/amc
py=/usr/bin/python3
native() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }
gobench() { # prints "model images/s" lines; the raw output goes to $raw
  AMC_BENCH_MODELS=$(tr ' ' , <<<"$MODELS") "$@" go test -tags openblas ./train -run '^$' -bench TrainStep -benchtime ${steps}x 2>/dev/null |
    tee -a $raw | awk '/^BenchmarkTrainStep/ {split($1, a, "/"); sub(/-[0-9]+$/, "", a[2]); for (i = 1; i <= NF; i++) if ($(i+1) == "images/s") print a[2], $i}'
}
macs() { ./bin/amc models --long | awk -v m=$1 '$1 == m {print $2}'; }
# The native kernel is only reported after the gradient checks pass with it.
native go test -count=1 -tags openblas -run 'Gradient|Resume' ./train >/dev/null
echo "## Go, forced kernel ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))" >> $raw
forced=$(gobench env)
echo "## Go, native kernel ($(date -u +%FT%TZ))" >> $raw
nat=$(gobench native)
echo "## PyTorch ($(date -u +%FT%TZ))" >> $raw
out=results/speed/training.md
{
  echo "# Training throughput: amc (Go) vs PyTorch, images/s, batch 128"
  echo
  echo "- command: \`bash scripts/bench_train.sh $steps\`"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet -- . ':(exclude)results/speed' || echo ' (with uncommitted changes)')"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average at start: $load0"
  echo "- date: $(date -u +%Y-%m-%d)"
  echo "- Go: \`go test -bench TrainStep ./train\` ($steps timed steps after untimed ones), OpenBLAS single-threaded per call, 2 workers;"
  echo "  forced = this machine's OPENBLAS_CORETYPE=$([ -n "${OPENBLAS_CORETYPE:-}" ] && echo "$OPENBLAS_CORETYPE" || echo unset), native = the kernel OpenBLAS picks"
  echo "- amc's own kernels, Winograd for 3x3 stride-1 convolutions and SGEMM for the other products: AVX-512 $([ "${AMC_AVX512:-}" = 0 ] && echo 'off (AMC_AVX512=0)' || (grep -qw avx512f /proc/cpuinfo && echo on || echo 'absent on this CPU')); OPENBLAS_CORETYPE governs only OpenBLAS's SGEMM, which with AVX-512 on the trainer no longer calls (so the forced and native columns then differ by run-to-run noise). GFLOP/s count a direct convolution's multiply-adds (Winograd does fewer)"
  echo "- PyTorch $($py -c 'import torch;print(torch.__version__)' 2>/dev/null || echo missing): scripts/bench_torch.py --train (SGD Nesterov, cross-entropy), 2 threads, median step"
  echo
  echo "- GFLOP/s: 6 x MACs x images/s (forward 2 x MACs, backward about twice the forward); raw output: [raw/training.txt](raw/training.txt)"
  echo
  echo "| model | MACs | Go (forced kernel) | Go (native kernel) | PyTorch | Go/PyTorch (forced) | Go/PyTorch (native) | GFLOP/s Go forced / native / PyTorch |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for m in $MODELS; do
    f=$(awk -v m=$m '$1 == m {print $2}' <<<"$forced")
    n=$(awk -v m=$m '$1 == m {print $2}' <<<"$nat")
    js=$(./bin/amc graph --model $m | MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=17179869184 \
      $py scripts/bench_torch.py --batch 128 --threads 2 --train --seconds 10)
    echo "$m $js" >> $raw
    pt=$(jq -r .images_per_sec <<<"$js")
    mc=$(macs $m)
    printf '| %s | %s | %.0f | %.0f | %.0f | %.2f | %.2f | %.1f / %.1f / %.1f |\n' $m $mc $f $n $pt $(echo "$f / $pt" | bc -l) $(echo "$n / $pt" | bc -l) \
      $(echo "6 * $mc * $f / 1000000000" | bc -l) $(echo "6 * $mc * $n / 1000000000" | bc -l) $(echo "6 * $mc * $pt / 1000000000" | bc -l)
  done
} > $out
cat $out

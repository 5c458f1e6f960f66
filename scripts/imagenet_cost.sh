#!/usr/bin/env bash
# What an episode of each ImageNet spec costs on this machine: every spec of
# experiments/imagenet run for 3 episodes on a synthetic ImageFolder of 100
# classes (300 reward images, 300 calibration images, 224x224) with random
# weights (VGG-16: the uniform policy only), timed with /usr/bin/time -v.
# Writes the logs and the runs' summary.json files to results/imagenet-cost.
#   bash scripts/imagenet_cost.sh              (SPECS="vgg16-macs25" for some of them)
set -euo pipefail
cd "$(dirname "$0")/.."
make build > /dev/null
E=$(mktemp -d)
trap 'rm -rf "$E"' EXIT
out=results/imagenet-cost
mkdir -p "$out" "$E/w" "$E/specs"
./bin/amc data synthetic --out "$E/data" --classes 100 --train 6 --val 1
AMC_CACHE="$E/cache" ./bin/amc data prepare --data imagenet --data-dir "$E/data" 2>/dev/null
for s in ${SPECS:-mobilenet_v1-macs50 mobilenet_v2-macs70 resnet50-fine-params20 vgg16-macs25}; do
  m=$(awk '/^model:/{print $2}' "experiments/imagenet/$s.yaml")
  [ -f "$E/w/$m.safetensors" ] || go run ./scripts/randweights "$m" "$E/w/$m.safetensors"
done
for s in ${SPECS:-mobilenet_v1-macs50 mobilenet_v1-latency50 mobilenet_v2-macs70 resnet50-fine-params20 vgg16-macs25}; do
  m=$(awk '/^model:/{print $2}' "experiments/imagenet/$s.yaml")
  sed "s|^weights:.*|weights: $E/w/$m.safetensors|" "experiments/imagenet/$s.yaml" > "$E/specs/$s.yaml"
  if [ "$s" = vgg16-macs25 ]; then sed -i '/name: ddpg/d; /name: deep/d; /name: shallow/d' "$E/specs/$s.yaml"; fi
  { echo "## $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -v env AMC_CACHE="$E/cache" ./bin/amc run "$E/specs/$s.yaml" --data-dir "$E/data" \
      --episodes 3 --reward-images 300 --final-images 50 --out "$E/out"; } > "$out/$s.log" 2>&1
done
for f in "$E"/out/*/*/summary.json; do
  d=$(dirname "$f"); cp "$f" "$out/$(basename "$(dirname "$d")")-$(basename "$d").summary.json"
done
grep -H -E "Elapsed|Maximum resident" "$out"/*.log

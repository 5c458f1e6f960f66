#!/usr/bin/env bash
# ImageNet decoding: amc's Go decoder + evaluation transform against Pillow +
# torchvision's Resize(256) + CenterCrop(224) on the same files, on this
# machine's cores, and how far their pixels are apart. The files are a
# synthetic ImageFolder (amc data synthetic: random sizes 96-500 pixels a
# side, JPEG quality 90 with 4:2:0 chroma, one in thirteen a PNG, one in
# eleven greyscale). Writes results/speed/decode.md and its raw output,
# results/speed/raw/decode.txt.
#   bash scripts/bench_decode.sh [CLASSES] [VAL_PER_CLASS]
set -euo pipefail
cd "$(dirname "$0")/.."
classes=${1:-20}
val=${2:-40}
threads=$(nproc)
py=/usr/bin/python3
mkdir -p bin results/speed/raw
go build -o bin/amc ./cmd/amc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=results/speed/raw/decode.txt
./bin/amc data synthetic --out "$tmp/data" --classes "$classes" --train 6 --val "$val" > /dev/null
{
  echo "## $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "## amc data prepare, fresh cache each run (decode + transform + cache write)"
} > $raw
goips=()
for run in 1 2 3; do
  j=$(AMC_CACHE="$tmp/cache$run" ./bin/amc data prepare --data imagenet --data-dir "$tmp/data" 2>/dev/null)
  echo "$j" >> $raw
  goips+=("$(jq -r .images_per_s <<<"$j")")
done
AMC_CACHE="$tmp/cache1" ./bin/amc data export --data imagenet --data-dir "$tmp/data" --splits test --out "$tmp/export" > /dev/null 2>&1
echo "## Pillow + torchvision" >> $raw
$py - "$tmp/data/imagenet/val" "$tmp/export/test-images.npy" "$threads" >> $raw <<'EOF'
import json, os, statistics, sys, time
from multiprocessing import Pool
import numpy as np
import PIL
from PIL import Image
import torchvision
import torchvision.transforms as T

val, npy, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
tf = T.Compose([T.Resize(256), T.CenterCrop(224)])
files = []
for c in sorted(os.listdir(val)):  # amc's val order: class folders, then file names
    files += [os.path.join(val, c, f) for f in sorted(os.listdir(os.path.join(val, c)))]

def one(path):
    with open(path, "rb") as f:
        im = Image.open(f).convert("RGB")
    return np.asarray(tf(im))

def rate(procs):
    times = []
    for _ in range(3):
        t = time.perf_counter()
        if procs == 1:
            out = [one(f) for f in files]
        else:
            with Pool(procs) as p:
                out = p.map(one, files, chunksize=8)
        times.append(time.perf_counter() - t)
    return len(files) / statistics.median(times), out

r1, out = rate(1)
rn, _ = rate(threads)
ref = np.stack(out).astype(np.int16)
got = np.load(npy).astype(np.int16)
assert got.shape == ref.shape, (got.shape, ref.shape)
d = np.abs(got - ref)
png = np.array([f.endswith(".png") for f in files])
jpg = ~png
print(json.dumps({
    "files": len(files), "pillow": PIL.__version__, "torchvision": torchvision.__version__,
    "pillow_images_per_s_1proc": r1, "pillow_images_per_s_nproc": rn, "procs": threads,
    "png_max_abs_diff": int(d[png].max()) if png.any() else None,
    "jpeg_max_abs_diff": int(d[jpg].max()), "jpeg_mean_abs_diff": float(d[jpg].mean()),
    "jpeg_bytes_differing": float((d[jpg] > 0).mean()), "jpeg_bytes_off_by_more_than_2": float((d[jpg] > 2).mean()),
}))
EOF
pyj=$(tail -1 $raw)
gomed=$(printf '%s\n' "${goips[@]}" | sort -g | sed -n 2p)
total=$(jq -r '.images | add' <<<"$(sed -n 3p $raw)")
out=results/speed/decode.md
{
  echo "# ImageNet decoding: Go (amc) against Pillow + torchvision, same files"
  echo
  echo "- command: \`bash scripts/bench_decode.sh $classes $val\`"
  echo "- commit: $(git rev-parse --short HEAD)$(git diff --quiet -- . ':(exclude)results/speed' || echo ' (with uncommitted changes)')"
  echo "- machine: $threads cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB; date $(date -u +%Y-%m-%d)"
  echo "- files: a synthetic ImageFolder (\`amc data synthetic --classes $classes --train 6 --val $val\`), random sizes 96-500 pixels a side (ImageNet's are mostly near 500x375, so per-image times here run a little lower), JPEG quality 90 with 4:2:0 chroma, 1 in 13 PNG, 1 in 11 greyscale"
  echo "- Go: \`amc data prepare\` with a fresh cache each time ($total images: reward set, calibration pool and val; reading, SHA-256, decoding, the transform and writing the cache), $threads workers, median of 3; Pillow: the $(jq -r .files <<<"$pyj") val files, open + convert(\"RGB\") + Resize(256) + CenterCrop(224), median of 3, one process and a Pool of $threads; raw output: [raw/decode.txt](raw/decode.txt)"
  echo
  echo "| decoder | images/s, 1 process | images/s, $threads cores |"
  echo "|---|---:|---:|"
  printf '| Go image/jpeg + amc transform | - | %.0f |\n' "$gomed"
  jq -r '"| Pillow \(.pillow) + torchvision \(.torchvision) | \(.pillow_images_per_s_1proc | floor) | \(.pillow_images_per_s_nproc | floor) |"' <<<"$pyj"
  echo
  echo "Pixels, amc against torchvision on the same val files (after the transform, 224x224x3 bytes each):"
  echo
  jq -r '"- PNG files (the same RGB pixels on both sides): largest difference \(.png_max_abs_diff) (the transform is byte-exact: `datasets.TestEvalTransformMatchesPillow`)\n- JPEG files: largest difference \(.jpeg_max_abs_diff) levels, mean \(.jpeg_mean_abs_diff * 1000 | round / 1000), \(.jpeg_bytes_differing * 1000 | round / 10)% of bytes differ, \(.jpeg_bytes_off_by_more_than_2 * 10000 | round / 100)% by more than 2 levels: amc upsamples chroma and converts colour with libjpeg'"'"'s arithmetic, but Go'"'"'s inverse DCT is not libjpeg'"'"'s"' <<<"$pyj"
} > $out
cat $out

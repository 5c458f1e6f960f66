#!/usr/bin/env bash
# Fine-tunes, with the PyTorch bridge, the seed of each named strategy that is best on the reward set
# (the only images whose role is selection), then evaluates the result with amc's Go engine on the
# test split (10,000 images no search or fine-tune saw) and the held-out split.
#   bash scripts/finetune_best.sh SPEC_DIR EXPORT OUT EPOCHS STRATEGY... [-- BRIDGE_FLAGS...]
# SPEC_DIR: a spec's folder under an `amc run` output (DIR/<spec>); a best/ without model.safetensors (as
# committed under results/) is made again first by `amc prune --rebuild` into OUT/<strategy>/start;
# EXPORT: `amc data export` output; OUT: where OUT/<strategy>/ goes. Strategies run in parallel, one
# PyTorch thread each (on a GPU machine pass -- --device cuda). A rerun resumes (the bridge checkpoints
# every epoch). Writes OUT/<strategy>/{prune.json,model.safetensors,metrics.jsonl,eval-*.json,picked.txt,summary.json}
# and copies them (not the resumable state) into the picked run's finetuned/ folder, where amc report finds them.
set -euo pipefail
spec=$1 export=$2 out=$3 epochs=$4; shift 4
strategies=(); while [ $# -gt 0 ] && [ "$1" != "--" ]; do strategies+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
spec=$(realpath -m "$spec") export=$(realpath -m "$export") out=$(realpath -m "$out")
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
export MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=17179869184  # docs/engine.md
mkdir -p "$out"
# amc evaluates on the data set the export was made from.
data=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["dataset"])' "$export/export.json")
# Pick every strategy's run first, so that a bad name starts nothing.
picks=()
for st in "${strategies[@]}"; do
  best=$("$PY" - "$spec" "$st" <<'PY'
import glob, json, os, sys
spec, st = sys.argv[1], sys.argv[2]
runs = []
for f in sorted(glob.glob(os.path.join(spec, st + "-s*", "summary.json"))):
    s = json.load(open(f))
    if s.get("strategy") == st:
        d = os.path.dirname(f)
        # ties (a fixed policy's seeds are one network) go to a run that kept its weights
        runs.append((s["reward_top1"], os.path.exists(os.path.join(d, "best", "model.safetensors")), -s["seed"], d))
if not runs:
    sys.exit(f"no finished runs of {st} under {spec}")
print(max(runs)[3])
PY
)
  if [ -f "$out/$st/picked.txt" ] && [ "$(cut -d' ' -f1 "$out/$st/picked.txt")" != "$best" ]; then
    echo "$out/$st fine-tunes $(cut -d' ' -f1 "$out/$st/picked.txt"), but $best is best now: move $out/$st away first" >&2; exit 1
  fi
  picks+=("$best")
done
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for i in "${!strategies[@]}"; do
  st=${strategies[$i]} best=${picks[$i]}
  mkdir -p "$out/$st"
  echo "$best (best of $st on the reward set)" > "$out/$st/picked.txt"
  start=$best/best
  if [ ! -f "$start/model.safetensors" ]; then
    # results/ commits prune.json, not the weights: make the network again (amc prune --rebuild checks what it can).
    [ -f "$out/$st/start/model.safetensors" ] || ./bin/amc prune --rebuild "$best/best" --out "$out/$st/start"
    start=$out/$st/start
  fi
  echo "fine-tuning $best -> $out/$st"
  (cd python && "$PY" -m amc_bridge finetune --pruned "$start" --data "$export" --epochs "$epochs" \
      --out "$out/$st" --threads 1 "$@" > "$out/$st/finetune.log" 2>&1) &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
pids=()
[ $rc = 0 ] || { echo "a fine-tune failed: see $out/*/finetune.log" >&2; exit 1; }
for i in "${!strategies[@]}"; do
  st=${strategies[$i]} best=${picks[$i]}
  for split in test heldout; do
    ./bin/amc eval --data "$data" --pruned "$out/$st" --split "$split" --json | tail -1 > "$out/$st/eval-$split.json"
  done
  # summary.json in amc finetune's form (harness.TrainSummary: the epochs, before and after), the accuracies
  # after from the Go engine; then the run's finetuned/ folder, which amc report reads ("test after fine-tuning").
  "$PY" - "$out/$st" "$data" "$epochs" "$*" <<'PY'
import json, os, sys
d, data, epochs, flags = sys.argv[1:5]
load = lambda f: json.load(open(os.path.join(d, f)))
eps = [json.loads(l) for l in open(os.path.join(d, "metrics.jsonl")) if l.strip()]
before, test, held, spec = load("before.json"), load("eval-test.json"), load("eval-heldout.json"), load("prune.json")
s = {"command": f"finetune (PyTorch bridge: python3 -m amc_bridge finetune --epochs {epochs} --threads 1 {flags}".rstrip() + ")",
     "model": spec["base_model"] + " (pruned)", "data": data, "epochs": eps,
     "before_heldout_top1": before["heldout"], "before_test_top1": before["test"],
     "heldout_top1": held["top1"], "test_top1": test["top1"],
     "train_images_per_second": sum(e["images_per_second"] for e in eps) / len(eps),
     "seconds": sum(e["seconds"] for e in eps), "blas": test["blas"],
     "note": "before_*: the bridge's PyTorch evaluation of the network it started from; heldout_top1/test_top1: amc eval (Go engine) of the fine-tuned network"}
json.dump(s, open(os.path.join(d, "summary.json"), "w"), indent=2)
PY
  mkdir -p "$best/finetuned"
  for f in summary.json metrics.jsonl before.json eval-test.json eval-heldout.json prune.json model.safetensors picked.txt finetune.log; do
    cp "$out/$st/$f" "$best/finetuned/$f"
  done
  echo "$st: $(cat "$out/$st/picked.txt"); test $(sed 's/.*"top1":\([0-9.]*\).*/\1/' "$out/$st/eval-test.json") -> $best/finetuned"
done

#!/usr/bin/env python3
"""The paper's CIFAR-10 table from amc runs: one row per network and strategy.

    python3 scripts/paper_table.py [--amc bin/amc] [--no-latency] NAME=DIR...

DIR holds one folder per run (<strategy>-s<seed>/summary.json, as amc run or
amc search write them); a run's finetuned/summary.json (amc run with a
finetune: section, or amc finetune) gives the accuracy after fine-tuning.
Accuracies over seeds are mean +- sample standard deviation; "after FT" is the
best seed's (by held-out accuracy). Latency is measured now, by
`amc measure --workers 1 --batch 1` on each best network and on the unpruned
one (median of 50 runs), so run it on an otherwise idle machine; with
--no-latency, the latency each run measured at the end of its search is shown
(marked *; runs older than that measurement have none).
Standard library only; prints Markdown.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys

ORDER = ["ddpg", "reinforce", "random", "shallow", "uniform", "deep"]


def load(path):
    with open(path) as f:
        return json.load(f)


def measure(amc, args):
    out = subprocess.run([amc, "measure", "--workers", "1", "--batch", "1", "--repeats", "50", "--json"] + args,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["latency_ms"]


def fmt(xs):
    if not xs:
        return ""
    if len(set(xs)) == 1:  # one seed, or a fixed policy (the same network every seed)
        return f"{xs[0]:.2f}"
    return f"{statistics.mean(xs):.2f} +- {statistics.stdev(xs):.2f}"


def table(name, d, amc, latency):
    runs = {}
    for p in sorted(glob.glob(os.path.join(d, "*", "summary.json"))):
        s = load(p)
        s["_dir"] = os.path.dirname(p)
        runs.setdefault(s["strategy"], []).append(s)
    if not runs:
        sys.exit(f"{d}: no runs")
    any_run = next(iter(runs.values()))[0]
    base_held = next((s.get("base_heldout_top1") for v in runs.values() for s in v if s.get("base_heldout_top1")), None)
    base_test = next((s.get("base_test_top1") for v in runs.values() for s in v if s.get("base_test_top1")), None)
    base_lat = measure(amc, ["--model", any_run["model"], "--weights", any_run["weights"]]) if latency else None
    print(f"### {name} ({any_run['model']}, {any_run['budget']['kind']} {any_run['budget']['fraction']})")
    print()
    print("| strategy | seeds | MACs ratio | params ratio | held-out before FT | test before FT | test after FT (best seed) | after FT vs unpruned | Go latency ms (ratio) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    lat = f"{base_lat:.3f} (1.00)" if base_lat else ""
    if not latency:
        ms = next((s.get("base_latency_ms") for v in runs.values() for s in v if s.get("base_latency_ms")), None)
        lat = f"{ms:.3f} (1.00)*" if ms else ""
    print(f"| unpruned | | 1.000 | 1.000 | {base_held or '':} | {base_test or ''} | | | {lat} |")
    for st in sorted(runs, key=lambda s: ORDER.index(s) if s in ORDER else len(ORDER)):
        v = runs[st]
        best = max(v, key=lambda s: s["heldout_top1"])
        ft = os.path.join(best["_dir"], "finetuned", "summary.json")
        after = load(ft)["test_top1"] if os.path.exists(ft) else None
        delta = f"{after - base_test:+.2f}" if after is not None and base_test else ""
        lat = ""
        if latency:
            ms = measure(amc, ["--pruned", os.path.join(best["_dir"], "best")])
            lat = f"{ms:.3f} ({ms / base_lat:.2f})"
        elif best.get("latency_ms"):  # measured at the end of the search
            lat = f"{best['latency_ms']:.3f} ({best['latency_ratio']:.2f})*"
        print(f"| {st} | {len(v)} | {statistics.mean(s['macs_ratio'] for s in v):.3f} | "
              f"{statistics.mean(s['params_ratio'] for s in v):.3f} | {fmt([s['heldout_top1'] for s in v])} | "
              f"{fmt([s['test_top1'] for s in v])} | {'' if after is None else f'{after:.2f}'} | {delta} | {lat} |")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--amc", default="bin/amc")
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("sets", nargs="+", metavar="NAME=DIR")
    a = ap.parse_args()
    for s in a.sets:
        name, _, d = s.partition("=")
        table(name, d, a.amc, not a.no_latency)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Measured Go-engine latency ratio against MACs ratio for every pruned model
(the best network of every run) under the given results folders, as a
Markdown table. Reads the runs' summary.json files (standard library only).

    python3 scripts/latency_vs_macs.py results/jpeg-copy/search-r56 results/jpeg-copy/search-r20-adapted ...
"""
import glob
import json
import os
import statistics
import sys


def rows(root):
    for path in sorted(glob.glob(os.path.join(root, "**", "summary.json"), recursive=True)):
        parts = path.split(os.sep)
        if "finetuned" in parts or "best" in parts:
            continue
        with open(path) as f:
            s = json.load(f)
        if "latency_ratio" not in s or not s.get("latency_ms"):
            continue
        yield root, s


def main(roots):
    print("| results | model | strategy | seed | granularity | MACs ratio | params ratio | latency ms | unpruned ms | latency ratio | latency / MACs ratio |")
    print("|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|")
    quotients = []
    for root in roots:
        for r, s in rows(root):
            q = s["latency_ratio"] / s["macs_ratio"]
            if not s.get("granularity"):
                quotients.append(q)
            print(f"| {r} | {s['model']} | {s['strategy']} | {s['seed']} | {s.get('granularity') or 'channel'} | "
                  f"{s['macs_ratio']:.3f} | {s['params_ratio']:.3f} | {s['latency_ms']:.3f} | {s['base_latency_ms']:.3f} | "
                  f"{s['latency_ratio']:.3f} | {q:.2f} |")
    if quotients:
        print()
        print(f"Channel-pruned models: latency ratio / MACs ratio median {statistics.median(quotients):.2f}, "
              f"range {min(quotients):.2f} to {max(quotients):.2f} over {len(quotients)} models.")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])

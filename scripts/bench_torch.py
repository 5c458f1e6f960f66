#!/usr/bin/env python3
"""PyTorch reference for the Go engine's speed (a reference only, never a
dependency). Builds the exact network `amc graph --model NAME` prints, with
random weights, and measures eval-mode forward throughput on random inputs.

    bin/amc graph --model resnet56 | /usr/bin/python3 scripts/bench_torch.py --batch 100 --threads 2

With --train it times SGD training steps (train-mode batch norm, cross-entropy,
Nesterov momentum) instead.

Prints one JSON line: batch, median_ms, images_per_sec, threads, torch version.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from amc_bridge.net import GraphNet  # noqa: E402  (the PyTorch bridge's module for an amc graph)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--train", action="store_true", help="time SGD training steps (forward, backward, update) instead")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    # glibc serves large allocations with fresh mmap'd pages until a freed
    # mmap'd chunk raises its threshold; without this, every conv output here
    # page-faults anew and PyTorch runs ~10x slower (measured: 46 ms vs 3 ms
    # for a 16->16 3x3 conv at batch 100). Allocate and free 16 MB once.
    big = torch.empty(4 << 20)
    del big
    g = json.load(sys.stdin)
    torch.manual_seed(0)
    net = GraphNet(g).eval()
    inp = g["input"]
    x = torch.randn(a.batch, inp["c"], inp["h"], inp["w"])
    times = []
    if a.train:
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
        y = torch.randint(0, 10, (a.batch,))

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()
            opt.step()
        for _ in range(2):
            step()
        start = time.perf_counter()
        while len(times) < 5 or time.perf_counter() - start < a.seconds:
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        print(json.dumps({"mode": "train", "batch": a.batch, "median_ms": med * 1e3, "images_per_sec": a.batch / med,
                          "threads": a.threads, "iterations": len(times), "torch": torch.__version__}))
        return
    with torch.no_grad():
        for _ in range(2):
            net(x)
        start = time.perf_counter()
        while len(times) < 5 or time.perf_counter() - start < a.seconds:
            t0 = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(json.dumps({"batch": a.batch, "median_ms": med * 1e3, "images_per_sec": a.batch / med,
                      "threads": a.threads, "iterations": len(times), "torch": torch.__version__}))


if __name__ == "__main__":
    main()

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
import statistics
import sys
import time

import torch
import torch.nn as tnn
import torch.nn.functional as F


class GraphNet(tnn.Module):
    """Runs an amc graph (nodes in execution order) in PyTorch."""

    def __init__(self, graph):
        super().__init__()
        self.nodes = graph["nodes"]
        self.mods = tnn.ModuleDict()
        for n in self.nodes:
            key = n["name"].replace(".", "_")
            op = n["op"]
            if op == "conv":
                self.mods[key] = tnn.Conv2d(n["in_channels"], n["out_channels"], n["kernel"],
                                            n.get("stride", 1), n.get("padding", 0),
                                            groups=n.get("groups", 1), bias=n.get("bias", False))
            elif op == "batchnorm":
                self.mods[key] = tnn.BatchNorm2d(n["out_channels"], eps=n.get("eps", 1e-5))
            elif op == "linear":
                self.mods[key] = tnn.Linear(n["in_channels"], n["out_channels"], bias=n.get("bias", False))

    def forward(self, x):
        # Drop each value after its last use, as a hand-written module would.
        last = {}
        for k, n in enumerate(self.nodes):
            for i in n.get("inputs", []):
                last[i] = k
        vals = [x]
        for k, n in enumerate(self.nodes[1:], start=1):
            op, ins = n["op"], [vals[i] for i in n.get("inputs", [])]
            for i in n.get("inputs", []):
                if last[i] == k:
                    vals[i] = None
            key = n["name"].replace(".", "_")
            if op in ("conv", "batchnorm", "linear"):
                y = self.mods[key](ins[0])
            elif op == "relu":
                y = F.relu(ins[0])
            elif op == "relu6":
                y = F.relu6(ins[0])
            elif op == "add":
                y = ins[0] + ins[1]
            elif op == "shortcutA":
                s = n.get("stride", 1)
                z = ins[0][:, :, ::s, ::s]
                if "map" in n:  # pruned: output channel j copies input map[j], or is zero
                    m = torch.tensor(n["map"])
                    z = torch.cat([z, torch.zeros_like(z[:, :1])], 1)
                    y = z.index_select(1, torch.where(m < 0, z.shape[1] - 1, m))
                else:
                    p = (n["out_channels"] - z.shape[1]) // 2
                    y = F.pad(z, (0, 0, 0, 0, p, p))
            elif op == "maxpool":
                y = F.max_pool2d(ins[0], n["kernel"], n["stride"])
            elif op == "avgpool":
                y = F.avg_pool2d(ins[0], n["kernel"], n["stride"])
            elif op == "globalavgpool":
                y = F.adaptive_avg_pool2d(ins[0], 1)
            elif op == "flatten":
                y = torch.flatten(ins[0], 1)
            else:
                raise ValueError("unknown op " + op)
            vals.append(y)
        return vals[-1]


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

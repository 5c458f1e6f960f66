#!/usr/bin/env python3
"""Measures the PyTorch bridge's training speed per zoo network on this
machine (batch 128, amc's recipe: SGD Nesterov, crops and flips, train-mode
batch norm), and projects the time of one 45,000-image epoch and of a whole
run. Prints one JSON line per network.

    MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=17179869184 \
      /usr/bin/python3 scripts/bridge_epoch_time.py --threads 2 --epochs 30 resnet56 vgg16 ...
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from amc_bridge import data, graph, net  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    g = torch.Generator().manual_seed(0)
    px = torch.randint(0, 256, (1024, 32, 32, 3), dtype=torch.uint8, generator=g)
    lab = torch.randint(0, 10, (1024,), generator=g)
    norm = {"mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375]}
    for name in a.models:
        torch.manual_seed(0)
        m = net.GraphNet(graph.build(name)).to(dev).train()
        opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
        times = []
        for s in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            idx = torch.randint(0, 1024, (128,), generator=g)
            x = data.normalize(data.augment(px[idx], 4, g).to(dev), norm)
            loss = F.cross_entropy(m(x), lab[idx].to(dev))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            if s >= a.warmup:
                times.append(time.perf_counter() - t0)
        times.sort()
        step = times[len(times) // 2]
        epoch = step * (45000 // 128)
        print(json.dumps({"model": name, "threads": a.threads, "device": a.device, "median_step_s": round(step, 4),
                          "images_per_s": round(128 / step, 1), "epoch_min": round(epoch / 60, 1),
                          "run_hours": round(epoch * a.epochs / 3600, 2), "epochs": a.epochs, "torch": torch.__version__}),
              flush=True)


if __name__ == "__main__":
    main()

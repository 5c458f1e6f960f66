"""The PyTorch bridge's command line (docs/bridge.md).

    amc data export --out data-export
    python3 -m amc_bridge train --model resnet56 --data data-export --epochs 40 --out runs/r56
    python3 -m amc_bridge finetune --pruned best/ --data data-export --epochs 30 --out runs/ft
    python3 -m amc_bridge eval --pruned runs/ft --data data-export --split test
    python3 -m amc_bridge logits --pruned DIR --inputs in.safetensors --out logits.safetensors

What train and finetune write, `amc eval` reads (model.safetensors, and for
pruned models prune.json beside it). Run from python/ or with python/ on
PYTHONPATH. Uses CUDA when present (--device to choose).
"""
import argparse
import dataclasses
import json
import os
import sys
import time

import torch

from . import data as datasets
from . import graph as graphs
from . import net as nets
from . import safetensors
from .train import Recipe, device_default, evaluate, fit, write_atomic

AMC_NORM = {"mean": [0.485 * 255, 0.456 * 255, 0.406 * 255], "std": [0.229 * 255, 0.224 * 255, 0.225 * 255]}


def _recipe_flags(ap, lr, warmup):
    d = Recipe()
    ap.add_argument("--epochs", type=int, default=d.epochs)
    ap.add_argument("--batch", type=int, default=d.batch)
    ap.add_argument("--lr", type=float, default=lr, help="peak learning rate (cosine schedule after the warm-up)")
    ap.add_argument("--momentum", type=float, default=d.momentum)
    ap.add_argument("--wd", type=float, default=d.weight_decay, help="weight decay (conv and linear weights)")
    ap.add_argument("--warmup-epochs", type=float, default=warmup)
    ap.add_argument("--pad", type=int, default=d.pad)
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--seed", type=int, default=d.seed)
    ap.add_argument("--train-images", type=int, default=0, help="training images per epoch (0: all 45,000)")
    ap.add_argument("--eval-images", type=int, default=0, help="held-out images evaluated after each epoch (0: all)")


def _recipe(a, keep_zeros=False):
    return Recipe(epochs=a.epochs, batch=a.batch, lr=a.lr, momentum=a.momentum, weight_decay=a.wd,
                  warmup_epochs=a.warmup_epochs, pad=a.pad, no_augment=a.no_augment, seed=a.seed,
                  train_images=a.train_images, eval_images=a.eval_images, keep_zeros=keep_zeros)


def _common(ap):
    ap.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when present)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: every core)")


def _model_flags(ap, need_weights):
    ap.add_argument("--model", help="zoo model, NAME or NAME@WIDTH")
    ap.add_argument("--weights", help="amc safetensors file" + ("" if need_weights else " (default: amc's random initialisation)"))
    ap.add_argument("--pruned", help="pruned-model folder (prune.json + model.safetensors)")


def _setup(a):
    torch.set_num_threads(a.threads or os.cpu_count() or 1)
    return torch.device(a.device) if a.device else device_default()


def _load(a, allow_random=False):
    """(net, normalization, name, pruned spec or None)."""
    if a.pruned:
        if a.model or a.weights:
            raise SystemExit("give either --pruned or --model/--weights, not both")
        net, spec = nets.load_pruned(a.pruned)
        return net, spec["normalization"], spec["base_model"], spec
    if not a.model:
        raise SystemExit("--model (or --pruned) is required")
    if not a.weights:
        if not allow_random:
            raise SystemExit("--weights is required")
        torch.manual_seed(getattr(a, "seed", 1))
        return nets.GraphNet(graphs.build(a.model)), AMC_NORM, a.model, None
    net, norm, _ = nets.load_model(a.model, a.weights)
    return net, norm or AMC_NORM, a.model, None


def _train(a, pruned_cmd):
    dev = _setup(a)
    net, norm, model, spec = _load(a, allow_random=not pruned_cmd)
    net.to(dev)
    keep = bool(pruned_cmd and (a.keep_zeros or (spec or {}).get("density")))
    recipe = _recipe(a, keep)
    manifest = datasets.read_manifest(a.data)
    train = datasets.load(a.data, "train")
    held = datasets.load(a.data, "heldout")
    test = datasets.load(a.data, "test")
    if dev.type == "cuda":
        train = train.to(dev)
    meta = {"amc.model": model, "amc.normalization": json.dumps(norm), "amc.trained_by": "amc_bridge (PyTorch " + torch.__version__ + ")"}

    def save(out, m):
        safetensors.save(os.path.join(out, "model.safetensors"), m.amc_state(), meta if spec is None else
                         {"amc.model": model, "amc.normalization": json.dumps(norm), "amc.pruned": "prune.json"})
        if spec is not None:
            write_atomic(os.path.join(out, "prune.json"), json.dumps(spec, indent=2) + "\n")

    t0 = time.time()
    # Accuracy before training, measured once: a resumed run keeps the first measurement.
    before_path = os.path.join(a.out, "before.json")
    if os.path.exists(before_path) and os.path.exists(os.path.join(a.out, "train-state.pt")):
        with open(before_path) as f:
            before = json.load(f)
    else:
        before = {"heldout": evaluate(net, held, norm, a.eval_images), "test": evaluate(net, test, norm, a.eval_images)}
        os.makedirs(a.out, exist_ok=True)
        write_atomic(before_path, json.dumps(before) + "\n")
    hist = fit(net, train, held, norm, recipe, a.out, save, log=lambda s: print(s, file=sys.stderr, flush=True), bf16=a.bf16,
               progress=10, data_id=manifest["data_fingerprint"])
    summary = {"command": "finetune" if pruned_cmd else "train", "model": model, "pruned": a.pruned,
               "data": manifest["dataset"], "data_fingerprint": manifest["data_fingerprint"],
               "heldout_rule": manifest["heldout_rule"], "recipe": dataclasses.asdict(recipe), "epochs": hist,
               "before_heldout_top1": before["heldout"], "before_test_top1": before["test"],
               "heldout_top1": evaluate(net, held, norm, a.eval_images), "test_top1": evaluate(net, test, norm, a.eval_images),
               "train_images_per_second": sum(e["images_per_second"] for e in hist) / max(len(hist), 1),
               "seconds": time.time() - t0, "device": str(dev), "bf16": a.bf16, "torch": torch.__version__,
               "threads": torch.get_num_threads(), "evaluated_by": "PyTorch"}
    write_atomic(os.path.join(a.out, "summary.json"), json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: summary[k] for k in ("command", "model", "heldout_top1", "test_top1", "seconds", "device")}))


def _eval(a):
    dev = _setup(a)
    net, norm, model, _ = _load(a)
    net.to(dev)
    split = datasets.load(a.data, a.split)
    print(json.dumps({"model": model, "split": a.split, "images": len(split), "top1": evaluate(net, split, norm)}))


def _logits_of(net, inputs, out):
    x = safetensors.load(inputs)[0]["input"]
    if x.dim() == 4 and x.shape[-1] == net.graph["input"]["c"]:  # NHWC, as amc's engine reads it
        x = x.permute(0, 3, 1, 2).contiguous()
    net.eval()
    with torch.no_grad():
        safetensors.save(out, {"logits": net(x)})


def _logits(a):
    _setup(a)
    if a.cases:
        # Every sub-folder holding input.safetensors and either prune.json (a
        # pruned model) or case.json ({"model": NAME, "weights": FILE}) gets
        # logits.safetensors: one process for many networks.
        for name in sorted(os.listdir(a.cases)):
            d = os.path.join(a.cases, name)
            if not os.path.isfile(os.path.join(d, "input.safetensors")):
                continue
            if os.path.exists(os.path.join(d, "prune.json")):
                net, _ = nets.load_pruned(d)
            else:
                with open(os.path.join(d, "case.json")) as f:
                    c = json.load(f)
                net = nets.load_model(c["model"], os.path.join(d, c["weights"]))[0]
            _logits_of(net, os.path.join(d, "input.safetensors"), os.path.join(d, "logits.safetensors"))
        return
    if not (a.inputs and a.out):
        raise SystemExit("--inputs and --out are required (or --cases DIR)")
    net, _, _, _ = _load(a)
    _logits_of(net, a.inputs, a.out)


def _graph(a):
    """Prints graphs as JSON, one line per model, as `amc graph` prints them."""
    for m in a.models:
        print(json.dumps(graphs.build(m)))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m amc_bridge", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a zoo model (from scratch or from --weights); resumes when --out holds a checkpoint")
    _model_flags(t, False)
    _recipe_flags(t, 0.1, 1.0)
    f = sub.add_parser("finetune", help="fine-tune a pruned model; fine-grained zeros stay zero; resumes")
    f.add_argument("--pruned", required=True)
    f.add_argument("--keep-zeros", action="store_true", help="keep zero weights at zero (on by default for fine-grained models)")
    _recipe_flags(f, 0.01, 0.0)
    for p in (t, f):
        p.add_argument("--data", required=True, help="folder written by `amc data export`")
        p.add_argument("--out", required=True)
        p.add_argument("--bf16", action="store_true", help="bfloat16 autocast (CUDA)")
        _common(p)
    e = sub.add_parser("eval", help="top-1 accuracy on one split")
    _model_flags(e, True)
    e.add_argument("--data", required=True)
    e.add_argument("--split", default="test", choices=["train", "heldout", "test"])
    _common(e)
    lg = sub.add_parser("logits", help="logits of a network on inputs (safetensors tensor 'input', NHWC or NCHW, normalised)")
    _model_flags(lg, True)
    lg.add_argument("--inputs", help="safetensors file with a tensor 'input'")
    lg.add_argument("--out", help="safetensors file to write (tensor 'logits')")
    lg.add_argument("--cases", help="folder of cases (sub-folders with input.safetensors and prune.json or case.json)")
    _common(lg)
    gr = sub.add_parser("graph", help="print zoo graphs as JSON, one line per model (as amc graph prints them)")
    gr.add_argument("models", nargs="+")
    a = ap.parse_args(argv)
    if a.cmd == "finetune":
        a.model = a.weights = None
    try:
        {"train": lambda: _train(a, False), "finetune": lambda: _train(a, True), "eval": lambda: _eval(a),
         "logits": lambda: _logits(a), "graph": lambda: _graph(a)}[a.cmd]()
    except (graphs.GraphError, datasets.DataError, safetensors.SafetensorsError, ValueError, FileNotFoundError,
            FloatingPointError, json.JSONDecodeError) as err:
        print(f"amc_bridge {a.cmd}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

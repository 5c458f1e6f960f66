"""Training and fine-tuning with the recipe of `amc train` / `amc finetune`
(train.DefaultConfig): SGD with Nesterov momentum 0.9, weight decay 5e-4 on
conv and linear weights only, batch 128 (the last partial batch dropped), a
linear warm-up over WarmupEpochs then a cosine decay to zero, set every step,
random crops (4-pixel zero padding) and flips, and a checkpoint after every
epoch that a rerun of the same command resumes from. On CUDA when present."""
import dataclasses
import json
import math
import os
import time

import torch
import torch.nn.functional as F

from . import data as datasets


@dataclasses.dataclass
class Recipe:
    """amc's train.Config (same names, same defaults)."""
    epochs: int = 30
    batch: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0
    pad: int = 4
    no_augment: bool = False
    seed: int = 1
    train_images: int = 0  # 0: the whole training split
    eval_images: int = 0  # held-out images evaluated after each epoch (0: all)
    keep_zeros: bool = False  # keep zero conv/linear weights at zero (fine-grained models)

    def validate(self, n_train, side=32):
        """Refuses a recipe with a number outside its range, as amc's
        train.Config.ValidateFor does (side: the images' smaller side)."""
        bad = []
        if self.epochs < 1: bad.append(f"epochs {self.epochs}: want at least 1")
        if self.batch < 1: bad.append(f"batch {self.batch}: want at least 1")
        if not 0 < self.lr < math.inf: bad.append(f"lr {self.lr}: want a number above 0")
        if not 0 <= self.momentum < 1: bad.append(f"momentum {self.momentum}: want [0, 1)")
        if not 0 <= self.weight_decay < math.inf: bad.append(f"weight decay {self.weight_decay}: want at least 0")
        if not 0 <= self.warmup_epochs <= self.epochs: bad.append(f"warm-up epochs {self.warmup_epochs}: want [0, epochs]")
        if self.pad < 0 or (not self.no_augment and self.pad >= side):
            bad.append(f"pad {self.pad}: want an integer in [0, {side - 1}] (a crop of a {side}x{side} image padded by its whole size can be all padding)")
        if self.train_images < 0 or self.eval_images < 0: bad.append("train/eval images: want 0 (all) or more")
        if min(n_train, self.train_images or n_train) < self.batch: bad.append(f"fewer training images than one batch of {self.batch}")
        if bad:
            raise ValueError("recipe: " + "; ".join(bad))


def cosine(peak, t, total, warmup):
    """amc's train.Cosine: learning rate at step t of total."""
    if t < warmup:
        return peak * (t + 1) / warmup
    if total <= warmup:
        return peak
    return peak * 0.5 * (1 + math.cos(math.pi * (t - warmup) / (total - warmup)))


def device_default():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.no_grad()
def evaluate(net, split, norm, limit=0, batch=500, device=None):
    """Top-1 accuracy in percent (eval-mode batch norm) on the first limit images (0: all)."""
    device = device or next(net.parameters()).device
    was = net.training
    net.eval()
    n = min(len(split), limit) if limit else len(split)
    correct = 0
    for i in range(0, n, batch):
        x = datasets.normalize(split.pixels[i:min(i + batch, n)].to(device), norm)
        correct += (net(x).argmax(1).cpu() == split.labels[i:min(i + batch, n)].cpu()).sum().item()
    net.train(was)
    return 100.0 * correct / n


def write_atomic(path, text):
    """Writes text to path through a temporary file and a rename."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _decays(name, p):
    return name.endswith(".weight") and p.dim() > 1


def fit(net, train, held, norm, recipe, out_dir, save, log=print, bf16=False, progress=0, data_id=None):
    """Trains net on train, evaluating on held after each epoch; checkpoints
    out_dir/train-state.pt after every epoch (weights, momentum, random state,
    metrics) and calls save(out_dir, net) first. Rerun with the same recipe, it
    resumes after the last finished epoch; another recipe is refused. With
    progress > 0, about that many progress lines per epoch go to log too.
    data_id (the export's data fingerprint) is kept in the checkpoint, and a
    resume on other data is refused."""
    recipe.validate(len(train), min(train.pixels.shape[1:3]))
    device = next(net.parameters()).device
    os.makedirs(out_dir, exist_ok=True)
    decay = [p for n, p in net.named_parameters() if _decays(n, p)]
    rest = [p for n, p in net.named_parameters() if not _decays(n, p)]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": recipe.weight_decay}, {"params": rest, "weight_decay": 0.0}],
                          lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov and recipe.momentum > 0)
    masks = {}
    if recipe.keep_zeros:
        masks = {n: (p != 0) for n, p in net.named_parameters() if p.dim() > 1}
    gen = torch.Generator().manual_seed(recipe.seed)
    state_path = os.path.join(out_dir, "train-state.pt")
    history, start = [], 0
    if os.path.exists(state_path):
        try:
            st = torch.load(state_path, map_location=device)
            _ = st["recipe"], st["model"], st["optimizer"], st["rng"], st["history"], st["epoch"]
        except Exception as e:  # a damaged or foreign file
            raise ValueError(f"{state_path} is damaged ({type(e).__name__}: {e}); delete it to start again") from None
        if st["recipe"] != dataclasses.asdict(recipe):
            raise ValueError(f"{out_dir} holds a run with another recipe ({st['recipe']}); use another folder or delete it")
        if data_id and st.get("data_id") and st["data_id"] != data_id:
            raise ValueError(f"{out_dir} holds a run on other data ({st['data_id']}, not {data_id}); use another folder or delete it")
        net.load_state_dict(st["model"])
        opt.load_state_dict(st["optimizer"])
        gen.set_state(st["rng"].cpu())
        history, start = st["history"], st["epoch"]
        log(f"resuming {out_dir} after epoch {start} of {recipe.epochs}")
    n_train = min(len(train), recipe.train_images) if recipe.train_images else len(train)
    steps = n_train // recipe.batch
    total, warm = steps * recipe.epochs, int(recipe.warmup_epochs * steps)
    net.train()
    for epoch in range(start, recipe.epochs):
        t0 = time.time()
        perm = torch.randperm(len(train), generator=gen)[:n_train]
        loss_sum, correct = torch.zeros((), device=device), torch.zeros((), device=device)
        for s in range(steps):
            idx = perm[s * recipe.batch:(s + 1) * recipe.batch].to(train.pixels.device)
            px = train.pixels[idx]
            if not recipe.no_augment:
                px = datasets.augment(px, recipe.pad, gen)
            x = datasets.normalize(px.to(device, non_blocking=True), norm)
            y = train.labels[idx].to(device, non_blocking=True)
            lr = cosine(recipe.lr, epoch * steps + s, total, warm)
            for g in opt.param_groups:
                g["lr"] = lr
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = net(x)
            loss = F.cross_entropy(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if masks:
                with torch.no_grad():
                    for n, p in net.named_parameters():
                        if n in masks:
                            p.mul_(masks[n])
            loss_sum += loss.detach()
            correct += (logits.argmax(1) == y).sum()
            if progress and (s + 1) % max(1, steps // progress) == 0 and s + 1 < steps:
                log(f"  step {s + 1}/{steps} of epoch {epoch + 1}: mean loss {loss_sum.item() / (s + 1):.4f}, "
                    f"{(s + 1) * recipe.batch / (time.time() - t0):.0f} images/s")
        loss_mean = loss_sum.item() / steps
        if not math.isfinite(loss_mean):
            kept = (f"the last good checkpoint (epoch {epoch}) is kept in {out_dir}" if epoch > 0
                    else f"no epoch finished, so no checkpoint was written to {out_dir}")
            raise FloatingPointError(f"epoch {epoch + 1}: loss is not finite ({loss_mean}); {kept}; try a lower learning rate")
        sec = time.time() - t0
        ev = {"epoch": epoch + 1, "train_loss": loss_mean, "train_top1": 100.0 * correct.item() / (steps * recipe.batch),
              "heldout_top1": evaluate(net, held, norm, recipe.eval_images) if held is not None else 0.0,
              "lr_end": lr, "seconds": sec, "images_per_second": steps * recipe.batch / sec}
        history.append(ev)
        save(out_dir, net)
        write_atomic(os.path.join(out_dir, "metrics.jsonl"), "".join(json.dumps(e) + "\n" for e in history))
        tmp = state_path + ".tmp"
        torch.save({"recipe": dataclasses.asdict(recipe), "data_id": data_id, "epoch": epoch + 1, "model": net.state_dict(),
                    "optimizer": opt.state_dict(), "rng": gen.get_state(), "history": history}, tmp)
        os.replace(tmp, state_path)
        log(f"epoch {epoch + 1}/{recipe.epochs}: loss {ev['train_loss']:.4f}, train top-1 {ev['train_top1']:.2f}%, "
            f"held-out top-1 {ev['heldout_top1']:.2f}%, {ev['images_per_second']:.0f} images/s")
    net.eval()
    return history

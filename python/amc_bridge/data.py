"""The images amc trains and evaluates on, read from `amc data export`
(docs/bridge.md): SPLIT-images.npy (uint8 N x H x W x C) and
SPLIT-labels.npy (uint8 N; uint16 where a label exceeds 255), checked against export.json's checksums."""
import hashlib
import json
import os

import numpy as np
import torch

FORMAT = "amc-data-export/1"


class DataError(ValueError):
    """A missing, damaged or foreign export folder."""


class Split:
    """One split: pixels as a uint8 NHWC tensor, labels as int64."""

    def __init__(self, name, pixels, labels):
        self.name, self.pixels, self.labels = name, pixels, labels

    def __len__(self):
        return self.pixels.shape[0]

    def to(self, device):
        return Split(self.name, self.pixels.to(device), self.labels.to(device))


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(folder):
    path = os.path.join(folder, "export.json")
    try:
        with open(path) as f:
            m = json.load(f)
    except FileNotFoundError:
        raise DataError(f"{path} not found: make the folder with `amc data export --out {folder}`") from None
    if m.get("format") != FORMAT:
        raise DataError(f"{path}: format {m.get('format')!r}, want {FORMAT!r}")
    return m


def load(folder, split, verify=True):
    """Loads one split ("train", "heldout" or "test") of an export folder."""
    m = read_manifest(folder)
    s = m["splits"].get(split)
    if s is None:
        raise DataError(f"{folder}: split {split!r} was not exported (it has {sorted(m['splits'])}); "
                        f"export it with `amc data export --splits ...`")
    arrays = []
    for key in ("images", "labels"):
        path = os.path.join(folder, s[key + "_file"])
        if verify and _sha256(path) != s[key + "_sha256"]:
            raise DataError(f"{path}: checksum differs from export.json: the file changed after the export")
        arrays.append(np.load(path, allow_pickle=False))
    px, lab = arrays
    if px.dtype != np.uint8 or px.ndim != 4 or lab.shape != (px.shape[0],) or px.shape[0] != s["images"]:
        raise DataError(f"{folder}: split {split}: arrays {px.shape} {px.dtype} / {lab.shape} do not match export.json")
    return Split(split, torch.from_numpy(px), torch.from_numpy(lab.astype(np.int64)))


def normalize(pixels, norm):
    """uint8 NHWC pixels -> float32 NCHW, (x - mean) / std per channel, mean
    and std on the 0..255 scale (amc's normalisation)."""
    mean = torch.tensor(norm["mean"], dtype=torch.float32, device=pixels.device)
    std = torch.tensor(norm["std"], dtype=torch.float32, device=pixels.device)
    return ((pixels.float() - mean) / std).permute(0, 3, 1, 2).contiguous()


def augment(pixels, pad, gen):
    """amc's augmentation on a uint8 NHWC batch: a random crop of the image
    zero-padded by pad pixels and a horizontal flip with probability 1/2,
    drawn from the torch.Generator gen (on the CPU), done on pixels' device."""
    n, h, w, _ = pixels.shape
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(pixels.device)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen).to(pixels.device)
    flip = torch.randint(0, 2, (n,), generator=gen).bool().to(pixels.device)
    padded = torch.nn.functional.pad(pixels, (0, 0, pad, pad, pad, pad))
    rows = dy[:, None] + torch.arange(h, device=pixels.device)
    cols = torch.arange(w, device=pixels.device).expand(n, w)
    cols = torch.where(flip[:, None], cols.flip(1), cols) + dx[:, None]
    b = torch.arange(n, device=pixels.device)[:, None, None]
    return padded[b, rows[:, :, None], cols[:, None, :]]

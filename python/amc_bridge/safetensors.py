"""Reads and writes safetensors files (the format amc's weights use) with the
standard library, numpy and torch: Debian has no safetensors package.

Format: an 8-byte little-endian header length, a JSON header naming each
tensor's dtype, shape and byte range (and an optional "__metadata__" map of
strings), then the tensors' bytes.
"""
import json
import struct

import numpy as np
import torch

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
           "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_MAX_HEADER = 100 << 20


class SafetensorsError(ValueError):
    """A damaged or unsupported safetensors file."""


def load(path):
    """Returns ({name: float32 or integer torch tensor}, metadata dict).

    BF16 tensors are widened to float32. Byte ranges are checked: every tensor
    must lie inside the file, match its shape and not overlap another.
    """
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise SafetensorsError(f"{path}: {len(buf)} bytes, too short for a safetensors file")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > min(_MAX_HEADER, len(buf) - 8):
        raise SafetensorsError(f"{path}: header length {n} does not fit the file ({len(buf)} bytes)")
    try:
        header = json.loads(buf[8:8 + n])
    except ValueError as e:
        raise SafetensorsError(f"{path}: damaged header: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise SafetensorsError(f"{path}: __metadata__ is not a JSON object")
    data = memoryview(buf)[8 + n:]
    out, spans = {}, []
    for name, info in header.items():
        try:
            dtype, shape, (lo, hi) = info["dtype"], list(info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise SafetensorsError(f"{path}: tensor {name!r}: malformed entry {info!r}") from None
        if not all(type(v) is int for v in shape + [lo, hi]):
            raise SafetensorsError(f"{path}: tensor {name!r}: shape and data_offsets must be integers")
        if dtype == "BF16":
            size = 2
        elif dtype in _DTYPES:
            size = np.dtype(_DTYPES[dtype]).itemsize
        else:
            raise SafetensorsError(f"{path}: tensor {name!r}: unsupported dtype {dtype}")
        count = 1
        for d in shape:  # Python integers: no overflow
            count *= d
        if min(shape, default=0) < 0 or not (0 <= lo <= hi <= len(data)) or hi - lo != count * size:
            raise SafetensorsError(f"{path}: tensor {name!r}: bytes [{lo}, {hi}) do not hold shape {shape} of {dtype} "
                                   f"inside {len(data)} data bytes")
        spans.append((lo, hi, name))
        raw = data[lo:hi]
        if dtype == "BF16":
            a = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            t = torch.from_numpy(a.view(np.float32).copy())
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.dtype(_DTYPES[dtype]).newbyteorder("<")).copy())
            if t.dtype in (torch.float16, torch.float64):
                t = t.float()
        out[name] = t.reshape(shape)
    spans.sort()
    for (a_lo, a_hi, a), (b_lo, _, b) in zip(spans, spans[1:]):
        if b_lo < a_hi:
            raise SafetensorsError(f"{path}: tensors {a!r} and {b!r} overlap")
    return out, {str(k): str(v) for k, v in meta.items()}


def save(path, tensors, metadata=None):
    """Writes {name: tensor} as float32 safetensors (integer tensors keep
    their type), names sorted, with string metadata, atomically."""
    import os
    import tempfile
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.is_floating_point():
            a, dtype = t.float().numpy().astype("<f4"), "F32"
        elif t.dtype == torch.int64:
            a, dtype = t.numpy().astype("<i8"), "I64"
        else:
            raise SafetensorsError(f"save {path}: tensor {name!r} has dtype {t.dtype}")
        b = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        chunks.append(b)
        off += len(b)
    meta = {"format": "pt"}
    meta.update({str(k): str(v) for k, v in (metadata or {}).items()})
    header["__metadata__"] = meta
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-" + os.path.basename(path) + "-")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for b in chunks:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise

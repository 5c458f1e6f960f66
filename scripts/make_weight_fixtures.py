#!/usr/bin/env python3
"""Writes the small PyTorch fixtures under weights/testdata (run once; the
outputs are committed). PyTorch is a reference tool here, never a dependency.

    /usr/bin/python3 scripts/make_weight_fixtures.py
"""
import collections
import os
import pickle
import zipfile

import torch

out = os.path.join(os.path.dirname(__file__), "..", "weights", "testdata")
os.makedirs(out, exist_ok=True)

# A zip-format (PyTorch >= 1.6) checkpoint wrapped like DataParallel output:
# a contiguous tensor, a transposed (strided) view, a float64 and a float16
# tensor, a storage shared by two tensors, and a num_batches_tracked buffer.
base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
sd = collections.OrderedDict()
sd["module.a.weight"] = base
sd["module.b.weight"] = base.t()  # stride (1, 4)
sd["module.c.weight"] = torch.arange(5, dtype=torch.float64) / 4
sd["module.d.weight"] = torch.tensor([0.5, -2.0, 1024.0], dtype=torch.float16)
sd["module.e.weight"] = base[1]  # offset 4 into base's storage
sd["module.bn.num_batches_tracked"] = torch.tensor(7)
torch.save({"state_dict": sd, "best_prec1": 91.5}, os.path.join(out, "tiny-zip.pt"))


# A zip checkpoint whose pickle calls os.system when unpickled by Python.
class Evil:
    def __reduce__(self):
        return (os.system, ("touch AMC_PWNED_MARKER",))


with zipfile.ZipFile(os.path.join(out, "evil-zip.pt"), "w") as z:
    z.writestr("archive/data.pkl", pickle.dumps({"x": Evil()}, protocol=2))
print("wrote", sorted(os.listdir(out)))

# The same in the legacy (pre-1.6) format: magic number, protocol, sys info,
# then the payload.
with open(os.path.join(out, "evil-legacy.th"), "wb") as f:
    f.write(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2))
    f.write(pickle.dumps(1001, protocol=2))
    f.write(pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2))
    f.write(pickle.dumps({"state_dict": Evil()}, protocol=2))
print("wrote evil-legacy.th")

# A legacy checkpoint whose (only) storage declares far more values than the
# file holds: a reader must refuse it instead of allocating terabytes.
p = os.path.join(out, "huge-legacy.th")
torch.save({"w": torch.arange(4, dtype=torch.float32)}, p, _use_new_zipfile_serialization=False)
b = bytearray(open(p, "rb").read())
at = len(b) - 4 * 4 - 8  # [8-byte count][4 float32]
assert int.from_bytes(b[at:at + 8], "little") == 4
b[at:at + 8] = (1 << 40).to_bytes(8, "little")
open(p, "wb").write(bytes(b))
print("wrote huge-legacy.th")

"""Unit tests of the PyTorch bridge (python/amc_bridge). Run by `make test`
through internal/cli's TestBridgePythonUnitTests, or directly:

    cd python && python3 -m unittest discover -s tests
"""
import hashlib
import json
import os
import struct
import tempfile
import unittest

import numpy as np
import torch

from amc_bridge import data, graph, net, safetensors, train


def write_export(folder, n_train=64, n_held=32, seed=0):
    """A tiny export folder in amc data export's format, random pixels."""
    rng = np.random.default_rng(seed)
    splits = {}
    for name, n in (("train", n_train), ("heldout", n_held), ("test", n_held)):
        px = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        lab = rng.integers(0, 10, (n,), dtype=np.uint8)
        entry = {"images": n}
        for key, arr in (("images", px), ("labels", lab)):
            f = f"{name}-{key}.npy"
            np.save(os.path.join(folder, f), arr)
            with open(os.path.join(folder, f), "rb") as fh:
                entry[key + "_file"], entry[key + "_sha256"] = f, hashlib.sha256(fh.read()).hexdigest()
        splits[name] = entry
    with open(os.path.join(folder, "export.json"), "w") as f:
        json.dump({"format": data.FORMAT, "dataset": "synthetic", "data_fingerprint": "sha256:none",
                   "heldout_rule": "none", "splits": splits}, f)


class SafetensorsTest(unittest.TestCase):
    def test_round_trip_keeps_names_shapes_values_metadata(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "x.safetensors")
            t = {"a.weight": torch.randn(3, 2, 1, 1), "b": torch.arange(5, dtype=torch.int64), "c": torch.randn(0)}
            safetensors.save(p, t, {"amc.model": "resnet20"})
            got, meta = safetensors.load(p)
            self.assertEqual(sorted(got), sorted(t))
            for k in t:
                self.assertTrue(torch.equal(got[k], t[k]), k)
            self.assertEqual(meta["amc.model"], "resnet20")
            self.assertEqual(meta["format"], "pt")

    def test_half_precision_loads_as_float32(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "h.safetensors")
            a = np.array([1.0, -2.0, 0.1], dtype=np.float16).tobytes()
            b = np.array([0x3f80, 0xc000], dtype="<u2").tobytes()  # bfloat16 1.0, -2.0
            h = json.dumps({"a": {"dtype": "F16", "shape": [3], "data_offsets": [0, 6]},
                            "b": {"dtype": "BF16", "shape": [2], "data_offsets": [6, 10]}}).encode()
            with open(p, "wb") as f:
                f.write(struct.pack("<Q", len(h)) + h + a + b)
            got, _ = safetensors.load(p)
            self.assertEqual(got["a"].dtype, torch.float32)
            self.assertTrue(torch.equal(got["a"], torch.tensor(np.array([1.0, -2.0, 0.1], dtype=np.float16).astype(np.float32))))
            self.assertEqual(got["b"].tolist(), [1.0, -2.0])

    def test_damaged_files_are_refused_with_the_reason(self):
        good = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
        cases = {
            "short": (b"\x01\x02", "too short"),
            "header longer than file": (struct.pack("<Q", 1 << 40) + b"{}", "does not fit"),
            "bad json": (struct.pack("<Q", 3) + b"{{{", "damaged header"),
            "offsets past the end": (struct.pack("<Q", len(good)) + good + b"\0" * 4, "do not hold"),
            "dtype": (struct.pack("<Q", len(good.replace(b"F32", b"X99"))) + good.replace(b"F32", b"X99") + b"\0" * 8, "unsupported dtype"),
        }
        for name, hdr, want in (
                ("metadata not an object", {"__metadata__": [1]}, "__metadata__"),
                ("float offsets", {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8.0]}}, "integers"),
                ("huge shape", {"a": {"dtype": "F32", "shape": [1 << 40, 1 << 40, 1 << 40], "data_offsets": [0, 8]}}, "do not hold"),
                ("shape not a list", {"a": {"dtype": "F32", "shape": 3, "data_offsets": [0, 8]}}, "malformed")):
            h = json.dumps(hdr).encode()
            cases[name] = (struct.pack("<Q", len(h)) + h + b"\0" * 8, want)
        overlap = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                              "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}).encode()
        cases["overlap"] = (struct.pack("<Q", len(overlap)) + overlap + b"\0" * 8, "overlap")
        with tempfile.TemporaryDirectory() as d:
            for name, (blob, want) in cases.items():
                p = os.path.join(d, name)
                with open(p, "wb") as f:
                    f.write(blob)
                with self.assertRaises(safetensors.SafetensorsError, msg=name) as cm:
                    safetensors.load(p)
                self.assertIn(want, str(cm.exception), name)


class GraphTest(unittest.TestCase):
    def test_unknown_model_and_bad_width(self):
        for name, want in (("resnet21", "unknown model"), ("resnet20@0", "width"), ("resnet20@x", "width")):
            with self.assertRaises(graph.GraphError) as cm:
                graph.build(name)
            self.assertIn(want, str(cm.exception))

    def test_prune_specs_that_do_not_fit_are_refused(self):
        for layers, want in (({"conv1": {"in_channels": 3}}, "conv"),  # out_channels 0
                             ({"conv1": {"in_channels": 3, "out_channels": "8"}}, "not a layer spec"),
                             ({"layer1.0.conv1": {"in_channels": 16, "out_channels": 8}}, "16 channels, reading 8"),
                             ({"layer2.0.shortcut": {"out_channels": 32, "map": [99] * 32}}, "channel map")):
            with self.assertRaises(graph.GraphError, msg=str(layers)) as cm:
                graph.check_shapes(graph.apply_layers(graph.build("resnet20"), layers))
            self.assertIn(want, str(cm.exception), layers)

    def test_odd_shortcut_padding_is_refused_as_amc_refuses_it(self):
        with self.assertRaises(graph.GraphError) as cm:
            graph.build("resnet20@0.7")
        self.assertIn("cannot pad 11 channels to 22", str(cm.exception))

    def test_prune_spec_naming_a_missing_layer_is_refused(self):
        with self.assertRaises(graph.GraphError) as cm:
            graph.apply_layers(graph.build("resnet20"), {"layer9.0.conv1": {"in_channels": 1, "out_channels": 1}})
        self.assertIn("layer9.0.conv1", str(cm.exception))

    def test_state_dict_names_are_amc_names(self):
        g = graph.build("vgg16@0.25")
        m = net.GraphNet(g)
        want = {n for n, _, _ in graph.param_specs(g)}
        self.assertEqual(set(m.amc_state()), want)
        self.assertIn("features.0.weight", want)
        self.assertIn("classifier.bias", want)

    def test_weights_that_do_not_fit_are_refused(self):
        m = net.GraphNet(graph.build("resnet20"))
        sd = m.amc_state()
        bad = dict(sd, **{"conv1.weight": torch.zeros(8, 3, 3, 3)})
        with self.assertRaises(graph.GraphError) as cm:
            m.load_amc_state(bad)
        self.assertIn("conv1.weight", str(cm.exception))
        nan = dict(sd, **{"linear.bias": torch.full((10,), float("nan"))})
        with self.assertRaises(graph.GraphError):
            m.load_amc_state(nan)
        missing = {k: v for k, v in sd.items() if k != "bn1.running_var"}
        with self.assertRaises(graph.GraphError) as cm:
            m.load_amc_state(missing)
        self.assertIn("bn1.running_var", str(cm.exception))


class AugmentTest(unittest.TestCase):
    def test_no_padding_gives_the_image_or_its_mirror(self):
        px = torch.randint(0, 256, (16, 32, 32, 3), dtype=torch.uint8)
        out = data.augment(px, 0, torch.Generator().manual_seed(1))
        for i in range(16):
            self.assertTrue(torch.equal(out[i], px[i]) or torch.equal(out[i], px[i].flip(1)), i)

    def test_crops_are_windows_of_the_zero_padded_image(self):
        px = torch.randint(1, 256, (32, 32, 32, 3), dtype=torch.uint8)
        out = data.augment(px, 4, torch.Generator().manual_seed(2))
        padded = torch.nn.functional.pad(px, (0, 0, 4, 4, 4, 4))
        shifted = 0
        for i in range(32):
            found = False
            for img in (padded[i], padded[i].flip(1)):
                for dy in range(9):
                    for dx in range(9):
                        if torch.equal(out[i], img[dy:dy + 32, dx:dx + 32]):
                            found, shifted = True, shifted + ((dy, dx) != (4, 4))
            self.assertTrue(found, i)
        self.assertGreater(shifted, 16)


class TrainTest(unittest.TestCase):
    def test_cosine_is_amcs_schedule(self):
        self.assertAlmostEqual(train.cosine(0.1, 0, 100, 10), 0.01)
        self.assertAlmostEqual(train.cosine(0.1, 9, 100, 10), 0.1)
        self.assertAlmostEqual(train.cosine(0.1, 10, 100, 10), 0.1)
        self.assertAlmostEqual(train.cosine(0.1, 55, 100, 10), 0.05)
        self.assertAlmostEqual(train.cosine(0.1, 5, 100, 0), 0.1 * 0.5 * (1 + np.cos(np.pi * 0.05)))

    def test_bad_recipes_are_refused(self):
        for kw, want in (({"epochs": 0}, "epochs"), ({"lr": float("nan")}, "lr"), ({"momentum": 1.0}, "momentum"),
                         ({"batch": 100}, "one batch"), ({"warmup_epochs": 5, "epochs": 2}, "warm-up")):
            with self.assertRaises(ValueError) as cm:
                train.Recipe(**kw).validate(64)
            self.assertIn(want, str(cm.exception))

    def _fit(self, folder, out, epochs, keep_zeros=False, start=None):
        torch.manual_seed(0)
        m = net.GraphNet(graph.build("resnet20@0.25"))
        if start is not None:
            m.load_state_dict(start)
        tr, he = data.load(folder, "train"), data.load(folder, "heldout")
        norm = {"mean": [120.0, 115.0, 100.0], "std": [60.0, 57.0, 57.0]}
        r = train.Recipe(epochs=2, batch=16, lr=0.05, warmup_epochs=0.5, keep_zeros=keep_zeros)
        done = []

        def log(line):
            if line.startswith("resuming"):
                done.append("resumed")
            elif line.startswith("epoch "):
                done.append(line)
                if len(done) - done.count("resumed") >= epochs and epochs < r.epochs:
                    raise KeyboardInterrupt  # a kill right after this epoch's checkpoint

        try:
            train.fit(m, tr, he, norm, r, out, lambda d, mm: None, log=log)
        except KeyboardInterrupt:
            pass
        self.log = done
        return m

    def test_resume_gives_the_uninterrupted_run(self):
        with tempfile.TemporaryDirectory() as d:
            write_export(d)
            whole = self._fit(d, os.path.join(d, "a"), 2).amc_state()
            self._fit(d, os.path.join(d, "b"), 1)  # killed after epoch 1's checkpoint
            self.assertEqual(len(self.log), 1)
            resumed = self._fit(d, os.path.join(d, "b"), 2).amc_state()
            self.assertEqual(self.log[0], "resumed")
            self.assertEqual(len(self.log), 2)  # resumed, then epoch 2 only
            for k in whole:
                self.assertTrue(torch.equal(whole[k], resumed[k]), k)
            with open(os.path.join(d, "b", "metrics.jsonl")) as f:
                self.assertEqual([json.loads(l)["epoch"] for l in f], [1, 2])

    @staticmethod
    def quick_fit(d, out, recipe, **kw):
        """Fits a tiny ResNet on the export in d, quietly; returns the network."""
        m = net.GraphNet(graph.build("resnet20@0.25"))
        tr, he = data.load(d, "train"), data.load(d, "heldout")
        train.fit(m, tr, he, {"mean": [120.0] * 3, "std": [60.0] * 3}, recipe, out, lambda *_: None, log=lambda s: None, **kw)
        return m

    def test_resume_on_other_data_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            write_export(d)
            out = os.path.join(d, "o")
            self.quick_fit(d, out, train.Recipe(epochs=1, batch=16), data_id="sha256:a")
            with self.assertRaises(ValueError) as cm:
                self.quick_fit(d, out, train.Recipe(epochs=1, batch=16), data_id="sha256:b")
            self.assertIn("other data", str(cm.exception))

    def test_keep_zeros_keeps_fine_grained_zeros(self):
        with tempfile.TemporaryDirectory() as d:
            write_export(d)
            torch.manual_seed(0)
            m = net.GraphNet(graph.build("resnet20@0.25"))
            with torch.no_grad():
                for p in m.parameters():
                    if p.dim() > 1:
                        p.mul_((torch.rand_like(p) > 0.5).float())
            zeros = {n: (p == 0).clone() for n, p in m.named_parameters() if p.dim() > 1}
            m = self._fit(d, os.path.join(d, "k"), 2, keep_zeros=True, start=m.state_dict())
            for n, p in m.named_parameters():
                if n in zeros:
                    self.assertTrue(bool((p[zeros[n]] == 0).all()), n)

    def test_momentum_zero_is_plain_sgd_and_damaged_state_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            write_export(d)
            out = os.path.join(d, "m")
            self.quick_fit(d, out, train.Recipe(epochs=1, batch=16, momentum=0.0))
            with open(os.path.join(out, "train-state.pt"), "wb") as f:
                f.write(b"not a checkpoint")
            with self.assertRaises(ValueError) as cm:
                self.quick_fit(d, out, train.Recipe(epochs=2, batch=16, momentum=0.0))
            self.assertIn("damaged", str(cm.exception))

    def test_export_checksum_mismatch_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            write_export(d)
            with open(os.path.join(d, "test-labels.npy"), "r+b") as f:
                f.seek(-1, 2)
                f.write(b"\x09")
            with self.assertRaises(data.DataError) as cm:
                data.load(d, "test")
            self.assertIn("checksum", str(cm.exception))
            with self.assertRaises(data.DataError) as cm:
                data.load(os.path.join(d, "nowhere"), "test")
            self.assertIn("amc data export", str(cm.exception))


if __name__ == "__main__":
    unittest.main()

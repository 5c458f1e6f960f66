"""A torch.nn.Module that runs an amc graph, with amc's tensor names
(state_dict keys "layer1.0.conv1.weight" and so on, as in amc's safetensors)."""
import json
import math

import torch
import torch.nn as tnn
import torch.nn.functional as F

from . import graph as graphs
from . import safetensors


class GraphNet(tnn.Module):
    """Runs an amc graph (nodes in execution order, node 0 the input) on NCHW
    float32 input that is already normalised. Parameters live in modules at
    the nodes' dotted names, so state_dict() keys are amc's names."""

    def __init__(self, graph):
        super().__init__()
        graphs.check_shapes(graph)
        self.graph = graph
        self.nodes = graph["nodes"]
        layers = {}
        for n in self.nodes:
            op = n["op"]
            if op == "conv":
                m = tnn.Conv2d(n["in_channels"], n["out_channels"], n["kernel"], n.get("stride", 1),
                               n.get("padding", 0), groups=n.get("groups", 1), bias=bool(n.get("bias")))
            elif op == "batchnorm":
                m = tnn.BatchNorm2d(n["out_channels"], eps=n.get("eps", 1e-5))
            elif op == "linear":
                m = tnn.Linear(n["in_channels"], n["out_channels"], bias=bool(n.get("bias")))
            else:
                continue
            self._place(n["name"], m)
            layers[n["name"]] = m
        # Shortcut channel maps: output channel j copies input map[j], or is zero.
        for n in self.nodes:
            if n["op"] == "shortcutA" and "map" in n:
                self.register_buffer("_map_" + n["name"].replace(".", "_"), torch.tensor(n["map"]), persistent=False)
        self._last = {}
        for k, n in enumerate(self.nodes):
            for i in n.get("inputs", []):
                self._last[i] = k
        self.__dict__["_layers"] = layers  # not registered twice
        self.init_weights()

    def _place(self, dotted, module):
        parent, parts = self, dotted.split(".")
        for p in parts[:-1]:
            if p not in parent._modules:
                parent.add_module(p, tnn.Module())
            parent = parent._modules[p]
        parent.add_module(parts[-1], module)

    def init_weights(self):
        """amc's initialisation (nn.Graph.InitParams): He-normal convolutions
        (fan out), linear weights and biases uniform with bound 1/sqrt(in),
        batch norms at identity (other biases zero)."""
        for n in self.nodes:
            m = self._layers.get(n["name"])
            if isinstance(m, tnn.Conv2d):
                std = math.sqrt(2.0 / (m.out_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]))
                tnn.init.normal_(m.weight, 0, std)
                if m.bias is not None:
                    tnn.init.zeros_(m.bias)
            elif isinstance(m, tnn.Linear):
                b = 1 / math.sqrt(m.in_features)
                tnn.init.uniform_(m.weight, -b, b)
                if m.bias is not None:
                    tnn.init.uniform_(m.bias, -b, b)
            elif isinstance(m, tnn.BatchNorm2d):
                m.reset_parameters()

    def forward(self, x):
        vals = [x]
        for k, n in enumerate(self.nodes[1:], start=1):
            op = n["op"]
            ins = [vals[i] for i in n.get("inputs", [])]
            for i in n.get("inputs", []):
                if self._last[i] == k:
                    vals[i] = None  # free each value after its last use
            if op in ("conv", "batchnorm", "linear"):
                y = self._layers[n["name"]](ins[0])
            elif op == "relu":
                y = F.relu(ins[0])
            elif op == "relu6":
                y = F.relu6(ins[0])
            elif op == "add":
                y = ins[0] + ins[1]
            elif op == "shortcutA":
                s = n.get("stride", 1)
                z = ins[0][:, :, ::s, ::s]
                if "map" in n:
                    m = getattr(self, "_map_" + n["name"].replace(".", "_"))
                    z = torch.cat([z, torch.zeros_like(z[:, :1])], 1)
                    y = z.index_select(1, torch.where(m < 0, z.shape[1] - 1, m))
                else:
                    p = (n["out_channels"] - z.shape[1]) // 2
                    y = F.pad(z, (0, 0, 0, 0, p, p))
            elif op == "maxpool":
                y = F.max_pool2d(ins[0], n["kernel"], n["stride"], n.get("padding", 0))
            elif op == "avgpool":
                y = F.avg_pool2d(ins[0], n["kernel"], n["stride"])
            elif op == "globalavgpool":
                y = F.adaptive_avg_pool2d(ins[0], 1)
            elif op == "flatten":
                y = torch.flatten(ins[0], 1)
            else:
                raise graphs.GraphError(f"node {n['name']!r}: unknown op {op!r}")
            vals.append(y)
        return vals[-1]

    def amc_state(self):
        """The tensors amc's safetensors hold: every parameter and running
        statistic, batch counters left out."""
        return {k: v for k, v in self.state_dict().items() if not k.endswith("num_batches_tracked")}

    def load_amc_state(self, tensors, path="weights"):
        """Loads amc-named tensors, checking that names and shapes match the
        graph exactly (as amc's Graph.Check does)."""
        want = {name: shape for name, shape, _ in graphs.param_specs(self.graph)}
        got = {k: v for k, v in tensors.items() if not k.endswith("num_batches_tracked")}
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        if missing or extra:
            raise graphs.GraphError(f"{path}: tensors do not fit the model: missing {missing[:5]}, unexpected {extra[:5]}")
        for k, shape in want.items():
            if list(got[k].shape) != shape:
                raise graphs.GraphError(f"{path}: {k} has shape {list(got[k].shape)}, the model needs {shape}")
            if got[k].is_floating_point() and not torch.isfinite(got[k]).all():
                raise graphs.GraphError(f"{path}: {k} holds NaN or infinite values")
        self.load_state_dict(got, strict=False)


def normalization_from_meta(meta, default=None):
    """The input normalisation a weight file records (amc.normalization), as
    {"mean": [3 floats on 0..255], "std": [...]}."""
    if "amc.normalization" in meta:
        return json.loads(meta["amc.normalization"])
    return default


def load_model(model, weights_path):
    """A zoo model with weights from an amc safetensors file: (net, normalization, metadata)."""
    tensors, meta = safetensors.load(weights_path)
    if meta.get("amc.model") not in (None, model):
        raise graphs.GraphError(f"{weights_path} was saved for model {meta['amc.model']}, not {model}")
    net = GraphNet(graphs.build(model))
    net.load_amc_state(tensors, weights_path)
    return net, normalization_from_meta(meta), meta


def load_pruned(folder):
    """A pruned-model folder (prune.json + model.safetensors): (net, spec)."""
    import os
    spec, g = graphs.read_pruned(folder)
    path = os.path.join(folder, "model.safetensors")
    tensors, _ = safetensors.load(path)
    net = GraphNet(g)
    net.load_amc_state(tensors, path)
    return net, spec

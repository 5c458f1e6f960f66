"""amc's layer graphs in Python: the CIFAR zoo of docs/cifar-models.md built
node for node as amc's Go zoo builds it (models/*.go), and pruned networks
rebuilt from a prune.json (docs/pruned-format.md) as amc's prune.Rebuild does.

A graph is {"input": {"c", "h", "w"}, "nodes": [...]}, nodes in execution
order, node 0 the input, exactly the JSON `amc graph` prints; fields a node
does not use are left out, as amc leaves them out.
"""
import json
import os


class GraphError(ValueError):
    """An unknown model or a prune.json that does not fit its base model."""


class _Builder:
    def __init__(self):
        self.nodes = [{"name": "input", "op": "input"}]

    def add(self, **node):
        self.nodes.append({k: v for k, v in node.items() if v not in (None, 0, False)})
        return len(self.nodes) - 1

    def conv(self, name, x, cin, cout, k, stride, pad, groups):
        return self.add(name=name, op="conv", inputs=[x], in_channels=cin, out_channels=cout,
                        kernel=k, stride=stride, padding=pad, groups=groups)

    def bn(self, name, x, c):
        return self.add(name=name, op="batchnorm", inputs=[x], out_channels=c, eps=1e-5)

    def act(self, name, op, x):
        return self.add(name=name, op=op, inputs=[x])

    def head(self, x, cin, name="linear", pool=True):
        if pool:
            x = self.add(name="avgpool", op="globalavgpool", inputs=[x])
        x = self.add(name="flatten", op="flatten", inputs=[x])
        self.add(name=name, op="linear", inputs=[x], in_channels=cin, out_channels=10, bias=True)
        return {"input": {"c": 3, "h": 32, "w": 32}, "nodes": self.nodes}


def _round_width(c, w):
    return max(1, int(c * w + 0.5))


def _make_divisible(v, d=8):
    n = int(v + d / 2) // d * d
    n = max(n, d)
    if n < 0.9 * v:
        n += d
    return n


def resnet(n, w=1.0, shortcut=True):
    """CIFAR ResNet of depth 6n+2 (option-A shortcuts); shortcut=False is the plain network."""
    b = _Builder()
    widths = [_round_width(16, w), _round_width(32, w), _round_width(64, w)]
    x = b.conv("conv1", 0, 3, widths[0], 3, 1, 1, 1)
    x = b.bn("bn1", x, widths[0])
    x = b.act("relu", "relu", x)
    cin = widths[0]
    for stage, c in enumerate(widths):
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            p = f"layer{stage + 1}.{i}"
            sc = x
            if shortcut and (stride != 1 or cin != c):
                if (c - cin) % 2:  # amc refuses it too (nn.Graph.Shapes)
                    raise GraphError(f"resnet width {w}: option-A shortcut cannot pad {cin} channels to {c}")
                sc = b.add(name=p + ".shortcut", op="shortcutA", inputs=[x], out_channels=c, stride=stride)
            y = b.conv(p + ".conv1", x, cin, c, 3, stride, 1, 1)
            y = b.bn(p + ".bn1", y, c)
            y = b.act(p + ".relu1", "relu", y)
            y = b.conv(p + ".conv2", y, c, c, 3, 1, 1, 1)
            y = b.bn(p + ".bn2", y, c)
            if shortcut:
                y = b.add(name=p + ".add", op="add", inputs=[y, sc])
            x = b.act(p + ".relu2", "relu", y)
            cin = c
    return b.head(x, cin)


def vgg16(w=1.0):
    """CIFAR VGG-16 with batch norm; `features` indices as torchvision counts them."""
    b = _Builder()
    x, cin, k = 0, 3, 0
    for c in [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0]:
        if c == 0:
            x = b.add(name=f"features.{k}", op="maxpool", inputs=[x], kernel=2, stride=2)
            k += 1
            continue
        c = _round_width(c, w)
        x = b.conv(f"features.{k}", x, cin, c, 3, 1, 1, 1)
        x = b.bn(f"features.{k + 1}", x, c)
        x = b.act(f"features.{k + 2}", "relu", x)
        k, cin = k + 3, c
    return b.head(x, cin, name="classifier", pool=False)


def mobilenet_v1(w=1.0):
    """CIFAR MobileNet-V1."""
    b = _Builder()
    cin = _round_width(32, w)
    x = b.conv("conv1", 0, 3, cin, 3, 1, 1, 1)
    x = b.bn("bn1", x, cin)
    x = b.act("relu", "relu", x)
    cfg = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    for i, (c, s) in enumerate(cfg):
        out, p = _round_width(c, w), f"layers.{i}"
        x = b.conv(p + ".conv1", x, cin, cin, 3, s, 1, cin)
        x = b.bn(p + ".bn1", x, cin)
        x = b.act(p + ".relu1", "relu", x)
        x = b.conv(p + ".conv2", x, cin, out, 1, 1, 0, 1)
        x = b.bn(p + ".bn2", x, out)
        x = b.act(p + ".relu2", "relu", x)
        cin = out
    return b.head(x, cin)


def mobilenet_v2(w=1.0):
    """CIFAR MobileNet-V2 (second stage stride 1)."""
    b = _Builder()
    cin = _make_divisible(32 * w)
    x = b.conv("conv1", 0, 3, cin, 3, 1, 1, 1)
    x = b.bn("bn1", x, cin)
    x = b.act("relu", "relu6", x)
    i = 0
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        out = _make_divisible(c * w)
        for r in range(n):
            stride = s if r == 0 else 1
            p, hid, block_in = f"layers.{i}", cin * t, x
            y = b.conv(p + ".conv1", x, cin, hid, 1, 1, 0, 1)
            y = b.bn(p + ".bn1", y, hid)
            y = b.act(p + ".relu1", "relu6", y)
            y = b.conv(p + ".conv2", y, hid, hid, 3, stride, 1, hid)
            y = b.bn(p + ".bn2", y, hid)
            y = b.act(p + ".relu2", "relu6", y)
            y = b.conv(p + ".conv3", y, hid, out, 1, 1, 0, 1)
            y = b.bn(p + ".bn3", y, out)
            if stride == 1 and cin == out:
                y = b.add(name=p + ".add", op="add", inputs=[y, block_in])
            x, cin, i = y, out, i + 1
    last = _make_divisible(1280 * w) if w > 1 else 1280
    x = b.conv("conv2", x, cin, last, 1, 1, 0, 1)
    x = b.bn("bn2", x, last)
    x = b.act("relu2", "relu6", x)
    return b.head(x, last)


ZOO = {f"resnet{6 * n + 2}": (lambda w, n=n: resnet(n, w)) for n in (3, 5, 7, 9, 18)}
ZOO.update({"plain20": lambda w: resnet(3, w, shortcut=False), "vgg16": vgg16,
            "mobilenet_v1": mobilenet_v1, "mobilenet_v2": mobilenet_v2})


def parse_name(full):
    """Splits "mobilenet_v2@0.5" into ("mobilenet_v2", 0.5)."""
    base, _, width = full.partition("@")
    if base not in ZOO:
        raise GraphError(f"unknown model {base!r}; valid models: {', '.join(sorted(ZOO))} (append @WIDTH for a width multiplier)")
    w = 1.0
    if width:
        try:
            w = float(width)
        except ValueError:
            w = float("nan")
        if not 0 < w <= 4:
            raise GraphError(f"model {full!r}: width {width!r} must be a number in (0, 4], as in mobilenet_v2@0.5")
    return base, w


def build(full):
    """The graph of a zoo model, "NAME" or "NAME@WIDTH"."""
    base, w = parse_name(full)
    return ZOO[base](w)


def apply_layers(graph, layers):
    """Applies a prune.json's "layers" (name -> in/out channels, groups,
    shortcut map) to a base graph, as amc's prune.Rebuild does."""
    by_name = {n["name"]: n for n in graph["nodes"]}
    for name in sorted(layers):
        spec, node = layers[name], by_name.get(name)
        if node is None:
            raise GraphError(f"pruned spec names layer {name!r}, which the base model does not have")
        if not isinstance(spec, dict) or not all(isinstance(spec.get(k, 0), int) and spec.get(k, 0) >= 0
                                                 for k in ("in_channels", "out_channels", "groups")):
            raise GraphError(f"pruned spec: layer {name!r}: {spec!r} is not a layer spec (in_channels, out_channels, groups, map)")
        m = spec.get("map")
        if m is not None and not (isinstance(m, list) and all(isinstance(v, int) and v >= -1 for v in m)):
            raise GraphError(f"pruned spec: layer {name!r}: map must be a list of input channels (-1: zero)")
        node["in_channels"], node["out_channels"] = spec.get("in_channels", 0), spec.get("out_channels", 0)
        for k in ("in_channels", "out_channels"):
            if not node[k]:
                del node[k]
        if spec.get("map") is not None:
            node["map"] = list(spec["map"])
        else:
            node.pop("map", None)
        if spec.get("groups", 0) > 0:
            node["groups"] = spec["groups"]
    return graph


def read_pruned(folder):
    """Reads folder/prune.json and returns (spec, graph)."""
    path = os.path.join(folder, "prune.json")
    with open(path) as f:
        spec = json.load(f)
    if spec.get("format") != "amc-pruned/1":
        raise GraphError(f"{path}: format {spec.get('format')!r}, want 'amc-pruned/1'")
    g = apply_layers(build(spec.get("base_model", "")), spec.get("layers") or {})
    check_shapes(g)
    return spec, g


def check_shapes(graph):
    """Checks channel counts and sizes along the graph as amc's Graph.Shapes
    does, so that a prune.json that does not describe a valid network is an
    error here, not a shape error inside PyTorch."""
    inp = graph["input"]
    shape = {0: (inp["c"], inp["h"], inp["w"])}
    for i, n in enumerate(graph["nodes"][1:], start=1):
        op, ins = n["op"], n.get("inputs", [])
        if not ins or any(not isinstance(j, int) or j >= i or j < 0 for j in ins):
            raise GraphError(f"node {i} ({n['name']}): bad inputs {ins}")
        c, h, w = shape[ins[0]]

        def bad(msg):
            return GraphError(f"node {i} ({n['name']}, {op}): {msg}")
        if op == "conv":
            g, k, st, pad = n.get("groups", 1), n.get("kernel", 0), n.get("stride", 1), n.get("padding", 0)
            oc = n.get("out_channels", 0)
            if n.get("in_channels") != c or g < 1 or c % g or oc % g or oc < 1:
                raise bad(f"{n.get('in_channels')}->{oc} channels in {g} groups, reading {c} channels")
            if k < 1 or st < 1 or pad < 0:
                raise bad(f"kernel {k}, stride {st}, padding {pad}")
            c, h, w = oc, (h + 2 * pad - k) // st + 1, (w + 2 * pad - k) // st + 1
        elif op == "batchnorm":
            if n.get("out_channels") != c:
                raise bad(f"{n.get('out_channels')} channels, reading {c}")
        elif op == "linear":
            if (h, w) != (1, 1) or n.get("in_channels") != c:
                raise bad(f"expects {n.get('in_channels')} features, gets {c}x{h}x{w}")
            c = n["out_channels"]
        elif op == "shortcutA":
            m, oc, st = n.get("map"), n.get("out_channels", 0), n.get("stride", 1)
            if m is not None and (len(m) != oc or any(v >= c for v in m)):
                raise bad(f"channel map does not fit {c} input channels")
            if m is None and (oc < c or (oc - c) % 2):
                raise bad(f"cannot pad {c} channels to {oc}")
            c, h, w = oc, (h + st - 1) // st, (w + st - 1) // st
        elif op in ("maxpool", "avgpool"):
            k, st, p = n.get("kernel", 0), n.get("stride", 0), n.get("padding", 0)
            if p < 0 or (p > 0 and (op == "avgpool" or 2 * p > k)):
                raise bad(f"padding {p}: only max pooling pads, by at most half its kernel {k}")
            if k < 1 or st < 1 or h + 2 * p < k or w + 2 * p < k:
                raise bad(f"kernel {k} stride {st} padding {p} on {h}x{w}")
            h, w = (h + 2 * p - k) // st + 1, (w + 2 * p - k) // st + 1
        elif op == "globalavgpool":
            h, w = 1, 1
        elif op == "flatten":
            c, h, w = c * h * w, 1, 1
        elif op == "add":
            if shape[ins[1]] != (c, h, w):
                raise bad(f"adding {(c, h, w)} and {shape[ins[1]]}")
        elif op not in ("relu", "relu6"):
            raise bad("unknown op")
        if h < 1 or w < 1:
            raise bad("input too small")
        shape[i] = (c, h, w)
    return shape


def param_specs(graph):
    """(name, shape, learnable) of every tensor the graph needs, as amc's ParamSpecs lists them."""
    out = []
    for n in graph["nodes"]:
        op, name = n["op"], n["name"]
        if op == "conv":
            out.append((name + ".weight", [n["out_channels"], n["in_channels"] // n.get("groups", 1), n["kernel"], n["kernel"]], True))
        elif op == "linear":
            out.append((name + ".weight", [n["out_channels"], n["in_channels"]], True))
        elif op == "batchnorm":
            c = [n["out_channels"]]
            out += [(name + ".weight", c, True), (name + ".bias", c, True),
                    (name + ".running_mean", c, False), (name + ".running_var", c, False)]
        if op in ("conv", "linear") and n.get("bias"):
            out.append((name + ".bias", [n["out_channels"]], True))
    return out

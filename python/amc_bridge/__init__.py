"""amc's PyTorch bridge: amc's networks as torch.nn.Modules with amc's tensor
names, amc's safetensors, amc's data splits, and amc's training recipe, on
CUDA when present (docs/bridge.md)."""
from .graph import GraphError, build, read_pruned
from .net import GraphNet, load_model, load_pruned
from .train import Recipe, evaluate, fit

__all__ = ["GraphError", "GraphNet", "Recipe", "build", "evaluate", "fit", "load_model", "load_pruned", "read_pruned"]

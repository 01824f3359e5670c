"""Helpers shared by the PyTorch reference scripts (scripts/*_reference.py).

Every tensor is stored as {"shape": [...], "data": [flat row-major floats]} in float64; a
"case" holds inputs, scalar params, the forward output, a random `upstream` gradient
shaped like the output, and d(sum(output * upstream)) / d(input) for each input.
"""

import json
import math

import torch

DTYPE = torch.float64


def randn(*shape, scale=1.0, shift=0.0):
    return torch.randn(*shape, dtype=DTYPE) * scale + shift


def encode(t):
    """Tensor -> {"shape", "data"}; 0-d tensors give shape [] and one value."""
    t = t.detach().to(DTYPE).contiguous()
    data = [float(v) for v in t.reshape(-1).tolist()]
    if not all(math.isfinite(v) for v in data):
        raise ValueError("non-finite value in reference data")
    return {"shape": list(t.shape), "data": data}


def make_case(fn, inputs, params=None, no_grad=()):
    """Run fn(**inputs) forward and backward with a random upstream gradient.

    Inputs named in `no_grad` (class ids, weights) are stored but get no gradient.
    """
    leaves = {}
    for name, value in inputs.items():
        if name in no_grad:
            leaves[name] = value
        else:
            leaves[name] = value.detach().clone().requires_grad_(True)
    out = fn(**leaves)
    upstream = torch.randn(out.shape, dtype=DTYPE)
    out.backward(upstream)
    case = {
        "inputs": {name: encode(v) for name, v in leaves.items()},
        "params": dict(params or {}),
        "output": encode(out),
        "upstream": encode(upstream),
        "grads": {},
    }
    for name, v in leaves.items():
        if name in no_grad:
            continue
        if v.grad is None:
            raise RuntimeError(f"input {name!r} received no gradient")
        case["grads"][name] = encode(v.grad)
    return case


def dumps(obj, indent=0, expand_object_lists=False):
    """JSON with nested objects indented but number lists kept on one line (and, with
    `expand_object_lists`, lists of objects one object per line)."""
    pad = "  " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [
            f"{pad}{json.dumps(k)}: {dumps(v, indent + 1, expand_object_lists)}"
            for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if expand_object_lists and isinstance(obj, list) and obj and isinstance(obj[0], dict):
        items = [f"{pad}{dumps(v, indent + 1, True)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(obj, allow_nan=False, separators=(", ", ": "))

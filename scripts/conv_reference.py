#!/usr/bin/env python3
"""Generate float64 reference values for zhixing-nn's convolutional layers with PyTorch.

Writes crates/nn/tests/reference/conv_reference.json, which crates/nn/tests/conv_layers.rs
loads. Every tensor is {"shape": [...], "data": [flat row-major floats]}. Each entry of
"cases" maps names to tensors (and "params" to scalars): the module's parameters as set
before the forward pass (PyTorch state-dict names), the inputs, the outputs, the upstream
gradient `upstream` fed to backward, and the gradients `grad.<name>` of d(sum(output *
upstream)) with respect to the input (`grad.input`) and every parameter.

Usage (from the repository root):
    benches/reference/.venv/bin/python scripts/conv_reference.py [--out PATH]
"""

import argparse
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_common import DTYPE, dumps, encode, randn  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(
    REPO_ROOT, "crates", "nn", "tests", "reference", "conv_reference.json"
)

def randomize(module):
    """Fresh random values for every parameter (BatchNorm weights kept positive)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("weight") and p.dim() == 1:
                p.copy_(torch.rand(p.shape, dtype=DTYPE) + 0.5)
            else:
                p.copy_(randn(*p.shape, scale=0.3))


def module_case(module, x, params=None):
    """Forward and backward of `module` on x (training mode as set by the caller)."""
    case = {"params": dict(params or {})}
    for name, p in module.named_parameters():
        case[name] = encode(p)
    x = x.detach().clone().requires_grad_(True)
    y = module(x)
    upstream = torch.randn(y.shape, dtype=DTYPE)
    y.backward(upstream)
    case["input"] = encode(x)
    case["output"] = encode(y)
    case["upstream"] = encode(upstream)
    case["grad.input"] = encode(x.grad)
    for name, p in module.named_parameters():
        case[f"grad.{name}"] = encode(p.grad)
    for name, b in module.named_buffers():
        case[f"after.{name}"] = encode(b)
    return case


def conv_case(c_in, c_out, k, shape, **kw):
    conv = nn.Conv2d(c_in, c_out, k, dtype=DTYPE, **kw)
    randomize(conv)
    params = {key: (list(v) if isinstance(v, tuple) else v) for key, v in kw.items()}
    return module_case(conv, randn(*shape), params)


def batch_norm_case():
    """Two training steps (gradients of the second), running stats, eval forward."""
    bn = nn.BatchNorm2d(3, dtype=DTYPE)
    randomize(bn)
    x1, x2, x3 = randn(4, 3, 5, 5, scale=2.0, shift=0.5), randn(4, 3, 5, 5, scale=1.5), randn(2, 3, 5, 5)
    t = {"params": {}, "weight": encode(bn.weight), "bias": encode(bn.bias)}
    bn.train()
    y1 = bn(x1)
    x2 = x2.requires_grad_(True)
    y2 = bn(x2)
    upstream = torch.randn(y2.shape, dtype=DTYPE)
    y2.backward(upstream)
    t.update({
        "x1": encode(x1), "x2": encode(x2), "x3": encode(x3), "y1": encode(y1),
        "y2": encode(y2), "upstream": encode(upstream), "grad.input": encode(x2.grad),
        "grad.weight": encode(bn.weight.grad), "grad.bias": encode(bn.bias.grad),
        "running_mean": encode(bn.running_mean), "running_var": encode(bn.running_var),
        "num_batches_tracked": encode(bn.num_batches_tracked),
    })
    bn.eval()
    x3 = x3.requires_grad_(True)
    y3 = bn(x3)
    up3 = torch.randn(y3.shape, dtype=DTYPE)
    y3.backward(up3)
    t.update({"y_eval": encode(y3), "upstream_eval": encode(up3), "grad_eval.input": encode(x3.grad)})
    return t


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock (same parameter names)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False, dtype=DTYPE)
        self.bn1 = nn.BatchNorm2d(c_out, dtype=DTYPE)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False, dtype=DTYPE)
        self.bn2 = nn.BatchNorm2d(c_out, dtype=DTYPE)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False, dtype=DTYPE),
                nn.BatchNorm2d(c_out, dtype=DTYPE),
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


def block_case(c_in, c_out, stride, shape):
    block = BasicBlock(c_in, c_out, stride)
    randomize(block)
    block.train()
    params = {"c_in": c_in, "c_out": c_out, "stride": stride}
    return module_case(block, randn(*shape), params)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output JSON path")
    args = parser.parse_args()

    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    cases = {
        "conv2d_basic": conv_case(3, 4, 3, (2, 3, 6, 6), padding=1),
        "conv2d_groups_dilation": conv_case(
            4, 6, 3, (2, 4, 9, 8), stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2
        ),
        "conv2d_depthwise": conv_case(4, 4, 3, (1, 4, 5, 5), stride=2, padding=1, groups=4),
        "batch_norm2d": batch_norm_case(),
        "basic_block_identity": block_case(4, 4, 1, (2, 4, 6, 6)),
        "basic_block_projection": block_case(4, 6, 2, (2, 4, 7, 7)),
    }
    doc = {
        "generator": "scripts/conv_reference.py",
        "torch_version": torch.__version__,
        "dtype": "float64",
        "cases": cases,
    }
    text = dumps(doc) + "\n"
    json.loads(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {len(cases)} cases to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

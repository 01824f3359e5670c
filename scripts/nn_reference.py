#!/usr/bin/env python3
"""Generate float64 reference values for zhixing-nn's losses, layers and init with PyTorch.

Writes crates/nn/tests/reference/nn_reference.json, which the nn crate's tests load.

Layout (as scripts/torch_reference.py): every tensor is {"shape": [...], "data": [flat
row-major floats]} (integer class ids are stored as floats). A "cases" entry holds its
inputs, scalar params, the forward output, a random `upstream` gradient shaped like the
output, and d(sum(output * upstream)) / d(input) for every differentiable input. The
"layers" entries are free-form maps of named tensors (see each builder); "gains" holds
torch.nn.init.calculate_gain and "fans" torch.nn.init._calculate_fan_in_and_fan_out.

Usage (from the repository root):
    benches/reference/.venv/bin/python scripts/nn_reference.py [--out PATH]
"""

import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_common import DTYPE, dumps, encode, make_case, randn  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(
    REPO_ROOT, "crates", "nn", "tests", "reference", "nn_reference.json"
)

def rand(*shape, low=0.0, high=1.0):
    return torch.rand(*shape, dtype=DTYPE) * (high - low) + low


def ids(high, *shape):
    return torch.randint(0, high, shape)


def pair_case(fn, shape=(4, 3), scale=1.0, **params):
    """A loss of (input, target), both differentiable."""
    inputs = {"input": randn(*shape, scale=scale), "target": randn(*shape, scale=scale)}
    return make_case(lambda input, target: fn(input, target, **params), inputs, params)


def ce_case(logits, target, no_grad=("target",), **params):
    """F.cross_entropy with the given options; "weight" is stored as an input."""
    inputs = {"input": logits, "target": target}
    opts = dict(params)
    if "weight" in opts:
        inputs["weight"] = opts.pop("weight")
        no_grad = no_grad + ("weight",)

    def fn(input, target, weight=None):
        return F.cross_entropy(input, target, weight=weight, **opts)

    return make_case(fn, inputs, opts, no_grad)


def loss_cases():
    c = {}
    c["mse_mean"] = pair_case(F.mse_loss)
    c["mse_sum"] = pair_case(F.mse_loss, reduction="sum")
    c["l1_mean"] = pair_case(F.l1_loss)
    c["l1_none"] = pair_case(F.l1_loss, reduction="none")
    # Spread wide enough that both Huber regimes occur.
    c["huber_d1"] = pair_case(F.huber_loss, (5, 4), 1.5, delta=1.0)
    c["huber_d0_5_sum"] = pair_case(F.huber_loss, (5, 4), 1.5, delta=0.5, reduction="sum")
    c["smooth_l1_b0_5"] = pair_case(F.smooth_l1_loss, (5, 4), 1.5, beta=0.5)

    n, k = 6, 5
    target = ids(k, n)
    c["ce_indices"] = ce_case(randn(n, k, scale=2.0), target)
    c["ce_indices_sum"] = ce_case(randn(n, k, scale=2.0), target, reduction="sum")
    c["ce_indices_none"] = ce_case(randn(n, k, scale=2.0), target, reduction="none")
    probs = torch.softmax(randn(n, k, scale=2.0), dim=1)
    c["ce_probs"] = ce_case(randn(n, k, scale=2.0), probs)
    c["ce_probs_smoothing_weights"] = ce_case(
        randn(n, k), probs, label_smoothing=0.1, weight=rand(k, low=0.5, high=2.0)
    )
    c["ce_smoothing"] = ce_case(randn(n, k, scale=2.0), target, label_smoothing=0.1)
    ignored = target.clone()
    ignored[[1, 4]] = -100
    c["ce_ignore_default"] = ce_case(randn(n, k, scale=2.0), ignored)
    c["ce_ignore_2"] = ce_case(randn(n, k, scale=2.0), target, ignore_index=2)
    weight = rand(k, low=0.5, high=2.0)
    c["ce_weights"] = ce_case(randn(n, k, scale=2.0), target, weight=weight)
    c["ce_weights_none"] = ce_case(randn(n, k), target, weight=weight, reduction="none")
    c["ce_weights_smoothing_ignore"] = ce_case(
        randn(n, k, scale=2.0), ignored, weight=weight, label_smoothing=0.1
    )
    c["ce_3d"] = ce_case(randn(2, k, 3, scale=2.0), ids(k, 2, 3))
    c["ce_3d_none"] = ce_case(randn(2, k, 3), ids(k, 2, 3), reduction="none")

    logp = torch.log_softmax(randn(n, k, scale=2.0), dim=1)
    c["nll"] = make_case(
        lambda input, target: F.nll_loss(input, target), {"input": logp, "target": target},
        no_grad=("target",),
    )
    c["nll_weights_ignore"] = make_case(
        lambda input, target, weight: F.nll_loss(input, target, weight=weight, ignore_index=3),
        {"input": logp, "target": target, "weight": weight},
        {"ignore_index": 3},
        no_grad=("target", "weight"),
    )

    bce_inputs = lambda: {"input": rand(4, 3, low=0.05, high=0.95), "target": rand(4, 3)}
    c["bce"] = make_case(F.binary_cross_entropy, bce_inputs())
    c["bce_weight_sum"] = make_case(
        lambda input, target, weight: F.binary_cross_entropy(
            input, target, weight=weight, reduction="sum"
        ),
        dict(bce_inputs(), weight=rand(3, low=0.5, high=2.0)),
        {"reduction": "sum"},
        no_grad=("weight",),
    )
    logit_inputs = lambda: {"input": randn(4, 3, scale=3.0), "target": rand(4, 3)}
    c["bce_logits"] = make_case(F.binary_cross_entropy_with_logits, logit_inputs())
    c["bce_logits_pos_weight"] = make_case(
        lambda input, target, pos_weight: F.binary_cross_entropy_with_logits(
            input, target, pos_weight=pos_weight
        ),
        dict(logit_inputs(), pos_weight=rand(3, low=0.5, high=3.0)),
        no_grad=("pos_weight",),
    )
    return c


def layer_cases():
    c = {}
    c["linear_3d"] = make_case(
        F.linear,
        {"input": randn(2, 3, 4), "weight": randn(5, 4, scale=0.5), "bias": randn(5)},
    )
    c["linear_no_bias"] = make_case(
        lambda input, weight: F.linear(input, weight),
        {"input": randn(3, 4), "weight": randn(2, 4, scale=0.5)},
    )
    c["layer_norm_affine"] = make_case(
        lambda input, weight, bias: F.layer_norm(input, [6], weight, bias, 1e-5),
        {"input": randn(2, 3, 6, scale=2.0, shift=1.0), "weight": randn(6), "bias": randn(6)},
    )
    return c


def batch_norm_case(shape):
    """Two training steps, gradients of the second, then an eval-mode forward."""
    ch = shape[1]
    bn = nn.BatchNorm1d(ch, dtype=DTYPE)
    with torch.no_grad():
        bn.weight.copy_(rand(ch, low=0.5, high=1.5))
        bn.bias.copy_(randn(ch, scale=0.3))
    x1, x2, x3 = randn(*shape, scale=2.0, shift=0.5), randn(*shape, scale=1.5), randn(*shape)
    t = {"weight": encode(bn.weight), "bias": encode(bn.bias)}
    bn.train()
    y1 = bn(x1)
    x2 = x2.requires_grad_(True)
    y2 = bn(x2)
    upstream = torch.randn(y2.shape, dtype=DTYPE)
    y2.backward(upstream)
    t.update(
        x1=encode(x1), x2=encode(x2), x3=encode(x3), y1=encode(y1), y2=encode(y2),
        upstream=encode(upstream), grad_x2=encode(x2.grad),
        grad_weight=encode(bn.weight.grad), grad_bias=encode(bn.bias.grad),
        running_mean=encode(bn.running_mean), running_var=encode(bn.running_var),
        num_batches_tracked=encode(bn.num_batches_tracked),
    )
    bn.eval()
    with torch.no_grad():
        t["y_eval"] = encode(bn(x3))
    return t


def gains():
    init = torch.nn.init
    return {
        "linear": init.calculate_gain("linear"),
        "conv2d": init.calculate_gain("conv2d"),
        "sigmoid": init.calculate_gain("sigmoid"),
        "tanh": init.calculate_gain("tanh"),
        "relu": init.calculate_gain("relu"),
        "leaky_relu": init.calculate_gain("leaky_relu"),
        "leaky_relu_0.2": init.calculate_gain("leaky_relu", 0.2),
        "leaky_relu_sqrt5": init.calculate_gain("leaky_relu", math.sqrt(5)),
        "selu": init.calculate_gain("selu"),
    }


def fans():
    shapes = [[3, 5], [16, 3, 3, 3], [8, 4, 5], [2, 3, 2, 2, 2]]
    out = []
    for s in shapes:
        fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*s))
        out.append({"shape": s, "fan_in": fan_in, "fan_out": fan_out})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output JSON path")
    args = parser.parse_args()

    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    cases = loss_cases()
    cases.update(layer_cases())
    doc = {
        "generator": "scripts/nn_reference.py",
        "torch_version": torch.__version__,
        "dtype": "float64",
        "cases": cases,
        "layers": {
            "batch_norm_2d": batch_norm_case([6, 4]),
            "batch_norm_3d": batch_norm_case([3, 4, 5]),
        },
        "gains": gains(),
        "fans": fans(),
    }
    text = dumps(doc) + "\n"
    json.loads(text)  # sanity check: the custom formatter emits valid JSON

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {len(cases)} cases to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

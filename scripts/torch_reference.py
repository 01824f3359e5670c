#!/usr/bin/env python3
"""Generate float64 reference values (forward + backward) with PyTorch.

Writes crates/tensor/tests/reference/torch_reference.json, which the tensor
crate's tests load to check forward outputs and autograd gradients.

Each case stores its inputs, scalar params, the forward output, a random
`upstream` gradient of the same shape as the output, and the gradients
d(sum(output * upstream)) / d(input) for every differentiable input.
All tensors are stored as {"shape": [...], "data": [flat row-major floats]}.

Usage (from the repository root):
    benches/reference/.venv/bin/python scripts/torch_reference.py [--out PATH]
"""

import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_common import DTYPE, dumps, encode, make_case, randn  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(
    REPO_ROOT, "crates", "tensor", "tests", "reference", "torch_reference.json"
)

def build_cases():
    torch.manual_seed(0)
    cases = {}

    # ---- matmul -------------------------------------------------------------
    cases["matmul_2d"] = make_case(
        lambda a, b: a @ b, {"a": randn(3, 4), "b": randn(4, 5)}
    )
    cases["matmul_batched_broadcast"] = make_case(
        lambda a, b: torch.matmul(a, b), {"a": randn(2, 3, 4, 5), "b": randn(3, 5, 2)}
    )
    cases["matmul_vec"] = make_case(
        lambda a, b: torch.matmul(a, b), {"a": randn(4, 5), "b": randn(5)}
    )

    # ---- conv2d -------------------------------------------------------------
    def conv_case(x_shape, w_shape, stride, padding, bias):
        inputs = {"x": randn(*x_shape), "w": randn(*w_shape, scale=0.5)}
        if bias:
            inputs["bias"] = randn(w_shape[0], scale=0.5)
            fn = lambda x, w, bias: F.conv2d(x, w, bias, stride=stride, padding=padding)
        else:
            fn = lambda x, w: F.conv2d(x, w, None, stride=stride, padding=padding)
        params = {"stride": stride, "padding": padding, "bias": bias}
        return make_case(fn, inputs, params)

    cases["conv2d_s1_p1"] = conv_case([2, 3, 6, 6], [4, 3, 3, 3], 1, 1, True)
    cases["conv2d_s2_p0"] = conv_case([2, 2, 7, 7], [3, 2, 3, 3], 2, 0, True)
    cases["conv2d_s2_p1_k5"] = conv_case([1, 3, 9, 8], [2, 3, 5, 5], 2, 2, False)

    # ---- pooling ------------------------------------------------------------
    def max_pool_case(x_shape, k, s, p):
        params = {"kernel_size": k, "stride": s, "padding": p}
        fn = lambda x: F.max_pool2d(x, k, stride=s, padding=p)
        return make_case(fn, {"x": randn(*x_shape)}, params)

    def avg_pool_case(x_shape, k, s, p):
        params = {"kernel_size": k, "stride": s, "padding": p, "count_include_pad": True}
        fn = lambda x: F.avg_pool2d(x, k, stride=s, padding=p, count_include_pad=True)
        return make_case(fn, {"x": randn(*x_shape)}, params)

    cases["max_pool2d_k2"] = max_pool_case([2, 3, 6, 6], 2, 2, 0)
    cases["max_pool2d_k3_s2_p1"] = max_pool_case([1, 2, 7, 7], 3, 2, 1)
    cases["avg_pool2d_k2"] = avg_pool_case([2, 3, 6, 6], 2, 2, 0)
    cases["avg_pool2d_k3_s2_p1"] = avg_pool_case([1, 2, 7, 7], 3, 2, 1)

    # ---- softmax / log_softmax ---------------------------------------------
    # Row 1 is shifted by +80 so a naive exp() would lose precision / overflow
    # in float32; a stable implementation must subtract the row max.
    x = randn(3, 5, scale=2.0)
    x[1] += 80.0
    cases["softmax_last"] = make_case(
        lambda x: torch.softmax(x, dim=-1), {"x": x}, {"dim": -1}
    )
    cases["softmax_dim1"] = make_case(
        lambda x: torch.softmax(x, dim=1), {"x": randn(2, 3, 4, scale=2.0)}, {"dim": 1}
    )
    x = randn(3, 5, scale=2.0)
    x[2] += 80.0
    cases["log_softmax_last"] = make_case(
        lambda x: torch.log_softmax(x, dim=-1), {"x": x}, {"dim": -1}
    )
    cases["log_softmax_dim0"] = make_case(
        lambda x: torch.log_softmax(x, dim=0), {"x": randn(4, 3, scale=2.0)}, {"dim": 0}
    )

    # ---- layer norm ---------------------------------------------------------
    eps = 1e-5
    cases["layer_norm"] = make_case(
        lambda x, weight, bias: F.layer_norm(x, (8,), weight, bias, eps),
        {
            "x": randn(4, 8, scale=2.0, shift=0.5),
            "weight": randn(8, scale=0.5, shift=1.0),
            "bias": randn(8, scale=0.5),
        },
        {"eps": eps, "normalized_shape": [8]},
    )

    # ---- cross entropy (class indices, mean reduction) ----------------------
    # Targets are stored as floats in "inputs" but receive no gradient.
    logits = randn(5, 4, scale=2.0)
    target = torch.randint(0, 4, (5,))
    cases["cross_entropy"] = make_case(
        lambda logits, target: F.cross_entropy(logits, target.long(), reduction="mean"),
        {"logits": logits, "target": target.to(DTYPE)},
        {"reduction": "mean", "num_classes": 4},
        no_grad=("target",),
    )

    # ---- gelu ---------------------------------------------------------------
    for name, approx in (("gelu_exact", "none"), ("gelu_tanh", "tanh")):
        x = torch.linspace(-4.0, 4.0, 10, dtype=DTYPE) + randn(10, scale=0.1)
        cases[name] = make_case(
            lambda x, approx=approx: F.gelu(x, approximate=approx),
            {"x": x},
            {"approximate": approx},
        )

    # ---- small MLP: tanh(relu(x @ w1 + b1) @ w2 + b2) -----------------------
    cases["mlp_composite"] = make_case(
        lambda x, w1, b1, w2, b2: torch.tanh(torch.relu(x @ w1 + b1) @ w2 + b2),
        {
            "x": randn(4, 3),
            "w1": randn(3, 5, scale=0.7),
            "b1": randn(5, scale=0.3),
            "w2": randn(5, 2, scale=0.7),
            "b2": randn(2, scale=0.3),
        },
    )

    # ---- variance / standard deviation (unbiased, N - 1) --------------------
    cases["var_dim1"] = make_case(
        lambda x: torch.var(x, dim=1, correction=1),
        {"x": randn(3, 4, scale=1.5)},
        {"dim": 1, "unbiased": True},
    )
    cases["std_all"] = make_case(
        lambda x: torch.std(x, correction=1),
        {"x": randn(3, 4, scale=1.5)},
        {"unbiased": True},
    )

    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output JSON path")
    args = parser.parse_args()

    torch.use_deterministic_algorithms(True)
    doc = {
        "generator": "scripts/torch_reference.py",
        "torch_version": torch.__version__,
        "dtype": "float64",
        "cases": build_cases(),
    }
    text = dumps(doc) + "\n"
    json.loads(text)  # sanity check: the custom formatter emits valid JSON

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {len(doc['cases'])} cases to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

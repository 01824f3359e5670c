#!/usr/bin/env python3
"""Generate float64 reference values for optimizers, LR schedules and clipping.

Writes crates/nn/tests/reference/optim_reference.json, which the zhixing-nn tests
(tests/optim.rs, tests/schedule.rs) load. Nothing here is needed to run the tests.

* "problem": a fixed least-squares problem, loss = sum((x @ w + b - y)^2), with
  w [3, 4] and b [4] as parameters and their starting values.
* "optim": per case, the torch.optim class and its settings, and w and b after each of
  5 steps. `skip_b` lists the steps (0-based) on which b is left out of the loss, so it
  gets no gradient and the optimizer must skip it (per-parameter step counts).
* "schedules": learning rates read before each scheduler.step() for steps 0..N.
* "clip": gradients, the norm torch.nn.utils.clip_grad_norm_ returns and the
  gradients after clipping; and clip_grad_value_.

Tensors are {"shape": [...], "data": [flat row-major floats]}.

Usage (from the repository root):
    benches/reference/.venv/bin/python scripts/optim_reference.py [--out PATH]
"""

import argparse
import json
import math
import os
import sys

import torch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(
    REPO_ROOT, "crates", "nn", "tests", "reference", "optim_reference.json"
)
DTYPE = torch.float64
STEPS = 5


def encode(t):
    t = t.detach().to(DTYPE).contiguous()
    data = [float(v) for v in t.reshape(-1).tolist()]
    if not all(math.isfinite(v) for v in data):
        raise ValueError("non-finite value in reference data")
    return {"shape": list(t.shape), "data": data}


def make_problem():
    torch.manual_seed(0)
    return {
        "x": torch.randn(5, 3, dtype=DTYPE),
        "y": torch.randn(5, 4, dtype=DTYPE),
        "w": torch.randn(3, 4, dtype=DTYPE) * 0.5,
        "b": torch.randn(4, dtype=DTYPE) * 0.1,
    }


# (case name, torch.optim class name, keyword settings, steps on which b has no grad)
OPTIM_CASES = [
    ("sgd", "SGD", {"lr": 0.01}, []),
    ("sgd_momentum", "SGD", {"lr": 0.01, "momentum": 0.9}, []),
    ("sgd_dampening", "SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3}, []),
    (
        "sgd_nesterov_wd",
        "SGD",
        {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
        [],
    ),
    ("rmsprop", "RMSprop", {"lr": 0.01}, []),
    (
        "rmsprop_centered_momentum",
        "RMSprop",
        {"lr": 0.01, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.05},
        [],
    ),
    ("adagrad", "Adagrad", {"lr": 0.1}, []),
    (
        "adagrad_decay",
        "Adagrad",
        {"lr": 0.1, "lr_decay": 0.1, "weight_decay": 0.05, "initial_accumulator_value": 0.2},
        [],
    ),
    ("adam", "Adam", {"lr": 0.01}, []),
    (
        "adam_amsgrad_wd",
        "Adam",
        {"lr": 0.01, "betas": [0.8, 0.95], "amsgrad": True, "weight_decay": 0.1},
        [],
    ),
    ("adam_skip", "Adam", {"lr": 0.01}, [1, 3]),
    ("adamw", "AdamW", {"lr": 0.01, "weight_decay": 0.1}, []),
    ("adamw_amsgrad", "AdamW", {"lr": 0.01, "amsgrad": True}, [2]),
]


def run_optim(problem, cls_name, settings, skip_b):
    w = problem["w"].clone().requires_grad_(True)
    b = problem["b"].clone().requires_grad_(True)
    kwargs = dict(settings)
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    opt = getattr(torch.optim, cls_name)([w, b], foreach=False, **kwargs)
    steps = []
    for step in range(STEPS):
        opt.zero_grad(set_to_none=True)
        pred = problem["x"] @ w
        if step not in skip_b:
            pred = pred + b
        loss = ((pred - problem["y"]) ** 2).sum()
        loss.backward()
        opt.step()
        steps.append({"w": encode(w), "b": encode(b)})
    return steps


def optim_cases(problem):
    out = {}
    for name, cls_name, settings, skip_b in OPTIM_CASES:
        out[name] = {
            "optimizer": cls_name,
            "settings": settings,
            "skip_b": skip_b,
            "steps": run_optim(problem, cls_name, settings, skip_b),
        }
    return out


# (case name, scheduler class name, keyword settings, base lr, number of steps)
SCHEDULE_CASES = [
    ("step", "StepLR", {"step_size": 3, "gamma": 0.5}, 0.1, 12),
    ("exponential", "ExponentialLR", {"gamma": 0.9}, 0.1, 12),
    ("cosine", "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.001}, 0.1, 11),
    (
        "linear",
        "LinearLR",
        {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 8},
        0.1,
        12,
    ),
]


def schedule_cases():
    out = {}
    for name, cls_name, settings, base_lr, n in SCHEDULE_CASES:
        p = torch.zeros(1, dtype=DTYPE, requires_grad=True)
        opt = torch.optim.SGD([p], lr=base_lr)
        sched = getattr(torch.optim.lr_scheduler, cls_name)(opt, **settings)
        lrs = []
        for _ in range(n):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        out[name] = {
            "scheduler": cls_name,
            "settings": settings,
            "base_lr": base_lr,
            "lrs": lrs,
        }
    return out


def clip_cases():
    torch.manual_seed(1)
    shapes = [(3, 4), (4,), (2, 5)]
    grads = [torch.randn(*s, dtype=DTYPE) for s in shapes]
    out = {}
    norm_cases = [
        ("norm2", 1.0, 2.0),
        ("norm2_no_clip", 100.0, 2.0),
        ("norm_inf", 0.5, math.inf),
        ("norm1", 2.0, 1.0),
        ("norm3", 1.0, 3.0),
    ]
    for name, max_norm, norm_type in norm_cases:
        params = [torch.zeros_like(g, requires_grad=True) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type, foreach=False)
        out[name] = {
            "max_norm": max_norm,
            "norm_type": "inf" if math.isinf(norm_type) else norm_type,
            "grads": [encode(g) for g in grads],
            "total_norm": float(total),
            "clipped": [encode(p.grad) for p in params],
        }
    params = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_value_(params, 0.5, foreach=False)
    out["value"] = {
        "clip_value": 0.5,
        "grads": [encode(g) for g in grads],
        "clipped": [encode(p.grad) for p in params],
    }
    return out


def dumps(obj, indent=0):
    """JSON with nested objects indented but lists kept on one line."""
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        pad = "  " * (indent + 1)
        items = [
            f"{pad}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    if isinstance(obj, list) and obj and isinstance(obj[0], dict):
        pad = "  " * (indent + 1)
        items = [f"{pad}{dumps(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
    return json.dumps(obj, allow_nan=False, separators=(", ", ": "))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="output JSON path")
    args = parser.parse_args()

    torch.set_default_dtype(DTYPE)
    torch.use_deterministic_algorithms(True)
    problem = make_problem()
    doc = {
        "generator": "scripts/optim_reference.py",
        "torch_version": torch.__version__,
        "dtype": "float64",
        "problem": {k: encode(v) for k, v in problem.items()},
        "optim": optim_cases(problem),
        "schedules": schedule_cases(),
        "clip": clip_cases(),
    }
    text = dumps(doc) + "\n"
    json.loads(text)  # sanity check: the custom formatter emits valid JSON

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

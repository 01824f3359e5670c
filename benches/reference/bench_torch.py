#!/usr/bin/env python3
"""CPU reference benchmarks (numpy and torch) for comparison with zhixing.

Usage:
    python bench_torch.py matmul      --threads 1 --runs 5
    python bench_torch.py elementwise --threads 1 --runs 5
    python bench_torch.py cnn         --threads 2 --runs 5
    python bench_torch.py rnn         --threads 2 --runs 5

Prints one JSON object per measurement on stdout, e.g.
    {"bench": "sgemm", "impl": "numpy", "config": {"n": 1024, "threads": 1},
     "unit": "GFLOP/s", "median": ..., "min": ..., "max": ..., "runs": 5}
"min"/"max" are the worst/best throughput over the timed runs. Progress and
notes go to stderr.
"""

import argparse
import os
import sys

# Thread counts must be fixed before numpy/torch (and their BLAS/OpenMP
# runtimes) are imported, so parse the CLI and set the env vars first.
_parser = argparse.ArgumentParser(description="numpy/torch CPU reference benchmarks")
_parser.add_argument("suite", choices=["matmul", "elementwise", "mlp", "cnn", "rnn"])
_parser.add_argument("--threads", type=int, default=1, help="threads for numpy and torch")
_parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement")
_parser.add_argument("--impl", choices=["numpy", "torch", "both"], default="both")
_parser.add_argument(
    "--sizes", type=int, nargs="+", default=[256, 1024, 2048], help="sgemm sizes (square n)"
)
_parser.add_argument(
    "--min-run-ms", type=float, default=50.0,
    help="each timed run repeats the op until it takes at least this long",
)
ARGS = _parser.parse_args()

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = str(ARGS.threads)

import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(ARGS.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass  # already initialised; irrelevant for these single-op benchmarks


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def calibrate(fn, min_seconds):
    """Warm up fn and pick an inner iteration count so one run >= min_seconds."""
    for _ in range(2):
        fn()
    iters = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_seconds:
            return iters
        # Aim a bit above the target to avoid creeping up one step at a time.
        iters = max(iters * 2, int(iters * 1.2 * min_seconds / max(dt, 1e-9)) + 1)


def measure(fn, runs, work, unit, bench, impl, config):
    """Time `runs` runs of fn; throughput = work / seconds-per-call."""
    iters = calibrate(fn, ARGS.min_run_ms / 1e3)
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        per_call = (time.perf_counter() - t0) / iters
        rates.append(work / per_call)
    record = {
        "bench": bench,
        "impl": impl,
        "config": dict(config, threads=ARGS.threads),
        "unit": unit,
        "median": statistics.median(rates),
        "min": min(rates),
        "max": max(rates),
        "runs": runs,
    }
    print(json.dumps(record), flush=True)
    log(f"  {bench:8s} {impl:6s} {config} iters/run={iters}")


def impls():
    return ["numpy", "torch"] if ARGS.impl == "both" else [ARGS.impl]


def suite_matmul():
    rng = np.random.default_rng(0)
    for n in ARGS.sizes:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        work = 2.0 * n**3 / 1e9  # GFLOP per call
        for impl in impls():
            if impl == "numpy":
                fn = lambda: np.matmul(a, b, out=c)
            else:
                ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.empty(n, n)
                fn = lambda: torch.mm(ta, tb, out=tc)
            measure(fn, ARGS.runs, work, "GFLOP/s", "sgemm", impl, {"n": n})


def numpy_softmax(x, y, row_buf):
    """Stable softmax over the last axis of x into y, without temporaries."""
    np.max(x, axis=-1, keepdims=True, out=row_buf)
    np.subtract(x, row_buf, out=y)
    np.exp(y, out=y)
    np.sum(y, axis=-1, keepdims=True, out=row_buf)
    np.divide(y, row_buf, out=y)


def torch_softmax_fn(x, y):
    """torch.softmax writing into y if the `out=` overload exists."""
    try:
        torch.softmax(x, -1, out=y)
        return lambda: torch.softmax(x, -1, out=y)
    except (TypeError, RuntimeError):
        log("  note: torch.softmax(out=) unsupported, allocating the result")
        return lambda: torch.softmax(x, -1)


def suite_elementwise():
    n = 16 * 1024 * 1024
    rows, cols = 16384, 1024
    rng = np.random.default_rng(0)
    a = rng.standard_normal(n, dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    c = np.empty(n, dtype=np.float32)

    add_gb = 3 * 4 * n / 1e9  # read a, read b, write c
    for impl in impls():
        if impl == "numpy":
            fn = lambda: np.add(a, b, out=c)
        else:
            ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.empty(n)
            fn = lambda: torch.add(ta, tb, out=tc)
        measure(fn, ARGS.runs, add_gb, "GB/s", "add", impl, {"n": n})

    x = a.reshape(rows, cols)
    y = np.empty((rows, cols), dtype=np.float32)
    row_buf = np.empty((rows, 1), dtype=np.float32)
    softmax_gb = 2 * 4 * n / 1e9  # read x, write y (nominal)
    config = {"n": n, "rows": rows, "cols": cols}
    for impl in impls():
        if impl == "numpy":
            fn = lambda: numpy_softmax(x, y, row_buf)
        else:
            fn = torch_softmax_fn(torch.from_numpy(x), torch.empty(rows, cols))
        measure(fn, ARGS.runs, softmax_gb, "GB/s", "softmax", impl, config)


def suite_mlp():
    """Training steps/s of the 784-128-64-10 ReLU MLP: cross-entropy, SGD momentum 0.9."""
    batch, batches = 64, 50
    gen = torch.Generator().manual_seed(0)
    xs = torch.rand(batches, batch, 784, generator=gen)
    ys = torch.randint(0, 10, (batches, batch), generator=gen)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.ReLU(),
        torch.nn.Linear(128, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    state = {"i": 0}

    def step():
        i = state["i"] = (state["i"] + 1) % batches
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs[i]), ys[i])
        loss.backward()
        opt.step()

    config = {"batch": batch, "layers": "784-128-64-10"}
    measure(step, ARGS.runs, batch, "samples/s", "mlp_train", "torch", config)


def suite_cnn():
    """Training steps/s of the seed MNIST CNN, and conv2d forward+backward GFLOP/s."""
    batch, batches = 64, 20
    gen = torch.Generator().manual_seed(0)
    xs = torch.rand(batches, batch, 1, 28, 28, generator=gen)
    ys = torch.randint(0, 10, (batches, batch), generator=gen)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1568, 120), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(120, 84), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(84, 10),
    )
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    state = {"i": 0}

    def step():
        i = state["i"] = (state["i"] + 1) % batches
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs[i]), ys[i])
        loss.backward()
        opt.step()

    config = {"batch": batch, "model": "seed-cnn"}
    measure(step, ARGS.runs, batch, "samples/s", "cnn_train", "torch", config)

    # A ResNet 3x3 layer: 64 -> 64 channels, 56x56, padding 1, no bias, batch 8.
    n, c, hw = 8, 64, 56
    x = torch.randn(n, c, hw, hw, generator=gen).requires_grad_(True)
    w = (torch.randn(c, c, 3, 3, generator=gen) * 0.05).requires_grad_(True)
    dy = torch.randn(n, c, hw, hw, generator=gen)

    def conv():
        x.grad = None
        w.grad = None
        y = torch.nn.functional.conv2d(x, w, None, 1, 1)
        y.backward(dy)

    gflop = 3 * 2 * n * c * c * 9 * hw * hw / 1e9
    config = {"batch": n, "channels": c, "hw": hw, "kernel": 3}
    measure(conv, ARGS.runs, gflop, "GFLOP/s", "conv2d_fwd_bwd", "torch", config)


def suite_rnn():
    """Training samples/s of the MNIST RNN / LSTM / GRU (2 layers, hidden 128, 28 steps of
    28 pixels, last hidden state -> Linear -> 10): batch 64, cross-entropy, Adam lr 1e-3."""
    batch, batches, steps, inp, hidden, layers = 64, 20, 28, 28, 128, 2
    gen = torch.Generator().manual_seed(0)
    xs = torch.rand(batches, batch, steps, inp, generator=gen)
    ys = torch.randint(0, 10, (batches, batch), generator=gen)
    nn = torch.nn

    class Model(nn.Module):
        def __init__(self, cls):
            super().__init__()
            self.rnn = cls(inp, hidden, num_layers=layers, batch_first=True)
            self.fc = nn.Linear(hidden, 10)

        def forward(self, x):
            _, h = self.rnn(x)
            if isinstance(h, tuple):
                h = h[0]
            return self.fc(h[-1])

    loss_fn = nn.CrossEntropyLoss()
    for name, cls in [("rnn_train", nn.RNN), ("lstm_train", nn.LSTM), ("gru_train", nn.GRU)]:
        model = Model(cls)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        state = {"i": 0}

        def step():
            i = state["i"] = (state["i"] + 1) % batches
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xs[i]), ys[i])
            loss.backward()
            opt.step()

        config = {"batch": batch, "hidden": hidden, "layers": layers, "steps": steps, "input": inp}
        measure(step, ARGS.runs, batch, "samples/s", name, "torch", config)


def main():
    log(
        f"bench_torch: suite={ARGS.suite} threads={ARGS.threads} runs={ARGS.runs} "
        f"numpy={np.__version__} torch={torch.__version__} "
        f"torch_threads={torch.get_num_threads()}"
    )
    if ARGS.suite == "matmul":
        suite_matmul()
    elif ARGS.suite == "mlp":
        suite_mlp()
    elif ARGS.suite == "cnn":
        suite_cnn()
    elif ARGS.suite == "rnn":
        suite_rnn()
    else:
        suite_elementwise()


if __name__ == "__main__":
    main()

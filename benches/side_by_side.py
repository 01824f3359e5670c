#!/usr/bin/env python3
"""Side-by-side benchmark: zhixing vs NumPy and PyTorch (or scikit-learn for the classical
suite), interleaved on one machine.

Each round runs every implementation once per thread count (zhixing, then the
reference), so slow spells of a noisy machine hit all of them alike. The reported
figure per (bench, config, impl) is the median over rounds; ratios are zhixing's
median divided by the best reference median.

    bash benches/reference/setup.sh            # once: venv with numpy + torch
    cargo build --release
    python3 benches/side_by_side.py matmul --rounds 7 --threads 1,2
    python3 benches/side_by_side.py elementwise --rounds 7 --threads 1,2
    python3 benches/side_by_side.py classical --rounds 7 --threads 2 --python /path/to/venv/bin/python

Prints the per-round JSON lines to stderr and a Markdown table to stdout.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZHIXING = os.path.join(ROOT, "target", "release", "zhixing")
VENV_PY = os.path.join(ROOT, "benches", "reference", ".venv", "bin", "python")
TORCH_BENCH = os.path.join(ROOT, "benches", "reference", "bench_torch.py")
SKLEARN_BENCH = os.path.join(ROOT, "benches", "reference", "bench_sklearn.py")


def run_lines(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def key(record):
    config = {k: v for k, v in record["config"].items()}
    return record["bench"], json.dumps(config, sort_keys=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("suite", choices=["matmul", "elementwise", "mlp", "cnn", "rnn", "classical"])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--python", default=VENV_PY, help="the reference interpreter")
    ap.add_argument("--only", default="", help="classical: comma-separated estimator names")
    ap.add_argument("--skip-large", action="store_true", help="classical: skip the 100 000 × 50 set")
    args = ap.parse_args()
    for path, what in [(ZHIXING, "cargo build --release"), (args.python, "bash benches/reference/setup.sh")]:
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run `{what}` first")

    results = defaultdict(lambda: defaultdict(list))  # key -> impl -> [median per round]
    units = {}
    for r in range(args.rounds):
        for t in args.threads.split(","):
            zx = [ZHIXING, "bench", args.suite, "--threads", t, "--runs", "1", "--json"]
            if args.suite == "classical":
                ref = [args.python, SKLEARN_BENCH, "--threads", t, "--runs", "1", "--root", ROOT]
                extra = (["--only", args.only] if args.only else []) + (
                    ["--skip-large"] if args.skip_large else [])
                zx, ref = zx + extra, ref + extra
            else:
                ref = [args.python, TORCH_BENCH, args.suite, "--threads", t, "--runs", "1"]
            for cmd in (zx, ref):
                for rec in run_lines(cmd):
                    print(json.dumps(rec), file=sys.stderr)
                    results[key(rec)][rec["impl"]].append(rec["median"])
                    units[key(rec)] = rec["unit"]
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    names = sorted({i for impls in results.values() for i in impls if i != "zhixing"})
    print("| bench | config | unit | zhixing | " + " | ".join(names) + " | zhixing / best |")
    print("|---|---|---|---|" + "---|" * len(names) + "---|")
    for (bench, config), impls in sorted(results.items()):
        med = {impl: statistics.median(v) for impl, v in impls.items()}
        refs = [v for impl, v in med.items() if impl != "zhixing"]
        ratio = med.get("zhixing", float("nan")) / max(refs) if refs else float("nan")
        cells = [f"{med[i]:.1f}" if i in med else "–" for i in ["zhixing"] + names]
        cfg = ", ".join(f"{k}={v}" for k, v in json.loads(config).items())
        print(f"| {bench} | {cfg} | {units[(bench, config)]} | " + " | ".join(cells) + f" | {ratio:.2f}× |")


if __name__ == "__main__":
    main()

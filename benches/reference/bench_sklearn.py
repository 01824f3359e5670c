#!/usr/bin/env python3
"""scikit-learn side of `zhixing bench classical`: the same estimators on the same data,
one JSON line per measurement in the shape `zhixing bench --json` prints.

Workloads (identical on both sides):
  * Digits (data/digits.csv, 1797 × 64, standardized): logistic, tree, forest (100 trees),
    knn (k=5), Gaussian naive Bayes, RBF SVM (one-vs-rest, as zhixing), k-means (k=10,
    10 inits), PCA (10 components) — fit on all rows, predict on all rows.
  * Diabetes (data/diabetes.csv, 442 × 10, standardized): linear, ridge, lasso, elastic net.
  * Synthetic 100 000 × 50 (Gaussian features, label = sign of a fixed linear function):
    forest (20 trees), knn (k=5, 2 000 queries), k-means (k=8, 3 inits).
Throughput = rows / second (fit: training rows; predict: predicted rows).

    benches/reference/.venv/bin/python benches/reference/bench_sklearn.py --threads 2
"""
import argparse
import json
import statistics
import sys
import math
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--root", default=".")
ap.add_argument("--only", default="", help="comma-separated estimator names")
ap.add_argument("--skip-large", action="store_true")
ap.add_argument("--min-run-ms", type=float, default=50)
ARGS = ap.parse_args()


def load(name, target):
    import csv

    with open(f"{ARGS.root}/data/{name}.csv") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    t = header.index(target)
    x = np.array([[float(v) for i, v in enumerate(r) if i != t] for r in body])
    y = np.array([r[t] for r in body])
    return StandardScaler().fit_transform(x), y


def synthetic(n=100_000, f=50, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, f))
    w = rng.standard_normal(f)
    score = x @ w
    return x, (score > 0).astype(int), score + rng.standard_normal(n)


def measure(bench, phase, config, rows, fn, big=False):
    """As zhixing's bench: warm up for one run's length, then each run repeats short calls
    until it lasts --min-run-ms (the large set: single calls, at most 3 runs)."""
    min_run = ARGS.min_run_ms / 1000
    t0, calls = time.perf_counter(), 0
    while calls < 1 or (not big and (calls < 2 or time.perf_counter() - t0 < min_run)):
        fn()  # warm-up (and the fitted model for predict)
        calls += 1
    reps = 1 if big else max(1, math.ceil(min_run / ((time.perf_counter() - t0) / calls)))
    rates = []
    for _ in range(min(ARGS.runs, 3) if big else ARGS.runs):
        start = time.perf_counter()
        for _ in range(reps):
            fn()
        rates.append(rows * reps / (time.perf_counter() - start))
    rec = {"bench": f"{bench}.{phase}", "impl": "sklearn", "config": dict(config, threads=ARGS.threads),
           "unit": "rows/s", "median": statistics.median(rates), "min": min(rates), "max": max(rates),
           "runs": len(rates)}
    print(json.dumps(rec), flush=True)


def bench(name, make, x, y, config, predict_x=None, unsupervised=False):
    big = config["data"].startswith("synthetic")
    if ARGS.only and name not in ARGS.only.split(","):
        return
    holder = {}

    def fit():
        m = make()
        m.fit(x) if unsupervised else m.fit(x, y)
        holder["m"] = m

    measure(name, "fit", config, len(x), fit, big)
    px = x if predict_x is None else predict_x
    m = holder["m"]
    pred = m.transform if isinstance(m, PCA) else m.predict
    measure(name, "predict", config, len(px), lambda: pred(px), big)


def main():
    print(f"bench_sklearn: sklearn {sklearn.__version__} threads={ARGS.threads}", file=sys.stderr)
    j = ARGS.threads
    with threadpool_limits(limits=j):
        xd, yd = load("digits", "digit")
        d = {"data": "digits"}
        bench("logistic", lambda: LogisticRegression(max_iter=10000), xd, yd, d)
        bench("tree", lambda: DecisionTreeClassifier(random_state=0), xd, yd, d)
        bench("forest", lambda: RandomForestClassifier(100, n_jobs=j, random_state=0), xd, yd, d)
        bench("knn", lambda: KNeighborsClassifier(5, n_jobs=j), xd, yd, d)
        bench("nb", GaussianNB, xd, yd, d)
        bench("svm", lambda: OneVsRestClassifier(SVC(kernel="rbf", C=1.0, gamma="scale")), xd, yd, d)
        bench("kmeans", lambda: KMeans(10, n_init=10, random_state=0), xd, None, d, unsupervised=True)
        bench("pca", lambda: PCA(10), xd, None, d, unsupervised=True)
        xr, yr = load("diabetes", "progression")
        yr = yr.astype(float)
        r = {"data": "diabetes"}
        bench("linear", LinearRegression, xr, yr, r)
        bench("ridge", lambda: Ridge(1.0), xr, yr, r)
        bench("lasso", lambda: Lasso(1.0), xr, yr, r)
        bench("elastic_net", lambda: ElasticNet(1.0, l1_ratio=0.5), xr, yr, r)
        if ARGS.skip_large:
            return
        xs, ys, targets = synthetic()
        s = {"data": "synthetic-100000x50"}
        bench("forest", lambda: RandomForestClassifier(20, n_jobs=j, random_state=0), xs, ys, s, predict_x=xs[:20000])
        bench("knn", lambda: KNeighborsClassifier(5, n_jobs=j), xs, ys, s, predict_x=xs[:2000])
        bench("kmeans", lambda: KMeans(8, n_init=3, random_state=0), xs, None, s, unsupervised=True)
        bench("linear", LinearRegression, xs, targets, s)
        # zhixing's gradient-descent least squares against the same exact solver.
        bench("linear_gd", LinearRegression, xs, targets, s)


if __name__ == "__main__":
    main()

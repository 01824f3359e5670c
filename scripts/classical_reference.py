#!/usr/bin/env python3
"""Reference values for zhixing-ml's classical estimators: k-nearest neighbours, naive
Bayes, k-means and PCA.

Fits scikit-learn on fixed inputs and writes inputs and outputs to
crates/ml/tests/reference/classical_*.json; the Rust tests read those files and need no
Python.

    python3 -m venv /tmp/mlvenv
    /tmp/mlvenv/bin/pip install scikit-learn==1.9.1 numpy
    /tmp/mlvenv/bin/python scripts/classical_reference.py
"""

import csv
import json
import math
import os
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.naive_bayes import BernoulliNB, GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.preprocessing import StandardScaler

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "crates", "ml", "tests", "reference")
rng = np.random.default_rng(20240611)


def clean(v):
    """JSON-safe: numpy scalars and arrays to Python."""
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if isinstance(v, np.ndarray):
        return clean(v.tolist())
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            raise ValueError("non-finite value in reference data")
        return v
    return v


def write(name, data):
    data = {
        "generator": "scripts/classical_reference.py",
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
        **data,
    }
    with open(os.path.join(OUT, name), "w") as f:
        f.write(dumps(clean(data)) + "\n")


def dumps(obj, indent=0):
    """JSON with objects indented, lists of numbers on one line, lists of lists one row a
    line."""
    pad = " " * (indent + 1)
    if isinstance(obj, dict):
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(obj, list) and obj and isinstance(obj[0], (list, dict)):
        items = [f"{pad}{dumps(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))


def load_csv(name):
    """Features (all columns but the last) and class ids (sorted unique labels)."""
    with open(os.path.join(ROOT, "data", name)) as f:
        rows = list(csv.reader(f))[1:]
    x = np.array([[float(v) for v in r[:-1]] for r in rows])
    labels = sorted({r[-1] for r in rows})
    y = np.array([labels.index(r[-1]) for r in rows])
    return x, y


def split_standardize(x, y):
    """Test = rows with i % 5 == 0; standardized with the training statistics."""
    test = np.arange(len(y)) % 5 == 0
    scaler = StandardScaler().fit(x[~test])
    return scaler.transform(x[~test]), y[~test], scaler.transform(x[test]), y[test]


def best_time(fn, repeat=5):
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def neighbors():
    datasets = {}
    centers = rng.normal(0, 3, (3, 4))
    y = rng.integers(0, 3, 150)
    datasets["blobs4"] = {
        "x_train": centers[y] + rng.normal(0, 1.5, (150, 4)),
        "y_train": y,
        "x_test": rng.normal(0, 3, (40, 4)),
    }
    centers = rng.normal(0, 1, (4, 30))
    y = rng.integers(0, 4, 100)
    datasets["wide30"] = {
        "x_train": centers[y] + rng.normal(0, 1.2, (100, 30)),
        "y_train": y,
        "x_test": rng.normal(0, 1, (25, 30)),
    }
    x = rng.uniform(-2, 2, (120, 3))
    datasets["reg3"] = {
        "x_train": x,
        "y_train": np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + rng.normal(0, 0.1, 120),
        "x_test": rng.uniform(-2, 2, (30, 3)),
    }
    x = rng.normal(0, 1, (100, 20))
    datasets["reg20"] = {
        "x_train": x,
        "y_train": x[:, :3].sum(axis=1) + rng.normal(0, 0.1, 100),
        "x_test": rng.normal(0, 1, (20, 20)),
    }
    cases = []
    configs = [("blobs4", k, w, m) for k in (1, 5) for w in ("uniform", "distance")
               for m in ("euclidean", "manhattan", "cosine")]
    configs += [("wide30", 5, "uniform", "euclidean"), ("wide30", 5, "distance", "euclidean"),
                ("wide30", 3, "uniform", "manhattan"), ("wide30", 7, "distance", "cosine")]
    for ds, k, w, m in configs:
        d = datasets[ds]
        model = KNeighborsClassifier(n_neighbors=k, weights=w, metric=m)
        model.fit(d["x_train"], d["y_train"])
        dist, ind = model.kneighbors(d["x_test"])
        cases.append({"dataset": ds, "task": "classifier", "k": k, "weights": w, "metric": m,
                      "predict": model.predict(d["x_test"]),
                      "predict_proba": model.predict_proba(d["x_test"]),
                      "distances": dist, "indices": ind})
    configs = [("reg3", k, w, m) for k in (1, 4) for w in ("uniform", "distance")
               for m in ("euclidean", "manhattan")]
    configs += [("reg20", 5, "distance", "euclidean"), ("reg20", 5, "uniform", "cosine")]
    for ds, k, w, m in configs:
        d = datasets[ds]
        model = KNeighborsRegressor(n_neighbors=k, weights=w, metric=m)
        model.fit(d["x_train"], d["y_train"])
        dist, ind = model.kneighbors(d["x_test"])
        cases.append({"dataset": ds, "task": "regressor", "k": k, "weights": w, "metric": m,
                      "predict": model.predict(d["x_test"]), "distances": dist, "indices": ind})
    write("classical_neighbors.json", {"datasets": datasets, "cases": cases})


def naive_bayes():
    cases = []
    # Gaussian: class-dependent means and spreads.
    mu = rng.normal(0, 2, (3, 5))
    sd = rng.uniform(0.5, 2.0, (3, 5))
    y = rng.integers(0, 3, 60)
    x = mu[y] + sd[y] * rng.normal(0, 1, (60, 5))
    xq = rng.normal(0, 2.5, (30, 5))
    for vs in (1e-9, 1e-2):
        m = GaussianNB(var_smoothing=vs).fit(x, y)
        cases.append({"variant": "gaussian", "params": {"var_smoothing": vs},
                      "x_train": x, "y_train": y, "x_test": xq,
                      "predict": m.predict(xq), "predict_proba": m.predict_proba(xq),
                      "theta": m.theta_, "var": m.var_, "class_prior": m.class_prior_})
    # Multinomial: word counts.
    rates = rng.uniform(0.2, 4.0, (4, 12))
    y = rng.integers(0, 4, 90)
    x = rng.poisson(rates[y]).astype(float)
    xq = rng.poisson(rng.uniform(0.2, 4.0, (25, 12))).astype(float)
    for alpha in (1.0, 0.3):
        m = MultinomialNB(alpha=alpha).fit(x, y)
        cases.append({"variant": "multinomial", "params": {"alpha": alpha},
                      "x_train": x, "y_train": y, "x_test": xq,
                      "predict": m.predict(xq), "predict_proba": m.predict_proba(xq),
                      "feature_log_prob": m.feature_log_prob_,
                      "class_log_prior": m.class_log_prior_})
    # Bernoulli: real values thresholded, and binary input without thresholding.
    mu = rng.normal(0, 1, (3, 8))
    y = rng.integers(0, 3, 80)
    x = mu[y] + rng.normal(0, 1, (80, 8))
    xq = rng.normal(0, 1.2, (25, 8))
    xb = (rng.uniform(0, 1, (70, 10)) < 0.4).astype(float)
    yb = rng.integers(0, 2, 70)
    xbq = (rng.uniform(0, 1, (20, 10)) < 0.5).astype(float)
    for xt, yt, xv, alpha, binarize in ((x, y, xq, 1.0, 0.0), (x, y, xq, 0.5, 0.5),
                                        (xb, yb, xbq, 1.0, None)):
        m = BernoulliNB(alpha=alpha, binarize=binarize).fit(xt, yt)
        cases.append({"variant": "bernoulli", "params": {"alpha": alpha, "binarize": binarize},
                      "x_train": xt, "y_train": yt, "x_test": xv,
                      "predict": m.predict(xv), "predict_proba": m.predict_proba(xv),
                      "feature_log_prob": m.feature_log_prob_,
                      "class_log_prior": m.class_log_prior_})
    write("classical_naive_bayes.json", {"cases": cases})


def cluster():
    iris, _ = load_csv("iris.csv")
    blobs, _ = make_blobs(n_samples=600, centers=6, n_features=3, cluster_std=1.5,
                          random_state=7)
    cases = []
    for name, x, ks in (("iris", iris, [2, 3, 4, 5, 6]), ("blobs", blobs, [3, 6, 8])):
        for k in ks:
            m = KMeans(n_clusters=k, init="k-means++", n_init=10, max_iter=300, tol=1e-4,
                       random_state=0).fit(x)
            cases.append({"dataset": name, "k": k, "inertia": m.inertia_,
                          "centers": m.cluster_centers_, "n_iter": m.n_iter_})
    print("KMeans(3, n_init=10) on iris: %.2f ms"
          % (1e3 * best_time(lambda: KMeans(3, n_init=10, random_state=0).fit(iris))))
    write("classical_cluster.json", {"datasets": {"iris": iris, "blobs": blobs},
                                     "cases": cases})


def decomposition():
    iris, _ = load_csv("iris.csv")
    wine, _ = load_csv("wine.csv")
    cases = []
    for name, x, nc in (("iris", iris, None), ("iris", iris, 2), ("wine", wine, None),
                        ("wine", wine, 5), ("wine_first40", wine[:40], None)):
        m = PCA(n_components=nc).fit(x)
        cases.append({"dataset": name, "n_components": nc, "solver": m._fit_svd_solver,
                      "mean": m.mean_, "components": m.components_,
                      "explained_variance": m.explained_variance_,
                      "explained_variance_ratio": m.explained_variance_ratio_,
                      "singular_values": m.singular_values_,
                      "noise_variance": m.noise_variance_,
                      "transform_first10": m.transform(x[:10])})
    write("classical_decomposition.json",
          {"datasets": {"iris": iris, "wine": wine, "wine_first40": wine[:40]},
           "cases": cases})


def accuracy():
    out = []
    for name in ("iris.csv", "wine.csv", "breast_cancer.csv"):
        xtr, ytr, xte, yte = split_standardize(*load_csv(name))
        knn = KNeighborsClassifier().fit(xtr, ytr)
        gnb = GaussianNB().fit(xtr, ytr)
        out.append({
            "file": name, "n_train": len(ytr), "n_test": len(yte),
            "knn_accuracy": knn.score(xte, yte), "knn_predict": knn.predict(xte),
            "gaussian_nb_accuracy": gnb.score(xte, yte), "gaussian_nb_predict": gnb.predict(xte),
        })
        # Timings vary run to run: printed, not stored (the JSON stays byte-identical).
        print("%s: KNeighborsClassifier fit+predict %.2f ms, GaussianNB fit+predict %.2f ms" % (
            name,
            1e3 * best_time(lambda: KNeighborsClassifier().fit(xtr, ytr).predict(xte)),
            1e3 * best_time(lambda: GaussianNB().fit(xtr, ytr).predict(xte))))
    write("classical_accuracy.json", {"datasets": out})


if __name__ == "__main__":
    neighbors()
    naive_bayes()
    cluster()
    decomposition()
    accuracy()

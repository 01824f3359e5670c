#!/usr/bin/env python3
"""Reference values for zhixing-ml's support vector classifier (crates/ml/src/svm).

Fits scikit-learn's SVC on fixed inputs and writes inputs and outputs to
crates/ml/tests/reference/svm.json; the Rust tests (crates/ml/tests/svm.rs) read that file
and need no Python.

zhixing's multi-class SVM is one-vs-rest, so multi-class references come from
OneVsRestClassifier(SVC(...)), never from SVC alone (which is one-vs-one). With two
classes OneVsRestClassifier wraps a single SVC, like zhixing.

    python3 -m venv /tmp/mlvenv
    /tmp/mlvenv/bin/pip install scikit-learn==1.9.1 numpy
    /tmp/mlvenv/bin/python scripts/svm_reference.py
"""

import csv
import json
import math
import os
import time
import warnings

import numpy as np
import sklearn
from sklearn.datasets import make_classification
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "crates", "ml", "tests", "reference", "svm.json")
rng = np.random.default_rng(20240917)


def clean(v):
    """JSON-safe: numpy scalars and arrays to Python."""
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if isinstance(v, np.ndarray):
        return clean(v.tolist())
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if not math.isfinite(v):
            raise ValueError("non-finite value in reference data")
        return v
    return v


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


def kernel_params(kernel):
    """zhixing's kernel config (as JSON) -> SVC keyword arguments."""
    kind = kernel["type"]
    if kind == "linear":
        return {"kernel": "linear"}
    if kind == "rbf":
        return {"kernel": "rbf", "gamma": kernel["gamma"]}
    return {"kernel": "poly", "degree": kernel["degree"], "gamma": kernel["gamma"],
            "coef0": kernel["coef0"]}


def svc_summary(m):
    """Support vectors sorted by training index, with their dual coefficients."""
    order = np.argsort(m.support_)
    return {
        "support": m.support_[order],
        "dual_coef": m.dual_coef_[0][order],
        "intercept": m.intercept_[0],
        "n_support": int(m.n_support_.sum()),
    }


def binary_cases():
    x, y = make_classification(n_samples=160, n_features=4, n_informative=3, n_redundant=0,
                               flip_y=0.05, class_sep=0.8, random_state=7)
    x = StandardScaler().fit_transform(x)
    xtr, ytr, xte = x[:120], y[:120], x[120:]
    cases = []
    for kernel, c, tol in [
        ({"type": "linear"}, 1.0, 1e-3),
        ({"type": "linear"}, 1.0, 1e-6),
        ({"type": "rbf", "gamma": "scale"}, 1.0, 1e-3),
        ({"type": "rbf", "gamma": "scale"}, 1.0, 1e-6),
        ({"type": "rbf", "gamma": 0.5}, 10.0, 1e-3),
        ({"type": "poly", "degree": 3, "gamma": "scale", "coef0": 1.0}, 0.5, 1e-3),
        ({"type": "poly", "degree": 3, "gamma": "scale", "coef0": 1.0}, 0.5, 1e-6),
    ]:
        m = SVC(C=c, tol=tol, **kernel_params(kernel)).fit(xtr, ytr)
        cases.append({
            "kernel": kernel, "c": c, "tol": tol,
            "gamma": m._gamma,
            **svc_summary(m),
            "decision_train": m.decision_function(xtr),
            "decision_test": m.decision_function(xte),
            "predict_test": m.predict(xte),
        })
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "cases": cases}


def multiclass_case():
    x, y = make_classification(n_samples=150, n_features=5, n_informative=4, n_redundant=0,
                               n_classes=3, n_clusters_per_class=1, class_sep=1.0,
                               random_state=11)
    x = StandardScaler().fit_transform(x)
    xtr, ytr, xte = x[:110], y[:110], x[110:]
    m = OneVsRestClassifier(SVC(C=1.0, kernel="rbf", gamma="scale")).fit(xtr, ytr)
    return {
        "x_train": xtr, "y_train": ytr, "x_test": xte,
        "decision_test": m.decision_function(xte),
        "predict_test": m.predict(xte),
        "n_support": [int(e.n_support_.sum()) for e in m.estimators_],
        "intercept": [e.intercept_[0] for e in m.estimators_],
    }


def datasets():
    out = []
    for name in ("iris.csv", "wine.csv", "breast_cancer.csv"):
        xtr, ytr, xte, yte = split_standardize(*load_csv(name))

        def fit():
            return OneVsRestClassifier(SVC(kernel="rbf", C=1.0, gamma="scale")).fit(xtr, ytr)

        m = fit()
        # SVC(probability=True) is deprecated in 1.9 but still LIBSVM's Platt scaling,
        # which is what zhixing implements.
        warnings.filterwarnings("ignore", message="The `probability` parameter")
        p = OneVsRestClassifier(SVC(kernel="rbf", C=1.0, gamma="scale", probability=True,
                                    random_state=0)).fit(xtr, ytr)
        out.append({
            "file": name, "n_train": len(ytr), "n_test": len(yte),
            "accuracy": m.score(xte, yte),
            "predict": m.predict(xte),
            "decision_test": m.decision_function(xte),
            "n_support": [int(e.n_support_.sum()) for e in m.estimators_],
            "proba_test": p.predict_proba(xte),
            "seconds": {"fit_predict": best_time(lambda: fit().predict(xte))},
        })
    return out


MASK = (1 << 64) - 1


def splitmix64(state):
    """One SplitMix64 step: (new state, output); the Rust test has the same generator."""
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def synthetic(n, f, seed):
    """Rows of f uniform(-1, 1) features and a label from a fixed quadratic rule plus
    noise; every operation is exact IEEE arithmetic, so Rust regenerates it bit for bit."""
    state = seed
    x = np.empty((n, f))
    y = np.empty(n, dtype=np.int64)
    for i in range(n):
        for j in range(f + 1):
            state, z = splitmix64(state)
            u = float(z >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0
            if j < f:
                x[i, j] = u
            else:
                r = x[i]
                s = r[0] * r[1] + r[2] * r[2] - 0.3 + 0.5 * r[3] - 0.4 * r[4] + 0.3 * u
                y[i] = 1 if s > 0.0 else 0
    return x, y


def large_case():
    """A larger binary problem for timing, generated (not stored) on both sides."""
    n_train, n_test, f, seed = 3000, 500, 16, 42
    x, y = synthetic(n_train + n_test, f, seed)
    xtr, ytr, xte = x[:n_train], y[:n_train], x[n_train:]

    def fit():
        return SVC(C=1.0, kernel="rbf", gamma="scale").fit(xtr, ytr)

    m = fit()
    return {
        "n_train": n_train, "n_test": n_test, "n_features": f, "seed": seed,
        "x_check": [x[0, :3], x[-1, -3:]], "y_sum": int(y.sum()),
        "n_support": int(m.n_support_.sum()),
        "intercept": m.intercept_[0],
        "decision_test": m.decision_function(xte),
        "accuracy_train": m.score(xtr, ytr),
        "seconds": {"fit": best_time(fit, repeat=3),
                    "decision": best_time(lambda: m.decision_function(xte), repeat=3)},
    }


def main():
    data = {
        "generator": "scripts/svm_reference.py",
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
        "binary": binary_cases(),
        "multiclass": multiclass_case(),
        "datasets": datasets(),
        "large": large_case(),
    }
    with open(OUT, "w") as f:
        f.write(dumps(clean(data)) + "\n")


if __name__ == "__main__":
    main()

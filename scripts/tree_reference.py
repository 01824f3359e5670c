#!/usr/bin/env python3
"""Reference values for zhixing-ml's decision tree and random forest tests.

Fits scikit-learn's DecisionTree* / RandomForest* on the shipped CSV datasets with a
deterministic train/test split and writes the scores (and, for the single trees, their
shape and feature importances; for pruning, leaf counts along the cost-complexity path)
to crates/ml/tests/reference/tree.json. The Rust tests read that file; they do not need
Python.

    python3 -m venv /tmp/mlvenv
    /tmp/mlvenv/bin/pip install scikit-learn==1.9.1 numpy
    /tmp/mlvenv/bin/python scripts/tree_reference.py

The split: data row i (0-based, header excluded) is a test row when i % 5 == 0, a
training row otherwise. Class labels are mapped to ids in sorted order.
"""

import csv
import json
import math
import os
import time

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "crates", "ml", "tests", "reference", "tree.json")
TEST_EVERY = 5
TREE_DEPTH = 4
N_ESTIMATORS = 100

DATASETS = [
    ("iris", "classification"),
    ("wine", "classification"),
    ("breast_cancer", "classification"),
    ("diabetes", "regression"),
]


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


def load(name, kind):
    with open(os.path.join(ROOT, "data", f"{name}.csv")) as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    x = np.array([[float(v) for v in r[:-1]] for r in rows])
    if kind == "classification":
        classes = sorted(set(r[-1] for r in rows))
        y = np.array([classes.index(r[-1]) for r in rows])
    else:
        classes = None
        y = np.array([float(r[-1]) for r in rows])
    test = np.arange(len(rows)) % TEST_EVERY == 0
    return header, classes, x[~test], y[~test], x[test], y[test]


def fit_time(make, x, y, repeats):
    best = math.inf
    for _ in range(repeats):
        m = make()
        t0 = time.perf_counter()
        m.fit(x, y)
        best = min(best, time.perf_counter() - t0)
    return best


def split_decreases(tree):
    """Each split's weighted impurity decrease (as a fraction of all samples), sorted:
    what feature importances sum up, independent of how ties between features broke."""
    t, w = tree, tree.weighted_n_node_samples
    out = []
    for i in range(t.node_count):
        l, r = t.children_left[i], t.children_right[i]
        if l != -1:
            out.append((w[i] * t.impurity[i] - w[l] * t.impurity[l] - w[r] * t.impurity[r]) / w[0])
    return sorted(out)


def tree_case(model, xtr, ytr, xte, yte):
    model.fit(xtr, ytr)
    return {
        "train_score": model.score(xtr, ytr),
        "test_score": model.score(xte, yte),
        "n_leaves": model.get_n_leaves(),
        "depth": model.get_depth(),
        "feature_importances": model.feature_importances_,
        "root_feature": model.tree_.feature[0],
        "root_threshold": model.tree_.threshold[0],
        "split_decreases": split_decreases(model.tree_),
    }


def main():
    datasets = {}
    timing = {}
    for name, kind in DATASETS:
        header, classes, xtr, ytr, xte, yte = load(name, kind)
        case = {"kind": kind, "target": header[-1], "classes": classes,
                "n_train": len(ytr), "n_test": len(yte)}
        if kind == "classification":
            for crit in ["gini", "entropy"]:
                m = DecisionTreeClassifier(criterion=crit, max_depth=TREE_DEPTH, random_state=0)
                case[f"tree_{crit}"] = tree_case(m, xtr, ytr, xte, yte)
            full = DecisionTreeClassifier(random_state=0).fit(xtr, ytr)
            case["tree_full"] = {"test_score": full.score(xte, yte),
                                 "n_leaves": full.get_n_leaves()}
            f = RandomForestClassifier(n_estimators=N_ESTIMATORS, oob_score=True,
                                       random_state=0, n_jobs=1).fit(xtr, ytr)
            make_tree = lambda: DecisionTreeClassifier(random_state=0)
            make_forest = lambda: RandomForestClassifier(n_estimators=N_ESTIMATORS,
                                                         random_state=0, n_jobs=-1)
        else:
            m = DecisionTreeRegressor(max_depth=TREE_DEPTH, random_state=0)
            case["tree_squared_error"] = tree_case(m, xtr, ytr, xte, yte)
            full = DecisionTreeRegressor(random_state=0).fit(xtr, ytr)
            case["tree_full"] = {"test_score": full.score(xte, yte),
                                 "n_leaves": full.get_n_leaves()}
            f = RandomForestRegressor(n_estimators=N_ESTIMATORS, oob_score=True,
                                      random_state=0, n_jobs=1).fit(xtr, ytr)
            make_tree = lambda: DecisionTreeRegressor(random_state=0)
            make_forest = lambda: RandomForestRegressor(n_estimators=N_ESTIMATORS,
                                                        random_state=0, n_jobs=-1)
        case["forest"] = {"n_estimators": N_ESTIMATORS, "test_score": f.score(xte, yte),
                          "oob_score": f.oob_score_,
                          "feature_importances": f.feature_importances_}
        datasets[name] = case
        timing[name] = {"tree_full_fit_s": fit_time(make_tree, xtr, ytr, 20),
                        "forest_fit_s": fit_time(make_forest, xtr, ytr, 3)}

    # Minimal cost-complexity pruning on breast cancer's training rows: the pruning path
    # of the fully grown Gini tree and the leaf count at alphas between path points.
    _, _, xtr, ytr, _, _ = load("breast_cancer", "classification")
    path = DecisionTreeClassifier(random_state=0).cost_complexity_pruning_path(xtr, ytr)
    alphas = path.ccp_alphas
    probe = sorted(set([0.0] + [(a + b) / 2 for a, b in zip(alphas[:-1], alphas[1:])]))
    leaves = [DecisionTreeClassifier(random_state=0, ccp_alpha=a).fit(xtr, ytr).get_n_leaves()
              for a in probe]
    ccp = {"dataset": "breast_cancer", "criterion": "gini", "path_alphas": alphas,
           "path_impurities": path.impurities, "alphas": probe, "n_leaves": leaves}

    data = {
        "generator": "scripts/tree_reference.py",
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
        "split": {"rule": "data row i (0-based, header excluded) is a test row when "
                          "i % 5 == 0, else a training row; class labels map to ids in "
                          "sorted order; the target is the last column",
                  "test_every": TEST_EVERY},
        "tree_max_depth": TREE_DEPTH,
        "datasets": datasets,
        "ccp": ccp,
    }
    with open(OUT, "w") as f:
        json.dump(clean(data), f, indent=1)
        f.write("\n")
    # Timings vary run to run, so they are printed, not stored.
    for name, t in timing.items():
        print(f"{name}: scikit-learn {sklearn.__version__} fit, best of repeats: unlimited-depth "
              f"tree {t['tree_full_fit_s'] * 1e3:.3f} ms, forest of {N_ESTIMATORS} trees "
              f"(n_jobs=-1) {t['forest_fit_s'] * 1e3:.1f} ms")


if __name__ == "__main__":
    main()

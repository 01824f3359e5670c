#!/usr/bin/env python3
"""Reference values for zhixing-ml's metrics and statistics tests.

Computes every metric and statistic with scikit-learn / numpy / scipy on fixed inputs
and writes them, inputs included, to crates/ml/tests/reference/*.json. The Rust tests
read those files; they do not need Python.

    python3 -m venv /tmp/mlvenv
    /tmp/mlvenv/bin/pip install scikit-learn==1.9.1 scipy numpy
    /tmp/mlvenv/bin/python scripts/ml_reference.py
"""

import json
import math
import os
import warnings

import numpy as np
import scipy
import scipy.stats as st
import sklearn
from sklearn import metrics as skm

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "ml", "tests", "reference")
warnings.simplefilter("ignore")  # zero-division warnings are expected in some cases


def clean(v):
    """JSON-safe: numpy scalars and arrays to Python, NaN to None."""
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [clean(x) for x in v]
    if isinstance(v, np.ndarray):
        return clean(v.tolist())
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return None if math.isnan(v) else v
    return v


def write(name, data):
    data = {
        "generator": "scripts/ml_reference.py",
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                     "scikit-learn": sklearn.__version__},
        **data,
    }
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(clean(data), f, indent=1)
        f.write("\n")


rng = np.random.default_rng(20240501)


def classification():
    cases = []
    animals = ["cat", "dog", "fish"]
    t = rng.choice(animals, 40).tolist()
    p = [x if rng.random() < 0.6 else str(rng.choice(animals)) for x in t]
    inputs = [
        ("three classes, strings", t, p, None),
        ("four classes, one never predicted", [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 2],
         [0, 1, 2, 0, 0, 2, 2, 1, 1, 1, 2, 0], None),
        ("a predicted class absent from y_true", [0, 0, 1, 1, 1, 2], [0, 3, 1, 1, 2, 3], None),
        ("labels given, in a chosen order and a subset", [0, 1, 2, 3, 0, 1, 2, 3, 2, 2],
         [0, 2, 2, 3, 1, 1, 0, 3, 2, 3], [3, 1, 2]),
    ]
    for name, t, p, labels in inputs:
        case = {"name": name, "y_true": t, "y_pred": p, "labels": labels}
        lab = labels if labels is not None else sorted(set(t) | set(p))
        case["label_order"] = lab
        case["confusion_matrix"] = skm.confusion_matrix(t, p, labels=labels)
        case["accuracy"] = skm.accuracy_score(t, p)
        pr, rc, f1, sup = skm.precision_recall_fscore_support(t, p, labels=labels)
        case["per_class"] = {"precision": pr, "recall": rc, "f1": f1, "support": sup}
        for avg in ["micro", "macro", "weighted"]:
            pr, rc, f1, _ = skm.precision_recall_fscore_support(t, p, labels=labels, average=avg)
            case[avg] = {"precision": pr, "recall": rc, "f1": f1}
        cases.append(case)
    binary = []
    for name, t, p, pos in [
        ("0/1 labels, positive 1", [0, 1, 1, 0, 1, 1, 0, 0, 1, 0], [0, 1, 0, 0, 1, 1, 1, 0, 1, 1], 1),
        ("strings, positive 'no'", ["yes", "no", "no", "yes", "no"], ["yes", "yes", "no", "yes", "no"], "no"),
        ("positive never predicted", [1, 0, 1, 0], [0, 0, 0, 0], 1),
    ]:
        pr, rc, f1, _ = skm.precision_recall_fscore_support(t, p, pos_label=pos, average="binary")
        binary.append({"name": name, "y_true": t, "y_pred": p, "pos_label": pos,
                       "precision": pr, "recall": rc, "f1": f1})
    write("classification.json", {"cases": cases, "binary": binary})


def probabilistic():
    roc = []
    n = 60
    t = rng.integers(0, 2, n)
    s = np.round(rng.random(n) * 4) / 4 + 0.3 * t  # coarse scores: many ties
    inputs = [
        ("no ties", [0, 0, 1, 1, 0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8, 0.2, 0.9, 0.65, 0.5]),
        ("ties across classes", [0, 1, 0, 1, 1, 0, 0, 1], [0.5, 0.5, 0.2, 0.8, 0.5, 0.8, 0.1, 0.3]),
        ("all scores equal", [0, 1, 1, 0], [0.3, 0.3, 0.3, 0.3]),
        ("many ties, seeded", t.tolist(), s.tolist()),
    ]
    for name, t, s in inputs:
        fpr, tpr, thr = skm.roc_curve(t, s, drop_intermediate=False)
        roc.append({"name": name, "y_true": t, "y_score": s, "auc": skm.roc_auc_score(t, s),
                    "fpr": fpr, "tpr": tpr, "thresholds_after_inf": thr[1:]})
    ll = []
    proba = rng.dirichlet([1.0, 1.0, 1.0], 12)
    t3 = rng.permutation([0, 1, 2] * 4).tolist()
    inputs = [
        ("three classes", t3, proba.tolist(), None),
        ("string labels with exact 0 and 1 (clipped)", ["a", "b", "c", "a"],
         [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.5, 0.3], [0.6, 0.4, 0.0]], None),
        ("labels given, one class absent from y_true", [0, 2, 2, 0],
         [[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.2, 0.6], [0.5, 0.4, 0.1]], [0, 1, 2]),
    ]
    for name, t, p, labels in inputs:
        ll.append({"name": name, "y_true": t, "y_proba": p, "labels": labels,
                   "loss": skm.log_loss(t, p, labels=labels)})
    binary = []
    for name, t, p in [
        ("binary", [0, 1, 1, 0, 1], [0.1, 0.8, 0.6, 0.4, 0.99]),
        ("binary with certain mistakes (clipped)", [1, 0, 1, 0], [1.0, 1.0, 0.0, 0.2]),
    ]:
        binary.append({"name": name, "y_true": t, "p": p, "loss": skm.log_loss(t, p)})
    write("probabilistic.json", {"roc": roc, "log_loss": ll, "log_loss_binary": binary})


def regression():
    cases = []
    yt = rng.normal(10, 3, 30)
    yp = yt + rng.normal(0, 1.5, 30)
    for name, t, p in [
        ("small", [3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]),
        ("seeded noise", yt.tolist(), yp.tolist()),
        ("worse than the mean", [1.0, 2.0, 3.0], [3.0, 2.0, 1.0]),
        ("constant target, perfect", [4.0, 4.0, 4.0], [4.0, 4.0, 4.0]),
        ("constant target, imperfect", [4.0, 4.0, 4.0], [4.0, 4.5, 3.0]),
    ]:
        cases.append({"name": name, "y_true": t, "y_pred": p,
                      "mse": skm.mean_squared_error(t, p),
                      "rmse": skm.root_mean_squared_error(t, p),
                      "mae": skm.mean_absolute_error(t, p), "r2": skm.r2_score(t, p)})
    write("regression.json", {"cases": cases})


def ranking():
    ranked = [["d3", "d1", "d7"], ["d2", "d9", "d4"], ["d5", "d6", "d8"], ["d1", "d2", "d3"]]
    relevant = [["d1"], ["d4", "d9"], ["d0"], ["d1", "d3"]]

    def first(r, rel, limit):
        for i, x in enumerate(r[:limit]):
            if x in rel:
                return i + 1
        return None

    out = {"ranked": ranked, "relevant": relevant, "hit_rate": {}, "mrr_at": {}}
    for k in [1, 2, 3]:
        ranks = [first(r, s, k) for r, s in zip(ranked, relevant)]
        out["hit_rate"][str(k)] = sum(x is not None for x in ranks) / len(ranks)
        out["mrr_at"][str(k)] = sum(1 / x for x in ranks if x) / len(ranks)
    ranks = [first(r, s, len(r)) for r, s in zip(ranked, relevant)]
    out["mrr"] = sum(1 / x for x in ranks if x) / len(ranks)
    write("ranking.json", out)


def stats():
    samples = [
        ("small integers", [2.0, 8.0, 0.0, 4.0, 1.0, 9.0, 9.0, 0.0]),
        ("seeded lognormal (skewed)", rng.lognormal(0.0, 0.8, 41).tolist()),
        ("seeded normal", rng.normal(-3.0, 2.0, 100).tolist()),
        ("four values", [1.5, -2.0, 3.25, 10.0]),
    ]
    qs = [0.0, 0.1, 0.25, 0.33, 0.5, 0.75, 0.9, 0.99, 1.0]
    cases = []
    for name, x in samples:
        a = np.array(x)
        cases.append({
            "name": name, "x": x, "mean": a.mean(), "median": np.median(a),
            "mode": st.mode(a, keepdims=False).mode, "min": a.min(), "max": a.max(),
            "var_population": a.var(), "var_sample": a.var(ddof=1),
            "std_population": a.std(), "std_sample": a.std(ddof=1),
            "q": qs, "quantiles": np.quantile(a, qs), "iqr": st.iqr(a),
            "skew_population": st.skew(a, bias=True), "skew_sample": st.skew(a, bias=False),
            "kurtosis_population": st.kurtosis(a, bias=True),
            "kurtosis_sample": st.kurtosis(a, bias=False),
        })
    x = rng.normal(0, 1, 25)
    cols = [x.tolist(), (2 * x + rng.normal(0, 0.5, 25)).tolist(),
            (-x + rng.normal(0, 2, 25)).tolist(), rng.uniform(0, 10, 25).tolist()]
    const = cols[:2] + [[5.0] * 25]
    matrices = {
        "columns": cols,
        "cov_sample": np.cov(cols), "cov_population": np.cov(cols, ddof=0),
        "corr": np.corrcoef(cols),
        "with_constant": {"columns": const, "corr": np.corrcoef(const)},
    }
    info = []
    for name, p, q in [
        ("fair vs skewed coin", [0.5, 0.5], [0.9, 0.1]),
        ("unnormalized counts", [3.0, 1.0, 0.0, 6.0], [2.0, 2.0, 1.0, 5.0]),
        ("seeded", rng.random(6).tolist(), rng.random(6).tolist()),
    ]:
        row = {"name": name, "p": p, "q": q}
        for base, key in [(None, "e"), (2, "2"), (10, "10")]:
            h = st.entropy(p, base=base)
            kl = st.entropy(p, q, base=base)
            row["base_" + key] = {"entropy": h, "kl": kl, "cross_entropy": h + kl}
        info.append(row)
    write("stats.json", {"samples": cases, "matrices": matrices, "info": info})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    classification()
    probabilistic()
    regression()
    ranking()
    stats()
    print("wrote", sorted(os.listdir(OUT)))

#!/usr/bin/env python3
"""scikit-learn's StandardScaler + LogisticRegression / LinearRegression on the splits that
`zhixing train` makes, for crates/ml/tests/model.rs and the README's parity table.

Reads crates/ml/tests/reference/model_splits.json (row indices of the train, validation
and test splits of each data/*.csv, written by the Rust test with ZHIXING_WRITE_SPLITS=1)
and writes crates/ml/tests/reference/model_sklearn.json.

    python3 -m venv /tmp/mlvenv
    /tmp/mlvenv/bin/pip install scikit-learn==1.9.1 numpy pandas
    /tmp/mlvenv/bin/python scripts/model_reference.py
"""

import json
import os

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = os.path.join(os.path.dirname(__file__), "..")
REF = os.path.join(ROOT, "crates", "ml", "tests", "reference")


# Every estimator `zhixing train --model NAME` offers, with the hyperparameters zhixing
# uses by default (scikit-learn's defaults; SVC one-vs-rest, as zhixing trains it).
CLASSIFIERS = {
    "logistic": lambda: LogisticRegression(max_iter=10000),
    "tree": lambda seed=0: DecisionTreeClassifier(random_state=seed),
    "forest": lambda seed=0: RandomForestClassifier(100, random_state=seed),
    "knn": lambda: KNeighborsClassifier(5),
    "nb": GaussianNB,
    "svm": lambda: OneVsRestClassifier(SVC(kernel="rbf", C=1.0, gamma="scale")),
}
REGRESSORS = {
    "linear": LinearRegression,
    "ridge": lambda: Ridge(1.0),
    "lasso": lambda: Lasso(1.0),
    "elastic_net": lambda: ElasticNet(1.0, l1_ratio=0.5),
    "tree": lambda seed=0: DecisionTreeRegressor(random_state=seed),
    "forest": lambda seed=0: RandomForestRegressor(100, random_state=seed),
    "knn": lambda: KNeighborsRegressor(5),
}


SEEDS = 10


def main():
    with open(os.path.join(REF, "model_splits.json")) as f:
        splits = json.load(f)
    out = {"sklearn_version": sklearn.__version__}
    for name, s in sorted(splits.items()):
        df = pd.read_csv(os.path.join(ROOT, s["file"]))
        y = df[s["target"]].to_numpy()
        x = df.drop(columns=[s["target"]]).to_numpy(dtype=np.float64)
        tr, va, te = (np.array(s[k], dtype=int) for k in ("train", "validation", "test"))
        if s["task"] == "classification":
            est, score, metric = LogisticRegression(max_iter=10000), accuracy_score, "accuracy"
        else:
            est, score, metric = LinearRegression(), r2_score, "r2"
        model = make_pipeline(StandardScaler(), est).fit(x[tr], y[tr])
        pred = model.predict(x[te])
        out[name] = {
            "pipeline": f"StandardScaler + {type(est).__name__}({'max_iter=10000' if metric == 'accuracy' else ''})",
            "metric": metric,
            "train": float(score(y[tr], model.predict(x[tr]))),
            "validation": float(score(y[va], model.predict(x[va]))),
            "test": float(score(y[te], pred)),
            "test_predictions": [p.item() if hasattr(p, "item") else p for p in pred],
        }
        models = CLASSIFIERS if metric == "accuracy" else REGRESSORS

        def test_score(make):
            return float(score(y[te], make_pipeline(StandardScaler(), make()).fit(x[tr], y[tr]).predict(x[te])))

        out[name]["models"] = {m: test_score(make) for m, make in models.items()}
        # Randomized estimators (tree tie-breaks, forests): the mean over seeds 0..9 is the
        # fair reference; one seed's score swings by several points on these small test sets.
        for m in ("tree", "forest"):
            scores = [test_score(lambda: models[m](seed)) for seed in range(SEEDS)]
            out[name]["models"][m] = float(np.mean(scores))
            out[name].setdefault("seed_scores", {})[m] = scores
        print("   ", {m: round(v, 4) for m, v in out[name]["models"].items()})
        # Weights on the standardized features ([classes or 1, features]) and intercepts of
        # the converged optimum (default tol=1e-4 stops a little short of it).
        tight = LogisticRegression(max_iter=100000, tol=1e-12) if metric == "accuracy" else LinearRegression()
        tight = make_pipeline(StandardScaler(), tight).fit(x[tr], y[tr])[-1]
        out[name]["coef"] = np.atleast_2d(tight.coef_).tolist()
        out[name]["intercept"] = np.atleast_1d(tight.intercept_).tolist()
        print(f"{name:14} {metric:8} validation {out[name]['validation']:.4f} test {out[name]['test']:.4f}")
    with open(os.path.join(REF, "model_sklearn.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

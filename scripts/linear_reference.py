#!/usr/bin/env python3
"""Reference values for zhixing-ml's lasso, elastic net and polynomial regression tests.

On data/diabetes.csv, standardized over all rows (population std, as StandardScaler):
Lasso / ElasticNet coefficients for a few alphas (tight tol), PolynomialFeatures of a small
fixed input, and degree-2 polynomial least squares R² on a fixed split (test = rows with
i % 5 == 0). On data/breast_cancer.csv (binary) and data/wine.csv (3 classes), standardized
likewise: L1 and elastic-net logistic regression coefficients (saga, tol 1e-12). Writes crates/ml/tests/reference/linear.json.

    /tmp/mlvenv/bin/python scripts/linear_reference.py   # scikit-learn 1.9.1, numpy, pandas
"""

import json
import os

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression
from sklearn.metrics import r2_score
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

ROOT = os.path.join(os.path.dirname(__file__), "..")

df = pd.read_csv(os.path.join(ROOT, "data", "diabetes.csv"))
y = df["progression"].to_numpy(float)
x = StandardScaler().fit_transform(df.drop(columns=["progression"]).to_numpy(float))
out = {"sklearn_version": sklearn.__version__, "enet": []}
for alpha, l1_ratio in [(0.1, 1.0), (1.0, 1.0), (5.0, 1.0), (0.5, 0.5), (0.1, 0.2)]:
    cls = Lasso(alpha=alpha, tol=1e-10, max_iter=100000) if l1_ratio == 1.0 else \
        ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-10, max_iter=100000)
    m = cls.fit(x, y)
    out["enet"].append({"alpha": alpha, "l1_ratio": l1_ratio, "coef": m.coef_.tolist(),
                        "intercept": float(m.intercept_)})
small = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
for deg, inter in [(2, False), (3, False), (3, True)]:
    pf = PolynomialFeatures(degree=deg, interaction_only=inter, include_bias=False)
    out[f"poly_{deg}_{'inter' if inter else 'full'}"] = {
        "input": small.tolist(), "output": pf.fit_transform(small).tolist(),
        "powers": pf.powers_.tolist()}
test = np.arange(len(y)) % 5 == 0
pf = PolynomialFeatures(degree=2, include_bias=False)
m = LinearRegression().fit(pf.fit_transform(x[~test]), y[~test])
out["poly2_r2_test"] = float(r2_score(y[test], m.predict(pf.transform(x[test]))))
out["logistic"] = []
for name, target in [("breast_cancer", "diagnosis"), ("wine", "cultivar")]:
    df = pd.read_csv(os.path.join(ROOT, "data", f"{name}.csv"))
    labels = df[target].astype(str).to_numpy()
    feats = StandardScaler().fit_transform(df.drop(columns=[target]).to_numpy(float))
    # scikit-learn 1.8+ picks the penalty by l1_ratio alone (1 = L1).
    for penalty, c, l1_ratio in [("l1", 0.1, 1.0), ("l1", 1.0, 1.0), ("elastic_net", 0.5, 0.5)]:
        m = LogisticRegression(C=c, l1_ratio=l1_ratio, solver="saga", tol=1e-12,
                               max_iter=1_000_000).fit(feats, labels)
        out["logistic"].append({"data": name, "target": target, "penalty": penalty, "c": c,
                                "l1_ratio": l1_ratio, "classes": m.classes_.tolist(),
                                "coef": m.coef_.tolist(), "intercept": m.intercept_.tolist()})
with open(os.path.join(ROOT, "crates", "ml", "tests", "reference", "linear.json"), "w") as f:
    json.dump(out, f, indent=1)
print(out["poly2_r2_test"], out["enet"][1]["coef"])

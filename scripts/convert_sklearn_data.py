#!/usr/bin/env python3
"""Rewrite scikit-learn 1.9.1's bundled datasets as CSV files with header rows.

Input: the `sklearn/datasets/data/` folder of the scikit-learn 1.9.1 wheel:
    pip download --no-deps --only-binary :all: scikit-learn==1.9.1 -d /tmp/skl
    cd /tmp/skl && unzip -o scikit_learn-1.9.1-*.whl 'sklearn/datasets/data/*'
Output: data/wine.csv, data/breast_cancer.csv, data/diabetes.csv, data/digits.csv (no scikit-learn import
needed; feature names as in sklearn.datasets.load_*).

Usage (from the repository root):
    python3 scripts/convert_sklearn_data.py [/tmp/skl/sklearn/datasets/data]
"""

import csv
import gzip
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = sys.argv[1] if len(sys.argv) > 1 else "/tmp/skl/sklearn/datasets/data"
OUT = os.path.join(REPO_ROOT, "data")

WINE = [
    "alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
    "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
    "od280_od315_of_diluted_wines", "proline",
]
BC_BASE = [
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
    "concave_points", "symmetry", "fractal_dimension",
]
BC = [f"mean_{b}" for b in BC_BASE] + [f"{b}_error" for b in BC_BASE] + [
    f"worst_{b}" for b in BC_BASE
]
DIABETES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def class_csv(name, header, out_name, target):
    with open(os.path.join(SRC, name), newline="") as f:
        rows = list(csv.reader(f))
    n, nf = int(rows[0][0]), int(rows[0][1])
    classes = rows[0][2:]
    assert nf == len(header), (name, nf, len(header))
    with open(os.path.join(OUT, out_name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header + [target])
        for r in rows[1 : n + 1]:
            w.writerow(r[:nf] + [classes[int(r[nf])]])


def diabetes():
    with gzip.open(os.path.join(SRC, "diabetes_data_raw.csv.gz"), "rt") as f:
        x = [line.split() for line in f if line.strip()]
    with gzip.open(os.path.join(SRC, "diabetes_target.csv.gz"), "rt") as f:
        y = [float(line) for line in f if line.strip()]
    assert len(x) == len(y) == 442
    with open(os.path.join(OUT, "diabetes.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(DIABETES + ["progression"])
        for r, t in zip(x, y):
            w.writerow(r + [f"{t:g}"])


def digits():
    """8×8 images of handwritten digits, 16 grey levels: pixels p0_0 … p7_7 and the digit."""
    with gzip.open(os.path.join(SRC, "digits.csv.gz"), "rt") as f:
        rows = [line.strip().split(",") for line in f if line.strip()]
    assert len(rows) == 1797 and all(len(r) == 65 for r in rows)
    with open(os.path.join(OUT, "digits.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([f"p{i}_{j}" for i in range(8) for j in range(8)] + ["digit"])
        for r in rows:
            w.writerow([str(int(float(v))) for v in r])


class_csv("wine_data.csv", WINE, "wine.csv", "cultivar")
class_csv("breast_cancer.csv", BC, "breast_cancer.csv", "diagnosis")
diabetes()
digits()

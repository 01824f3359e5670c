#!/usr/bin/env python3
"""Reference values for zhixing-data's scalers, encoders, text vectorizers and imputers,
computed with scikit-learn 1.9.1.

Writes crates/data/tests/reference/data_reference.json, which crates/data/tests/encoders.rs
loads (the tests themselves need no Python). Matrices are lists of rows.

Usage (from the repository root, with a virtual environment holding scikit-learn):
    python3 -m venv /tmp/skvenv && /tmp/skvenv/bin/pip install scikit-learn==1.9.1
    /tmp/skvenv/bin/python scripts/data_reference.py [--out PATH]
"""

import argparse
import json
import os

import numpy as np
import sklearn
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, OrdinalEncoder, StandardScaler

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "crates", "data", "tests", "reference", "data_reference.json")


def rows(a):
    return np.asarray(a, dtype=np.float64).tolist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()

    # Scalers: fit on train, apply to held-out rows; the third column is constant.
    train = np.array([[1.0, -2.0, 5.0], [2.5, 0.0, 5.0], [4.0, 3.5, 5.0], [-1.0, 8.0, 5.0],
                      [0.5, 1.0, 5.0]])
    test = np.array([[3.0, -4.0, 6.0], [0.0, 10.0, 5.0]])
    ss = StandardScaler().fit(train)
    mm = MinMaxScaler().fit(train)

    # Categories: unseen "purple" at transform time.
    cats_train = [["red"], ["green"], ["blue"], ["green"], ["red"], ["green"]]
    cats_test = [["green"], ["purple"], ["blue"]]
    ohe = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(cats_train)
    ore = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=3).fit(cats_train)

    docs = ["The cat sat on the mat.", "A dog chased the cat!", "Dogs and cats, cats and dogs",
            "The mat was red; the dog was not.", "I am a cat person"]
    new_docs = ["A red cat and a red dog", "nothing known here", ""]
    tfidf = TfidfVectorizer().fit(docs)
    tfidf_min = TfidfVectorizer(min_df=2).fit(docs)
    counts = CountVectorizer().fit(docs)

    col = np.array([[3.0], [np.nan], [1.0], [7.0], [1.0], [np.nan], [4.0]])
    imputers = {s: float(SimpleImputer(strategy=s).fit(col).statistics_[0])
                for s in ["mean", "median", "most_frequent"]}

    out = {
        "sklearn_version": sklearn.__version__,
        "scaler_train": rows(train), "scaler_test": rows(test),
        "standard_mean": ss.mean_.tolist(), "standard_scale": ss.scale_.tolist(),
        "standard_train": rows(ss.transform(train)), "standard_test": rows(ss.transform(test)),
        "minmax_train": rows(mm.transform(train)), "minmax_test": rows(mm.transform(test)),
        "cats_train": [c[0] for c in cats_train], "cats_test": [c[0] for c in cats_test],
        "onehot_categories": ohe.categories_[0].tolist(),
        "onehot_test": rows(ohe.transform(cats_test)),
        "ordinal_test": rows(ore.transform(cats_test)),
        "docs": docs, "new_docs": new_docs,
        "tfidf_vocabulary": tfidf.get_feature_names_out().tolist(),
        "tfidf_idf": tfidf.idf_.tolist(),
        "tfidf_docs": rows(tfidf.transform(docs).toarray()),
        "tfidf_new": rows(tfidf.transform(new_docs).toarray()),
        "tfidf_min_df2_vocabulary": tfidf_min.get_feature_names_out().tolist(),
        "tfidf_min_df2_new": rows(tfidf_min.transform(new_docs).toarray()),
        "counts_vocabulary": counts.get_feature_names_out().tolist(),
        "counts_new": rows(counts.transform(new_docs).toarray()),
        "impute_column": [None if np.isnan(x) else float(x) for x in col[:, 0]],
        "impute": imputers,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Minimal Python serving baseline for `zhixing bench serve`.

FastAPI + uvicorn in one process, the same API shape as `zhixing serve`:
  POST /v1/models/{name}/predict  one record (object) or a list of records
      -> {"model": name, "predictions": [{"prediction": label, "probabilities": {...}}]}
  GET  /healthz
Models:
  iris   scikit-learn StandardScaler + LogisticRegression, fitted on data/iris.csv at start
         (zhixing's default for this file is the same: standardized features, logistic).
  mnist  the 784-128-64-10 ReLU MLP of zhixing's MNIST model, run with numpy on the *same
         weights*, read from zhixing's model file (safetensors). torch is not used: its
         PyPI wheel is several GB; numpy does the same three matrix products.

Usage (from the repository root):
  python benches/reference/serve_baseline.py --port 8000 --iris data/iris.csv \
      [--mnist-model target/bench-serve/mnist_mlp.zxm]
Requirements: benches/reference/serve_requirements.txt.
"""

import argparse
import json
import struct

import numpy as np
import pandas as pd
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


class IrisModel:
    def __init__(self, csv):
        df = pd.read_csv(csv)
        self.fields = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        self.pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        self.pipe.fit(df[self.fields].to_numpy(dtype=float), df["species"].to_numpy())
        self.classes = [str(c) for c in self.pipe.classes_]

    def predict_proba(self, x):
        return self.pipe.predict_proba(x)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        arr = np.frombuffer(data[base + start : base + end], dtype=dtypes[meta["dtype"]])
        out[name] = arr.reshape(meta["shape"])
    return out


class MnistMlp:
    """Linear layers `estimator.{i}.weight` [out, in] and `.bias`, ReLU between them."""

    def __init__(self, path):
        t = read_safetensors(path)
        idx = sorted({int(k.split(".")[1]) for k in t if k.endswith(".weight")})
        self.layers = [(t[f"estimator.{i}.weight"].T.copy(), t[f"estimator.{i}.bias"]) for i in idx]
        self.fields = [f"p{i}" for i in range(784)]
        self.classes = [str(d) for d in range(10)]

    def predict_proba(self, x):
        h = x.astype(np.float32)
        for k, (w, b) in enumerate(self.layers):
            h = h @ w + b
            if k < len(self.layers) - 1:
                h = np.maximum(h, 0)
        h = h - h.max(axis=1, keepdims=True)
        e = np.exp(h)
        return e / e.sum(axis=1, keepdims=True)


def error(status, code, message, field=None):
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(status_code=status, content=body)


def build_app(models):
    app = FastAPI()

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.post("/v1/models/{name}/predict")
    async def predict(name: str, request: Request):
        model = models.get(name)
        if model is None:
            return error(404, "unknown_model", f"no model named `{name}`")
        try:
            body = await request.json()
        except ValueError as e:
            return error(400, "malformed_json", str(e))
        records = body if isinstance(body, list) else [body]
        try:
            x = np.array([[float(r[f]) for f in model.fields] for r in records])
        except KeyError as e:
            return error(400, "missing_field", f"field {e} is missing", str(e.args[0]))
        except (TypeError, ValueError) as e:
            return error(400, "invalid_value", str(e))
        proba = model.predict_proba(x)
        preds = [
            {
                "prediction": model.classes[int(p.argmax())],
                "probabilities": dict(zip(model.classes, map(float, p))),
            }
            for p in proba
        ]
        return {"model": name, "predictions": preds}

    return app


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--iris", default="data/iris.csv")
    ap.add_argument("--mnist-model")
    args = ap.parse_args()
    models = {"iris": IrisModel(args.iris)}
    if args.mnist_model:
        models["mnist"] = MnistMlp(args.mnist_model)
    # No access log: zhixing serve runs at --log-level warn in the benchmark too.
    uvicorn.run(build_app(models), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

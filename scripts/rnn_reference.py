#!/usr/bin/env python3
"""Float64 reference values for zhixing-nn's recurrent layers (RNN, LSTM, GRU) with PyTorch.

Writes crates/nn/tests/reference/rnn_reference.json, which crates/nn/tests/recurrent.rs
loads. Each case is a 2-layer, batch_first module on fixed random weights with initial
states; "masked" cases run the same batch through pack_padded_sequence with per-example
lengths. A case holds the state dict ("params"), the input, initial states, the forward
output and final states, random upstream gradients for each of them, and the gradients of
sum(output·u_out) + sum(h_n·u_h) [+ sum(c_n·u_c)] w.r.t. the input, the initial states
and every parameter. Tensors are {"shape": [...], "data": [flat row-major floats]}.

Usage (from the repository root):
    benches/reference/.venv/bin/python scripts/rnn_reference.py [--out PATH]
"""

import argparse
import json
import os

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "crates", "nn", "tests", "reference", "rnn_reference.json")
DTYPE = torch.float64
B, T, I, H, L = 3, 5, 3, 4, 2
LENGTHS = [5, 2, 3]


def encode(t):
    t = t.detach().to(DTYPE).contiguous()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def make(kind, masked, nonlinearity="tanh"):
    torch.manual_seed({"rnn": 1, "rnn_relu": 2, "lstm": 3, "gru": 4}[kind] + (10 if masked else 0))
    if kind.startswith("rnn"):
        m = nn.RNN(I, H, num_layers=L, batch_first=True, nonlinearity=nonlinearity)
    elif kind == "lstm":
        m = nn.LSTM(I, H, num_layers=L, batch_first=True)
    else:
        m = nn.GRU(I, H, num_layers=L, batch_first=True)
    m = m.to(DTYPE)
    x = torch.randn(B, T, I, dtype=DTYPE, requires_grad=True)
    h0 = (0.5 * torch.randn(L, B, H, dtype=DTYPE)).requires_grad_(True)
    c0 = (0.5 * torch.randn(L, B, H, dtype=DTYPE)).requires_grad_(True)
    state = (h0, c0) if kind == "lstm" else h0
    if masked:
        packed = pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=True, enforce_sorted=False)
        out, st = m(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    else:
        out, st = m(x, state)
    h_n, c_n = (st if kind == "lstm" else (st, None))
    u_out = torch.randn_like(out)
    u_h = torch.randn_like(h_n)
    loss = (out * u_out).sum() + (h_n * u_h).sum()
    case = {
        "kind": kind,
        "lengths": LENGTHS if masked else None,
        "params": {n: encode(p) for n, p in m.named_parameters()},
        "input": encode(x),
        "h0": encode(h0),
        "output": encode(out),
        "h_n": encode(h_n),
        "u_out": encode(u_out),
        "u_h": encode(u_h),
    }
    if kind == "lstm":
        u_c = torch.randn_like(c_n)
        loss = loss + (c_n * u_c).sum()
        case.update({"c0": encode(c0), "c_n": encode(c_n), "u_c": encode(u_c)})
    loss.backward()
    grads = {"input": encode(x.grad), "h0": encode(h0.grad)}
    if kind == "lstm":
        grads["c0"] = encode(c0.grad)
    for n, p in m.named_parameters():
        grads[n] = encode(p.grad)
    case["grads"] = grads
    return case


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    cases = {}
    for kind, nl in [("rnn", "tanh"), ("rnn_relu", "relu"), ("lstm", None), ("gru", None)]:
        for masked in (False, True):
            name = kind + ("_masked" if masked else "")
            cases[name] = make(kind, masked, nl or "tanh")
    doc = {"torch": torch.__version__, "batch": B, "steps": T, "input_size": I,
           "hidden_size": H, "num_layers": L, "cases": cases}
    with open(args.out, "w") as f:
        json.dump(doc, f)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

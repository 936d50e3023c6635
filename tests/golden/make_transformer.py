#!/usr/bin/python3
"""make_transformer.py — writes tests/data/transformer.txt: a pre-norm transformer block's
output and gradients from PyTorch, for tests/test_transformer.c.

Run by hand with Debian's python3 (torch 1.13): /usr/bin/python3 tests/golden/make_transformer.py
The file has make_golden.py's format (one case, "transformer_block"). The block:
    y = x + attn(ln1(x)),  z = y + mlp(ln2(y))
with multi-head causal self-attention (2 heads), layer norm (eps 1e-5) and a GELU (erf)
MLP; linear layers are h @ W + b with W [in, out]. Every input and parameter is fixed
data from a formula (ramp, rounded to float32), written to the file so that the C test
feeds the same numbers; torch computes in float64. The gradients are of
sum(z * r) with r a fixed tensor of z's shape.
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_golden import fmt_array, ramp, weights  # noqa: E402

torch.set_default_dtype(torch.float64)

B, T, D, H, M = 2, 5, 8, 2, 16
HD = D // H

# Parameters in the order the C test declares them: name, shape, ramp start and step
# (wrapped into a range of width 0.8, so the values repeat in a pattern of both signs).
PARAMS = [
    ("ln1_w", [D], 0.8, 0.07), ("ln1_b", [D], -0.1, 0.03),
    ("wq", [D, D], -0.4, 0.031), ("bq", [D], -0.05, 0.02),
    ("wk", [D, D], -0.37, 0.029), ("bk", [D], 0.04, -0.015),
    ("wv", [D, D], -0.35, 0.027), ("bv", [D], -0.02, 0.01),
    ("wo", [D, D], -0.33, 0.033), ("bo", [D], 0.03, -0.01),
    ("ln2_w", [D], 1.1, -0.05), ("ln2_b", [D], 0.05, -0.02),
    ("w1", [D, M], -0.38, 0.023), ("b1", [M], -0.1, 0.017),
    ("w2", [M, D], -0.36, 0.021), ("b2", [D], 0.02, -0.012),
]


def block(x, p):
    ln = torch.nn.functional.layer_norm
    h = ln(x, [D], p["ln1_w"], p["ln1_b"])

    def heads(w, b):  # [B, T, D] -> [B, H, T, HD]
        return (h @ w + b).reshape(B, T, H, HD).permute(0, 2, 1, 3)

    q, k, v = heads(p["wq"], p["bq"]), heads(p["wk"], p["bk"]), heads(p["wv"], p["bv"])
    s = q @ k.transpose(-2, -1) / math.sqrt(HD)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    s = s.masked_fill(~causal, float("-inf"))
    o = torch.softmax(s, -1) @ v
    o = o.permute(0, 2, 1, 3).reshape(B, T, D)
    y = x + o @ p["wo"] + p["bo"]
    m = torch.nn.functional.gelu(ln(y, [D], p["ln2_w"], p["ln2_b"]) @ p["w1"] + p["b1"])
    return y + m @ p["w2"] + p["b2"]


def main():
    x = ramp([B, T, D], -1.5, 0.173, wrap=3.0).requires_grad_(True)
    p = {n: ramp(s, a, d, wrap=0.8).requires_grad_(True) for n, s, a, d in PARAMS}
    r = weights([B, T, D])
    z = block(x, p)
    names = ["x"] + [n for n, _, _, _ in PARAMS]
    gs = torch.autograd.grad((z * r).sum(), [x] + [p[n] for n, _, _, _ in PARAMS])
    lines = ["# transformer.txt — a transformer block's values from PyTorch, written by",
             "# tests/golden/make_transformer.py (make_golden.py's format). Do not edit.",
             "case transformer_block", fmt_array("x", x), fmt_array("r", r)]
    lines += [fmt_array(n, p[n]) for n, _, _, _ in PARAMS]
    lines.append(fmt_array("z", z))
    lines += [fmt_array("dloss_d" + n, g) for n, g in zip(names, gs)]
    lines += ["end", ""]
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.normpath(os.path.join(here, "..", "data", "transformer.txt"))
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("wrote %s" % path)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""make_nan_inf.py — writes tests/golden/nan_inf_cases.h: values and gradients from
PyTorch at NaN, +-inf and +-0 (and a few finite points), for tests/test_nan_inf.c.

Run by hand with Debian's python3 (torch 1.13): /usr/bin/python3 tests/golden/make_nan_inf.py
CI never runs it. tests/golden/make_golden.py cannot hold these: its comparison treats
NaN as a mismatch, and here NaN is the expected answer half of the time.

Every case is elementwise over a row of inputs x (and a target t where the op takes
one). The gradient is that of sum(y * w) with respect to x, so w = 1 gives y' itself
and an infinite w checks what an op does with an infinite upstream gradient. Inputs are
rounded to float32; torch computes in float64 from them. Only cases where nabla
follows PyTorch belong here: the deliberate differences are written by hand in
tests/test_nan_inf.c and listed in docs/conventions.md.
"""
import math
import os

import torch

torch.set_default_dtype(torch.float64)
F = torch.nn.functional
NAN, INF = float("nan"), float("inf")

# The row most cases use: NaN, both infinities, both zeros, a point on each side.
X = [NAN, INF, -INF, 0.0, -0.0, -1.5, 0.5]
# Infinite upstream gradients: x <= 0 must give 0 for relu, not 0 * inf = NaN.
X_GY = [-1.5, 0.5, NAN, 0.0, -INF, INF]
W_INF = [INF, INF, INF, -INF, INF, INF]

CASES = []


def f32(values):
    return torch.tensor(values, dtype=torch.float32).to(torch.float64)


# Zeros are compared with their sign, except in the few cases whose sign differs
# (docs/conventions.md): elu(-0) is -0 in nabla (alpha expm1(-0)) and +0 in PyTorch
# (exp(-0) - 1), and softmax's gradient at a -inf logit is +0 in nabla, -0 in PyTorch.
def unary(name, fn, xs=X, w=None, signed_zero=True):
    CASES.append((name, fn, xs, None, w, signed_zero))


def with_target(name, fn, xs, ts):
    CASES.append((name, fn, xs, ts, None, True))


for _n, _f in [
    ("relu", torch.relu),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.1)),
    ("abs", torch.abs),
    ("sign", torch.sign),
    ("clamp", lambda x: x.clamp(-1.0, 1.0)),
    ("sigmoid", torch.sigmoid),
    ("tanh", torch.tanh),
    ("softplus", F.softplus),
    ("silu", F.silu),
    ("gelu", F.gelu),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh")),
    ("exp", torch.exp),
    ("log", torch.log),
    ("sqrt", torch.sqrt),
    ("rsqrt", torch.rsqrt),
    ("reciprocal", torch.reciprocal),
    ("expm1", torch.expm1),
    ("log1p", torch.log1p),
    ("square", torch.square),
    ("neg", torch.neg),
    ("erf", torch.erf),
]:
    unary(_n, _f)

unary("elu", lambda x: F.elu(x, 0.7), signed_zero=False)

# Rounding: halves of both parities and signs (round goes to even), the float just
# below 0.5 (floor(x + 0.5) would give 1), zeros of both signs, values past 2^22 (with
# a half) and 2^24, infinities and NaN. The gradient is 0 everywhere.
X_ROUND = [NAN, INF, -INF, 0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.49999997, -0.3, 2.7,
           -2.7, 4194304.5, 4194305.5, 1e10, -1e30]
for _n, _f in [("floor", torch.floor), ("ceil", torch.ceil), ("round", torch.round),
               ("trunc", torch.trunc)]:
    unary(_n, _f, X_ROUND)
unary("relu_gy_inf", torch.relu, X_GY, W_INF)
unary("leaky_relu_gy_inf", lambda x: F.leaky_relu(x, 0.1), X_GY, W_INF)
unary("elu_gy_inf", lambda x: F.elu(x, 0.7), X_GY, W_INF)

# x + 0 is not x: -0 + +0 = +0. The other identities are exact, signs of zeros included
# (the simplifier must keep exactly the first kind).
X_ZERO = [-0.0, 0.0, NAN, INF, -INF, 1.5]
unary("add_zero", lambda x: x + 0.0, X_ZERO)
unary("zero_add", lambda x: 0.0 + x, X_ZERO)
unary("add_neg_zero", lambda x: x + (-0.0), X_ZERO)
unary("sub_zero", lambda x: x - 0.0, X_ZERO)
unary("sub_neg_zero", lambda x: x - (-0.0), X_ZERO)
unary("mul_one", lambda x: x * 1.0, X_ZERO)
unary("div_one", lambda x: x / 1.0, X_ZERO)

# Rows of three logits along the last axis; the weights make every gradient distinct.
ROWS = [[INF, 0.0, 1.0], [-INF, 0.0, 1.0], [NAN, 0.0, 1.0], [INF, INF, 0.0],
        [-INF, -INF, 0.0]]
for _i, _r in enumerate(ROWS):
    CASES.append(("log_softmax_%d" % _i, lambda x: torch.log_softmax(x, -1), _r, None,
                  [1.0, 2.0, 3.0], True))
    CASES.append(("softmax_%d" % _i, lambda x: torch.softmax(x, -1), _r, None,
                  [1.0, 2.0, 3.0], False))
    CASES.append(("logsumexp_%d" % _i, lambda x: torch.logsumexp(x, -1), _r, None, None,
                  True))
    for _lab in (0, 1):
        # The label travels in t[0]; the loss of one sample is a scalar.
        with_target("cross_entropy_%d_%d" % (_i, _lab),
                    lambda x, t: F.cross_entropy(x, t[0].long()), _r, [_lab])

# bce_with_logits at infinite and NaN logits, for targets 0, 1/2 and 1.
_Z = [INF, -INF, NAN, 0.0, -100.0, 100.0]
with_target("bce_with_logits",
            lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction="none"),
            _Z * 3, [0.0] * 6 + [0.5] * 6 + [1.0] * 6)
with_target("mse", lambda x, t: F.mse_loss(x, t, reduction="none"),
            [INF, -INF, NAN, -0.0], [0.0, 0.0, 0.0, 0.0])


def c_num(v):
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    if v == 0.0:
        return "-0.0" if math.copysign(1.0, v) < 0 else "0.0"
    return "%.9g" % v


def c_list(vs):
    return "{" + (", ".join(c_num(v) for v in vs) or "0") + "}"


def run(name, fn, xs, ts, w, signed_zero):
    x = f32(xs).requires_grad_(True)
    t = f32(ts) if ts is not None else None
    y = fn(x) if t is None else fn(x, t)
    wt = f32(w) if w is not None else torch.ones_like(y)
    (dx,) = torch.autograd.grad(y, [x], wt)
    ys = y.detach().reshape(-1).tolist()
    lines = ['    {"%s", %d, %d, %d,' % (name, len(xs), len(ys), int(signed_zero)),
             "     " + c_list(x.detach().tolist()) + ",",
             "     " + c_list(ts if ts is not None else []) + ",",
             "     " + c_list(wt.reshape(-1).tolist()) + ",",
             "     " + c_list(ys) + ",",
             "     " + c_list(dx.tolist()) + "},"]
    return "\n".join(lines)


def main():
    out = ["/* nan_inf_cases.h — written by tests/golden/make_nan_inf.py from PyTorch %s."
           % torch.__version__.split("a")[0],
           " * Do not edit by hand. Each row: op, n (inputs), n_y (outputs), signed_zero (the",
           " * sign of a zero must match too), x, t (targets or the label), w (weights of",
           " * sum(y * w)), y, dsum(y * w)/dx. */",
           "/* clang-format off */",
           ""]
    for c in CASES:
        out.append(run(*c))
    out.append("    /* clang-format on */")
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "nan_inf_cases.h")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
    print("wrote %d cases to %s" % (len(CASES), os.path.normpath(path)))


if __name__ == "__main__":
    main()

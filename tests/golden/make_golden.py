#!/usr/bin/python3
"""make_golden.py — writes tests/data/golden.txt: outputs and gradients from PyTorch.

Run by hand with Debian's python3 (torch 1.13): /usr/bin/python3 tests/golden/make_golden.py
CI never runs it; tests/test_golden.c builds the same graphs with nabla in f32 and
compares against the committed file.

Every input is fixed data (no randomness) rounded to float32, so the C test feeds the
very same numbers; torch then computes in float64, so the file holds the exact values
that an f32 implementation approximates. Gradients are of a scalar: either the case's
own loss, or sum(out * wgt) with `wgt` a fixed input of out's shape (so every element
of a non-scalar output is checked).

The file format is documented in HEADER below (it is the top of the written file).
"""
import math
import os

import torch

torch.set_default_dtype(torch.float64)

HEADER = """\
# golden.txt — expected values from PyTorch, written by tests/golden/make_golden.py.
# Do not edit by hand: run `/usr/bin/python3 tests/golden/make_golden.py`.
#
# Format: lines starting with '#' are comments. A case is
#   case <name>
#   <array> <dtype> <rank> <dim0> ... <dim rank-1> : <value> <value> ...
#   ...
#   end
# with one array per line; dtype is f32 (float data) or i32 (labels, indices); values
# are row-major, printed with %.9g. Inputs of the graph (named as in the C test) come
# first; outputs and gradients follow. A gradient array is named d<y>_d<x>: the
# gradient of the case's scalar <y> with respect to input <x>. Inputs are rounded to
# float32 before torch computes the rest in float64.
"""

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def f32(values, shape=None):
    """A float64 tensor holding float32-rounded values."""
    t = torch.tensor(values, dtype=torch.float32).to(torch.float64)
    if shape is not None:
        t = t.reshape(shape)
    return t


def ramp(shape, start, step, wrap=None):
    """Deterministic data: start + step * k (k row-major), optionally wrapped into
    [start, start + wrap) so values stay in a range."""
    n = 1
    for s in shape:
        n *= s
    vals = []
    for k in range(n):
        v = k * step
        if wrap is not None:
            v = math.fmod(v, wrap)
        vals.append(start + v)
    return f32(vals, shape)


def weights(shape):
    """Fixed weights for sum(out * wgt): distinct, both signs, none zero."""
    n = 1
    for s in shape:
        n *= s
    vals = [((k * 7) % 11 - 5 + 0.5) / 4.0 for k in range(n)]
    return f32(vals, shape)


def grads(y, xs):
    gs = torch.autograd.grad(y, xs, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(xs, gs)]


def req(*ts):
    return [t.clone().requires_grad_(True) for t in ts]


# ---- the seed: the PyTorch autograd tutorial -------------------------------------------

@case
def seed_a():
    (x,) = req(f32(3.0))
    y = x ** 2
    (dx,) = grads(y, [x])
    return [("x", x)], [("y", y), ("dy_dx", dx)]


@case
def seed_b():
    x, y = f32(6.7), f32(0.0)
    w, b = req(f32(1.0), f32(0.0))
    z = w * x + b
    p = torch.sigmoid(z).clamp(1e-8, 1 - 1e-8)
    loss = -(y * torch.log(p) + (1 - y) * torch.log(1 - p))
    dw, db = grads(loss, [w, b])
    return [("x", x), ("y", y), ("w", w), ("b", b)], \
        [("loss", loss), ("dloss_dw", dw), ("dloss_db", db)]


@case
def seed_c():
    (x,) = req(f32([1.0, 2.0, 3.0]))
    y = (x ** 2).mean()
    (dx,) = grads(y, [x])
    return [("x", x)], [("y", y), ("dy_dx", dx)]


# ---- a small MLP ------------------------------------------------------------------------

@case
def mlp():
    x = ramp([4, 3], -1.0, 0.37, wrap=2.0)
    labels = torch.tensor([0, 2, 1, 2])
    w1, b1, w2, b2 = req(ramp([3, 5], -0.8, 0.23, wrap=1.6),
                         f32([0.1, -0.05, 0.2, 0.03, -0.12]),
                         ramp([5, 3], -0.7, 0.29, wrap=1.4),
                         f32([0.02, -0.1, 0.05]))
    h = torch.relu(x @ w1 + b1)
    logits = torch.tanh(h @ w2 + b2)
    loss = torch.nn.functional.cross_entropy(logits, labels)
    gs = grads(loss, [w1, b1, w2, b2])
    return [("x", x), ("labels", labels), ("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)], \
        [("h", h), ("logits", logits), ("loss", loss)] + \
        [("dloss_d" + n, g) for n, g in zip(["w1", "b1", "w2", "b2"], gs)]


# ---- broadcasting arithmetic ------------------------------------------------------------

@case
def broadcast_arith():
    a, b, c = req(ramp([2, 3], -1.0, 0.41, wrap=2.0), f32([0.5, -1.5, 2.0]),
                  f32([[1.25], [-0.75]]))
    s = f32(0.3)
    out = (a + b) * c - a / (b + 3.0) + s
    wgt = weights([2, 3])
    loss = (out * wgt).sum()
    gs = grads(loss, [a, b, c])
    return [("a", a), ("b", b), ("c", c), ("wgt", wgt)], \
        [("out", out), ("dloss_da", gs[0]), ("dloss_db", gs[1]), ("dloss_dc", gs[2])]


@case
def broadcast_binary():
    # pow with a positive base, maximum/minimum and where away from ties, clamp.
    a, b, c = req(f32([[0.5, 1.5, 2.5], [1.2, 0.7, 3.1]]), f32([1.5, -0.5, 2.0]),
                  f32([[1.0], [0.9]]))
    p = torch.pow(a, b)
    mx = torch.maximum(a, c)
    mn = torch.minimum(a, c)
    wh = torch.where(a > c, a * b, c - b)
    cl = torch.clamp(a * b, -0.4, 1.6)
    out = p + mx * 2.0 - mn + wh * cl
    wgt = weights([2, 3])
    loss = (out * wgt).sum()
    gs = grads(loss, [a, b, c])
    return [("a", a), ("b", b), ("c", c), ("wgt", wgt)], \
        [("out", out), ("dloss_da", gs[0]), ("dloss_db", gs[1]), ("dloss_dc", gs[2])]


@case
def fmod_broadcast():
    # Both signs of dividend and divisor (the result takes the dividend's), quotients
    # kept off integers (where fmod jumps), a [2, 3] by [3] broadcast.
    a, b = req(f32([[5.3, -5.3, 2.9], [-0.7, 7.45, -3.5]]), f32([2.0, -1.5, 0.8]))
    out = torch.fmod(a, b)
    wgt = weights([2, 3])
    da, db = grads((out * wgt).sum(), [a, b])
    return [("a", a), ("b", b), ("wgt", wgt)], [("out", out), ("dloss_da", da), ("dloss_db", db)]


# ---- unary ops: one case each, x kept off kinks ----------------------------------------

UNARY_X = [-1.7, -0.6, -0.15, 0.2, 0.85, 1.9]
UNARY_POS = [0.15, 0.4, 0.9, 1.3, 2.2, 3.7]
UNARY = [
    ("neg", lambda x: -x, UNARY_X),
    ("abs", torch.abs, UNARY_X),
    ("sign", torch.sign, UNARY_X),
    ("floor", torch.floor, UNARY_X + [2.5, -2.5]),
    ("ceil", torch.ceil, UNARY_X + [2.5, -2.5]),
    ("round", torch.round, UNARY_X + [0.5, 1.5, 2.5, -0.5, -2.5]),
    ("trunc", torch.trunc, UNARY_X + [2.5, -2.5]),
    ("exp", torch.exp, UNARY_X),
    ("log", torch.log, UNARY_POS),
    ("log1p", torch.log1p, UNARY_X[1:] + [2.5]),
    ("expm1", torch.expm1, UNARY_X),
    ("sqrt", torch.sqrt, UNARY_POS),
    ("rsqrt", torch.rsqrt, UNARY_POS),
    ("square", torch.square, UNARY_X),
    ("reciprocal", torch.reciprocal, UNARY_X),
    ("sin", torch.sin, UNARY_X),
    ("cos", torch.cos, UNARY_X),
    ("tanh", torch.tanh, UNARY_X),
    ("sigmoid", torch.sigmoid, UNARY_X),
    ("relu", torch.relu, UNARY_X),
    ("leaky_relu", lambda x: torch.nn.functional.leaky_relu(x, 0.1), UNARY_X),
    ("elu", lambda x: torch.nn.functional.elu(x, 0.7), UNARY_X),
    ("gelu", torch.nn.functional.gelu, UNARY_X),
    ("gelu_tanh", lambda x: torch.nn.functional.gelu(x, approximate="tanh"), UNARY_X),
    ("silu", torch.nn.functional.silu, UNARY_X),
    ("softplus", torch.nn.functional.softplus, UNARY_X + [30.0, -30.0]),
    ("erf", torch.erf, UNARY_X + [3.5, -4.5]),
]


def make_unary(name, fn, xs):
    def run():
        (x,) = req(f32(xs))
        y = fn(x)
        wgt = weights([len(xs)])
        (dx,) = grads((y * wgt).sum(), [x])
        return [("x", x), ("wgt", wgt)], [("y", y), ("dloss_dx", dx)]
    run.__name__ = "unary_" + name
    return run


for _n, _f, _x in UNARY:
    CASES.append(make_unary(_n, _f, _x))


# ---- reductions with keepdim ------------------------------------------------------------

X234 = [0.3, -1.2, 0.8, 1.7, -0.4, 0.05, 2.1, -0.9, 1.1, -1.6, 0.6, 0.25,
        -0.35, 1.45, -2.05, 0.95, 0.15, -0.75, 1.85, -1.25, 0.45, 1.3, -0.55, 0.7]


def make_reduce(name, fn, dims, keepdim):
    def run():
        (x,) = req(f32(X234, [2, 3, 4]))
        y = fn(x, dims, keepdim)
        wgt = weights(list(y.shape))
        (dx,) = grads((y * wgt).sum(), [x])
        return [("x", x), ("wgt", wgt)], [("y", y), ("dloss_dx", dx)]
    run.__name__ = "reduce_" + name
    return run


def t_max(x, dims, keepdim):
    for d in sorted(dims, reverse=True):
        x = x.amax(d, keepdim=keepdim)
    return x


def t_min(x, dims, keepdim):
    for d in sorted(dims, reverse=True):
        x = x.amin(d, keepdim=keepdim)
    return x


REDUCE = [
    ("sum_1_keep", lambda x, d, k: x.sum(d, keepdim=k), [1], True),
    ("sum_all", lambda x, d, k: x.sum(), [], False),
    ("mean_02", lambda x, d, k: x.mean(d, keepdim=k), [0, 2], False),
    ("mean_m1_keep", lambda x, d, k: x.mean(d, keepdim=k), [-1], True),
    ("max_2_keep", t_max, [2], True),
    ("max_01", t_max, [0, 1], False),
    ("min_0", t_min, [0], False),
    ("min_12_keep", t_min, [1, 2], True),
    ("logsumexp_1_keep", lambda x, d, k: torch.logsumexp(x, d, keepdim=k), [1], True),
    ("logsumexp_02", lambda x, d, k: torch.logsumexp(x, d, keepdim=k), [0, 2], False),
]

for _n, _f, _d, _k in REDUCE:
    CASES.append(make_reduce(_n, _f, _d, _k))


# ---- argmax and argmin: i32 indices; the first index on ties, a NaN wins both ----------

NAN, INF = float("nan"), float("inf")
# Rows: a tie for the max, NaNs (the first one wins), all -inf, a tie for the min.
X_ARG = [[1.0, 3.0, 3.0, -1.0],
         [2.0, NAN, 5.0, NAN],
         [-INF, -INF, -INF, -INF],
         [3.0, -2.0, 5.0, -2.0]]


def make_arg(name, fn, x, dim, keepdim):
    def run():
        xt = x()
        return [("x", xt)], [("y", fn(xt, dim=dim, keepdim=keepdim).to(torch.int32))]
    run.__name__ = name
    return run


ARG = [
    ("argmax_m1_keep", torch.argmax, lambda: f32(X_ARG), -1, True),
    ("argmax_0", torch.argmax, lambda: f32(X_ARG), 0, False),
    ("argmin_1", torch.argmin, lambda: f32(X_ARG), 1, False),
    ("argmin_m2_keep", torch.argmin, lambda: f32(X_ARG), -2, True),
    # Repeating values (ties) in three dimensions.
    ("argmax_3d_1", torch.argmax, lambda: ramp([2, 3, 4], -1.0, 0.5, wrap=1.5), 1, False),
    ("argmin_3d_m3_keep", torch.argmin, lambda: ramp([2, 3, 4], -1.0, 0.5, wrap=1.5), -3, True),
]

for _n, _f, _x, _d, _k in ARG:
    CASES.append(make_arg(_n, _f, _x, _d, _k))


# ---- trigonometric and hyperbolic functions, prod (with zeros) ---------------------------

UNARY_UNIT = [-0.95, -0.6, -0.15, 0.2, 0.5, 0.85]  # inside (-1, 1): asin, acos, atanh
UNARY_ACOSH = [1.05, 1.3, 2.2, 3.7, 10.0]
# Rows of [4, 3]: no zero, one zero (at each end), two zeros, all zeros, one zero.
X_PROD_ZEROS = [[1.5, -2.0, 0.75],
                [0.0, 1.25, -3.0],
                [0.0, 2.5, 0.0],
                [0.0, 0.0, 0.0],
                [-0.5, 4.0, 0.0]]
# [2, 3, 4]: one zero in some slices over axes (0, 2), two in another.
X_PROD_3D = [0.9, -1.1, 1.2, 0.8, 1.05, 0.0, -0.95, 1.3, 1.15, 0.7, -1.25, 1.0,
             -0.85, 1.4, 0.0, 1.1, 0.6, 0.0, 1.35, -0.9, 1.2, -1.05, 0.95, 0.75]


def t_prod(x, dims, keepdim):
    if not dims:
        return x.prod()
    for d in sorted(dims, reverse=True):
        x = x.prod(d, keepdim=keepdim)
    return x


def make_prod(name, x, shape, dims, keepdim):
    def run():
        (xt,) = req(f32(x, shape))
        y = t_prod(xt, dims, keepdim)
        wgt = weights(list(y.shape))
        (dx,) = grads((y * wgt).sum(), [xt])
        return [("x", xt), ("wgt", wgt)], [("y", y), ("dloss_dx", dx)]
    run.__name__ = "prod_" + name
    return run


def make_prod_second(name, x, shape, dim):
    # g = d sum(prod(x) * wgt) / dx; then d sum(g * v) / dx: the second derivatives, which
    # torch's backward gets right at zeros (one, two and three zeros in a row).
    def run():
        (xt,) = req(f32(x, shape))
        wgt = weights(list(xt.prod(dim).shape))
        v = ramp(shape, -0.8, 0.27, wrap=1.7)
        (g,) = torch.autograd.grad((xt.prod(dim) * wgt).sum(), [xt], create_graph=True)
        (dx,) = grads((g * v).sum(), [xt])
        return [("x", xt), ("wgt", wgt), ("v", v)], [("g", g), ("dh_dx", dx)]
    run.__name__ = "prod_" + name
    return run


def math_cases():
    """tan ... atanh on x inside their domains, and prod, whose gradient with zeros is
    torch's product of the other elements (one zero, two zeros, all zeros)."""
    unary = [
        ("tan", torch.tan, UNARY_X),
        ("asin", torch.asin, UNARY_UNIT),
        ("acos", torch.acos, UNARY_UNIT),
        ("atan", torch.atan, UNARY_X + [30.0, -30.0]),
        ("sinh", torch.sinh, UNARY_X),
        ("cosh", torch.cosh, UNARY_X),
        ("asinh", torch.asinh, UNARY_X + [30.0, -30.0]),
        ("acosh", torch.acosh, UNARY_ACOSH),
        ("atanh", torch.atanh, UNARY_UNIT),
    ]
    for n, f, x in unary:
        CASES.append(make_unary(n, f, x))
    CASES.append(make_prod("1_keep", X234, [2, 3, 4], [1], True))
    CASES.append(make_prod("all", X234[:8], [2, 4], [], False))
    CASES.append(make_prod("zeros_1", X_PROD_ZEROS, [5, 3], [1], False))
    CASES.append(make_prod("zeros_0_keep", X_PROD_ZEROS, [5, 3], [0], True))
    CASES.append(make_prod("zeros_all", X_PROD_ZEROS[0] + X_PROD_ZEROS[1], [2, 3], [], False))
    CASES.append(make_prod("zeros_02", X_PROD_3D, [2, 3, 4], [0, 2], False))
    CASES.append(make_prod_second("second_zeros", X_PROD_ZEROS, [5, 3], 1))
    CASES.append(make_prod_second("second_zeros_0", X_PROD_ZEROS, [5, 3], 0))


math_cases()


# ---- i32 arithmetic, integer division, comparisons and casts -----------------------------

I32_MAX, I32_MIN = 2**31 - 1, -2**31
# Overflowing sums and products (torch's int32 wraps), signs of both kinds for // and %,
# a zero and large values; no zero divisor (torch raises) and no INT_MIN // -1 (torch's
# CPU kernel traps): tests/test_intops.c covers those by hand.
I32_A = [I32_MAX, I32_MIN, 123456789, -46341, 65536, 7, -7, 7, -7, 0, 5, -1, I32_MIN, I32_MAX]
I32_B = [1, 2, 1000, 46341, 65536, 2, 2, -2, -2, 3, 7, 3, -7, 13]


def i32(values, shape=None):
    t = torch.tensor(values, dtype=torch.int32)
    return t if shape is None else t.reshape(shape)


@case
def int_arith():
    a, b = i32(I32_A), i32(I32_B)
    outs = [("add", a + b), ("sub", a - b), ("mul", a * b),
            ("floor_div", torch.div(a, b, rounding_mode="floor")),
            ("remainder", torch.remainder(a, b))]
    # c: equal to a, one above or one below it, or at the other end of the range.
    c = i32([I32_MAX, 0, 123456789, -46340, 65536, 8, -7, 6, -8, 0, 5, -2, I32_MAX, I32_MIN])
    for n, f in [("eq", torch.eq), ("ne", torch.ne), ("lt", torch.lt), ("le", torch.le),
                 ("gt", torch.gt), ("ge", torch.ge)]:
        outs.append((n, f(a, c).to(torch.int32)))
    return [("a", a), ("b", b), ("c", c)], outs


@case
def int_broadcast():
    # a [2, 3, 4] with b [3, 1]: floor division and remainder with mixed signs.
    a = i32([(k * 37) % 101 - 50 for k in range(24)], [2, 3, 4])
    b = i32([3, -4, 7], [3, 1])
    return [("a", a), ("b", b)], \
        [("add", a + b), ("mul", a * b), ("floor_div", torch.div(a, b, rounding_mode="floor")),
         ("remainder", torch.remainder(a, b))]


@case
def int_cast():
    # x.to(torch.int32) truncates toward zero (values in range: torch's result for NaN,
    # inf and out-of-range values is the CPU's, not defined); i32 -> f32 rounds to even.
    x = f32([2.7, -2.7, 0.5, -0.5, 0.0, 1e9, -1e9, 2147483520.0, -2147483648.0, 123.999])
    i = i32([16777217, 16777219, I32_MAX, I32_MIN, -3, 0])
    return [("x", x), ("i", i)], \
        [("x_i32", x.to(torch.float32).to(torch.int32)),
         ("i_f32", i.to(torch.float32).to(torch.float64))]


# ---- softmax and log_softmax --------------------------------------------------------------

def make_softmax(name, fn, axis):
    def run():
        (x,) = req(f32(X234[:12], [3, 4]) * 3.0)
        y = fn(x, axis)
        wgt = weights([3, 4])
        (dx,) = grads((y * wgt).sum(), [x])
        return [("x", x), ("wgt", wgt)], [("y", y), ("dloss_dx", dx)]
    run.__name__ = name
    return run


CASES.append(make_softmax("softmax_m1", lambda x, a: torch.softmax(x, a), -1))
CASES.append(make_softmax("softmax_0", lambda x, a: torch.softmax(x, a), 0))
CASES.append(make_softmax("log_softmax_m1", lambda x, a: torch.log_softmax(x, a), -1))
CASES.append(make_softmax("log_softmax_0", lambda x, a: torch.log_softmax(x, a), 0))


@case
def log_softmax_large():
    # Stability: logits far apart, exp would overflow without the max shift.
    (x,) = req(f32([[100.0, 0.0, -100.0], [1000.0, 1001.0, 999.0]]))
    y = torch.log_softmax(x, -1)
    wgt = weights([2, 3])
    (dx,) = grads((y * wgt).sum(), [x])
    return [("x", x), ("wgt", wgt)], [("y", y), ("dloss_dx", dx)]


# ---- losses -----------------------------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]
F = torch.nn.functional


def loss_case(name, make):
    def run():
        ins, pred_names, out = make()
        xs = [t for n, t in ins if n in pred_names]
        if out.dim() == 0:
            loss = out
            extra = []
        else:
            wgt = weights(list(out.shape))
            loss = (out * wgt).sum()
            extra = [("wgt", wgt)]
        gs = grads(loss, xs)
        return ins + extra, [("y", out)] + [("dloss_d" + n, g) for n, g in zip(pred_names, gs)]
    run.__name__ = name
    return run


for _r in REDUCTIONS:
    def _mse(r=_r):
        (p,) = req(ramp([2, 3], -1.0, 0.45))
        t = f32([[0.5, -0.25, 1.0], [0.0, 2.0, -1.5]])
        return [("pred", p), ("target", t)], ["pred"], F.mse_loss(p, t, reduction=r)
    CASES.append(loss_case("mse_" + _r, _mse))

    def _bce(r=_r):
        (p,) = req(f32([0.1, 0.35, 0.6, 0.92, 0.5]))
        t = f32([0.0, 1.0, 1.0, 0.0, 0.3])
        return [("p", p), ("target", t)], ["p"], F.binary_cross_entropy(p, t, reduction=r)
    CASES.append(loss_case("bce_" + _r, _bce))

    def _bcel(r=_r):
        (z,) = req(f32([-100.0, -3.0, -0.5, 0.0, 0.7, 4.0, 100.0, 100.0]))
        t = f32([0.0, 1.0, 0.0, 1.0, 0.25, 0.0, 1.0, 0.0])
        return [("z", z), ("target", t)], ["z"], F.binary_cross_entropy_with_logits(z, t, reduction=r)
    CASES.append(loss_case("bce_logits_" + _r, _bcel))

    def _ce(r=_r):
        (z,) = req(ramp([3, 4], -2.0, 0.7, wrap=4.0))
        lab = torch.tensor([3, 0, 2])
        return [("logits", z), ("labels", lab)], ["logits"], F.cross_entropy(z, lab, reduction=r)
    CASES.append(loss_case("cross_entropy_" + _r, _ce))

    def _nll(r=_r):
        (lp,) = req(ramp([3, 4], -3.0, 0.55, wrap=3.0))
        lab = torch.tensor([1, 3, 0])
        return [("logp", lp), ("labels", lab)], ["logp"], F.nll_loss(lp, lab, reduction=r)
    CASES.append(loss_case("nll_" + _r, _nll))


@case
def bce_clamp_low():
    # The seed's clamp: p below eps = 1e-8 is clamped (no gradient flows there). The
    # upper bound is left out: 1 - 1e-8 rounds to 1 in float32.
    (p,) = req(f32([1e-9, 0.5, 0.999]))
    t = f32([1.0, 0.0, 1.0])
    pc = p.clamp(1e-8, 1 - 1e-8)
    loss = (-(t * torch.log(pc) + (1 - t) * torch.log(1 - pc))).mean()
    (dp,) = grads(loss, [p])
    return [("p", p), ("target", t)], [("y", loss), ("dloss_dp", dp)]


@case
def cross_entropy_1d():
    (z,) = req(f32([0.5, -1.0, 2.0, 0.25]))
    lab = torch.tensor(2)
    loss = F.cross_entropy(z, lab)
    (dz,) = grads(loss, [z])
    return [("logits", z), ("labels", lab)], [("y", loss), ("dloss_dlogits", dz)]


# ---- gather (embedding) and one_hot -------------------------------------------------------

@case
def gather_embedding():
    (table,) = req(ramp([5, 3], -1.0, 0.17))
    idx = torch.tensor([[4, 0], [2, 4]])  # row 4 twice: its gradient sums
    out = F.embedding(idx, table)
    wgt = weights([2, 2, 3])
    (dt,) = grads((out * wgt).sum(), [table])
    return [("table", table), ("index", idx), ("wgt", wgt)], \
        [("out", out), ("dloss_dtable", dt)]


@case
def one_hot():
    idx = torch.tensor([2, 0, 3, 3])
    out = F.one_hot(idx, 5).to(torch.float64)
    return [("index", idx)], [("out", out)]


@case
def take_along_dim():
    (x,) = req(ramp([3, 4], -1.0, 0.21))
    idx = torch.tensor([[3, 3], [0, 2], [1, 1]])  # repeated picks: their gradients sum
    out = torch.gather(x, 1, idx)
    wgt = weights([3, 2])
    (dx,) = grads((out * wgt).sum(), [x])
    return [("x", x), ("index", idx), ("wgt", wgt)], [("out", out), ("dloss_dx", dx)]


# ---- slice, concat, matmul, transpose/permute, reshape -----------------------------------

@case
def slice_step():
    (x,) = req(ramp([4, 5], -1.0, 0.13))
    out = x[1:4:2, -4::2]
    wgt = weights(list(out.shape))
    (dx,) = grads((out * wgt).sum(), [x])
    return [("x", x), ("wgt", wgt)], [("out", out), ("dloss_dx", dx)]


@case
def concat_axis1():
    a, b = req(ramp([2, 3], -1.0, 0.3), ramp([2, 2], 0.5, -0.4))
    out = torch.cat([a, b, a], 1)
    wgt = weights([2, 8])
    da, db = grads((out * wgt).sum(), [a, b])
    return [("a", a), ("b", b), ("wgt", wgt)], [("out", out), ("dloss_da", da), ("dloss_db", db)]


@case
def matmul_batched():
    a, b = req(ramp([2, 3, 4], -1.0, 0.11), ramp([4, 2], 0.6, -0.15))
    out = a @ b
    wgt = weights([2, 3, 2])
    da, db = grads((out * wgt).sum(), [a, b])
    return [("a", a), ("b", b), ("wgt", wgt)], [("out", out), ("dloss_da", da), ("dloss_db", db)]


@case
def transpose_permute_reshape():
    (x,) = req(ramp([2, 3, 4], -1.2, 0.1))
    t = x.transpose(-1, -2)            # [2, 4, 3]
    p = t.permute(2, 0, 1)             # [3, 2, 4]
    out = p.reshape(6, 4) * f32([1.0, -2.0, 0.5, 3.0])
    wgt = weights([6, 4])
    (dx,) = grads((out * wgt).sum(), [x])
    return [("x", x), ("wgt", wgt)], [("out", out), ("dloss_dx", dx)]


# ---- normalisation: layer, group and batch norm --------------------------------------------

def norm_case(name, fn, x, params):
    """A case of y = fn(x, *params): y and the gradients of sum(y * wgt) w.r.t. x and
    each parameter (weight, bias)."""
    def run():
        xt, *ps = req(x, *[v for _, v in params])
        y = fn(xt, *ps)
        wgt = weights(list(y.shape))
        gs = grads((y * wgt).sum(), [xt] + ps)
        ins = [("x", xt)] + [(n, p) for (n, _), p in zip(params, ps)] + [("wgt", wgt)]
        outs = [("y", y), ("dloss_dx", gs[0])]
        outs += [("dloss_d" + n, g) for (n, _), g in zip(params, gs[1:])]
        return ins, outs
    run.__name__ = name
    return run


# Inputs with an offset and a spread per group, so the statistics matter.
X_LN = ramp([2, 3, 4], -1.3, 0.37, wrap=2.9)
X_GN = ramp([2, 6, 3], -0.8, 0.53, wrap=3.1)
CASES += [
    norm_case("layer_norm_last", lambda x, w, b: torch.nn.functional.layer_norm(x, [4], w, b),
              X_LN, [("w", ramp([4], 0.5, 0.25)), ("b", ramp([4], -0.2, 0.1))]),
    norm_case("layer_norm_last2", lambda x, w: torch.nn.functional.layer_norm(x, [3, 4], w, None,
                                                                              eps=1e-3),
              X_LN, [("w", ramp([3, 4], -0.6, 0.15))]),
    norm_case("layer_norm_plain", lambda x: torch.nn.functional.layer_norm(x, [4]), X_LN, []),
    norm_case("group_norm_3", lambda x, w, b: torch.nn.functional.group_norm(x, 3, w, b),
              X_GN, [("w", ramp([6], 0.4, 0.2)), ("b", ramp([6], 0.3, -0.1))]),
    # (torch 1.13's group_norm backward fails with a bias and no weight: weight only.)
    norm_case("group_norm_1_flat", lambda x, w: torch.nn.functional.group_norm(x, 1, w, None,
                                                                               eps=1e-2),
              ramp([3, 4], -0.5, 0.41, wrap=1.7), [("w", ramp([4], 0.3, -0.1))]),
    norm_case("batch_norm_eval",
              lambda x, w, b: torch.nn.functional.batch_norm(
                  x, f32([0.2, -0.1, 0.3]), f32([1.5, 0.8, 2.2]), w, b, training=False),
              ramp([2, 3, 4], -1.1, 0.29, wrap=2.3),
              [("w", ramp([3], 0.7, 0.3)), ("b", ramp([3], -0.2, 0.2))]),
]


def batch_norm_train(name, shape):
    """One training step of batch norm (momentum 0.1), and a second on the same batch:
    y, the gradients, and the running statistics after each step."""
    def run():
        c = shape[1]
        x, w, b = req(ramp(shape, -1.2, 0.23, wrap=2.7), ramp([c], 0.6, 0.2),
                      ramp([c], -0.3, 0.15))
        rm0, rv0 = ramp([c], 0.1, -0.05), ramp([c], 0.9, 0.3)
        rm, rv = rm0.clone(), rv0.clone()
        y = torch.nn.functional.batch_norm(x, rm, rv, w, b, training=True, momentum=0.1)
        rm1, rv1 = rm.clone(), rv.clone()
        torch.nn.functional.batch_norm(x.detach(), rm, rv, w.detach(), b.detach(),
                                       training=True, momentum=0.1)
        wgt = weights(shape)
        dx, dw, db = grads((y * wgt).sum(), [x, w, b])
        ins = [("x", x), ("w", w), ("b", b), ("running_mean", rm0), ("running_var", rv0),
               ("wgt", wgt)]
        return ins, [("y", y), ("dloss_dx", dx), ("dloss_dw", dw), ("dloss_db", db),
                     ("new_running_mean", rm1), ("new_running_var", rv1),
                     ("new_running_mean2", rm), ("new_running_var2", rv)]
    run.__name__ = name
    return run


CASES += [batch_norm_train("batch_norm_train_4d", [4, 3, 5, 5]),
          batch_norm_train("batch_norm_train_1d", [8, 6])]


@case
def layer_norm_second():
    # The gradient of a gradient: d/dx of sum(v * dL/dx) for L = sum(ln(x) * wgt).
    x, w = req(X_LN, ramp([4], 0.5, 0.25))
    wgt, v = weights([2, 3, 4]), ramp([2, 3, 4], 0.3, -0.07)
    y = torch.nn.functional.layer_norm(x, [4], w, None)
    gx, gw = torch.autograd.grad((y * wgt).sum(), [x, w], create_graph=True)
    h = (gx * v).sum() + gw.sum()
    hx, hw = grads(h, [x, w])
    return [("x", x), ("w", w), ("wgt", wgt), ("v", v)], \
        [("dloss_dx", gx), ("dh_dx", hx), ("dh_dw", hw)]


# ---- pad: constant (with crops) and reflect, values and gradients ------------------------

def make_pad(name, shape, pads, mode, value):
    def run():
        (x,) = req(ramp(shape, -1.0, 0.23, wrap=2.5))
        if mode == "reflect":
            # torch pads only the last 1-3 axes of a 2-5 dim input in reflect mode.
            out = F.pad(x, pads, mode="reflect")
        else:
            out = F.pad(x, pads, mode="constant", value=value)
        wgt = weights(list(out.shape))
        (dx,) = grads((out * wgt).sum(), [x])
        return [("x", x), ("wgt", wgt)], [("out", out), ("dloss_dx", dx)]
    run.__name__ = name
    return run


PAD = [
    ("pad_constant_last", [2, 3], (1, 2), "constant", 0.0),
    ("pad_constant_value_2d", [2, 3, 2], (2, 0, 1, 1), "constant", -1.5),
    ("pad_constant_crop", [3, 4], (-1, 2, 1, -2), "constant", 0.25),
    ("pad_reflect_last", [2, 4], (2, 3), "reflect", 0.0),
    ("pad_reflect_2d", [2, 3, 4], (3, 1, 2, 2), "reflect", 0.0),
    ("pad_reflect_crop", [1, 2, 5], (-1, 2), "reflect", 0.0),
]
for _a in PAD:
    CASES.append(make_pad(*_a))


@case
def pad_reflect_second():
    # d/dx of sum(grad . v) where grad = d/dx sum(reflect_pad(x)^2 * w): exercises the
    # adjoint's own gradient (reflect padding again).
    (x,) = req(ramp([2, 4], -0.8, 0.37, wrap=2.0))
    w = weights([2, 8])
    y = (F.pad(x, (3, 1), mode="reflect") ** 2 * w).sum()
    (gx,) = torch.autograd.grad(y, [x], create_graph=True)
    v = ramp([2, 4], 0.5, -0.3)
    (h,) = torch.autograd.grad((gx * v).sum(), [x])
    return [("x", x), ("w", w), ("v", v)], [("y", y), ("dy_dx", gx), ("hv", h)]


# ---- scatter_add and index_add: repeated indices add up ---------------------------------

@case
def scatter_add_axis1():
    x, src = req(ramp([3, 4], -1.0, 0.31, wrap=2.0), ramp([3, 2], 0.5, -0.27))
    idx = torch.tensor([[3, 3], [0, 2], [1, 1]])  # rows 0 and 2 hit one column twice
    out = torch.scatter_add(x, 1, idx, src)
    wgt = weights([3, 4])
    dx, ds = grads((out * wgt).sum(), [x, src])
    return [("x", x), ("index", idx), ("src", src), ("wgt", wgt)], \
        [("out", out), ("dloss_dx", dx), ("dloss_dsrc", ds)]


@case
def scatter_add_axis0_3d():
    x, src = req(ramp([2, 3, 2], 0.2, 0.17, wrap=1.5), ramp([4, 3, 2], -0.6, 0.09))
    idx = torch.tensor([[[1, 0], [0, 0], [1, 1]], [[1, 1], [0, 1], [0, 0]],
                        [[0, 0], [1, 1], [1, 0]], [[1, 0], [0, 1], [1, 1]]])
    out = torch.scatter_add(x, 0, idx, src)
    wgt = weights([2, 3, 2])
    dx, ds = grads((out * wgt).sum(), [x, src])
    return [("x", x), ("index", idx), ("src", src), ("wgt", wgt)], \
        [("out", out), ("dloss_dx", dx), ("dloss_dsrc", ds)]


@case
def index_add_axis1():
    x, src = req(ramp([2, 5, 2], -0.4, 0.13, wrap=1.2), ramp([2, 3, 2], 0.7, -0.21))
    idx = torch.tensor([4, 0, 4])
    out = torch.index_add(x, 1, idx, src)
    wgt = weights([2, 5, 2])
    dx, ds = grads((out * wgt).sum(), [x, src])
    return [("x", x), ("index", idx), ("src", src), ("wgt", wgt)], \
        [("out", out), ("dloss_dx", dx), ("dloss_dsrc", ds)]


@case
def index_add_axis0():
    x, src = req(ramp([3, 2], 0.1, 0.4, wrap=1.0), ramp([4, 2], -0.3, 0.11))
    idx = torch.tensor([2, 2, 0, 2])
    out = torch.index_add(x, 0, idx, src)
    wgt = weights([3, 2])
    dx, ds = grads((out * wgt).sum(), [x, src])
    return [("x", x), ("index", idx), ("src", src), ("wgt", wgt)], \
        [("out", out), ("dloss_dx", dx), ("dloss_dsrc", ds)]


# ---- cumsum: running sums along one axis; the gradient is the reversed cumsum ---------------

def make_cumsum(name, shape, dim):
    def run():
        (x,) = req(ramp(shape, -1.1, 0.37, wrap=2.3))
        out = torch.cumsum(x, dim)
        wgt = weights(shape)
        (dx,) = grads((out * wgt).sum(), [x])
        return [("x", x), ("wgt", wgt)], [("out", out), ("dloss_dx", dx)]
    run.__name__ = name
    return run


for _a in [("cumsum_last", [7], -1), ("cumsum_axis1_3d", [2, 4, 3], 1),
           ("cumsum_axis0", [5, 2], 0)]:
    CASES.append(make_cumsum(*_a))


@case
def cumsum_second():
    # d/dx of sum(grad . v), grad = d/dx sum(cumsum(x)^2 * w): the reversed scan's own
    # gradient (a forward scan).
    (x,) = req(ramp([2, 5], -0.7, 0.29, wrap=1.9))
    w = weights([2, 5])
    y = (torch.cumsum(x, 1) ** 2 * w).sum()
    (gx,) = torch.autograd.grad(y, [x], create_graph=True)
    v = ramp([2, 5], 0.4, -0.17)
    (h,) = torch.autograd.grad((gx * v).sum(), [x])
    return [("x", x), ("w", w), ("v", v)], [("y", y), ("dy_dx", gx), ("hv", h)]


# ---- convolution: conv2d, conv1d, conv_transpose2d ---------------------------------------

def make_conv(name, fn, xs, ws, bias, **kw):
    """out = fn(x, w, b, **kw); the gradients of sum(out * wgt) for x, w (and b)."""
    def run():
        x, w = req(ramp(xs, -1.0, 0.37, wrap=2.0), ramp(ws, -0.8, 0.29, wrap=1.7))
        b = req(ramp([bias], -0.5, 0.3))[0] if bias else None
        out = fn(x, w, b, **kw)
        wgt = weights(list(out.shape))
        ins = [x, w] + ([b] if bias else [])
        gs = grads((out * wgt).sum(), ins)
        names = ["x", "w", "b"][:len(ins)]
        return [(n, t) for n, t in zip(names, ins)] + [("wgt", wgt)], \
            [("out", out)] + [("dloss_d" + n, g) for n, g in zip(names, gs)]
    run.__name__ = name
    return run


CONV = [
    ("conv2d_plain", F.conv2d, [2, 3, 5, 5], [4, 3, 3, 3], 4, {}),
    ("conv2d_stride_pad", F.conv2d, [2, 2, 6, 5], [3, 2, 3, 2], 3,
     dict(stride=(2, 1), padding=(1, 2))),
    ("conv2d_dilation2", F.conv2d, [1, 2, 7, 7], [2, 2, 3, 3], 0, dict(dilation=2, padding=1)),
    ("conv2d_groups2", F.conv2d, [2, 4, 5, 5], [6, 2, 3, 3], 6, dict(groups=2)),
    ("conv2d_depthwise", F.conv2d, [2, 3, 5, 5], [3, 1, 3, 3], 0, dict(groups=3, padding=1)),
    ("conv2d_same_even", F.conv2d, [1, 2, 6, 5], [2, 2, 4, 2], 0,
     dict(padding="same", dilation=(1, 2))),
    ("conv2d_pointwise", F.conv2d, [2, 3, 4, 4], [5, 3, 1, 1], 5, {}),
    ("conv2d_stride3_big", F.conv2d, [1, 1, 8, 9], [2, 1, 2, 3], 2, dict(stride=3, padding=(2, 1))),
    ("conv_transpose2d_outpad", F.conv_transpose2d, [2, 4, 3, 3], [4, 3, 3, 3], 3,
     dict(stride=2, padding=1, output_padding=1)),
    ("conv_transpose2d_groups_dil", F.conv_transpose2d, [1, 4, 4, 3], [4, 2, 2, 3], 4,
     dict(stride=(1, 2), padding=(0, 1), groups=2, dilation=2)),
    ("conv1d_stride_pad", F.conv1d, [2, 3, 9], [4, 3, 3], 4, dict(stride=2, padding=1)),
    ("conv1d_same_groups", F.conv1d, [2, 4, 8], [4, 2, 4], 0,
     dict(padding="same", dilation=2, groups=2)),
]

for _n, _f, _x, _w, _b, _kw in CONV:
    CASES.append(make_conv(_n, _f, _x, _w, _b, **_kw))


@case
def conv2d_hvp():
    # f(w) = sum(tanh(conv2d(x, w, padding=1)) ** 2); H v = d/dw (grad f . v): the
    # gradient of the conv's gradient.
    x = ramp([2, 2, 4, 4], -1.0, 0.23, wrap=2.0)
    v = ramp([3, 2, 3, 3], -0.5, 0.17, wrap=1.0)
    (w,) = req(ramp([3, 2, 3, 3], -0.6, 0.13, wrap=1.2))
    f = (torch.tanh(F.conv2d(x, w, padding=1)) ** 2).sum()
    (g,) = torch.autograd.grad(f, [w], create_graph=True)
    (hv,) = torch.autograd.grad((g * v).sum(), [w])
    return [("x", x), ("v", v), ("w", w)], [("f", f), ("df_dw", g), ("hv", hv)]


# ---- second order -------------------------------------------------------------------------

@case
def second_cube():
    (x,) = req(f32([-1.5, 0.5, 2.0]))
    y = (x ** 3).sum()
    (g,) = torch.autograd.grad(y, [x], create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), [x])
    return [("x", x)], [("y", y), ("dy_dx", g), ("d2y_dx2", h)]


@case
def hvp_net():
    # f(w) = sum(tanh(x @ w) ** 2); Hessian-vector product H v = d/dw (grad f . v).
    x = ramp([3, 2], -0.9, 0.35)
    v = f32([[0.5, -1.0], [0.25, 0.75]])
    (w,) = req(f32([[0.3, -0.6], [0.8, 0.1]]))
    f = (torch.tanh(x @ w) ** 2).sum()
    (g,) = torch.autograd.grad(f, [w], create_graph=True)
    (hv,) = torch.autograd.grad((g * v).sum(), [w])
    return [("x", x), ("v", v), ("w", w)], [("f", f), ("df_dw", g), ("hv", hv)]


# ---- pooling: max_pool2d, avg_pool2d, adaptive_avg_pool2d ------------------------------

def ints(shape, mod, mul=7, add=3):
    """Small integers (k * mul + add) mod `mod`, row-major: many ties in every window."""
    n = 1
    for s in shape:
        n *= s
    return f32([float((k * mul + add) % mod) for k in range(n)], shape)


def pool_nan():
    # A window with two NaNs (the last one gets the gradient), one with -inf only, ties.
    x = ints([1, 1, 4, 6], 5)
    x[0, 0, 0, 1] = float("nan")
    x[0, 0, 1, 0] = float("nan")
    x[0, 0, 2:4, 2:4] = -float("inf")
    return x


def make_pool(name, x, fn):
    def run():
        (xt,) = req(x())
        y = fn(xt)
        wgt = weights(list(y.shape))
        (dx,) = grads((y * wgt).sum(), [xt])
        return [("x", xt), ("wgt", wgt)], [("y", y), ("dloss_dx", dx)]
    run.__name__ = name
    return run


F = torch.nn.functional
POOL = [
    ("max_pool_ties", lambda: ints([2, 2, 4, 6], 4), lambda x: F.max_pool2d(x, 2)),
    ("max_pool_overlap", lambda: ints([1, 2, 5, 5], 3), lambda x: F.max_pool2d(x, 3, 1)),
    ("max_pool_rect_rank3", lambda: ints([2, 5, 7], 6),
     lambda x: F.max_pool2d(x, (2, 3), (1, 2))),
    ("max_pool_pad_dil", lambda: ints([1, 2, 7, 6], 5),
     lambda x: F.max_pool2d(x, 3, 2, padding=1, dilation=2)),
    ("max_pool_ceil", lambda: ints([1, 2, 5, 7], 6),
     lambda x: F.max_pool2d(x, 2, 2, ceil_mode=True)),
    ("max_pool_ceil_pad", lambda: ints([1, 1, 6, 5], 9),
     lambda x: F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True)),
    ("max_pool_nan", pool_nan, lambda x: F.max_pool2d(x, 2)),
    ("max_pool_neg_pad", lambda: ints([1, 1, 4, 4], 4, add=-9) - 9.0,
     lambda x: F.max_pool2d(x, (3, 2), (1, 2), padding=(1, 1))),
    ("avg_pool_basic", lambda: ramp([2, 2, 4, 6], -1.0, 0.37, wrap=2.5),
     lambda x: F.avg_pool2d(x, 2)),
    ("avg_pool_pad_incl", lambda: ramp([1, 2, 5, 6], -1.0, 0.29, wrap=2.5),
     lambda x: F.avg_pool2d(x, 3, 2, padding=1)),
    ("avg_pool_pad_excl", lambda: ramp([1, 2, 5, 6], -1.0, 0.29, wrap=2.5),
     lambda x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False)),
    ("avg_pool_ceil_incl", lambda: ramp([1, 1, 6, 7], -1.0, 0.31, wrap=2.5),
     lambda x: F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True)),
    ("avg_pool_ceil_excl", lambda: ramp([1, 1, 6, 7], -1.0, 0.31, wrap=2.5),
     lambda x: F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("avg_pool_divisor", lambda: ramp([1, 2, 5, 5], -1.0, 0.23, wrap=2.5),
     lambda x: F.avg_pool2d(x, (2, 3), (1, 2), padding=(1, 1), divisor_override=5)),
    ("avg_pool_rect_rank3", lambda: ramp([3, 5, 7], -1.0, 0.41, wrap=2.5),
     lambda x: F.avg_pool2d(x, (3, 2), (2, 1), ceil_mode=True)),
    ("adaptive_avg_nondiv", lambda: ramp([1, 2, 7, 5], -1.0, 0.43, wrap=2.5),
     lambda x: F.adaptive_avg_pool2d(x, (3, 2))),
    ("adaptive_avg_global", lambda: ramp([2, 3, 4, 5], -1.0, 0.43, wrap=2.5),
     lambda x: F.adaptive_avg_pool2d(x, 1)),
    ("adaptive_avg_div", lambda: ramp([1, 2, 6, 4], -1.0, 0.43, wrap=2.5),
     lambda x: F.adaptive_avg_pool2d(x, (3, 2))),
    ("adaptive_avg_up_rank3", lambda: ramp([2, 5, 4], -1.0, 0.43, wrap=2.5),
     lambda x: F.adaptive_avg_pool2d(x, (3, 7))),
]

for _n, _x, _f in POOL:
    CASES.append(make_pool(_n, _x, _f))


def make_pool_second(name, fn):
    # g = d sum(pool(x) * wgt) / dx, linear in wgt; then d sum(g * v) / dwgt (the
    # gradient's adjoint) and d sum(g * v) / dx (zero for max pooling, torch's too).
    def run():
        x = ints([1, 2, 5, 6], 4) if name.startswith("max") else ramp([1, 2, 5, 6], -1.0, 0.3, wrap=2)
        xt, = req(x)
        wgt = req(weights(list(fn(x).shape)))[0]
        v = ramp([1, 2, 5, 6], -0.8, 0.27, wrap=1.7)
        (g,) = torch.autograd.grad((fn(xt) * wgt).sum(), [xt], create_graph=True)
        dw, dx = grads((g * v).sum(), [wgt, xt])
        return [("x", xt), ("wgt", wgt), ("v", v)], \
            [("g", g), ("dh_dwgt", dw), ("dh_dx", dx)]
    run.__name__ = name
    return run


CASES.append(make_pool_second("max_pool_second", lambda x: F.max_pool2d(x, 3, 2, padding=1)))
CASES.append(make_pool_second("avg_pool_second",
                              lambda x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False)))


# ---- writing ------------------------------------------------------------------------------

def fmt_array(name, t):
    t = t.detach()
    dt = "i32" if not t.is_floating_point() else "f32"
    dims = " ".join(str(s) for s in t.shape)
    head = "%s %s %d%s%s :" % (name, dt, t.dim(), " " if dims else "", dims)
    if dt == "i32":
        vals = " ".join(str(int(v)) for v in t.reshape(-1).tolist())
    else:
        vals = " ".join("%.9g" % v for v in t.reshape(-1).tolist())
    return head + " " + vals


def main():
    out = [HEADER]
    for fn in CASES:
        ins, outs = fn()
        out.append("case %s" % fn.__name__)
        for n, t in ins + outs:
            out.append(fmt_array(n, t))
        out.append("end")
        out.append("")
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "data", "golden.txt")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(out))
    print("wrote %d cases to %s" % (len(CASES), os.path.normpath(path)))


if __name__ == "__main__":
    main()

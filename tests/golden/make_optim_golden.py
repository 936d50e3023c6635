#!/usr/bin/python3
"""make_optim_golden.py — writes tests/data/optim_golden.txt: parameters after each
step of torch.optim's SGD, Adam and AdamW on a small fixed problem.

Run by hand with Debian's python3 (torch 1.13):
    /usr/bin/python3 tests/golden/make_optim_golden.py
CI never runs it; tests/test_optim.c builds the same problem with nabla, runs the
compiled train step (forward, backward and update in one run) and compares.

The problem: a linear layer y = x @ W + b with x[4,3], W[3,2], b[2] and the mean
squared error against t[4,2]; fixed data, no randomness. Each optimizer setting runs
STEPS steps in float32 (torch's own f32 arithmetic: what an f32 implementation should
reproduce up to rounding) and in float64 (the same formulas with ~1e-16 rounding: a
tight check that catches a misplaced eps or a wrong bias correction, which f32
rounding would hide). The settings are listed in CASES; tests/test_optim.c holds the
same table.
"""
import os

import torch

STEPS = 5

HEADER = """\
# optim_golden.txt — parameters after each step of torch.optim (PyTorch 1.13), written
# by tests/golden/make_optim_golden.py. Do not edit by hand: run
# `/usr/bin/python3 tests/golden/make_optim_golden.py`.
#
# Format (as tests/data/golden.txt): lines starting with '#' are comments; a case is
#   case <setting>_<f32|f64>
#   <array> <dtype> <rank> <dims...> : <values...>
#   end
# Problem: loss = mean((x @ W + b - t)^2), x[4,3], W[3,2], b[2], t[4,2]. Arrays: the
# data x, t; the start values W0, b0; the learning rate lr; then for k = 1..STEPS the
# loss of step k (before its update) lossk, and the parameters after it, Wk and bk.
# The dtype tag says which precision torch computed in; values are printed with %.9g
# (f32) or %.17g (f64). The optimizer settings of each case are in the CASES table of
# the script and of tests/test_optim.c.
"""

# name: (optimizer, lr, keyword arguments)
CASES = [
    ("sgd_plain", "sgd", 0.1, {}),
    ("sgd_momentum", "sgd", 0.1, {"momentum": 0.9}),
    ("sgd_dampening", "sgd", 0.1, {"momentum": 0.9, "dampening": 0.5}),
    ("sgd_nesterov", "sgd", 0.1, {"momentum": 0.9, "nesterov": True}),
    ("sgd_weight_decay", "sgd", 0.1, {"weight_decay": 0.1}),
    ("sgd_all", "sgd", 0.05,
     {"momentum": 0.8, "weight_decay": 0.2, "nesterov": True, "maximize": True}),
    ("adam", "adam", 0.05, {}),
    ("adam_weight_decay", "adam", 0.05, {"weight_decay": 0.1}),
    ("adam_big_eps", "adam", 0.05, {"eps": 0.1, "betas": (0.8, 0.9)}),
    ("adam_amsgrad", "adam", 0.05, {"amsgrad": True, "betas": (0.8, 0.5)}),
    ("adam_maximize", "adam", 0.05, {"maximize": True}),
    ("adamw", "adamw", 0.05, {}),
    ("adamw_weight_decay", "adamw", 0.05, {"weight_decay": 0.3}),
    ("adamw_amsgrad", "adamw", 0.05,
     {"amsgrad": True, "betas": (0.8, 0.5), "weight_decay": 0.1}),
]

OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def data():
    """Fixed inputs, float32 values (rounded once, shared by both precisions)."""
    x = torch.tensor([[0.5, -1.0, 2.0],
                      [1.5, 0.25, -0.5],
                      [-2.0, 1.0, 0.75],
                      [0.125, -0.625, 1.25]], dtype=torch.float32)
    t = torch.tensor([[1.0, -0.5],
                      [0.25, 2.0],
                      [-1.5, 0.5],
                      [0.75, -1.25]], dtype=torch.float32)
    w0 = torch.tensor([[0.3, -0.2],
                       [0.1, 0.4],
                       [-0.5, 0.25]], dtype=torch.float32)
    b0 = torch.tensor([0.05, -0.1], dtype=torch.float32)
    return x, t, w0, b0


def fmt(a, dtype):
    spec = "%.9g" if dtype == torch.float32 else "%.17g"
    return " ".join(spec % v for v in a.detach().reshape(-1).tolist())


def line(name, a, dtype):
    tag = "f32" if dtype == torch.float32 else "f64"
    dims = " ".join(str(d) for d in a.shape)
    head = "%s %s %d%s" % (name, tag, a.dim(), (" " + dims) if dims else "")
    return "%s : %s" % (head, fmt(a, dtype))


def run(opt_name, lr, kwargs, dtype):
    x, t, w0, b0 = (a.to(dtype) for a in data())
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    opt = OPTIMIZERS[opt_name]([w, b], lr=lr, **kwargs)
    out = [line("x", x, dtype), line("t", t, dtype), line("W0", w0, dtype),
           line("b0", b0, dtype), line("lr", torch.tensor(lr, dtype=torch.float64), dtype)]
    for k in range(1, STEPS + 1):
        opt.zero_grad()
        loss = torch.mean((x @ w + b - t) ** 2)
        loss.backward()
        opt.step()
        out.append(line("loss%d" % k, loss, dtype))
        out.append(line("W%d" % k, w, dtype))
        out.append(line("b%d" % k, b, dtype))
    return out


def main():
    lines = [HEADER]
    for name, opt_name, lr, kwargs in CASES:
        for dtype, suffix in ((torch.float32, "f32"), (torch.float64, "f64")):
            lines.append("case %s_%s" % (name, suffix))
            lines.extend(run(opt_name, lr, kwargs, dtype))
            lines.append("end\n")
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                        "optim_golden.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()

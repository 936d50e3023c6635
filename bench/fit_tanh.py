"""The polynomial of nabla's f32 tanh below 0.82 (codegen/cg_math_text.inc, nbm_tanhf):
tanh a = a + a^3 P(a^2), P of degree 6 fitted to (tanh a - a) / a^3 on a in (0, 0.84]
by least squares at Chebyshev nodes, weighted by the relative error in tanh and
reweighted toward the minimax error, then rounded to f32. Prints the largest relative
error with the f32 coefficients and the coefficients, highest degree last, as C99 hex
floats. Not a test: a tool to redo the fit (PyTorch's f64 solver, no other
dependency). The system is ill-conditioned: runs differ in the last bits of the
highest-degree coefficients (errors within 2^-27 all the same); the text's are one
run's, and what counts is their error measured over all inputs (bench_math_accuracy).

Usage: python3 bench/fit_tanh.py [DEGREE] [RANGE]   (defaults 6 0.84)
"""
import math
import struct
import sys

import torch

torch.set_default_dtype(torch.float64)
NODES = 4000
ROUNDS = 30


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def main():
    deg = int(sys.argv[1]) if len(sys.argv) > 1 else 6
    top = float(sys.argv[2]) if len(sys.argv) > 2 else 0.84
    k = torch.arange(NODES)
    z = (top * top / 2) * (1 - torch.cos(math.pi * (k + 0.5) / NODES))
    a = z.sqrt()
    g = (torch.tanh(a) - a) / a**3
    rel = a**3 / torch.tanh(a)  # an error in P, relative to tanh a
    w = rel.clone()
    v = torch.stack([z**i for i in range(deg + 1)], 1)
    for _ in range(ROUNDS):
        c = torch.linalg.lstsq(v * w[:, None], (g * w)[:, None]).solution[:, 0]
        err = (v @ c - g) * w
        w = w * (1 + 50 * err.abs() / err.abs().max()) ** 0.5
    c32 = [f32(float(x)) for x in c]
    e = ((v @ torch.tensor(c32) - g) * rel).abs().max()
    print(f"degree {deg} on (0, {top}]: max relative error {float(e):.3g} (2^{math.log2(float(e)):.2f})")
    print(", ".join(f"{x.hex()}f" for x in c32))


if __name__ == "__main__":
    main()

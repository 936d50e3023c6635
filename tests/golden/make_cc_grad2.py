#!/usr/bin/python3
"""make_cc_grad2.py — prints the expected values of test_backend_cc.c's
pow_matmul_grad2 case: the second-order gradient that gcc 12 at -O3 with AVX-512
(-march=native) got wrong in 15 of its 30 elements (issue 6, item 11).

Run by hand with Debian's python3 (torch 1.13):
    /usr/bin/python3 tests/golden/make_cc_grad2.py
and paste the printed array into tests/test_backend_cc.c. CI never runs it.

    y = sum(pow(matmul(reshape(x, [2, 5, 3]), B), c)),  x[30], B[2, 3, 5] > 0, c = -0.82
    h = d/dx sum(dy/dx)

The inputs are the float32 values the test binds; the reference is computed in
float64 from them, so it is the exact answer up to ~1e-16 (the f32 programs are
compared with a relative tolerance).
"""
import torch

x = torch.tensor([0.1 + 0.05 * i for i in range(30)], dtype=torch.float32)
B = torch.tensor([0.2 + 0.03 * i for i in range(30)], dtype=torch.float32).reshape(2, 3, 5)
c = torch.tensor(-0.82, dtype=torch.float32)

x = x.double().requires_grad_(True)
y = torch.matmul(x.reshape(2, 5, 3), B.double()).pow(c.double()).sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
(h,) = torch.autograd.grad(g.sum(), x)
print("torch", torch.__version__)
print(",\n".join("%.9e" % v for v in h.tolist()))

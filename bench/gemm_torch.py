#!/usr/bin/env python3
"""The work of bench/gemm_programs.c in PyTorch, timed the same way.

Prints one line per case and thread count, as gemm_programs does:
    case <name> threads <t> min <seconds> median <seconds>
At one thread the CPU time of the calling thread is measured (PyTorch runs the matmul on
it), at more the wall time. OMP_WAIT_POLICY=passive is set before torch loads: libgomp's
default spinning makes PyTorch slower at 2 threads on a shared machine (bench/README.md).
"""
import argparse
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
import torch  # noqa: E402

SAMPLE_SECONDS = 0.02
LINEAR_SIZE = 1024
# name, transposed a, transposed b, m, n, k: as in gemm_programs.c.
SHAPES = [
    ("mm_1024", 0, 0, 1024, 1024, 1024),
    ("mlp_fwd_L1", 0, 0, 64, 256, 784),
    ("mlp_fwd_L2", 0, 0, 64, 128, 256),
    ("mlp_fwd_L3", 0, 0, 64, 10, 128),
    ("mlp_dx_L2", 0, 1, 64, 256, 128),
    ("mlp_dx_L3", 0, 1, 64, 128, 10),
    ("mlp_dW_L1", 1, 0, 784, 256, 64),
    ("mlp_dW_L2", 1, 0, 256, 128, 64),
    ("mlp_dW_L3", 1, 0, 128, 10, 64),
]


def measure(name, threads, rounds, step):
    clock = time.thread_time if threads == 1 else time.perf_counter
    t0 = clock()
    step()
    first = clock() - t0
    runs = 1 if first >= SAMPLE_SECONDS else int(SAMPLE_SECONDS / (first + 1e-9)) + 1
    samples = []
    for _ in range(rounds):
        t0 = clock()
        for _ in range(runs):
            step()
        samples.append((clock() - t0) / runs)
    samples.sort()
    print(f"case {name} threads {threads} min {samples[0]:.9f} median {samples[rounds // 2]:.9f}",
          flush=True)


def bench_shape(shape, threads, rounds):
    name, ta, tb, m, n, k = shape
    g = torch.Generator().manual_seed(0)
    a = torch.rand((k, m) if ta else (m, k), generator=g) * 2 - 1
    b = torch.rand((n, k) if tb else (k, n), generator=g) * 2 - 1
    opa, opb = (a.t() if ta else a), (b.t() if tb else b)
    c = torch.empty(m, n)
    measure(name, threads, rounds, lambda: torch.mm(opa, opb, out=c))


def bench_linear(threads, rounds):
    n = LINEAR_SIZE
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(n, n, generator=g) * 2 - 1).requires_grad_()
    gy = torch.rand(n, n, generator=g) * 2 - 1
    w = (torch.rand(n, n, generator=g) * 2 - 1).div_(n ** 0.5).requires_grad_()
    b = (torch.rand(n, generator=g) * 2 - 1).div_(n ** 0.5).requires_grad_()

    def step():
        # Gradients are set, not accumulated, like the compiled program's outputs.
        x.grad = w.grad = b.grad = None
        y = torch.relu(torch.addmm(b, x, w))
        y.backward(gy)

    measure("linear_relu_1024", threads, rounds, step)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, action="append")
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit("gemm_torch.py: --rounds must be positive")
    for t in args.threads or [1, 2]:
        torch.set_num_threads(t)
        for s in SHAPES:
            bench_shape(s, t, args.rounds)
        bench_linear(t, args.rounds)


if __name__ == "__main__":
    main()

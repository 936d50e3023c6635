"""PyTorch side of bench/elementwise.c: the same two expressions over the same sizes,
eager (each op allocates its result) and in place (one buffer, ops with out= and _),
min and median wall time of --repeat runs, GB/s over the 20 bytes per element the
expression must move. Run by bench/run_elementwise.sh next to the C benchmark.

Usage: python3 bench/elementwise_torch.py [--sizes N,N] [--repeat R] [--threads T]
"""
import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
import torch  # noqa: E402  (after the environment it reads)

BYTES_PER_ELEMENT = 20.0


def sigmoid_eager(a, b, c, d, y):
    return torch.sigmoid(a * b + c) * d


def sigmoid_inplace(a, b, c, d, y):
    torch.mul(a, b, out=y)
    y.add_(c).sigmoid_().mul_(d)
    return y


def chain_eager(a, b, c, d, y):
    return torch.tanh(a * b + c) * torch.exp(-(d * d)) + torch.log1p(a * a)


def chain_inplace(a, b, c, d, y, t=[None]):
    if t[0] is None or t[0].shape != y.shape:
        t[0] = torch.empty_like(y)
    torch.mul(a, b, out=y)
    y.add_(c).tanh_()
    torch.mul(d, d, out=t[0])
    t[0].neg_().exp_()
    y.mul_(t[0])
    torch.mul(a, a, out=t[0])
    t[0].log1p_()
    y.add_(t[0])
    return y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1048576,16777216")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print("PyTorch %s, %d thread(s)" % (torch.__version__, torch.get_num_threads()))
    gen = torch.Generator().manual_seed(0)
    for n in [int(s) for s in args.sizes.split(",")]:
        a, b, c, d = (torch.rand(n, generator=gen) * 6 - 3 for _ in range(4))
        y = torch.empty(n)
        for name, variants in (("sigmoid", (sigmoid_eager, sigmoid_inplace)),
                               ("chain", (chain_eager, chain_inplace))):
            print("%s, %d floats:" % (name, n))
            for label, fn in zip(("torch eager", "torch inplace"), variants):
                fn(a, b, c, d, y)
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    fn(a, b, c, d, y)
                    times.append(time.perf_counter() - t0)
                tmin = min(times)
                print("  %-12s %9.3f ms min %9.3f ms median %7.2f GB/s" %
                      (label, 1e3 * tmin, 1e3 * statistics.median(times),
                       BYTES_PER_ELEMENT * n / tmin / 1e9))


if __name__ == "__main__":
    main()

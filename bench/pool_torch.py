#!/usr/bin/python3
"""PyTorch baseline of bench/pool.c: max_pool2d and avg_pool2d 2x2 (stride 2), forward and
the gradient of sum(y * gy) for x, at f32[64,32,28,28] and f32[64,64,14,14], timed the
same way (min and median microseconds per call over --repeat rounds of about 0.2 s).

    OMP_WAIT_POLICY=passive /usr/bin/python3 bench/pool_torch.py --threads 2
"""

import argparse
import time

import torch
import torch.nn.functional as F

ROUND_SECONDS = 0.2


def time_it(fn, rounds):
    fn()
    calls = 1
    while True:
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - t > ROUND_SECONDS / 4 or calls > 1 << 30:
            break
        calls *= 2
    calls *= 4
    per = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        per.append((time.perf_counter() - t) / calls)
    per.sort()
    return per[0], per[len(per) // 2]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print("torch %s, %d threads" % (torch.__version__, torch.get_num_threads()))
    for name, fn in (("max_pool2d", F.max_pool2d), ("avg_pool2d", F.avg_pool2d)):
        for shape in ((64, 32, 28, 28), (64, 64, 14, 14)):
            x = (torch.rand(*shape) - 0.5).requires_grad_()
            gy = torch.rand(shape[0], shape[1], shape[2] // 2, shape[3] // 2) - 0.5

            def step():
                y = fn(x, 2)
                return y, torch.autograd.grad(y, x, gy)

            print("%s 2x2: f32[%s], forward + backward" % (name, ",".join(map(str, shape))))
            t = time_it(step, args.repeat)
            print("  torch      min %10.2f us  median %10.2f us" % (t[0] * 1e6, t[1] * 1e6))


if __name__ == "__main__":
    main()

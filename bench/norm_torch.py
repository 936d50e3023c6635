#!/usr/bin/python3
"""PyTorch baseline of bench/norm.c: layer norm over f32[64*196, 64] and batch norm
(training) over f32[64, 32, 28, 28], forward and backward (x, weight, bias), timed the
same way (min and median microseconds per call; --cpu: the process's CPU time instead
of wall time, steadier on a loaded machine, with --threads 1).

    OMP_WAIT_POLICY=passive /usr/bin/python3 bench/norm_torch.py --threads 2
"""
import argparse
import time

import torch
import torch.nn.functional as F

from torch_bench import time_it


def case(label, shape, norm, c, rounds, clock):
    x = torch.rand(shape) - 0.5
    gy = torch.rand(shape) - 0.5
    w = torch.ones(c, requires_grad=True)
    b = torch.zeros(c, requires_grad=True)
    x.requires_grad_(True)

    def step():
        y = norm(x, w, b)
        torch.autograd.grad(y, [x, w, b], gy)

    t = time_it(step, rounds, clock)
    print("  %-34s     min %9.1f us  median %9.1f us" % (label, t[0] * 1e6, t[1] * 1e6))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cpu", action="store_true")
    a = ap.parse_args()
    clock = time.process_time if a.cpu else time.perf_counter
    torch.set_num_threads(a.threads)
    print("torch %s, forward + backward (x, weight, bias), %d threads, %s time"
          % (torch.__version__, a.threads, "CPU" if a.cpu else "wall"))
    case("layer_norm [12544,64]", [64 * 196, 64],
         lambda x, w, b: F.layer_norm(x, [64], w, b), 64, a.repeat, clock)
    case("batch_norm train [64,32,28,28]", [64, 32, 28, 28],
         lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), 32, a.repeat, clock)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""PyTorch baseline of bench/pool.c: max_pool2d and avg_pool2d 2x2 (stride 2), forward and
the gradient of sum(y * gy) for x, at f32[64,32,28,28] and f32[64,64,14,14], timed the
same way (min and median microseconds per call over --repeat rounds of about 0.2 s).

    OMP_WAIT_POLICY=passive /usr/bin/python3 bench/pool_torch.py --threads 2
"""

import torch
import torch.nn.functional as F

from torch_bench import start, time_it


def main():
    args = start(__doc__, 2)
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

#!/usr/bin/python3
"""PyTorch baseline of bench/conv.c: the two convolution layers of the Fashion-MNIST CNN
(issue 11, item 6), batch 64, timed the same way.

Cases: conv1 (x [64,1,28,28], weight [32,1,3,3], bias, padding 1) and conv2 (x
[64,32,14,14], weight [64,32,3,3], bias, padding 1), each forward alone and forward with
the gradients of sum(y * gy) for x, weight and bias.

Each timing is the wall time of one call, over --repeat rounds of enough calls to take
about 0.2 s; min and median per call in microseconds, as bench/conv.c prints them.

Run with Debian's interpreter, which has python3-torch 1.13:
    OMP_WAIT_POLICY=passive /usr/bin/python3 bench/conv_torch.py --threads 2
"""

import torch
import torch.nn.functional as F

from torch_bench import start, time_it, report

# name, x shape, weight shape, padding
LAYERS = [("conv1", (64, 1, 28, 28), (32, 1, 3, 3), 1), ("conv2", (64, 32, 14, 14), (64, 32, 3, 3), 1)]


def main():
    args = start(__doc__, 2)
    for name, xs, ws, pad in LAYERS:
        x = torch.randn(xs, requires_grad=True)
        w = torch.randn(ws, requires_grad=True)
        b = torch.randn(ws[0], requires_grad=True)
        with torch.no_grad():
            gy = torch.randn(F.conv2d(x, w, b, padding=pad).shape)

        def forward():
            with torch.no_grad():
                F.conv2d(x, w, b, padding=pad)

        def step():
            x.grad = w.grad = b.grad = None
            y = F.conv2d(x, w, b, padding=pad)
            y.backward(gy)

        report(name + " forward", time_it(forward, args.repeat))
        report(name + " forward+backward", time_it(step, args.repeat))


if __name__ == "__main__":
    main()

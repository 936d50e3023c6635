#!/usr/bin/python3
"""PyTorch baseline of bench/reduce.c: the same cases, timed the same way.

Cases: axis0 (sum over axis 0 of a 1024x1024 f32 matrix), ce64x10 and ce256x1000
(softmax cross-entropy, mean, forward and the gradient for the logits), softmax and
logsumexp (over the last axis of [256,1000], forward and gradient), linear
(relu(x w + b), x [256,1024], w [1024,1024], forward and backward for x, w, b) and mlp
(the Fashion-MNIST training step: 784-256-128-10, ReLU, cross-entropy, Adam, batch 64).

Each timing is the wall time of one call, over --repeat rounds of enough calls to take
about 0.2 s; min and median per call in microseconds, as bench/reduce.c prints them.

Run with Debian's interpreter, which has python3-torch 1.13, and without libgomp's
spinning (it makes PyTorch slower at 2 threads, see docs/performance.md):
    OMP_WAIT_POLICY=passive /usr/bin/python3 bench/reduce_torch.py --threads 1
"""

import torch
import torch.nn.functional as F

from torch_bench import start, time_it, report


def main():
    args = start(__doc__, 1)

    x = torch.rand(1024, 1024) - 0.5
    print("axis0: sum over axis 0 of f32[1024,1024]")
    report("torch x.sum(0)", time_it(lambda: x.sum(0), args.repeat))

    for n, c in ((64, 10), (256, 1000)):
        z = (torch.rand(n, c) - 0.5).requires_grad_()
        labels = torch.arange(n) * 7 % c

        def ce():
            loss = F.cross_entropy(z, labels)
            (g,) = torch.autograd.grad(loss, z)
            return g

        print("ce%dx%d: cross-entropy forward + gradient for the logits" % (n, c))
        report("torch", time_it(ce, args.repeat))

    xs = (torch.rand(256, 1000) - 0.5).requires_grad_()
    gs = torch.rand(256, 1000) - 0.5
    gl = torch.rand(256, 1) - 0.5

    def softmax():
        y = torch.softmax(xs, -1)
        return y, torch.autograd.grad(y, xs, gs)

    def logsumexp():
        y = torch.logsumexp(xs, -1, keepdim=True)
        return y, torch.autograd.grad(y, xs, gl)

    print("softmax: over the last axis of f32[256,1000], forward + gradient")
    report("torch", time_it(softmax, args.repeat))
    print("logsumexp: over the last axis of f32[256,1000], forward + gradient")
    report("torch", time_it(logsumexp, args.repeat))

    xi = (torch.rand(256, 1024) - 0.5).requires_grad_()
    w = (torch.rand(1024, 1024) - 0.5).requires_grad_()
    b = (torch.rand(1024) - 0.5).requires_grad_()
    gy = torch.rand(256, 1024) - 0.5

    def linear():
        y = torch.relu(torch.addmm(b, xi, w))
        return torch.autograd.grad(y, (xi, w, b), gy)

    print("linear: relu(x w + b), x [256,1024], w [1024,1024], forward + backward")
    report("torch", time_it(linear, args.repeat))

    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xb = torch.rand(64, 784)
    yb = torch.arange(64) * 3 % 10

    def step():
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()

    print("mlp: Fashion-MNIST training step (784-256-128-10, Adam, batch 64)")
    report("torch", time_it(step, args.repeat))


if __name__ == "__main__":
    main()

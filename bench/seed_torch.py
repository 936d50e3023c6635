#!/usr/bin/python3
"""The seed step, nabla against PyTorch eager, in one run: the logistic regression of the
autograd tutorial (z = w x + b, p = sigmoid(z), binary cross-entropy, x = 6.7, y = 0,
w = 1, b = 0), forward and backward, called again and again.

nabla's side is examples/seed_autograd, which prints "... N runs of forward + backward
on libtcc's code: T ns per call" and the same "on cc's code" (one compiled program,
nb_program_run in a loop; cc's line is missing when no C compiler is installed). PyTorch's side
is the same computation in eager mode: the forward ops and torch.autograd.grad for w and
b, on scalar tensors, one thread. Each side runs --repeat times, alternating, and the
minimum and the median of the per-call times are printed, then PyTorch's median over
nabla's (how many times faster nabla is; issue 8 asks for at least 2000).

Without PyTorch (python3-torch not installed) it prints nabla's figures only.

    /usr/bin/python3 bench/seed_torch.py [--nabla build/examples/seed_autograd]
                                         [--repeat 5] [--calls 20000]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_NABLA = os.path.join(os.path.dirname(HERE), "build", "examples", "seed_autograd")
NS_PER_CALL = re.compile(r"runs of forward \+ backward on (libtcc|cc)'s code: ([0-9.]+) ns per call")


def nabla_ns(path):
    """One run of the example: {"libtcc": ns per call, "cc": ns per call}."""
    try:
        out = subprocess.run([path], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit(f"seed_torch: cannot run {path}: {e}")
    found = {m.group(1): float(m.group(2)) for m in NS_PER_CALL.finditer(out)}
    if "libtcc" not in found:
        sys.exit(f"seed_torch: {path} printed no 'ns per call' line")
    return found


def torch_ns(torch, calls):
    """PyTorch eager: ns per forward + backward call, over `calls` calls."""
    x = torch.tensor(6.7)
    y = torch.tensor(0.0)
    w = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    bce = torch.nn.functional.binary_cross_entropy

    def step():
        p = torch.sigmoid(w * x + b).clamp(1e-8, 1 - 1e-8)
        loss = bce(p, y)
        return (loss,) + torch.autograd.grad(loss, (w, b))

    first = step()  # the values must be the tutorial's (nabla prints the same)
    for _ in range(calls // 10):  # warm-up
        step()
    t0 = time.perf_counter()
    for _ in range(calls):
        step()
    ns = (time.perf_counter() - t0) / calls * 1e9
    return ns, [float(v) for v in first]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nabla", default=os.environ.get("NABLA_SEED_BIN", DEFAULT_NABLA),
                    help="examples/seed_autograd (default %(default)s)")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each side (default 5)")
    ap.add_argument("--calls", type=int, default=20000,
                    help="PyTorch calls per run (default 20000)")
    a = ap.parse_args()
    if a.repeat < 1 or a.calls < 10:
        ap.error("--repeat must be >= 1 and --calls >= 10")
    if not os.access(a.nabla, os.X_OK):
        sys.exit(f"seed_torch: no executable {a.nabla}: build it with "
                 "cmake -S . -B build && cmake --build build -j2")
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
        print("PyTorch is not installed (apt-get install python3-torch): nabla's figures only")

    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"seed step, forward + backward per call; load average {load}")
    ours, theirs, values = {"libtcc": [], "cc": []}, [], None
    for _ in range(a.repeat):
        for code, ns in nabla_ns(a.nabla).items():
            ours[code].append(ns)
        if torch is not None:
            ns, values = torch_ns(torch, a.calls)
            theirs.append(ns)
    ours = {code: v for code, v in ours.items() if v}
    for code, v in ours.items():
        print(f"nabla on {code}'s code ({len(v)} runs of 1000000 calls): min {min(v):.1f} ns, "
              f"median {statistics.median(v):.1f} ns")
    if torch is None:
        return
    print(f"PyTorch {torch.__version__} eager ({a.repeat} runs of {a.calls} calls): "
          f"min {min(theirs) / 1e3:.1f} us, median {statistics.median(theirs) / 1e3:.1f} us; "
          f"loss {values[0]:.4f}, dL/dw {values[1]:.4f}, dL/db {values[2]:.4f}")
    for code, v in ours.items():
        ratio = statistics.median(theirs) / statistics.median(v)
        print(f"ratio PyTorch / nabla on {code}'s code (medians): {ratio:.0f}x "
              f"(min over min: {min(theirs) / min(v):.0f}x; issue 8 asks for >= 2000x)")


if __name__ == "__main__":
    main()

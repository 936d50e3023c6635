#!/usr/bin/python3
"""PyTorch's side of bench/onnx_export.sh: one inference of an ONNX model's MLP, timed.

The model is rebuilt in PyTorch from the ONNX file (its Gemm nodes, or MatMul and Add,
and Relu nodes, in order, as nn.Linear and nn.ReLU, the initializers as their weights:
what bench/fashion_mnist_torch.py --export-onnx writes), then one forward pass of a batch of
--batch images (pixels in [0, 1] from the generator of bench/onnx_export_run.c) is timed
as bench/torch_bench.py times a call (a warm-up, then rounds of about 0.2 s), under
torch.inference_mode(), eager and as TorchScript (torch.jit.trace, then
torch.jit.freeze). --threads N sets torch's and OpenBLAS's threads before torch loads;
without it both keep their defaults; OMP_WAIT_POLICY is passive unless set. --cpu times
the process's CPU time, all threads summed, instead of the wall clock. --compare
FILE reads the logits nabla's exported code wrote for the same input (raw float32) and
prints the largest difference.

    /usr/bin/python3 bench/onnx_export_torch.py MODEL.onnx --batch 64 [--threads 1]
        [--repeat 5] [--cpu] [--compare logits.f32]

Output: a line "torch VERSION, N threads, OMP_WAIT_POLICY=P", one line per case
    eager                        min     12.34 us  median     12.56 us
and with --compare "largest difference from FILE: D".
"""

import argparse
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="the .onnx file (Gemm or MatMul + Add, and Relu nodes)")
    p.add_argument("--batch", type=int, default=1, help="images per inference (default 1)")
    p.add_argument("--threads", type=int, help="torch and OpenBLAS threads (default: theirs)")
    p.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    p.add_argument("--compare", metavar="FILE", help="logits to compare with (raw float32)")
    p.add_argument("--cpu", action="store_true",
                   help="time the process's CPU time (all its threads) instead of the wall "
                        "clock's")
    a = p.parse_args()
    if a.batch < 1 or a.repeat < 1 or (a.threads is not None and a.threads < 1):
        p.error("--batch, --repeat and --threads must be >= 1")
    return a


def pixels(n):
    """n values in [0, 1]: onnx_export_run.c's generator (a 64-bit LCG's bits 40.., mod 256,
    over 255)."""
    s, out = 1, []
    for _ in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append(((s >> 40) % 256) / 255.0)
    return out


def load_mlp(torch, path):
    """The ONNX file's chain of Gemm (transB=1, alpha = beta = 1), MatMul by an
    initializer, Add of an initializer after it and Relu as an nn.Sequential of
    nn.Linear and nn.ReLU; exits on any other node."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}

    def linear(w, b):  # w [out, in] as nn.Linear keeps it; b None: no bias
        lin = torch.nn.Linear(w.shape[1], w.shape[0], bias=b is not None)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(w))
            if b is not None:
                lin.bias.copy_(torch.tensor(b))
        return lin

    layers = []
    for n in m.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        last = layers[-1] if layers else None
        if n.op_type == "Relu":
            layers.append(torch.nn.ReLU())
        elif (n.op_type == "Gemm" and attrs.get("transB") == 1 and not attrs.get("transA")
              and attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0):
            layers.append(linear(init[n.input[1]], init[n.input[2]]))
        elif n.op_type == "MatMul" and not attrs and n.input[1] in init:
            layers.append(linear(init[n.input[1]].T, None))
        elif (n.op_type == "Add" and n.input[1] in init and isinstance(last, torch.nn.Linear)
              and last.bias is None):
            layers[-1] = linear(last.weight.detach().numpy(), init[n.input[1]])
        else:
            sys.exit(f"onnx_export_torch: {path}: node {n.name} ({n.op_type}, {attrs}) is "
                     "not a Gemm with transB=1, a MatMul by an initializer, the Add of a "
                     "bias after it or a Relu")
    return torch.nn.Sequential(*layers).eval()


def main():
    a = parse_args()
    if a.threads is not None:
        # OpenBLAS keeps a pool of its own, sized when it loads: set before torch loads.
        os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
        os.environ["OMP_NUM_THREADS"] = str(a.threads)
    # libgomp's threads spin after each parallel op by default, against OpenBLAS's for
    # the cores: passive waiting is the fast setting on 2 cores (as in
    # fashion_mnist_torch.py), unless the caller chose.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import torch
    from torch_bench import report, time_it
    if a.threads is not None:
        torch.set_num_threads(a.threads)
    print("torch %s, %d threads, OMP_WAIT_POLICY=%s" % (
        torch.__version__, torch.get_num_threads(), os.environ["OMP_WAIT_POLICY"]))
    model = load_mlp(torch, a.model)
    x = torch.tensor(pixels(a.batch * 784), dtype=torch.float32).reshape(a.batch, 784)
    with torch.inference_mode():
        traced = torch.jit.freeze(torch.jit.trace(model, x))
        clock = time.process_time if a.cpu else time.perf_counter
        report("eager", time_it(lambda: model(x), a.repeat, clock))
        report("torchscript (trace, freeze)", time_it(lambda: traced(x), a.repeat, clock))
        logits = model(x)
    if a.compare:
        import numpy as np
        theirs = np.fromfile(a.compare, dtype=np.float32)
        if theirs.size != logits.numel():
            sys.exit(f"onnx_export_torch: {a.compare}: {theirs.size} floats, the logits "
                     f"are {logits.numel()}")
        d = float(np.abs(theirs.reshape(logits.shape) - logits.numpy()).max())
        print(f"largest difference from {a.compare}: {d:.3g}")


if __name__ == "__main__":
    main()

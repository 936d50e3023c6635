#!/usr/bin/python3
"""PyTorch baseline of the Fashion-MNIST benchmarks: the models of examples/fashion_mnist.c
(--model mlp) and examples/fashion_cnn.c (--model cnn).

mlp: 784-256-128-10 with ReLU.
mlp_small: 784-128-10 with ReLU, the model of examples/fashion_mnist_mlp.onnx (below).
cnn: conv(1->32, 3x3, padding 1)-ReLU-maxpool 2 -> conv(32->64, 3x3, padding 1)-ReLU-
     maxpool 2 -> dense 3136->128-ReLU-dropout 0.25 -> dense 128->10.
All: cross-entropy, Adam (lr 1e-3, PyTorch defaults otherwise), batch 64, pixels scaled
to [0, 1], training set reshuffled every epoch from --seed. The weights start from the
layers' default initialization (torch.manual_seed(--seed)).
The data is read from Debian's dataset-fashion-mnist package (IDX files, gzip), parsed
here with gzip + numpy: no torchvision, no download.

Run with Debian's interpreter, which has python3-torch 1.13:
    /usr/bin/python3 bench/fashion_mnist_torch.py --epochs 2 --threads 2

--export-onnx PATH writes the trained model to PATH with torch.onnx.export (opset 13, input
"image" f32 [batch, 784], output "logits" f32 [batch, 10], the batch dimension left open,
constants folded; the layers' parameters are initializers named fc1.weight, fc1.bias, ...)
and prints the file's size and the model's test accuracy, on --data's test set and on
the test set of every --eval-data DIR. examples/fashion_mnist_mlp.onnx, which
examples/onnx_finetune.c fine-tunes, is (docs/onnx-finetune.md gives what it printed):
    /usr/bin/python3 bench/fashion_mnist_torch.py --model mlp_small --epochs 1 --threads 1 \
        --seed 0 --export-onnx examples/fashion_mnist_mlp.onnx \
        --eval-data tests/data/fashion-500

Output, one line per epoch, then the final accuracy (bench/run_fashion_mnist.sh parses
exactly these two line shapes; every other line is free-form):
    epoch 1/2: loss 0.5123, train acc 0.8123, test acc 0.8012, 3.21 s, 18692 samples/s
    test accuracy: 0.8012

What the seconds measure: the training loop over all minibatches of one epoch (gather
of the shuffled batch, forward, loss, backward, Adam step, running loss sum), from the
first batch to the end of the last one. Not timed: the shuffle itself, and the
evaluation of train and test accuracy after the epoch. The last batch of an epoch is
partial (60000 = 937 * 64 + 32) and is trained on, as DataLoader's default does;
samples/s is 60000 / seconds.
"""

import argparse
import gzip
import os
import struct
import sys
import time
from collections import OrderedDict

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=("mlp", "mlp_small", "cnn"), default="mlp",
                   help="the MLP of fashion_mnist, a smaller MLP 784-128-10 (the model of "
                        "examples/fashion_mnist_mlp.onnx) or the CNN of fashion_cnn "
                        "(default mlp)")
    p.add_argument("--epochs", type=int, default=2, help="epochs to train (default 2)")
    p.add_argument("--threads", type=int, default=2,
                   help="threads for torch's intra-op pool and OpenBLAS (default 2)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the initialization and the shuffling (default 0)")
    p.add_argument("--batch", type=int, default=64, help="minibatch size (default 64)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--flush-denormal", action="store_true",
                   help="torch.set_flush_denormal(True): subnormals flushed to zero, as "
                        "nabla does by default (default: exact IEEE subnormals)")
    p.add_argument("--data", default=DATA_DIR,
                   help="directory holding the four *-ubyte.gz files (default %(default)s)")
    p.add_argument("--export-onnx", metavar="PATH",
                   help="after training, write the model to PATH as ONNX (opset 13, input "
                        "'image' [batch, 784], output 'logits') and print its test accuracy")
    p.add_argument("--eval-data", metavar="DIR", action="append", default=[],
                   help="with --export-onnx: also print the exported model's accuracy on "
                        "DIR's test set (t10k-*.gz); may be repeated")
    a = p.parse_args()
    if a.epochs < 1 or a.threads < 1 or a.batch < 1 or a.lr <= 0:
        p.error("--epochs, --threads and --batch must be >= 1 and --lr > 0")
    return a


# Parses one gzipped IDX file (the MNIST format: big-endian magic 0x0000TTRR where TT is
# the element type and RR the rank, then RR big-endian u32 dims, then the data). Only
# unsigned bytes (type 0x08) occur in Fashion-MNIST. Returns a uint8 numpy array.
def read_idx(path, np):
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        sys.exit(f"fashion_mnist_torch: cannot read {path}: {e}")
    if len(raw) < 4:
        sys.exit(f"fashion_mnist_torch: {path}: too short for an IDX header")
    zero, dtype, rank = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or rank < 1:
        sys.exit(f"fashion_mnist_torch: {path}: not an unsigned-byte IDX file")
    if len(raw) < 4 + 4 * rank:
        sys.exit(f"fashion_mnist_torch: {path}: truncated IDX header")
    dims = struct.unpack(f">{rank}I", raw[4:4 + 4 * rank])
    count = 1
    for d in dims:
        count *= d
    body = raw[4 + 4 * rank:]
    if len(body) != count:
        sys.exit(f"fashion_mnist_torch: {path}: {len(body)} data bytes, header says {count}")
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


# Loads one split as in-memory tensors: images f32 [n, 784] in [0, 1], labels int64 [n].
def load_split(torch, np, data_dir, prefix):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"), np)
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"), np)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        sys.exit(f"fashion_mnist_torch: {prefix}: images {images.shape} and labels "
                 f"{labels.shape} do not match")
    x = torch.from_numpy(images.reshape(images.shape[0], -1).astype(np.float32) / 255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    return x.contiguous(), y.contiguous()


# Fraction of correctly classified samples, forward only, in large batches.
def accuracy(torch, model, x, y):
    model.eval()
    correct = 0
    with torch.inference_mode():
        for s in range(0, x.shape[0], 1000):
            pred = model(x[s:s + 1000]).argmax(dim=1)
            correct += int((pred == y[s:s + 1000]).sum())
    model.train()
    return correct / x.shape[0]


# --export-onnx: writes the trained model as ONNX, checks the file with onnx's checker,
# and prints its size and the model's accuracy on each test set (--data's, then each
# --eval-data's): the numbers an importer of the file must reproduce.
def export_onnx(torch, np, model, args, x_test, y_test):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 784), args.export_onnx, opset_version=13,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    try:
        import onnx
        onnx.checker.check_model(onnx.load(args.export_onnx))
    except ImportError:
        print("onnx is not installed: the exported file is not checked")
    print(f"exported {args.export_onnx}: {os.path.getsize(args.export_onnx)} bytes, "
          f"torch {torch.__version__}, opset 13")
    sets = [(args.data, x_test, y_test)]
    for d in args.eval_data:
        sets.append((d, *load_split(torch, np, d, "t10k")))
    for d, x, y in sets:
        print(f"exported model, test accuracy on {d} ({x.shape[0]} images): "
              f"{accuracy(torch, model, x, y):.4f}")


def main():
    args = parse_args()
    # OpenBLAS (Debian's libblas.so.3, which torch's matmuls call) keeps its own thread
    # pool, sized from this variable when the library loads: torch.set_num_threads does
    # not reach it. Set both before torch is imported so --threads bounds everything.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    # With 2 threads on 2 cores, libgomp's default spin-waiting after each parallel op
    # competes with OpenBLAS's threads for the cores: measured 2-3x slower epochs here.
    # Passive waiting is the fast setting, so the baseline uses it (unless the caller
    # set OMP_WAIT_POLICY explicitly).
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    try:
        import numpy as np
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except ImportError as e:
        sys.exit(f"fashion_mnist_torch: {e}: run with /usr/bin/python3 "
                 "(Debian's python3-torch and python3-numpy)")
    torch.set_num_threads(args.threads)
    if args.flush_denormal and not torch.set_flush_denormal(True):
        sys.exit("fashion_mnist_torch: this CPU cannot flush denormals (no SSE3)")
    torch.autograd.set_detect_anomaly(False)
    torch.manual_seed(args.seed)

    x_train, y_train = load_split(torch, np, args.data, "train")
    x_test, y_test = load_split(torch, np, args.data, "t10k")
    n = x_train.shape[0]

    # The MLPs' layers are named as nabla's examples name their parameters (fc1.weight,
    # fc1.bias, ...): the names an ONNX export gives its initializers.
    if args.model == "mlp":
        model = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(784, 256)), ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(256, 128)), ("relu2", nn.ReLU()),
            ("fc3", nn.Linear(128, 10)),
        ]))
    elif args.model == "mlp_small":
        model = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(784, 128)), ("relu1", nn.ReLU()),
            ("fc2", nn.Linear(128, 10)),
        ]))
    else:
        model = nn.Sequential(
            nn.Unflatten(1, (1, 28, 28)),
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.25),
            nn.Linear(128, 10),
        )
    model.train()
    # foreach=True updates all parameters with a few multi-tensor kernels instead of a
    # Python loop of per-tensor ops: measured faster here, so the baseline uses it.
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, foreach=True)
    shuffle = torch.Generator().manual_seed(args.seed)
    print(f"torch {torch.__version__}, {args.model}, {args.threads} thread(s), "
          f"denormals {'flushed' if args.flush_denormal else 'IEEE'} "
          f"(OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}), batch {args.batch}, "
          f"lr {args.lr:g}, seed {args.seed}, {n} train / {x_test.shape[0]} test samples",
          flush=True)

    test_acc = 0.0
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(n, generator=shuffle)
        loss_sum = torch.zeros(())
        t0 = time.perf_counter()
        for s in range(0, n, args.batch):
            idx = perm[s:s + args.batch]
            xb = x_train.index_select(0, idx)
            yb = y_train.index_select(0, idx)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum.add_(loss.detach(), alpha=idx.shape[0])
        seconds = time.perf_counter() - t0
        train_acc = accuracy(torch, model, x_train, y_train)
        test_acc = accuracy(torch, model, x_test, y_test)
        print(f"epoch {epoch}/{args.epochs}: loss {float(loss_sum) / n:.4f}, "
              f"train acc {train_acc:.4f}, test acc {test_acc:.4f}, "
              f"{seconds:.2f} s, {n / seconds:.0f} samples/s", flush=True)
    print(f"test accuracy: {test_acc:.4f}")
    if args.export_onnx:
        export_onnx(torch, np, model, args, x_test, y_test)


if __name__ == "__main__":
    main()

#!/bin/sh
# aot_example.sh SOURCE BUILD CC — examples/aot end to end, as a project of its own
# against nabla installed from BUILD into a temporary directory (removed afterwards):
# 1. fashion_mnist trains on the 100 training images of tests/data/fashion-500 (a few
#    steps) and saves a checkpoint, printing its accuracy on Fashion-MNIST's real test
#    set, 10,000 images (the subset's 500 synthetic ones when the data set is not
#    installed): the JIT's, subnormals exact;
# 2. the example project is configured with that checkpoint and built warning-free: its
#    generators run at build time (nabla_add_model), classify and train link the
#    exported C only;
# 3. classify prints the same test accuracy for the checkpoint;
# 4. train (the exported training step, OpenBLAS on one thread) and train_jit (nabla's
#    JIT) print the same losses, bit for bit (%.9g), over the first batches of the
#    training set (the full set when it is installed, else the subset).
set -eu
source=$1 build=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
subset=$source/tests/data/fashion-500
full=/usr/share/datasets/fashion-mnist

# The subset's training images beside the real test set, when it is there.
mixed=$subset
if [ -f "$full/t10k-images-idx3-ubyte.gz" ]; then
    mixed=$tmp/data
    mkdir "$mixed"
    ln -s "$subset"/train-* "$full"/t10k-* "$mixed"/
fi

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
"$build/examples/fashion_mnist" --data "$mixed" --epochs 1 --batch 20 --backend tcc \
    --denormals ieee --save "$tmp/fashion.safetensors" >"$tmp/jit.log"
jit=$(grep '^test accuracy' "$tmp/jit.log")

cmake -S "$source/examples/aot" -B "$tmp/build" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$tmp/prefix" -DNABLA_AOT_WEIGHTS="$tmp/fashion.safetensors" \
    -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
cmake --build "$tmp/build" -j2 >"$tmp/build.log" 2>&1 || {
    cat "$tmp/build.log" >&2
    exit 1
}
aot=$("$tmp/build/classify" --data "$mixed")
echo "JIT:      $jit"
echo "exported: $aot"
if [ "$jit" != "$aot" ]; then
    echo "the exported classifier's accuracy differs from the JIT's" >&2
    exit 1
fi

data=$subset
[ -f "$full/train-images-idx3-ubyte.gz" ] && data=$full
OPENBLAS_NUM_THREADS=1 "$tmp/build/train" --data "$data" --batches 100 --every 10 >"$tmp/train.txt"
"$tmp/build/train_jit" --data "$data" --batches 100 --every 10 >"$tmp/train_jit.txt"
cat "$tmp/train.txt"
if ! cmp -s "$tmp/train.txt" "$tmp/train_jit.txt"; then
    echo "the exported training step's losses differ from the JIT's:" >&2
    diff "$tmp/train.txt" "$tmp/train_jit.txt" >&2 || true
    exit 1
fi
echo "train and train_jit: the same $(wc -l <"$tmp/train.txt") lines"

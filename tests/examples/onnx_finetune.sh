#!/bin/sh
# onnx_finetune.sh SOURCE EXAMPLE BACKEND — examples/onnx_finetune end to end on
# examples/fashion_mnist_mlp.onnx, which it imports, fine-tunes (on the 100 training
# images of tests/data/fashion-500, a few steps) and saves:
# 1. its "accuracy before" is PyTorch's accuracy of the same model on the same test set,
#    within 1e-3 (bench/fashion_mnist_torch.py --export-onnx printed both numbers when it
#    wrote the file): 0.8435 on Fashion-MNIST's real test set, 10,000 images, when the
#    data set is installed; 0.0000 on the subset's 500 synthetic images (bars the model
#    was never trained on) otherwise;
# 2. it ends with "accuracy after" and exit status 0;
# 3. started again from its --save, its "accuracy before" is the first run's "after".
set -eu
source=$1 example=$2 backend=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
subset=$source/tests/data/fashion-500
full=/usr/share/datasets/fashion-mnist

# The subset's training images beside the real test set, when it is there.
data=$subset torch_before=0.0000
if [ -f "$full/t10k-images-idx3-ubyte.gz" ]; then
    data=$tmp/data torch_before=0.8435
    mkdir "$data"
    ln -s "$subset"/train-* "$full"/t10k-* "$data"/
fi

# The value of the line "<what>: <value>" of a log.
value() {
    sed -n "s/^$1: //p" "$2"
}

# Fails unless |a - b| <= 1e-3.
near() {
    awk -v a="$1" -v b="$2" -v what="$3" 'BEGIN {
        d = a - b; if (d < 0) d = -d
        if (a == "" || d > 1e-3) { printf "%s: %s, expected %s (within 1e-3)\n", what, a, b; exit 1 }
    }'
}

"$example" "$source/examples/fashion_mnist_mlp.onnx" --data "$data" --epochs 2 --batch 25 \
    --backend "$backend" --save "$tmp/tuned.safetensors" >"$tmp/first.log" || {
    cat "$tmp/first.log"
    exit 1
}
cat "$tmp/first.log"
near "$(value 'accuracy before' "$tmp/first.log")" "$torch_before" "accuracy before"
after=$(value 'accuracy after' "$tmp/first.log")
[ -n "$after" ] || { echo "no 'accuracy after' line"; exit 1; }

"$example" --data "$data" --epochs 1 --batch 25 --backend "$backend" \
    --load "$tmp/tuned.safetensors" >"$tmp/second.log" || {
    cat "$tmp/second.log"
    exit 1
}
grep -q '^loaded ' "$tmp/second.log"
near "$(value 'accuracy before' "$tmp/second.log")" "$after" "accuracy before, from --load"
echo "onnx_finetune.sh: accuracy before $torch_before as PyTorch's, after $after"

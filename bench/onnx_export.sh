#!/bin/sh
# onnx_export.sh — an ONNX model exported by `nabla export` as C, against PyTorch running
# the same model (bench/README.md, "The exported ONNX model"). For batch 1 and batch 64:
# 1. the time of `nabla export MODEL --prefix net --const -o DIR` (the whole command:
#    reading the file, compiling, writing net.c and net.h), min and median of --repeat;
# 2. the time gcc takes to build DIR/net.c with bench/onnx_export_run.c, at -O2, at
#    -O3 -march=native, and at -O2 with NET_USE_CBLAS (OpenBLAS's sgemm on one thread,
#    when pkg-config finds openblas); -ffp-contract=off always (the export's bits are
#    nabla's);
# 3. one inference (one call of net_run_array on a batch) of each build, and one forward
#    pass of PyTorch on the same input (bench/onnx_export_torch.py: eager and
#    TorchScript, on 1 thread, on its default and on every core), as min and median over
#    rounds of about 0.2 s after a warm-up, with the ratio of PyTorch's median to the
#    export's;
# 4. the largest difference between the exported code's logits and PyTorch's.
# With --cpu, step 3 times the process's CPU time instead of the wall clock, PyTorch on one
# thread only: on a loaded shared machine the wall clock counts the time other processes
# hold the core.
#
# Usage: bench/onnx_export.sh [--model M.onnx] [--repeat N] [--cpu] [--nabla PATH]
#                             [--python PATH]
#   --model   the model (examples/fashion_mnist_mlp.onnx: input 'image' [batch, 784])
#   --repeat  samples of the export's time and rounds of each inference timing (5)
#   --cpu     inference timed in CPU time (the export and the builds stay wall time)
#   --nabla   the nabla command (build/tools/nabla)
#   --python  the interpreter with torch and onnx (/usr/bin/python3)
# Run from the source tree after building (cmake --build build). $CC (default gcc)
# builds the exported code.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
model=$root/examples/fashion_mnist_mlp.onnx
repeat=5
nabla=$root/build/tools/nabla
python=/usr/bin/python3
cc=${CC:-gcc}
cpu=

die() {
    echo "onnx_export.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
    --model | --repeat | --nabla | --python)
        [ $# -ge 2 ] || die "$1 needs a value"
        case $1 in
        --model) model=$2 ;;
        --repeat) repeat=$2 ;;
        --nabla) nabla=$2 ;;
        --python) python=$2 ;;
        esac
        shift 2
        ;;
    --cpu)
        cpu=cpu
        shift
        ;;
    *) die "unknown argument '$1' (see the comment at the top of the script)" ;;
    esac
done
case $repeat in
'' | *[!0-9]* | 0) die "--repeat needs a positive integer, got '$repeat'" ;;
esac
[ -x "$nabla" ] || die "no nabla command at $nabla (cmake --build build)"
[ -f "$model" ] || die "no model at $model"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cores=$(nproc)

# Seconds of a monotonic clock, as a decimal.
now() {
    date +%s.%N
}

# $1 - $2.
minus() {
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f\n", a - b }'
}

# "min median" of the numbers on stdin, one a line.
min_median() {
    sort -g | awk '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%s %s\n", v[1], m }'
}

# The export of the model for batch $1 into directory $2.
export_model() {
    "$nabla" export "$model" --shape "image=$1,784" --prefix net --const -o "$2" >/dev/null
}

clock=wall
[ -z "$cpu" ] || clock=CPU
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $cores cores;" \
    "load average $(cut -d' ' -f1-3 /proc/loadavg); inference in $clock time"
echo "model: $model ($(wc -c <"$model") bytes); $($cc --version | head -n 1);" \
    "$("$python" -c 'import torch; print("torch", torch.__version__)')"

for batch in 1 64; do
    dir=$tmp/b$batch
    mkdir -p "$dir"
    echo
    echo "batch $batch"
    export_model "$batch" "$dir" || die "nabla export failed"
    : >"$tmp/times"
    i=0
    while [ $i -lt "$repeat" ]; do
        t0=$(now)
        export_model "$batch" "$dir"
        t1=$(now)
        minus "$t1" "$t0" >>"$tmp/times"
        i=$((i + 1))
    done
    set -- $(min_median <"$tmp/times")
    printf '  nabla export: %.1f ms min, %.1f ms median; net.c %s bytes\n' \
        "$(minus "$1" 0)e3" "$(minus "$2" 0)e3" "$(wc -c <"$dir/net.c")"

    # The builds: the driver, the benchmarks' clock and the exported code, one binary
    # each. A variant is "label|flags|libraries".
    : >"$tmp/rows"
    printf '%s\n' "gcc -O2|-O2|" "gcc -O3 -march=native|-O3 -march=native|" >"$tmp/variants"
    if cflags=$(pkg-config --cflags openblas 2>/dev/null); then
        echo "gcc -O2, NET_USE_CBLAS (OpenBLAS, 1 thread)|-O2 -DNET_USE_CBLAS $cflags|" \
            "$(pkg-config --libs openblas)" >>"$tmp/variants"
    fi
    n=0
    while IFS='|' read -r label flags libs; do
        n=$((n + 1))
        t0=$(now)
        # shellcheck disable=SC2086 # the flags are words
        "$cc" -std=c11 $flags -ffp-contract=off -I"$dir" -I"$here" -o "$dir/run$n" \
            "$here/onnx_export_run.c" "$here/bench_util.c" "$dir/net.c" $libs -lm ||
            die "$cc $flags failed"
        t1=$(now)
        printf '  build, %s: %.2f s\n' "$label" "$(minus "$t1" "$t0")"
        set -- $(OPENBLAS_NUM_THREADS=1 "$dir/run$n" "$repeat" "$dir/logits$n.f32" $cpu)
        echo "exported C, $label|$1|$2" >>"$tmp/rows"
    done <"$tmp/variants"

    # PyTorch on the same input, compared with the first build's logits.
    # PyTorch's threads: 1, its default (no --threads) and every core; 1 alone in CPU time.
    threads_list="1 default $cores"
    [ -z "$cpu" ] || threads_list=1
    for threads in $threads_list; do
        set -- --threads "$threads"
        [ "$threads" != default ] || set --
        "$python" "$here/onnx_export_torch.py" "$model" --batch "$batch" "$@" \
            --repeat "$repeat" --compare "$dir/logits1.f32" ${cpu:+--cpu} >"$tmp/torch" ||
            die "onnx_export_torch.py failed"
        used=$(sed -n 's/^torch [^,]*, \([0-9]*\) threads.*/\1/p' "$tmp/torch")
        what="$used thread(s)"
        [ "$threads" != default ] || what="default, $what"
        sed -n "s/^  \(.*[^ ]\) *min *\([0-9.]*\) us *median *\([0-9.]*\) us/PyTorch \1, $what|\2|\3/p" \
            "$tmp/torch" >>"$tmp/rows"
        diff=$(sed -n 's/^largest difference from .*: //p' "$tmp/torch")
    done
    # The ratio: PyTorch eager on one thread (the first PyTorch row) over each row.
    awk -F'|' -v batch="$batch" '
        { label[NR] = $1; lo[NR] = $2; med[NR] = $3 }
        /^PyTorch eager, 1 thread/ { base = $3 }
        END {
            printf "  %-56s %10s %10s %10s %14s\n", "one inference", "min us", "median us",
                   "us/image", "eager-1t/this"
            for (i = 1; i <= NR; i++)
                printf "  %-56s %10.2f %10.2f %10.3f %13.2fx\n", label[i], lo[i], med[i],
                       med[i] / batch, base / med[i]
        }' "$tmp/rows"
    echo "  largest difference of the logits, exported C (gcc -O2) vs PyTorch eager: $diff"
done

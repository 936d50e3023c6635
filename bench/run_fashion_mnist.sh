#!/bin/sh
# Runs the Fashion-MNIST benchmark: nabla's example and the PyTorch baseline, one after
# the other on this machine, then compares their epoch times and test accuracies.
#
# Usage: bench/run_fashion_mnist.sh [--epochs N] [--threads N] [--seed N]
#            [--torch-threads N] [--nabla PATH] [--python PATH]
#   --epochs N         epochs each side trains (default 2)
#   --threads N        threads each side may use (default 2: the target is stated for 2)
#   --seed N           seed of initialization and shuffling, given to both (default 0)
#   --torch-threads N  threads for the PyTorch side only (default: --threads)
#   --nabla PATH       nabla's example (default build/examples/fashion_mnist or $NABLA_BIN)
#   --python PATH      interpreter with torch and numpy (default /usr/bin/python3 or $PYTHON)
#
# Both programs get the same command-line knobs:
#   <nabla>  --epochs N --batch 64 --lr 0.001 --seed S --threads T
#   <python> bench/fashion_mnist_torch.py --epochs N --batch 64 --lr 0.001 --seed S --threads T
# and OPENBLAS_NUM_THREADS=T OMP_NUM_THREADS=T in their environment (both call OpenBLAS,
# whose thread pool is sized from that variable when it loads). The torch script also
# sets OMP_WAIT_POLICY=passive itself (see bench/README.md).
#
# OUTPUT CONTRACT (what both programs must print on stdout; this script parses it):
#   one line per epoch, exactly this shape (numbers free-width, `.` as decimal point):
#     epoch 1/10: loss 0.5123, train acc 0.8123, test acc 0.8012, 3.21 s, 18692 samples/s
#   and as the last line of the run:
#     test accuracy: 0.8012
#   - `epoch E/N:` counts from 1; N is the --epochs value. Every epoch prints one line.
#   - loss is the mean training loss of the epoch; accuracies are fractions in [0, 1].
#   - `3.21 s` is the wall time of the epoch's training loop only (all minibatch steps,
#     forward + backward + optimizer update): no data loading, no evaluation, no
#     checkpoint saving, no compilation before the first step.
#   - samples/s is training samples of the epoch / those seconds.
#   Any other line (a banner, progress lines) is ignored if it does not match the epoch
#   shape above, so progress lines must not look like it. A progress line redrawn with
#   '\r' is fine: only the text after the last '\r' of a line is parsed.
#
# What is compared: the mean epoch time of each side over epochs 2..N (the first epoch
# carries warm-up: first-touch page faults, allocator growth, caches); with --epochs 1 it
# is epoch 1, warm-up included, and the summary says so. The ratio is nabla / PyTorch;
# the target is <= 0.5. Exit status: 0 when both ran and were parsed (whether or not the
# target is met), 1 on any error. This is a benchmark, not a test: CI does not run it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
epochs=2
threads=2
torch_threads=
seed=0
batch=64
lr=0.001
nabla=${NABLA_BIN:-$root/build/examples/fashion_mnist}
python=${PYTHON:-/usr/bin/python3}
data=/usr/share/datasets/fashion-mnist

die() {
    echo "run_fashion_mnist: error: $*" >&2
    exit 1
}

usage() {
    sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//'
}

is_count() {
    case $1 in '' | *[!0-9]*) return 1 ;; esac
    [ "$1" -ge 1 ]
}

while [ $# -gt 0 ]; do
    case $1 in
    --epochs | --threads | --torch-threads | --seed | --nabla | --python)
        [ $# -ge 2 ] || die "$1 needs a value"
        case $1 in
        --epochs) epochs=$2 ;;
        --threads) threads=$2 ;;
        --torch-threads) torch_threads=$2 ;;
        --seed) seed=$2 ;;
        --nabla) nabla=$2 ;;
        --python) python=$2 ;;
        esac
        shift 2
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
is_count "$epochs" || die "--epochs must be a positive integer, got '$epochs'"
is_count "$threads" || die "--threads must be a positive integer, got '$threads'"
torch_threads=${torch_threads:-$threads}
is_count "$torch_threads" || die "--torch-threads must be a positive integer, got '$torch_threads'"
case $seed in '' | *[!0-9]*) die "--seed must be a non-negative integer, got '$seed'" ;; esac

# Check everything before running anything: a missing piece should not show up only
# after minutes of training.
[ -x "$nabla" ] || die "nabla's example is not built: no executable $nabla
  build it with:  cmake -S $root -B $root/build && cmake --build $root/build -j2
  (or pass --nabla PATH / set NABLA_BIN)"
command -v "$python" >/dev/null 2>&1 || die "no Python interpreter '$python' (pass --python PATH)"
"$python" -c 'import torch, numpy' >/dev/null 2>&1 || die "PyTorch is not installed for $python
  install Debian's packages:  apt-get install python3-torch python3-numpy
  (Debian's torch is for /usr/bin/python3; pass --python PATH for another interpreter)"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
    t10k-labels-idx1-ubyte; do
    [ -r "$data/$f.gz" ] || die "missing $data/$f.gz: install Debian's dataset-fashion-mnist"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/nabla-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
hz=$(getconf CLK_TCK)
ncpu=$(nproc)

# Seconds of CPU time the machine has spent busy since boot, all CPUs, steal included.
cpu_busy() {
    awk -v hz="$hz" '$1 == "cpu" { printf "%.2f\n", ($2 + $3 + $4 + $7 + $8 + $9) / hz; exit }' \
        /proc/stat
}

# Seconds of CPU time (user + system) of this shell's finished children, from the output
# of `times` in file $1. `times` must run in this shell itself, never in $(...): a
# subshell starts with no children's time.
child_cpu() {
    awk 'NR == 2 { split($1, u, "m"); split($2, s, "m"); printf "%.2f\n", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"
}

# Runs one side with its output shown live (prefixed) and kept in $work/<name>.out.
# Fails with the program's exit status and the tail of its error output. Records in
# $work/<name>.others the CPU seconds that other processes (and the hypervisor's steal)
# took while it ran, and the run's wall seconds: what tells a clean measurement.
run_side() {
    name=$1
    nthreads=$2
    shift 2
    echo "== $name: $*"
    status=0
    busy0=$(cpu_busy)
    times >"$work/$name.times0"
    wall0=$(date +%s.%N)
    { OPENBLAS_NUM_THREADS=$nthreads OMP_NUM_THREADS=$nthreads "$@" 2>"$work/$name.err" ||
        echo $? >"$work/$name.status"; } | tee "$work/$name.out" | sed -u "s/^/[$name] /"
    [ -f "$work/$name.status" ] && status=$(cat "$work/$name.status")
    wall1=$(date +%s.%N)
    times >"$work/$name.times1"
    busy1=$(cpu_busy)
    mine0=$(child_cpu "$work/$name.times0")
    mine1=$(child_cpu "$work/$name.times1")
    echo "$busy0 $busy1 $mine0 $mine1 $wall0 $wall1" |
        awk '{ o = ($2 - $1) - ($4 - $3); print (o > 0 ? o : 0), $6 - $5 }' >"$work/$name.others"
    if [ "$status" -ne 0 ]; then
        tail -n 20 "$work/$name.err" >&2
        die "$name exited with status $status"
    fi
}

# Extracts, from one side's output, "E SECONDS" per epoch line and a final
# "final ACC" line; checks that epochs 1..N each appear once with total N and that the
# last line is the test accuracy.
parse_side() {
    name=$1
    tr -d '\000' <"$work/$name.out" | awk -v want="$epochs" -v name="$name" '
    function fail(msg) { print "run_fashion_mnist: error: " name " output: " msg > "/dev/stderr"; bad = 1; exit 1 }
    {
        sub(/.*\r/, "")                       # keep what follows the last carriage return
        if ($0 ~ /^[ \t]*$/) next
        last = $0
        num = "[0-9]+(\\.[0-9]+)?"
        re = "^epoch [0-9]+/[0-9]+: loss ([0-9.eE+-]+|nan|inf), train acc " num ", test acc " num ", " num " s, " num " samples/s$"
        if ($0 ~ re) {
            split($2, en, "/"); e = en[1] + 0; total = en[2] + 0
            if (total != want) fail("epoch line says " total " epochs, expected " want ": " $0)
            if (e < 1 || e > want || (e in secs)) fail("unexpected or repeated epoch " e ": " $0)
            secs[e] = $(NF - 3)
        } else if ($0 ~ /^epoch /) {
            near = $0                         # a progress line, or a malformed epoch line
        }
    }
    END {
        if (bad) exit 1
        for (e = 1; e <= want; e++)
            if (!(e in secs)) {
                msg = "no line for epoch " e "/" want "\n  expected: epoch " e "/" want \
                      ": loss 0.5123, train acc 0.8123, test acc 0.8012, 3.21 s, 18692 samples/s"
                if (near != "") msg = msg "\n  last line starting with \"epoch \": " near
                fail(msg)
            }
        if (last !~ /^test accuracy: [0-9]+(\.[0-9]+)?$/) fail("last line is not \"test accuracy: 0.XXXX\": " last)
        for (e = 1; e <= want; e++) print e, secs[e]
        split(last, f, ": "); print "final", f[2]
    }' >"$work/$name.parsed" || exit 1
}

echo "Fashion-MNIST benchmark: $epochs epoch(s), batch $batch, lr $lr, seed $seed," \
    "threads: nabla $threads, torch $torch_threads"
echo "machine: $ncpu CPUs, $(sed -n 's/^model name[ \t]*: //p' /proc/cpuinfo | head -n 1)," \
    "load average $(cut -d ' ' -f 1-3 /proc/loadavg)"

run_side nabla "$threads" "$nabla" --epochs "$epochs" --batch "$batch" --lr "$lr" --seed "$seed" \
    --threads "$threads"
run_side torch "$torch_threads" "$python" "$here/fashion_mnist_torch.py" --epochs "$epochs" \
    --batch "$batch" --lr "$lr" --seed "$seed" --threads "$torch_threads"

parse_side nabla
parse_side torch

# The summary: per-epoch table, means, accuracies, ratio and verdict.
awk -v epochs="$epochs" -v threads="$threads" -v tthreads="$torch_threads" -v ncpu="$ncpu" '
FILENAME ~ /nabla\.parsed$/ { if ($1 == "final") nacc = $2; else ns[$1] = $2; next }
FILENAME ~ /torch\.parsed$/ { if ($1 == "final") tacc = $2; else ts[$1] = $2; next }
FILENAME ~ /nabla\.others$/ { nother = $1; nwall = $2; next }
FILENAME ~ /torch\.others$/ { tother = $1; twall = $2; next }
END {
    print ""
    print "== summary"
    printf "%-7s %12s %12s\n", "epoch", "nabla (s)", "torch (s)"
    for (e = 1; e <= epochs; e++) printf "%-7d %12.2f %12.2f\n", e, ns[e], ts[e]
    first = epochs > 1 ? 2 : 1
    for (e = first; e <= epochs; e++) { nsum += ns[e]; tsum += ts[e] }
    nmean = nsum / (epochs - first + 1); tmean = tsum / (epochs - first + 1)
    what = epochs > 1 ? sprintf("epochs %d..%d, first epoch excluded as warm-up", first, epochs) \
                      : "epoch 1 only, warm-up included: use --epochs 2 or more"
    printf "mean epoch time (%s): nabla %.2f s, torch %.2f s\n", what, nmean, tmean
    printf "test accuracy: nabla %s, torch %s\n", nacc, tacc
    if (tmean <= 0) { print "run_fashion_mnist: error: torch epoch time is zero" > "/dev/stderr"; exit 1 }
    ratio = nmean / tmean
    printf "ratio nabla/torch epoch time: %.3f (target <= 0.5 with 2 threads each; here nabla %d, torch %d): %s\n", \
        ratio, threads, tthreads, ratio <= 0.5 ? "target met" : "target NOT met"
    noisy = 0
    noisy += report("nabla", nother, nwall)
    noisy += report("torch", tother, twall)
    if (noisy)
        print "warning: other processes used the CPU during the run: the timings are not reliable; rerun on an idle machine"
}
# Prints how much CPU others took while one side ran; returns 1 when it is over 5% of
# the machine and at least 0.5 s (/proc/stat counts in ticks of 10 ms).
function report(name, other, wall,    pct) {
    pct = wall > 0 ? 100 * other / (wall * ncpu) : 0
    printf "CPU used by other processes while %s ran: %.1f s in %.1f s (%.1f%% of %d CPUs)\n", \
        name, other, wall, pct, ncpu
    return pct > 5 && other >= 0.5
}' "$work/nabla.parsed" "$work/torch.parsed" "$work/nabla.others" "$work/torch.others"

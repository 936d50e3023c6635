#!/bin/sh
# Runs the Fashion-MNIST benchmark: nabla's example in several configurations and the
# PyTorch baseline, one after the other on this machine, and compares the time of an
# epoch after the first (caches warm) and the test accuracies.
#
# Usage: bench/run_fashion_mnist.sh [--model mlp|cnn] [--epochs K] [--threads N] [--seed N]
#            [--repeat R] [--backends "cc tcc"] [--denormals "flush ieee"] [--no-torch]
#            [--nabla PATH] [--python PATH]
#   --model M          mlp: examples/fashion_mnist.c; cnn: examples/fashion_cnn.c (default mlp)
#   --epochs K         epochs each configuration trains (default 3; at least 2)
#   --repeat R         rounds: every configuration runs once per round, in turn, and the
#                      summary gives the min and median over the rounds (default 1)
#   --threads N        threads of nabla and of the main PyTorch runs (default 2)
#   --seed N           seed of initialization and shuffling, given to all (default 0)
#   --backends LIST    nabla backends to run (default "cc tcc")
#   --denormals LIST   nabla denormal modes to run (default "flush ieee")
#   --no-torch         nabla only (also what happens when PyTorch is not installed)
#   --torch-main-only  PyTorch only at --threads threads with IEEE denormals (the ratios'
#                      baseline), not also at 1 thread and with denormals flushed
#   --nabla PATH       nabla's example (default build/examples/<fashion_mnist or fashion_cnn>
#                      or $NABLA_BIN)
#   --python PATH      interpreter with torch and numpy (default /usr/bin/python3 or $PYTHON)
#
# Configurations, each a separate process:
#   nabla-<backend>-<mode>:  <nabla> --epochs K --batch 64 --lr 0.001 --seed S --threads N
#                                    --backend <backend> --denormals <mode>
#   torch-<t>t:              <python> bench/fashion_mnist_torch.py --model M --epochs K --batch 64
#                                    --lr 0.001 --seed S --threads <t>, for t = 1 and N
#   torch-<N>t-flush:        the same with --flush-denormal (torch.set_flush_denormal)
# each with OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set to its thread count (both call
# OpenBLAS, whose thread pool is sized from that variable when it loads). The torch
# script sets OMP_WAIT_POLICY=passive itself (see bench/README.md).
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
# What is compared: the time of an epoch after the first, (T_K - T_1) / (K - 1) with T_k
# the training time of the first k epochs: the first epoch carries warm-up (first-touch
# page faults, allocator growth, caches, a cc build). With --epochs 1 it is epoch 1,
# warm-up included, and the summary says so. Ratios are nabla / PyTorch; the target of
# issue 8 is <= 0.2 against PyTorch at the same thread count for the MLP, and of issue 11
# <= 0.7 for the CNN, at the same accuracy. For the MLP, the floors come from build/bench/bench_gemm_rate when it is built: the epoch's gemm
# FLOPs (60.4 G) at the 1024^3 sgemm rate (FLOP-bound) and the step's eight gemms timed
# at their own shapes (shape-aware, gemms only). Exit status: 0 when every run finished
# and was parsed (whether or not the target is met), 1 on any error. This is a
# benchmark, not a test: CI does not run it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
epochs=3
repeat=1
threads=2
seed=0
batch=64
lr=0.001
backends="cc tcc"
modes="flush ieee"
torch=1
torch_main_only=0
model=mlp
nabla=${NABLA_BIN:-}
gemm_rate=${NABLA_GEMM_BIN:-$root/build/bench/bench_gemm_rate}
python=${PYTHON:-/usr/bin/python3}
data=/usr/share/datasets/fashion-mnist

die() {
    echo "run_fashion_mnist: error: $*" >&2
    exit 1
}

usage() {
    sed -n '6,22p' "$0" | sed 's/^# \{0,1\}//'
}

is_count() {
    case $1 in '' | *[!0-9]*) return 1 ;; esac
    [ "$1" -ge 1 ]
}

while [ $# -gt 0 ]; do
    case $1 in
    --model | --epochs | --repeat | --threads | --seed | --nabla | --python | --backends | --denormals)
        [ $# -ge 2 ] || die "$1 needs a value"
        case $1 in
        --model) model=$2 ;;
        --epochs) epochs=$2 ;;
        --repeat) repeat=$2 ;;
        --threads) threads=$2 ;;
        --seed) seed=$2 ;;
        --nabla) nabla=$2 ;;
        --python) python=$2 ;;
        --backends) backends=$2 ;;
        --denormals) modes=$2 ;;
        esac
        shift 2
        ;;
    --no-torch)
        torch=0
        shift
        ;;
    --torch-main-only)
        torch_main_only=1
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
case $model in
mlp) example=fashion_mnist target=0.2 issue=8 ;;
cnn) example=fashion_cnn target=0.7 issue=11 ;;
*) die "--model is mlp or cnn, got '$model'" ;;
esac
[ -n "$nabla" ] || nabla=$root/build/examples/$example
is_count "$epochs" || die "--epochs must be a positive integer, got '$epochs'"
is_count "$repeat" || die "--repeat must be a positive integer, got '$repeat'"
is_count "$threads" || die "--threads must be a positive integer, got '$threads'"
case $seed in '' | *[!0-9]*) die "--seed must be a non-negative integer, got '$seed'" ;; esac
for b in $backends; do
    case $b in cc | tcc) ;; *) die "--backends lists cc and tcc, got '$b'" ;; esac
done
for m in $modes; do
    case $m in flush | ieee) ;; *) die "--denormals lists flush and ieee, got '$m'" ;; esac
done

# Check everything before running anything: a missing piece should not show up only
# after minutes of training.
[ -x "$nabla" ] || die "nabla's example is not built: no executable $nabla
  build it with:  cmake -S $root -B $root/build && cmake --build $root/build -j2
  (or pass --nabla PATH / set NABLA_BIN)"
if [ "$torch" -eq 1 ]; then
    if ! command -v "$python" >/dev/null 2>&1 || ! "$python" -c 'import torch, numpy' >/dev/null 2>&1; then
        echo "note: PyTorch (or numpy) is not installed for $python: nabla's figures only"
        echo "  (apt-get install python3-torch python3-numpy for the comparison)"
        torch=0
    fi
fi
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

echo "Fashion-MNIST benchmark ($model, $example): $epochs epoch(s), batch $batch, lr $lr, seed $seed, $threads thread(s)," \
    "$repeat round(s)"
echo "machine: $ncpu CPUs, $(sed -n 's/^model name[ \t]*: //p' /proc/cpuinfo | head -n 1)," \
    "load average $(cut -d ' ' -f 1-3 /proc/loadavg)"

# Every round runs every configuration once, in the same order; a run's files are
# $work/<configuration>.<round>.*.
configs=""
for b in $backends; do
    for m in $modes; do
        configs="$configs nabla-$b-$m"
    done
done
tthreads=1
[ "$threads" -ne 1 ] && tthreads="1 $threads"
[ "$torch_main_only" -eq 1 ] && tthreads=$threads
if [ "$torch" -eq 1 ]; then
    for t in $tthreads; do
        configs="$configs torch-${t}t"
    done
    [ "$torch_main_only" -eq 1 ] || configs="$configs torch-${threads}t-flush"
fi
round=1
while [ "$round" -le "$repeat" ]; do
    for b in $backends; do
        for m in $modes; do
            run_side "nabla-$b-$m.$round" "$threads" "$nabla" --epochs "$epochs" --batch "$batch" \
                --lr "$lr" --seed "$seed" --threads "$threads" --backend "$b" --denormals "$m"
        done
    done
    if [ "$torch" -eq 1 ]; then
        for t in $tthreads; do
            run_side "torch-${t}t.$round" "$t" "$python" "$here/fashion_mnist_torch.py" \
                --model "$model" --epochs "$epochs" --batch "$batch" --lr "$lr" --seed "$seed" --threads "$t"
        done
        [ "$torch_main_only" -eq 1 ] ||
            run_side "torch-${threads}t-flush.$round" "$threads" "$python" \
                "$here/fashion_mnist_torch.py" --model "$model" --epochs "$epochs" --batch "$batch" \
                --lr "$lr" --seed "$seed" --threads "$threads" --flush-denormal
    fi
    round=$((round + 1))
done
# (cfg, not name: parse_side sets name.)
for cfg in $configs; do
    round=1
    while [ "$round" -le "$repeat" ]; do
        parse_side "$cfg.$round"
        round=$((round + 1))
    done
done

# The floors: the gemm rate at the same thread count, measured now.
: >"$work/floors"
if [ "$model" != mlp ]; then
    : # the floors are the MLP's gemms
elif [ -x "$gemm_rate" ]; then
    echo "== gemm rate: $gemm_rate --threads $threads"
    "$gemm_rate" --threads "$threads" | tee "$work/gemm.out" | sed -u "s/^/[gemm] /"
    sed -n 's/^epoch floors: \([0-9.]*\) GFLOP; FLOP-bound \([0-9.]*\) s at \([0-9.]*\) GFLOP\/s.*shape-aware gemms \([0-9.]*\) \/ \([0-9.]*\) s.*/\1 \2 \3 \4 \5/p' \
        "$work/gemm.out" >"$work/floors"
else
    echo "note: $gemm_rate is not built: no floors (cmake --build build -j2 builds it)"
fi

# The summary: per configuration and round, epoch 1, the epoch after the first and the
# accuracy; then, per configuration, the median of epoch 1 and the min and median of
# the epoch after the first over the rounds, and the ratios of the medians.
for cfg in $configs; do
    round=1
    while [ "$round" -le "$repeat" ]; do
        printf '%s ' "$cfg"
        awk '$1 == "final" { acc = $2; next } { n++; t[$1] = $2; sum += $2 }
            END { after = n > 1 ? (sum - t[1]) / (n - 1) : t[1]; printf "%s %s %s\n", t[1], after, acc }' \
            "$work/$cfg.$round.parsed"
        round=$((round + 1))
    done
done >"$work/summary"
awk -v epochs="$epochs" -v threads="$threads" -v target="$target" -v issue="$issue" -v ncpu="$ncpu" -v floors="$work/floors" -v rounds="$repeat" '
function median(list,    v, m, i, j, x) {
    m = split(list, v, " ")
    for (i = 2; i <= m; i++) { x = v[i]; for (j = i - 1; j >= 1 && v[j] + 0 > x + 0; j--) v[j + 1] = v[j]; v[j + 1] = x }
    return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
}
FILENAME ~ /\.others$/ { n = FILENAME; sub(/.*\//, "", n); sub(/\.others$/, "", n); sub(/\.[0-9]+$/, "", n); other[n] += $1; wall[n] += $2; next }
{
    if (!($1 in firsts)) name[++k] = $1
    firsts[$1] = firsts[$1] " " $2; afters[$1] = afters[$1] " " $3; acc[$1] = $4
    if (!($1 in best_after) || $3 + 0 < best_after[$1] + 0) best_after[$1] = $3
}
END {
    for (i = 1; i <= k; i++) { n = name[i]; first[n] = median(firsts[n]); after[n] = median(afters[n]) }
    if ((getline line < floors) > 0) { split(line, f, " "); have_floor = 1 }
    what = epochs > 1 ? sprintf("(T_%d - T_1) / %d", epochs, epochs - 1) : "epoch 1, warm-up included: use --epochs 2 or more"
    tref = "torch-" threads "t"
    print ""
    print "== summary: time of an epoch after the first = " what ", over " rounds " round(s)"
    printf "%-18s %10s %19s %9s %13s %13s\n", "configuration", "epoch 1 s", "epoch 2+ s min/med", \
        "test acc", "/ " tref, "/ torch-1t"
    for (i = 1; i <= k; i++) {
        n = name[i]
        r = (tref in after) && after[tref] > 0 ? sprintf("%.3f", after[n] / after[tref]) : "-"
        r1 = ("torch-1t" in after) && after["torch-1t"] > 0 ? sprintf("%.3f", after[n] / after["torch-1t"]) : "-"
        printf "%-18s %10.2f %9.3f / %7.3f %9s %13s %13s\n", n, first[n], best_after[n], after[n], acc[n], r, r1
    }
    print "(epoch 1: median over the rounds; ratios: of the medians)"
    best = ""
    for (i = 1; i <= k; i++)
        if (name[i] ~ /^nabla/ && (best == "" || after[name[i]] < after[best])) best = name[i]
    if (best != "" && (tref in after))
        printf "fastest nabla: %s, %.3f x %s (issue %s target <= %s), test acc %s vs %s\n", \
            best, after[best] / after[tref], tref, issue, target, acc[best], acc[tref]
    if (have_floor && best != "") {
        printf "floors at %d thread(s): %.1f GFLOP per epoch; FLOP-bound %.3f s (%.1f GFLOP/s, 1024^3 sgemm):" \
            " %s is %.1f x it; shape-aware gemms %.3f s (min; median %.3f): %.1f x it\n", \
            threads, f[1], f[2], f[3], best, after[best] / f[2], f[4], f[5], after[best] / f[4]
    }
    noisy = 0
    for (i = 1; i <= k; i++) {
        n = name[i]
        pct = wall[n] > 0 ? 100 * other[n] / (wall[n] * ncpu) : 0
        printf "CPU used by other processes while %s ran: %.1f s in %.1f s (%.1f%% of %d CPUs)\n", \
            n, other[n], wall[n], pct, ncpu
        if (pct > 5 && other[n] >= 0.5) noisy = 1
    }
    if (noisy)
        print "warning: other processes used the CPU during the run: the timings are not reliable; rerun on an idle machine"
}' "$work/summary" "$work"/*.others

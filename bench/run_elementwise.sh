#!/bin/sh
# Runs bench_elementwise (nabla cc and tcc, a C loop calling libm, a bandwidth loop) and,
# when PyTorch is installed, bench/elementwise_torch.py on the same sizes, one after the
# other, so that the figures come from one run on one machine.
#
# Usage: bench/run_elementwise.sh [--sizes N,N] [--repeat R] [--threads T]
#   --threads T: nabla's programs and PyTorch on T threads (the C loops on one).
#   NABLA_BENCH (default build/bench/bench_elementwise) and PYTHON (default /usr/bin/python3).
set -eu
sizes=1048576,16777216
repeat=5
threads=1
while [ $# -gt 0 ]; do
    case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "usage: $0 [--sizes N,N] [--repeat R] [--threads T]" >&2; exit 2 ;;
    esac
done
here=$(dirname "$0")
bench=${NABLA_BENCH:-build/bench/bench_elementwise}
python=${PYTHON:-/usr/bin/python3}
echo "load: $(uptime)"
grep -m1 'model name' /proc/cpuinfo || true
"$bench" --sizes "$sizes" --repeat "$repeat" --threads "$threads"
if "$python" -c 'import torch' 2>/dev/null; then
    OMP_NUM_THREADS=$threads "$python" "$here/elementwise_torch.py" --sizes "$sizes" \
        --repeat "$repeat" --threads "$threads"
else
    echo "PyTorch is not installed for $python: its side is skipped"
fi

#!/bin/sh
# Times matmul-bound work through compiled nabla programs (bench_gemm_programs) and the
# same work in PyTorch (bench/gemm_torch.py), alternately, and prints each case's speed
# against PyTorch's: PyTorch's time over nabla's, so above 1 means nabla is faster (the
# target of issue 8 is >= 1.0 at 1 and 2 threads). Without torch it prints nabla's times.
#
# Usage: bench/run_gemm_torch.sh [--repeat N] [--rounds N] [--nabla PATH] [--python PATH]
#   --repeat N   alternations of the two programs (default 2); a case's figure is the
#                least of its minimums and the median of its medians over them
#   --rounds N   samples per case in each program (default 15)
#   --nabla PATH bench_gemm_programs (default build/bench/bench_gemm_programs)
#   --python PATH an interpreter with torch (default /usr/bin/python3 or $PYTHON)
set -eu
repeat=2
rounds=15
nabla=${NABLA_BIN:-build/bench/bench_gemm_programs}
python=${PYTHON:-/usr/bin/python3}
here=$(dirname "$0")
while [ $# -gt 0 ]; do
  case $1 in
    --repeat) repeat=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --nabla) nabla=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    *) echo "usage: $0 [--repeat N] [--rounds N] [--nabla PATH] [--python PATH]" >&2; exit 1 ;;
  esac
done
[ -x "$nabla" ] || { echo "$0: $nabla not found: build first (make build)" >&2; exit 1; }
have_torch=1
"$python" -c "import torch" 2>/dev/null || have_torch=0
[ $have_torch = 1 ] || echo "torch not found: nabla's times only"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
i=0
while [ $i -lt "$repeat" ]; do
  for t in 1 2; do
    # One process per thread count: PyTorch's BLAS (OpenBLAS through libblas.so.3 on
    # Debian) sizes its thread pool from the environment, not from set_num_threads.
    OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t "$nabla" --rounds "$rounds" --threads $t |
      sed 's/^/nabla /' >>"$out"
    if [ $have_torch = 1 ]; then
      OPENBLAS_NUM_THREADS=$t OMP_NUM_THREADS=$t "$python" "$here/gemm_torch.py" \
        --rounds "$rounds" --threads $t | sed 's/^/torch /' >>"$out"
    fi
  done
  i=$((i + 1))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
  { who = $1; key = $3 " " $5; min = $7 + 0; med = $9 + 0
    if (!(key in order)) { order[key] = ++n; keys[n] = key }
    if (!((who, key) in best) || min < best[who, key]) best[who, key] = min
    cnt[who, key]++; meds[who, key, cnt[who, key]] = med }
  function median(who, key,   m, i, j, t, a) {
    m = cnt[who, key]; for (i = 1; i <= m; i++) a[i] = meds[who, key, i]
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2 }
  END {
    printf "%-18s %7s %22s %22s %16s\n", "case", "threads", "nabla min / median ms", "torch min / median ms", "speed vs torch"
    for (i = 1; i <= n; i++) {
      key = keys[i]; split(key, p, " ")
      nm = median("nabla", key)
      line = sprintf("%-18s %7s %10.4f / %9.4f", p[1], p[2], 1e3 * best["nabla", key], 1e3 * nm)
      if (("torch", key) in best) {
        tm = median("torch", key)
        line = line sprintf(" %10.4f / %9.4f %7.2f / %6.2f", 1e3 * best["torch", key], 1e3 * tm,
                            best["torch", key] / best["nabla", key], tm / nm)
      }
      print line
    }
  }' "$out"

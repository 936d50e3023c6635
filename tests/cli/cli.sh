#!/bin/sh
# cli.sh — the nabla command on the seed's graph file (examples/seed_logistic.nbg): every
# subcommand with its output checked, --help, and the errors a user meets.
#   cli.sh <nabla> <seed_autograd> <fashion_mnist> <source dir> <C compiler>
set -u
nabla=$1 seed=$2 fashion=$3 src=$4 cc=$5
file=$src/examples/seed_logistic.nbg
dir=$(mktemp -d /tmp/nabla-cli-XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
failed=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then
    printf 'FAIL %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$2" "$3"
    failed=1
  fi
}
status() { # status NAME EXPECTED_CODE command...
  name=$1 want=$2
  shift 2
  "$@" > "$dir/out" 2> "$dir/err"
  got=$?
  [ "$got" = "$want" ] || { echo "FAIL $name: exit $got, expected $want"; cat "$dir/err"; failed=1; }
}

# The committed file is what the example writes.
"$seed" --write-graph "$dir/seed.nbg" || failed=1
cmp -s "$file" "$dir/seed.nbg" || { echo "FAIL examples/seed_logistic.nbg is not what seed_autograd --write-graph writes"; failed=1; }

# The training step of fashion_mnist, without values: it reads back, runs with values
# given, and bench times it with zeros.
step=$src/examples/fashion_mnist_step.nbg
"$fashion" --write-graph "$dir/step.nbg" || failed=1
cmp -s "$step" "$dir/step.nbg" || { echo "FAIL examples/fashion_mnist_step.nbg is not what fashion_mnist --write-graph writes"; failed=1; }
check "print step" "$(cat "$step")" "$("$nabla" print "$step")"
status "run without values" 1 "$nabla" run "$step"
grep -q "input 0 'x' is not bound (the file holds no value for it: give one with --input NAME=FILE)" "$dir/err" ||
  { echo "FAIL run without values: $(cat "$dir/err")"; failed=1; }
check "bench step" "tcc
cc" "$("$nabla" bench "$step" --repeat 1 | cut -d' ' -f1)"

# print: the file, checked, written back byte for byte.
check print "$(cat "$file")" "$("$nabla" print "$file")"

# run: the tutorial's loss and gradients (x = 6.7, y = 0, w = 1, b = 0).
check run "loss f32[] = 6.7012
dloss/dw f32[] = 6.6918
dloss/db f32[] = 0.9988" "$("$nabla" run "$file" 2>/dev/null)"
"$nabla" run "$file" 2>&1 >/dev/null | grep -q '^compile .* ms (tcc, of which the backend .* ms), run .* ms$' ||
  { echo "FAIL run: no timing line on stderr"; failed=1; }
check "run --backend cc" "$("$nabla" run "$file" 2>/dev/null)" "$("$nabla" run "$file" --backend cc 2>/dev/null)"

# run --input from raw bytes: x = 3 (0x40400000), loss = -log(1 - sigmoid(3)) = 3.0486.
printf '\000\000\100\100' > "$dir/x.bin"
check "run --input" "loss f32[] = 3.0486" "$("$nabla" run "$file" --input x="$dir/x.bin" 2>/dev/null | head -1)"

# grad twice: d2 loss / dw2 = x^2 sigmoid(z) (1 - sigmoid(z)) = 0.0551 at the file's values.
"$nabla" grad "$file" --of dloss/dw --wrt w -o "$dir/g2.nbg" || failed=1
check "grad of grad" "0.0551" "$("$nabla" run "$dir/g2.nbg" 2>/dev/null | tail -1 | sed 's/.* = //')"

# emit: the generated C, for both backends; it compiles.
"$nabla" emit "$file" -o "$dir/seed.c" || failed=1
grep -q 'int nb_entry(const void \*const \*in' "$dir/seed.c" || { echo "FAIL emit: no entry point"; failed=1; }
"$nabla" emit "$file" --backend cc | grep -q 'void (\*nb_rt_' || true

# export: the standalone pair builds warning-free and prints the tutorial's numbers.
"$nabla" export "$file" --prefix seed -o "$dir" > "$dir/export.txt" || failed=1
check export "$dir/seed.c
$dir/seed.h" "$(cat "$dir/export.txt")"
cat > "$dir/main.c" <<'C'
#include <stdio.h>
#include "seed.h"
static double arena[SEED_ARENA_SIZE / 8 + 1], state[SEED_STATE_SIZE / 8 + 1];
int main(void)
{
    float x = 6.7f, y = 0.0f, loss, dw, db;
    if (seed_init(state) != 0 || seed_run(&x, &y, &loss, &dw, &db, arena, state) != 0)
        return 1;
    printf("%.4f %.4f %.4f\n", loss, dw, db);
    return 0;
}
C
"$cc" -std=c99 -pedantic -Wall -Wextra -Werror -ffp-contract=off -I"$dir" "$dir/main.c" "$dir/seed.c" -o "$dir/main" -lm || failed=1
check "export builds and runs" "6.7012 6.6918 0.9988" "$("$dir/main")"

# gradcheck: nabla's gradients against finite differences, at the file's values and at
# random points; the second derivative too.
out=$("$nabla" gradcheck "$file" --of loss --wrt w,b) || { echo "FAIL gradcheck: exit status"; failed=1; }
case $out in "ok: d loss / d "*"2 compared, 0 skipped at 1 point") ;; *) echo "FAIL gradcheck: $out"; failed=1 ;; esac
"$nabla" gradcheck "$file" --of loss --wrt w,b,x --random > /dev/null || { echo "FAIL gradcheck --random"; failed=1; }
"$nabla" gradcheck "$dir/g2.nbg" --of dloss/dw --wrt w > /dev/null || { echo "FAIL gradcheck of a gradient"; failed=1; }
status "gradcheck without --wrt" 2 "$nabla" gradcheck "$file" --of loss

# dot: the graph for Graphviz, and the picture when Graphviz is installed.
"$nabla" dot "$file" -o "$dir/seed.dot" || failed=1
head -1 "$dir/seed.dot" | grep -q '^digraph nabla {$' || { echo "FAIL dot: not a digraph"; failed=1; }
grep -q "'dloss/dw'" "$dir/seed.dot" || { echo "FAIL dot: no dloss/dw label"; failed=1; }
if command -v dot >/dev/null 2>&1; then
  "$nabla" dot "$file" --svg -o "$dir/seed.svg" || failed=1
  grep -q '<svg' "$dir/seed.svg" || { echo "FAIL dot --svg: no svg"; failed=1; }
fi

# bench: a line per backend.
check bench "tcc
cc" "$("$nabla" bench "$file" --repeat 2 | cut -d' ' -f1)"

# --help everywhere; errors with their exit status and message.
for c in print emit run dot grad gradcheck export bench; do
  status "$c --help" 0 "$nabla" "$c" --help
  grep -q "^usage: nabla $c" "$dir/out" || { echo "FAIL $c --help"; failed=1; }
done
status "--help" 0 "$nabla" --help
status "no command" 2 "$nabla"
status "unknown command" 2 "$nabla" frobnicate "$file"
grep -q "unknown command 'frobnicate'" "$dir/err" || { echo "FAIL unknown command message"; failed=1; }
status "no file" 2 "$nabla" run
status "unknown option" 2 "$nabla" run "$file" --bogus
status "missing file" 1 "$nabla" run "$dir/none.nbg"
grep -q "none.nbg" "$dir/err" || { echo "FAIL missing file message"; failed=1; }
status "bad node" 1 "$nabla" grad "$file" --of nope --wrt w
grep -q "no node 'nope'" "$dir/err" || { echo "FAIL bad node message"; failed=1; }
status "grad without --of" 2 "$nabla" grad "$file"
status "bad backend" 2 "$nabla" run "$file" --backend gpu
printf '\000\000' > "$dir/short.bin"
status "short input" 1 "$nabla" run "$file" --input x="$dir/short.bin"
grep -q "has 2 bytes; 'x' (f32 of 1 elements) needs 4" "$dir/err" || { echo "FAIL short input message"; cat "$dir/err"; failed=1; }
status "npy dtype" 1 "$nabla" run "$file" --input x="$src/tests/data/npy/i4_scalar.npy"
grep -q "holds i32" "$dir/err" || { echo "FAIL npy dtype message"; cat "$dir/err"; failed=1; }
printf 'nabla-graph 1\n%%0 = input f33[] name="x"\n' > "$dir/bad.nbg"
status "parse error" 1 "$nabla" print "$dir/bad.nbg"
grep -q "line 2, column" "$dir/err" || { echo "FAIL parse error message"; cat "$dir/err"; failed=1; }
exit $failed

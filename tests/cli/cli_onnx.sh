#!/bin/sh
# cli_onnx.sh — the nabla command on ONNX models (docs/cli.md): print, run and emit of
# tests/data/onnx/mlp.onnx, --shape for an open dimension, and the three exit statuses
# of onnx-test (pass, mismatch, unsupported) on test directories built here.
#   cli_onnx.sh <nabla> <source dir>
set -u
nabla=$1 src=$2
data=$src/tests/data/onnx
dir=$(mktemp -d /tmp/nabla-cli-onnx-XXXXXX) || exit 1
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
  [ "$got" = "$want" ] || { echo "FAIL $name: exit $got, expected $want"; cat "$dir/out" "$dir/err"; failed=1; }
}
has() { # has NAME FILE TEXT: the file holds the text (fixed string)
  grep -qF -- "$3" "$2" || { echo "FAIL $1: no '$3' in:"; cat "$2"; failed=1; }
}

# print: the graph the loader builds, initializers as parameters named after them.
status print 0 "$nabla" print "$data/mlp.onnx"
has print "$dir/out" 'input f32[2,3] name="x"'
has print "$dir/out" 'param f32[3,4] kind=model name="W"'
has print "$dir/out" 'param f32[4] kind=model name="B"'
has print "$dir/out" 'name="y"'

# run: y = relu(x @ W + B) * 0.5 at x = [[1, 2, 3], [-1, 0.5, 2]] (by hand, in
# tests/test_onnx.c), x given as raw f32 bytes; both backends.
printf '\000\000\200\077\000\000\000\100\000\000\100\100\000\000\200\277\000\000\000\077\000\000\000\100' > "$dir/x.bin"
want="y f32[2,4] = [[0.0000, 1.6500, 0.5250, 0.0000],
 [0.0000, 1.5875, 0.4000, 0.0000]]"
check run "$want" "$("$nabla" run "$data/mlp.onnx" --input x="$dir/x.bin" 2>/dev/null)"
check "run --backend cc" "$want" "$("$nabla" run "$data/mlp.onnx" --input x="$dir/x.bin" --backend cc 2>/dev/null)"
status "run without x" 1 "$nabla" run "$data/mlp.onnx"
has "run without x" "$dir/err" "input 0 'x' is not bound"

# emit: the generated C of the model.
status emit 0 "$nabla" emit "$data/mlp.onnx" -o "$dir/mlp.c"
grep -q 'int nb_entry(const void \*const \*in' "$dir/mlp.c" || { echo "FAIL emit: no entry point"; failed=1; }

# --shape: an open dimension must be given; the shape is checked against the model's.
status "open dimension" 1 "$nabla" print "$data/open_dim.onnx"
has "open dimension" "$dir/err" "input 'x': dimension 0 is open: give the input's shape (nb_onnx_options.shapes, nabla's --shape x=...)"
check "--shape" 'nabla-graph 1
%0 = input f32[4,3] name="x"
%1 = relu f32[4,3] (%0) name="y"
output %1' "$("$nabla" print "$data/open_dim.onnx" --shape x=4,3)"
status "--shape of another rank" 1 "$nabla" print "$data/open_dim.onnx" --shape x=4
has "--shape of another rank" "$dir/err" "input 'x': the shape given for it does not fit the model's"
status "--shape without dimensions" 1 "$nabla" print "$data/open_dim.onnx" --shape x
has "--shape without dimensions" "$dir/err" "--shape is NAME=D,D,... (a dimension list), not 'x'"
status "--shape 0" 1 "$nabla" print "$data/open_dim.onnx" --shape x=0,3
has "--shape 0" "$dir/err" "dimensions are numbers from 1"

# onnx-test: a test directory of ONNX's backend format (model.onnx, test_data_set_0/).
mk() { # mk NAME MODEL: a test directory with the MLP's data and the model
  mkdir -p "$dir/$1" && cp -R "$data/mlp_test/test_data_set_0" "$dir/$1/" && cp "$2" "$dir/$1/model.onnx"
}
mk test_mlp "$data/mlp.onnx"
for backend in tcc cc; do
  status "onnx-test pass ($backend)" 0 "$nabla" onnx-test "$dir/test_mlp" --backend $backend
  check "onnx-test pass ($backend)" "pass test_mlp [MatMul,Add,Relu,Constant,Mul]" "$(cat "$dir/out")"
done
# The expected output altered: its last element (y[1][3] = 0, the last 4 bytes of the
# file's raw_data) becomes 2.0 (0x40000000 little-endian).
mk test_mismatch "$data/mlp.onnx"
out0=$dir/test_mismatch/test_data_set_0/output_0.pb
size=$(wc -c < "$out0")
head -c $((size - 1)) "$out0" > "$dir/y.pb" && printf '\100' >> "$dir/y.pb" && mv "$dir/y.pb" "$out0"
status "onnx-test mismatch" 1 "$nabla" onnx-test "$dir/test_mismatch"
check "onnx-test mismatch" "mismatch test_mismatch [MatMul,Add,Relu,Constant,Mul] output 0 'y' element 7: nabla gives 0, the test expects 2" "$(cat "$dir/out")"
mk test_unsupported "$data/unsupported_op.onnx"
status "onnx-test unsupported" 2 "$nabla" onnx-test "$dir/test_unsupported"
check "onnx-test unsupported" "unsupported test_unsupported [NoSuchOp] node 0 'n0' (NoSuchOp): the op is not supported" "$(cat "$dir/out")"
status "onnx-test without data" 2 "$nabla" onnx-test "$dir"
has "onnx-test without data" "$dir/out" "holds no test_data_set_*"

[ $failed = 0 ] && echo "cli_onnx: all passed"
exit $failed

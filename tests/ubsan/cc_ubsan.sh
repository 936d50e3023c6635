#!/bin/sh
# cc_ubsan.sh — runs a test program with its cc-backend programs built under UBSan: the
# generated C of i32 arithmetic, integer division and float -> i32 casts must have no
# undefined behaviour (signed overflow, INT_MIN / -1, out-of-range conversions) at the
# edge values the test feeds it. NABLA_CC points at a wrapper that adds the sanitizer
# flags (float-cast-overflow is not part of gcc's -fsanitize=undefined); the objects go
# to a cache of their own. Exits 77 (skipped) when gcc cannot build with UBSan.
#   cc_ubsan.sh <test program>
test=$1
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
flags="-fsanitize=undefined,float-cast-overflow -fno-sanitize-recover=all"
printf 'int main(void) { return 0; }\n' >"$dir/probe.c"
if ! gcc $flags "$dir/probe.c" -o "$dir/probe" 2>/dev/null; then
  echo "gcc cannot build with UBSan: skipped"
  exit 77
fi
printf '#!/bin/sh\nexec gcc %s "$@"\n' "$flags" >"$dir/cc"
chmod +x "$dir/cc"
NABLA_CC="$dir/cc" NABLA_CACHE_DIR="$dir/cache" "$test"

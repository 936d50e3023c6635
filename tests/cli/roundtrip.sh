#!/bin/sh
# roundtrip.sh — every graph that some test programs compile reads back as itself: the
# tests run with NABLA_DUMP_DIR set, which writes each compiled graph's text (<hash>.ir),
# and `nabla print` of each file must give the file's bytes again.
#   roundtrip.sh <nabla> <test program>...
set -u
nabla=$1
shift
dir=$(mktemp -d /tmp/nabla-roundtrip-XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
for t in "$@"; do
  NABLA_DUMP_DIR=$dir "$t" > /dev/null 2>&1 || { echo "FAIL: $t failed"; exit 1; }
done
n=0 failed=0
for f in "$dir"/*.ir; do
  [ -e "$f" ] || continue
  n=$((n + 1))
  "$nabla" print "$f" > "$dir/again" 2> "$dir/err" || { echo "FAIL: $f does not parse: $(cat "$dir/err")"; failed=1; continue; }
  cmp -s "$f" "$dir/again" || { echo "FAIL: $f does not read back as itself"; failed=1; }
done
echo "$n graphs read back"
[ "$n" -gt 0 ] || { echo "FAIL: no graph was dumped"; exit 1; }
exit $failed

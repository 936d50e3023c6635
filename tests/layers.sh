#!/bin/sh
# layers.sh ROOT — the arrows between the library's folders point one way
# (docs/architecture.md): ir/ includes no header of codegen/ or runtime/; frontend/ and
# codegen/ none of runtime/ (frontend/ none of codegen/ either); data/ none of codegen/
# or runtime/; and no compiler layer (frontend/, ir/, codegen/, runtime/) calls the
# data-set helpers of data/. Prints each offence; exits 1 when there is one.
set -eu
root=$(cd "${1:?usage: layers.sh ROOT}" && pwd -P)
cd "$root"
bad=0
# offend WHAT PATTERN FILES...: every line of FILES matching PATTERN is an offence.
offend()
{
    what=$1
    pattern=$2
    shift 2
    if grep -nE "$pattern" "$@" >/dev/null 2>&1; then
        grep -nE "$pattern" "$@" | sed "s|\$|: $what|"
        bad=1
    fi
}
codegen_h='#include "(cg[a-z_]*\.h|cg_[a-z_]*\.def)"'
runtime_h='#include "rt[a-z_]*\.h"'
offend "ir/ includes codegen/" "$codegen_h" ir/*.c ir/*.h
offend "ir/ includes runtime/" "$runtime_h" ir/*.c ir/*.h
offend "frontend/ includes codegen/" "$codegen_h" frontend/*.c
offend "frontend/ includes runtime/" "$runtime_h" frontend/*.c
offend "codegen/ includes runtime/" "$runtime_h" codegen/*.c codegen/*.h
offend "data/ includes codegen/" "$codegen_h" data/*.c
offend "data/ includes runtime/" "$runtime_h" data/*.c
offend "a compiler layer calls data/" \
    '\b(nb_idx_[a-z0-9_]+|nb_batcher_[a-z_]+|nb_gather_rows_f32|nb_gather_i32)[[:space:]]*\(' \
    frontend/*.c ir/*.c ir/*.h codegen/*.c codegen/*.h runtime/*.c runtime/*.h
exit $bad

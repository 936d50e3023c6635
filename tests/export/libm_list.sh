#!/bin/sh
# libm_list.sh — nabla_add_model's list of libm functions to keep from being folded
# (cmake/nabla_add_model.cmake, which is installed and stands alone) must be the
# functions codegen/cg_libm.def marks as not correctly rounded.
#   libm_list.sh <source dir>
src=$1
def=$(sed -n 's/^CG_LIBM(\([a-z0-9]*\), .*, 0)$/\1/p' "$src/codegen/cg_libm.def" | sort | tr '\n' ' ')
cmake=$(sed -n '/set(not_exact/,/)/p' "$src/cmake/nabla_add_model.cmake" |
  sed 's/set(not_exact//; s/)//' | tr ' ' '\n' | grep . | sort | tr '\n' ' ')
if [ -z "$def" ] || [ "$def" != "$cmake" ]; then
  echo "cg_libm.def (not exact): $def"
  echo "nabla_add_model.cmake:   $cmake"
  exit 1
fi

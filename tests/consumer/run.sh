#!/bin/sh
# run.sh MODE SOURCE BUILD CC — builds tests/consumer/consumer.c the way a project
# outside nabla's tree would, in a temporary directory removed afterwards, and runs it:
#   find_package      against `cmake --install BUILD` into a temporary prefix
#   pkg_config        the same install, a plain Makefile and pkg-config
#   add_subdirectory  nabla's source tree as a subdirectory of the consumer's project (and
#                     the nabla_add_model consumer's model built with it)
#   nabla_add_model   the same install: a model exported at build time by the package's
#                     nabla_add_model (tests/consumer/nabla_add_model) and run without nabla
#   cross             the same install: the nabla_add_model consumer's generator, built
#                     for the host, exports the model for a Cortex-M4F that
#                     arm-none-eabi-gcc builds (tests/consumer/cross); skipped (77)
#                     when that compiler is not installed
#   shared            nabla built with -DBUILD_SHARED_LIBS=ON and installed: libnabla.so
#                     has no text relocations and exports nb_* only (not nb_rt_*, not
#                     the ONNX loader's nb_ox_*, not libtcc); the find_package and
#                     pkg_config consumers link it
# No network: every dependency is already on the machine.
set -eu
mode=$1 source=$2 build=$3 cc=$4
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -R "$here" "$tmp/src"
jobs=2

install_to() { # build dir, prefix
    cmake --install "$1" --prefix "$2" >/dev/null
}

cmake_consumer() { # consumer folder, extra configure arguments...
    dir=$1
    shift
    cmake -S "$tmp/src/$dir" -B "$tmp/build-$dir" -DCMAKE_C_COMPILER="$cc" "$@" >/dev/null
    cmake --build "$tmp/build-$dir" -j$jobs >/dev/null
    "$tmp/build-$dir/consumer"
}

make_consumer() { # prefix
    PKG_CONFIG_PATH="$1/lib/pkgconfig" make -s -C "$tmp/src/pkg_config" CC="$cc"
    "$tmp/src/pkg_config/consumer"
}

case $mode in
find_package)
    install_to "$build" "$tmp/prefix"
    cmake_consumer find_package -DCMAKE_PREFIX_PATH="$tmp/prefix"
    # The installed command runs the seed's graph file.
    if [ -x "$build/tools/nabla" ]; then
        out=$("$tmp/prefix/bin/nabla" run "$source/examples/seed_logistic.nbg" 2>/dev/null | head -1)
        [ "$out" = "loss f32[] = 6.7012" ] || { echo "installed nabla run printed '$out'"; exit 1; }
    fi
    ;;
pkg_config)
    install_to "$build" "$tmp/prefix"
    make_consumer "$tmp/prefix"
    ;;
nabla_add_model)
    install_to "$build" "$tmp/prefix"
    # Warning-free exported C, as the generated files promise.
    cmake_consumer nabla_add_model -DCMAKE_PREFIX_PATH="$tmp/prefix" \
        -DCMAKE_C_FLAGS="-Wall -Wextra -Werror"
    ;;
cross)
    if ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then
        echo "arm-none-eabi-gcc is not installed: skipped"
        exit 77
    fi
    install_to "$build" "$tmp/prefix"
    cmake_consumer nabla_add_model -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
    cmake -S "$tmp/src/cross" -B "$tmp/build-cross" \
        -DCMAKE_TOOLCHAIN_FILE="$tmp/src/cross/toolchain.cmake" \
        -DNABLA_CMAKE_DIR="$tmp/prefix/lib/cmake/nabla" \
        -DHOST_GENERATOR="$tmp/build-nabla_add_model/seed_generator" \
        -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
    cmake --build "$tmp/build-cross" -j$jobs >/dev/null
    machine=$(readelf -h "$tmp/build-cross/consumer" | sed -n 's/^ *Machine: *//p')
    if [ "$machine" != "ARM" ]; then
        echo "the cross build made a program for '$machine', not ARM" >&2
        exit 1
    fi
    echo "built an ARM program with the exported model"
    ;;
add_subdirectory)
    cmake_consumer add_subdirectory -DNABLA_SOURCE="$source"
    "$tmp/build-add_subdirectory/model_consumer"
    # Only the library: none of nabla's tests, examples or benchmarks.
    for d in tests examples bench; do
        if [ -e "$tmp/build-add_subdirectory/nabla/$d" ]; then
            echo "add_subdirectory built nabla's $d" >&2
            exit 1
        fi
    done
    ;;
shared)
    cmake -S "$source" -B "$tmp/nabla" -DCMAKE_C_COMPILER="$cc" -DBUILD_SHARED_LIBS=ON \
        -DNABLA_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build "$tmp/nabla" -j$jobs >/dev/null
    install_to "$tmp/nabla" "$tmp/prefix"
    so=$tmp/prefix/lib/libnabla.so
    if readelf -d "$so" | grep -q TEXTREL; then
        echo "libnabla.so has text relocations" >&2
        exit 1
    fi
    exported=$(nm -D --defined-only "$so" | awk '{print $3}')
    bad=$(printf '%s\n' "$exported" | grep -v '^nb_' | grep -v '^$' || true)
    bad="$bad$(printf '%s\n' "$exported" | grep -E '^nb_(rt|ox)_' || true)"
    if [ -n "$bad" ]; then
        echo "libnabla.so exports more than nb_*:" $bad >&2
        exit 1
    fi
    echo "libnabla.so: no TEXTREL, $(printf '%s\n' "$exported" | wc -l) symbols exported, all nb_*"
    if [ -e "$tmp/prefix/lib/libnabla_tcc.a" ]; then
        echo "a shared install has no use for libnabla_tcc.a" >&2
        exit 1
    fi
    cmake_consumer find_package -DCMAKE_PREFIX_PATH="$tmp/prefix"
    ldd "$tmp/build-find_package/consumer" | grep -q "$so" || {
        echo "the consumer does not load $so" >&2
        exit 1
    }
    make_consumer "$tmp/prefix"
    ;;
*)
    echo "run.sh: unknown mode $mode" >&2
    exit 2
    ;;
esac

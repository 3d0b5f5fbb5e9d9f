#!/usr/bin/env bash
# tests/consumer/mpi/run.sh PREFIX [WORKDIR]
#
# Builds the outside MPI project in this directory against the lstmae
# installed in PREFIX (with lstmae_mpi), and runs each program with
# mpiexec -n 2:
#   1. CMake: find_package(lstmae CONFIG REQUIRED COMPONENTS mpi), targets
#      lstmae::mpi (static) and lstmae::mpi_shared;
#   2. pkg-config --cflags --libs lstmae-mpi (shared).
# Checks that the shared programs need liblstmae_mpi.so.MAJOR and the
# static one does not. Environment: CC (default cc), CMAKE (default cmake),
# MPIEXEC (default mpiexec; Open MPI's gets --oversubscribe, and
# --allow-run-as-root as root).
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 PREFIX [WORKDIR]" >&2
    exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
prefix="$(cd "$1" && pwd)"
if [ $# -ge 2 ]; then
    work="$2"
    mkdir -p "$work"
else
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
fi
work="$(cd "$work" && pwd)"
cc="${CC:-cc}"
cmake="${CMAKE:-cmake}"
mpiexec="${MPIEXEC:-mpiexec}"
cflags=(-std=c11 -O2 -Wall -Wextra -Werror)

step() { printf '\n---- consumer (mpi): %s ----\n' "$*"; }
fail() { printf 'consumer (mpi): %s\n' "$*" >&2; exit 1; }

mpi_flags=()
if "$mpiexec" --version 2>&1 | grep -qE 'Open MPI|OpenRTE'; then
    mpi_flags+=(--oversubscribe)
    if [ "$(id -u)" -eq 0 ]; then mpi_flags+=(--allow-run-as-root); fi
fi
run2() { OPENBLAS_NUM_THREADS=1 "$mpiexec" -n 2 "${mpi_flags[@]}" "$@"; }
needs_mpi_lib() { readelf -d "$1" | grep -q 'NEEDED.*\[liblstmae_mpi\.so'; }

step "CMake find_package(lstmae CONFIG REQUIRED COMPONENTS mpi), prefix $prefix"
rm -rf "$work/cmake"
"$cmake" -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="-Wall -Wextra -Werror"
"$cmake" --build "$work/cmake"
! needs_mpi_lib "$work/cmake/consumer_mpi_static" || fail "the static program links liblstmae_mpi.so"
run2 "$work/cmake/consumer_mpi_static"
needs_mpi_lib "$work/cmake/consumer_mpi_shared" || fail "the shared program does not link liblstmae_mpi.so"
run2 "$work/cmake/consumer_mpi_shared"

pcfile="$(find "$prefix" -path '*/pkgconfig/lstmae-mpi.pc' -print -quit)"
[ -n "$pcfile" ] || fail "no pkgconfig/lstmae-mpi.pc under $prefix"
PKG_CONFIG_PATH="$(dirname "$pcfile")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
libdir="$(pkg-config --variable=libdir lstmae-mpi)"

step "pkg-config --cflags --libs lstmae-mpi (shared)"
read -r -a pc_cflags <<<"$(pkg-config --cflags lstmae-mpi)"
read -r -a pc_libs <<<"$(pkg-config --libs lstmae-mpi)"
echo "cflags: ${pc_cflags[*]}"
echo "libs:   ${pc_libs[*]}"
"$cc" "${cflags[@]}" "${pc_cflags[@]}" "$here/main.c" -o "$work/pc_mpi_shared" \
    "${pc_libs[@]}" -Wl,-rpath,"$libdir"
needs_mpi_lib "$work/pc_mpi_shared" || fail "pc_mpi_shared does not link liblstmae_mpi.so"
run2 "$work/pc_mpi_shared"

printf '\nconsumer (mpi): all three programs built and ran on 2 ranks against %s\n' "$prefix"

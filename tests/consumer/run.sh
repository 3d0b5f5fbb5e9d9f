#!/usr/bin/env bash
# tests/consumer/run.sh PREFIX [WORKDIR]
#
# Builds the outside project in this directory against the lstmae installed
# in PREFIX, three ways, and runs each program:
#   1. CMake: find_package(lstmae CONFIG REQUIRED), targets lstmae::lstmae
#      (static) and lstmae::lstmae_shared;
#   2. pkg-config --cflags --libs lstmae (shared);
#   3. pkg-config --cflags --libs --static lstmae (static: -llstmae is
#      replaced by -l:liblstmae.a, since liblstmae.so sits beside it).
# Checks that each shared program needs liblstmae.so.MAJOR and that no static
# one does. WORKDIR (default: a temporary directory, removed afterwards)
# holds the builds. Environment: CC (default cc), CMAKE (default cmake).
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
cflags=(-std=c11 -O2 -Wall -Wextra -Wpedantic -Werror)

step() { printf '\n---- consumer: %s ----\n' "$*"; }
fail() { printf 'consumer: %s\n' "$*" >&2; exit 1; }

# needs_lstmae BINARY: 0 when BINARY has liblstmae.so.* as DT_NEEDED.
needs_lstmae() { readelf -d "$1" | grep -q 'NEEDED.*\[liblstmae\.so'; }

run_shared() {
    needs_lstmae "$1" || fail "$1 does not link liblstmae.so"
    "$1"
}
run_static() {
    ! needs_lstmae "$1" || fail "$1 links liblstmae.so, not liblstmae.a"
    "$1"
}

step "CMake find_package(lstmae CONFIG REQUIRED), prefix $prefix"
rm -rf "$work/cmake"
"$cmake" -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="-Wall -Wextra -Werror"
"$cmake" --build "$work/cmake"
run_static "$work/cmake/consumer_static"
run_shared "$work/cmake/consumer_shared"

pcfile="$(find "$prefix" -path '*/pkgconfig/lstmae.pc' -print -quit)"
[ -n "$pcfile" ] || fail "no pkgconfig/lstmae.pc under $prefix"
PKG_CONFIG_PATH="$(dirname "$pcfile")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PKG_CONFIG_PATH
libdir="$(pkg-config --variable=libdir lstmae)"
echo "lstmae.pc: $pcfile (version $(pkg-config --modversion lstmae), libdir $libdir)"

step "pkg-config --cflags --libs lstmae (shared)"
read -r -a pc_cflags <<<"$(pkg-config --cflags lstmae)"
read -r -a pc_libs <<<"$(pkg-config --libs lstmae)"
echo "cflags: ${pc_cflags[*]}"
echo "libs:   ${pc_libs[*]}"
"$cc" "${cflags[@]}" "${pc_cflags[@]}" "$here/main.c" -o "$work/pc_shared" \
    "${pc_libs[@]}" -Wl,-rpath,"$libdir"
run_shared "$work/pc_shared"

step "pkg-config --cflags --libs --static lstmae (static)"
read -r -a pc_libs <<<"$(pkg-config --libs --static lstmae)"
echo "libs:   ${pc_libs[*]}"
for i in "${!pc_libs[@]}"; do
    if [ "${pc_libs[i]}" = "-llstmae" ]; then pc_libs[i]="-l:liblstmae.a"; fi
done
"$cc" "${cflags[@]}" "${pc_cflags[@]}" "$here/main.c" -o "$work/pc_static" \
    "${pc_libs[@]}"
run_static "$work/pc_static"

printf '\nconsumer: all four programs built and ran against %s\n' "$prefix"

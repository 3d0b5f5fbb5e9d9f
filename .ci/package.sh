#!/usr/bin/env bash
# .ci/package.sh - the packaging checks of lstmae (issue 6), each one
# failing the script:
#
#   1. a Release build (with debug information, for abidiff) installed with
#      `cmake --install` into an empty temporary prefix;
#   2. the installed liblstmae.so exports lstmae_* symbols only, and has the
#      SONAME liblstmae.so.MAJOR;
#   3. the installed tree is moved elsewhere (it must be relocatable), and
#      the outside project tests/consumer/ is built against it and run:
#      with find_package(lstmae CONFIG REQUIRED), and with pkg-config,
#      shared and --static;
#   3b. when the build found MPI: the installed liblstmae_mpi.so exports
#      lstmae_* only, with SONAME liblstmae_mpi.so.MAJOR, and the outside
#      project tests/consumer/mpi/ builds against the moved tree (CMake
#      component mpi, pkg-config lstmae-mpi) and runs on 2 ranks;
#   4. abidiff: the installed library against abi/liblstmae.so.MAJOR.abi
#      (abi/check.sh: new functions and new fields at the end of growable
#      structs pass, anything else fails);
#   5. Doxygen (docs/Doxyfile) with every warning an error.
#
# Usage: .ci/package.sh [BUILD_DIR]
#   BUILD_DIR  the build tree (default: build-package in the checkout;
#              reused between runs). The prefix is a fresh temporary
#              directory, removed at the end.
# Environment: JOBS (default nproc), CC (the consumer's compiler).
# As root it installs what it needs with apt-get first.
set -euo pipefail

src="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$src/build-package}"
jobs="${JOBS:-$(nproc)}"

step() { printf '\n==== package: %s ====\n' "$*"; }
die() { printf 'package: %s\n' "$*" >&2; exit 1; }

step "packages"
if [ "$(id -u)" -eq 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends cmake make gcc libc6-dev \
        binutils pkg-config libopenblas-dev abigail-tools doxygen
else
    echo "not root: skipping apt-get, assuming the packages are installed"
fi
for tool in cmake cc nm readelf pkg-config abidiff abidw doxygen; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
mkdir "$prefix"

step "configure and build (Release, LSTMAE_ABI_CHECK=ON) in $build"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLSTMAE_WERROR=ON \
    -DLSTMAE_ABI_CHECK=ON -DLSTMAE_BUILD_TESTS=OFF \
    -DLSTMAE_BUILD_EXAMPLES=OFF -DLSTMAE_BUILD_BENCH=OFF \
    -DLSTMAE_BUILD_TOOLS=ON -DLSTMAE_INSTALL=ON
cmake --build "$build" -j"$jobs"

step "cmake --install into the empty prefix $prefix"
[ -z "$(ls -A "$prefix")" ] || die "$prefix is not empty"
cmake --install "$build" --prefix "$prefix"
(cd "$prefix" && find . -mindepth 1 | sort | sed 's|^\./|  |')

so="$(find "$prefix" -name 'liblstmae.so' -print -quit)"
[ -n "$so" ] || die "no liblstmae.so installed"
libdir_rel="$(dirname "${so#"$prefix"/}")"
for f in include/lstmae.h "$libdir_rel/liblstmae.a" \
         "$libdir_rel/cmake/lstmae/lstmaeConfig.cmake" \
         "$libdir_rel/cmake/lstmae/lstmaeConfigVersion.cmake" \
         "$libdir_rel/cmake/lstmae/FindLstmaeBLAS.cmake" \
         "$libdir_rel/pkgconfig/lstmae.pc"; do
    [ -f "$prefix/$f" ] || die "not installed: $f"
done

step "exported symbols of the installed liblstmae.so"
major="$(sed -n 's/^#define LSTMAE_VERSION_MAJOR \([0-9]*\).*/\1/p' "$src/include/lstmae.h")"
soname="$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')"
[ "$soname" = "liblstmae.so.$major" ] || die "SONAME is '$soname', not liblstmae.so.$major"
echo "SONAME $soname"
# Defined dynamic symbols: "VALUE TYPE NAME"; 3 fields (absolute symbols of
# version definitions have no value) are all there is to check.
symbols="$(nm -D --defined-only "$so" | awk 'NF >= 3 { print $3 }')"
count="$(printf '%s\n' "$symbols" | grep -c . || true)"
others="$(printf '%s\n' "$symbols" | grep -v '^lstmae_' || true)"
if [ -n "$others" ]; then
    printf 'exported symbols outside lstmae_*:\n%s\n' "$others" >&2
    die "the shared library exports foreign symbols"
fi
[ "$count" -gt 0 ] || die "no symbols exported"
echo "$count symbols exported, all lstmae_*:"
printf '%s\n' "$symbols" | tr '\n' ' ' | fold -s -w 76 | sed 's/^/  /'
echo

step "the consumer project against the installed tree, moved"
moved="$work/moved/lstmae"
mkdir -p "$(dirname "$moved")"
mv "$prefix" "$moved"
bash "$src/tests/consumer/run.sh" "$moved" "$work/consumer"

mpi_so="$moved/$libdir_rel/liblstmae_mpi.so"
if [ -f "$mpi_so" ]; then
    step "lstmae_mpi: exported symbols, SONAME, the MPI consumer on 2 ranks"
    soname="$(readelf -d "$mpi_so" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')"
    [ "$soname" = "liblstmae_mpi.so.$major" ] ||
        die "SONAME is '$soname', not liblstmae_mpi.so.$major"
    mpi_symbols="$(nm -D --defined-only "$mpi_so" | awk 'NF >= 3 { print $3 }')"
    others="$(printf '%s\n' "$mpi_symbols" | grep -v '^lstmae_' || true)"
    [ -z "$others" ] || die "liblstmae_mpi.so exports foreign symbols: $others"
    [ -n "$mpi_symbols" ] || die "liblstmae_mpi.so exports no symbols"
    echo "SONAME $soname; exported: $(printf '%s\n' "$mpi_symbols" | tr '\n' ' ')"
    for f in include/lstmae_mpi.h "$libdir_rel/liblstmae_mpi.a" \
             "$libdir_rel/cmake/lstmae/lstmaeMpiTargets.cmake" \
             "$libdir_rel/pkgconfig/lstmae-mpi.pc"; do
        [ -f "$moved/$f" ] || die "not installed: $f"
    done
    bash "$src/tests/consumer/mpi/run.sh" "$moved" "$work/consumer-mpi"
else
    echo "(no liblstmae_mpi.so installed: the build found no MPI)"
fi

step "ABI: the installed library against the baseline"
bash "$src/abi/check.sh" "$moved/$libdir_rel/liblstmae.so"

step "Doxygen, warnings as errors"
mkdir -p "$build/docs"
log="$build/docs/doxygen-warnings.log"
rm -f "$log"
# FAIL_ON_WARNINGS reports them all, then fails; docs/Doxyfile has YES
# (stop at the first).
status=0
(cd "$src" && { cat docs/Doxyfile
                echo "OUTPUT_DIRECTORY = $build/docs"
                echo "WARN_LOGFILE = $log"
                echo "WARN_AS_ERROR = FAIL_ON_WARNINGS"; } | doxygen -) || status=$?
warnings="$(grep -c . "$log" 2>/dev/null || true)"
if [ "$status" -ne 0 ] || [ "${warnings:-0}" -ne 0 ]; then
    cat "$log" >&2 || true
    die "doxygen: ${warnings:-?} warnings (status $status)"
fi
echo "doxygen: 0 warnings; HTML in $build/docs/html"

printf '\npackage: all checks passed\n'

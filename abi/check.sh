#!/usr/bin/env bash
# abi/check.sh LIB - compares the shared library LIB (built with debug
# information: configure with -DLSTMAE_ABI_CHECK=ON) against the committed
# baseline abi/liblstmae.so.MAJOR.abi for its SONAME, with abidiff
# (Debian: abigail-tools).
#
# Passes when LIB's public interface is the baseline's, or the baseline's
# plus new functions, or plus new fields at the end of the growable structs
# (lstmae_config, lstmae_fit_options, lstmae_metrics: abi/suppressions.ini).
# Fails on anything else: a function removed, a parameter, return or field
# type changed, a field moved, a non-growable struct resized. Those need a
# major version (a new SONAME and a new baseline); see abi/README.md.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 path/to/liblstmae.so" >&2
    exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
lib="$1"
suppr="$here/suppressions.ini"

soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')"
[ -n "$soname" ] || { echo "abi: $lib has no SONAME" >&2; exit 1; }
baseline="$here/$soname.abi"
if [ ! -f "$baseline" ]; then
    echo "abi: no baseline $baseline for $soname." >&2
    echo "abi: a new major version starts a new baseline: abi/update.sh $lib" >&2
    exit 1
fi
if ! readelf -S "$lib" | grep '\.debug_info' >/dev/null; then
    echo "abi: $lib has no debug information (configure with -DLSTMAE_ABI_CHECK=ON)" >&2
    exit 1
fi

# abidiff's exit status is a bit field (man abidiff): 1 error, 2 usage
# error, 4 the ABI changed, 8 the change is incompatible (a symbol removed).
abidiff_to_baseline() {
    abidiff --suppressions "$suppr" "$@" "$baseline" "$lib"
}

echo "abi: $lib against $baseline"
status=0
abidiff_to_baseline || status=$?
if (( status & 3 )); then
    echo "abi: abidiff failed (status $status)" >&2
    exit 1
fi
if (( status & 8 )); then
    echo "abi: INCOMPATIBLE: symbols of $soname were removed (status $status)" >&2
    exit 1
fi
if (( status & 4 )); then
    # Changed: acceptable only if what changed is additions. Ask again with
    # the added functions and variables left out of the comparison.
    again=0
    abidiff_to_baseline --no-added-syms >/dev/null || again=$?
    if (( again != 0 )); then
        echo "abi: INCOMPATIBLE: existing interfaces of $soname changed (status $again)" >&2
        exit 1
    fi
    echo "abi: compatible: the changes above are additions (status $status);"
    echo "abi: refresh the baseline at the release: abi/update.sh $lib"
    exit 0
fi
echo "abi: compatible: nothing but accepted changes (abidiff status 0)"

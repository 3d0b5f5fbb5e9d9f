#!/usr/bin/env bash
# abi/update.sh LIB - writes the ABI baseline abi/liblstmae.so.MAJOR.abi
# (MAJOR from LIB's SONAME) from the shared library LIB, which must be
# built with debug information (-DLSTMAE_ABI_CHECK=ON). Only the public
# interface is kept: the exported lstmae_* functions and the types of
# include/lstmae.h they use; no paths or line numbers, so the file changes
# only when the interface does. See abi/README.md for when to run it.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 path/to/liblstmae.so" >&2
    exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
lib="$1"
soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')"
[ -n "$soname" ] || { echo "abi: $lib has no SONAME" >&2; exit 1; }
if ! readelf -S "$lib" | grep '\.debug_info' >/dev/null; then
    echo "abi: $lib has no debug information (configure with -DLSTMAE_ABI_CHECK=ON)" >&2
    exit 1
fi
out="$here/$soname.abi"
abidw --headers-dir "$(cd "$here/../include" && pwd)" --drop-private-types \
    --exported-interfaces-only --no-corpus-path --no-comp-dir-path \
    --no-elf-needed --no-show-locs --type-id-style hash \
    --out-file "$out" "$lib"
echo "abi: wrote $out ($(grep -c '<elf-symbol ' "$out") exported functions)"

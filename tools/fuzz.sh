#!/usr/bin/env bash
# tools/fuzz.sh - builds the libFuzzer harnesses (clang, ASan+UBSan) and
# runs each for a while on a copy of its seed corpus:
#   fuzz_load  lstmae_load_buffer        tests/fuzz/corpus
#   fuzz_npy   the tool's .npy reader    tests/fuzz/corpus-npy
#   fuzz_csv   the tool's CSV reader     tests/fuzz/corpus-csv
#
#   tools/fuzz.sh [-B BUILD_DIR] [-j JOBS] [SECONDS] [HARNESS...]
#
# SECONDS per harness: 300 by default (CI runs 30). BUILD_DIR: build-fuzz.
# Prints each harness's executions, executions per second, coverage
# (libFuzzer's cov: edges and ft: features) and corpus growth. Exits 1 when
# a harness found a crash, a leak, a sanitizer report or a timeout: the
# input is BUILD_DIR/fuzz-work/HARNESS/crash-* (or leak-*, timeout-*, ...)
# and the log BUILD_DIR/fuzz-work/HARNESS.log.
set -euo pipefail

cd "$(dirname "$0")/.."
build="build-fuzz"
jobs="$(nproc 2>/dev/null || echo 2)"
while getopts "B:j:h" opt; do
    case $opt in
    B) build=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
seconds=300
if [ $# -gt 0 ] && [ "${1#*[!0-9]}" = "$1" ]; then
    seconds=$1
    shift
fi
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_load fuzz_npy fuzz_csv)

corpus_of() {
    case $1 in
    fuzz_load) echo tests/fuzz/corpus ;;
    fuzz_npy) echo tests/fuzz/corpus-npy ;;
    fuzz_csv) echo tests/fuzz/corpus-csv ;;
    *) echo "fuzz.sh: no harness '$1' (fuzz_load, fuzz_npy, fuzz_csv)" >&2
       exit 2 ;;
    esac
}
for h in "${harnesses[@]}"; do corpus_of "$h" >/dev/null; done

work="$build/fuzz-work"
mkdir -p "$work"
if ! { CC=clang cmake -S . -B "$build" -DLSTMAE_FUZZ=ON -DLSTMAE_WERROR=ON \
        -DLSTMAE_SANITIZE=address,undefined \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLSTMAE_BUILD_TESTS=OFF \
        -DLSTMAE_BUILD_EXAMPLES=OFF -DLSTMAE_BUILD_TOOLS=OFF \
        -DLSTMAE_BUILD_BENCH=OFF &&
       cmake --build "$build" -j"$jobs" --target "${harnesses[@]}"; } \
        >"$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log"
    echo "fuzz.sh: cannot build the harnesses (log: $work/build.log)" >&2
    exit 1
fi
failed=()
printf '%-10s %12s %10s %8s %8s %14s  %s\n' harness executions exec/s \
    cov ft corpus result
for h in "${harnesses[@]}"; do
    corpus=$(corpus_of "$h")
    dir="$work/$h"
    log="$work/$h.log"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -r "$corpus" "$dir/corpus"
    seeds=$(find "$dir/corpus" -type f | wc -l)
    dict=()
    base=${h#fuzz_}
    [ -f "tests/fuzz/$base.dict" ] && dict=("-dict=tests/fuzz/$base.dict")
    result=ok
    # any crash, leak, sanitizer report or timeout makes libFuzzer exit
    # non-zero, with the input saved under $dir
    "$build/tests/fuzz/$h" -max_total_time="$seconds" -timeout=20 \
        -print_final_stats=1 -artifact_prefix="$dir/" "${dict[@]}" \
        "$dir/corpus" >"$log" 2>&1 || result=FAILED
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
    ft=$(grep -oE ' ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || true)
    units=$(find "$dir/corpus" -type f | wc -l)
    printf '%-10s %12s %10s %8s %8s %14s  %s\n' "$h" "${execs:-?}" \
        "${rate:-?}" "${cov:-?}" "${ft:-?}" "$seeds -> $units" "$result"
    if [ "$result" != ok ]; then
        failed+=("$h")
        tail -n 40 "$log" | sed "s/^/  $h: /"
        for f in "$dir"/*; do
            [ "$f" = "$dir/corpus" ] || echo "  $h: input: $f"
        done
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: ${failed[*]} found a problem (logs in $work)" >&2
    exit 1
fi
echo "fuzz.sh: ${#harnesses[@]} harnesses, ${seconds} s each, nothing found"

#!/usr/bin/env bash
# shellcheck disable=SC2317  # the stage_* functions are called by name
# .ci/hardening.sh - the hardening checks of lstmae (issue 7), each one
# failing the script on any report:
#
#   asan      Debug build with -DLSTMAE_SANITIZE=address,undefined ($ASAN_CC,
#             default $CC, default gcc), every test but the long examples
#             (moving_ones, anomaly, label learning); leaks are caught by LeakSanitizer at each test's exit.
#   valgrind  RelWithDebInfo build, test_api, test_io, test_alloc and
#             test_reference under valgrind memcheck (errors and definite,
#             indirect or possible leaks give exit status 1).
#   tsan      -fsanitize=thread builds with clang and with gcc ($TSAN_CCS),
#             each running the multi-threaded tests (test_concurrency,
#             test_fit, test_invariance) and a few cheap ones (test_api,
#             test_cell, test_reference), and sanitizer_no_ifunc:
#             sanitizer builds have no target_clones, whose instrumented
#             ifunc resolvers crashed the gcc TSan build at load (issue 11,
#             item 12).
#   static    clang-tidy (the checked-in .clang-tidy) on lib/*.c (and
#             lib/mpi/*.c when the build found MPI), and
#             cppcheck on lib/: no findings allowed.
#
# Usage: .ci/hardening.sh [SOURCE_DIR [BUILD_ROOT]]
#   SOURCE_DIR  the lstmae checkout (default: the one holding this script)
#   BUILD_ROOT  where the builds go (default: SOURCE_DIR/build-hardening;
#               one subdirectory per stage, reused between runs)
# Environment:
#   HARDENING_STAGES  the stages to run, in order (default: all four)
#   JOBS              parallel build and test jobs (default: nproc)
#   CC                the compiler of the asan and valgrind builds (gcc)
#   ASAN_CC           the compiler of the asan build (default: $CC)
#   TSAN_CCS          the compilers of the tsan stage (default: "clang gcc")
#
# Needs: cmake, gcc, clang, libclang-rt-14-dev (clang's sanitizer runtimes),
# valgrind, clang-tidy, cppcheck, libopenblas-dev, libcmocka-dev.
# About 7 minutes on 2 cores (the gcc TSan build adds about one).
set -euo pipefail

src="$(cd "${1:-$(dirname "$0")/..}" && pwd)"
root="${2:-$src/build-hardening}"
jobs="${JOBS:-$(nproc)}"
stages="${HARDENING_STAGES:-asan valgrind tsan static}"
cc="${CC:-gcc}"
asan_cc="${ASAN_CC:-$cc}"
tsan_ccs="${TSAN_CCS:-clang gcc}"
mkdir -p "$root"
root="$(cd "$root" && pwd)"

step() { printf '\n==== %s ====\n' "$*"; }
die() { printf 'hardening: %s\n' "$*" >&2; exit 1; }

# The tests these stages rely on; tests/CMakeLists.txt must register them.
require_tests() {
    local build="$1"; shift
    local t
    for t in "$@"; do
        ctest --test-dir "$build" -N -R "^${t}\$" | grep -q "Total Tests: 1" ||
            die "test $t is not registered (tests/CMakeLists.txt: lstmae_test($t))"
    done
}

# Runs registered test $2 of build $1 with the command prefix "${@:3}",
# with its registered arguments, in its working directory.
run_registered() {
    local build="$1" name="$2"; shift 2
    local info cmd dir
    info="$(ctest --test-dir "$build" -N -V -R "^${name}\$")"
    cmd="$(printf '%s\n' "$info" | sed -n 's/^[0-9]*: Test command: //p' | head -n 1)"
    dir="$(printf '%s\n' "$info" | sed -n 's/^[0-9]*: Working Directory: //p' | head -n 1)"
    [ -n "$cmd" ] || die "no command for test $name"
    # cmd is CTest's rendering: the executable and its quoted arguments
    eval "set -- \"\$@\" $cmd"
    (cd "${dir:-$build}" && "$@")
}

declare -a summary=()
stage_done() { summary+=("$(printf '%-9s %s (%ds)' "$1" "$2" "$3")"); }

# ---- (a) AddressSanitizer + UndefinedBehaviorSanitizer -------------------

stage_asan() {
    local b="$root/asan-$asan_cc"
    step "asan: address,undefined, Debug, $asan_cc ($b)"
    CC="$asan_cc" cmake -S "$src" -B "$b" -DCMAKE_BUILD_TYPE=Debug -DLSTMAE_WERROR=ON \
        -DLSTMAE_SANITIZE=address,undefined
    cmake --build "$b" -j"$jobs"
    require_tests "$b" test_alloc test_concurrency
    ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:strict_string_checks=1:detect_stack_use_after_return=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        ctest --test-dir "$b" -E '^(moving_ones|anomaly)$' -LE learning --output-on-failure \
            -j"$jobs"
}

# ---- (b) valgrind memcheck -------------------------------------------------

# tests/valgrind.supp, when present, may hold suppressions for reports from
# inside OpenBLAS only (each justified in the file); lstmae's code gets none.
VALGRIND_TESTS="test_api test_io test_alloc test_reference"

stage_valgrind() {
    local b="$root/memcheck"
    step "valgrind: memcheck, RelWithDebInfo ($b)"
    CC="$cc" cmake -S "$src" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLSTMAE_WERROR=ON \
        -DLSTMAE_BUILD_EXAMPLES=OFF -DLSTMAE_BUILD_TOOLS=OFF
    # shellcheck disable=SC2086
    cmake --build "$b" -j"$jobs" --target $VALGRIND_TESTS
    # shellcheck disable=SC2086
    require_tests "$b" $VALGRIND_TESTS
    local t failed="" supp=()
    if [ -f "$src/tests/valgrind.supp" ]; then
        supp=(--suppressions="$src/tests/valgrind.supp")
    fi
    for t in $VALGRIND_TESTS; do
        printf -- '-- %s under valgrind\n' "$t"
        # One BLAS thread: valgrind serialises threads anyway, and OpenBLAS's
        # thread pool would only add noise.
        if ! OPENBLAS_NUM_THREADS=1 run_registered "$b" "$t" \
            valgrind --tool=memcheck --error-exitcode=1 --leak-check=full \
            --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible \
            --track-origins=yes --num-callers=30 "${supp[@]}" \
            --gen-suppressions=all -q; then
            failed="$failed $t"
        fi
    done
    [ -z "$failed" ] || die "valgrind reported errors in:$failed"
}

# ---- (c) ThreadSanitizer -----------------------------------------------------

TSAN_TESTS="test_concurrency test_fit test_invariance test_api test_cell test_reference"

stage_tsan() {
    local c b
    for c in $tsan_ccs; do
        b="$root/tsan-$c"
        step "tsan: $c -fsanitize=thread ($b)"
        CC="$c" cmake -S "$src" -B "$b" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLSTMAE_WERROR=ON \
            -DLSTMAE_SANITIZE=thread -DLSTMAE_BUILD_EXAMPLES=OFF -DLSTMAE_BUILD_TOOLS=OFF
        # lstmae_shared: for sanitizer_no_ifunc
        # shellcheck disable=SC2086
        cmake --build "$b" -j"$jobs" --target $TSAN_TESTS lstmae_shared
        # shellcheck disable=SC2086
        require_tests "$b" $TSAN_TESTS sanitizer_no_ifunc
        # OpenBLAS is not instrumented: one BLAS thread, so that it starts no
        # threads of its own whose synchronisation TSan cannot see.
        OPENBLAS_NUM_THREADS=1 \
        TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:exitcode=66" \
            ctest --test-dir "$b" \
            -R "^($(printf '%s' "$TSAN_TESTS sanitizer_no_ifunc" | tr ' ' '|'))\$" \
            --output-on-failure
    done
}

# ---- (d) clang-tidy and cppcheck ---------------------------------------------

stage_static() {
    local b="$root/tidy"
    step "static: clang-tidy ($src/.clang-tidy) and cppcheck on lib/"
    # compile_commands.json only; nothing is built
    CC=clang cmake -S "$src" -B "$b" -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DLSTMAE_BUILD_TESTS=OFF \
        -DLSTMAE_BUILD_EXAMPLES=OFF -DLSTMAE_BUILD_TOOLS=OFF >/dev/null
    clang-tidy --version | head -n 2
    local log="$b/clang-tidy.log" ok=1
    local files=("$src"/lib/*.c)
    # lstmae_mpi's source, when configured (it needs MPI's include paths)
    if grep -q 'lib/mpi/lstmae_mpi\.c' "$b/compile_commands.json"; then
        files+=("$src"/lib/mpi/*.c)
    fi
    # WarningsAsErrors '*' in .clang-tidy: a finding makes clang-tidy fail
    if ! printf '%s\0' "${files[@]}" |
        xargs -0 -n 1 -P "$jobs" clang-tidy -p "$b" --quiet >"$log" 2>&1; then
        ok=0
    fi
    if grep -qE '(warning|error):' "$log"; then ok=0; fi
    if [ "$ok" -eq 0 ]; then
        grep -E '(warning|error):' "$log" || cat "$log"
        echo "clang-tidy: findings above (full log: $log)"
    else
        echo "clang-tidy: no findings in ${#files[@]} files"
    fi
    cppcheck --version
    if ! cppcheck --enable=warning,performance,portability --error-exitcode=1 \
        --inline-suppr --std=c11 --quiet -j"$jobs" \
        -I "$src/include" -I "$src/lib" "$src/lib"; then
        echo "cppcheck: findings above"
        ok=0
    else
        echo "cppcheck: no findings"
    fi
    [ "$ok" -eq 1 ] || die "static analysis found problems"
}

# ---- driver ----------------------------------------------------------------------

status=0
for s in $stages; do
    case "$s" in
    asan|valgrind|tsan|static) ;;
    *) die "unknown stage '$s' (asan valgrind tsan static)" ;;
    esac
    start=$SECONDS
    # A subshell outside any condition, so that set -e holds inside it (bash
    # ignores set -e in a function called as an if condition).
    set +e
    ( set -e; "stage_$s" )
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
        stage_done "$s" passed $((SECONDS - start))
    else
        stage_done "$s" FAILED $((SECONDS - start))
        status=1
    fi
done

step "hardening summary"
printf '%s\n' "${summary[@]}"
exit "$status"

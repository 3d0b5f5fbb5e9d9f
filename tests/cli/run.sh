#!/usr/bin/env bash
# The lstmae command-line tool's tests.
#
#   run.sh GROUP LSTMAE DATA_DIR WORK_DIR
#
# GROUP: usage, npy, csv, commands, errors, train, variants, tutorial, files or anomaly (CTest
# runs each as its own test; "all" runs every group). LSTMAE: the tool. DATA_DIR: this
# directory's data/. WORK_DIR: scratch space, emptied first.
# LSTMAE_CLI_WRAPPER, if set, prefixes every run of the tool, e.g.
#   LSTMAE_CLI_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full"
set -u

group=$1
abspath() { (cd "$(dirname "$1")" && echo "$(pwd)/$(basename "$1")"); }
bin=$(abspath "$2")
data=$(abspath "$3")/data
docs=$(abspath "$3/../../docs")
work=$4
wrapper=${LSTMAE_CLI_WRAPPER:-}
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1

checks=0
failures=0
# NumPy of Debian's python3, when present, checks what the tool writes.
numpy=""
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    numpy=/usr/bin/python3
fi

fail() {
    failures=$((failures + 1))
    echo "FAIL: $*"
    if [ -f out ]; then sed 's/^/  stdout: /' out | head -20; fi
    if [ -f err ]; then sed 's/^/  stderr: /' err | head -20; fi
}

check() { # check DESCRIPTION COMMAND...: the command must succeed
    checks=$((checks + 1))
    local what=$1
    shift
    "$@" >/dev/null 2>&1 || fail "$what"
}

# lm RC ARGS...: runs the tool, stdout to ./out, stderr to ./err, and
# checks the exit status.
lm() {
    local want=$1
    shift
    checks=$((checks + 1))
    # shellcheck disable=SC2086
    $wrapper "$bin" "$@" >out 2>err
    ran "$?" "$want" "lstmae $*"
}

# ran RC WANT WHAT: after a run of the tool (stderr in ./err), records WHAT
# as last_cmd and fails unless it exited WANT with no sanitizer or
# valgrind report; returns 0 when all is well.
ran() {
    last_cmd=$3
    if [ "$1" != "$2" ]; then
        fail "exit $1, expected $2: $3"
        return 1
    fi
    if grep -qE 'Sanitizer|runtime error:|^==[0-9]+==' err; then
        fail "sanitizer or valgrind report: $3"
        return 1
    fi
    return 0
}

has_out() { # has_out TEXT: ./out contains TEXT
    checks=$((checks + 1))
    grep -qF -- "$1" out || fail "stdout lacks '$1': $last_cmd"
}

has_err() { # has_err TEXT...: ./err contains every TEXT
    local t
    for t in "$@"; do
        checks=$((checks + 1))
        grep -qF -- "$t" err || fail "stderr lacks '$t': $last_cmd"
    done
}

no_temp() { # no temporary files left in the work directory
    checks=$((checks + 1))
    local left
    # the tool's .NAME.tmp-XXXXXX, the library's NAME.tmp-XXXXXX (model
    # saves), the writability probe's .lstmae-check-*
    left=$(find . -name '*.tmp-*' -o -name '.lstmae-check-*' | head -5)
    [ -z "$left" ] || fail "temporary files left: $left ($last_cmd)"
}

absent() { # absent FILE...: the files do not exist
    local f
    for f in "$@"; do
        checks=$((checks + 1))
        [ ! -e "$f" ] || fail "$f exists after: $last_cmd"
    done
}

same() { # same A B: identical files
    checks=$((checks + 1))
    cmp -s "$1" "$2" || fail "$1 and $2 differ"
}

py() { # py CODE: runs NumPy code when NumPy is here
    [ -n "$numpy" ] || return 0
    checks=$((checks + 1))
    "$numpy" -c "import numpy as np, sys
$1" >pyout 2>&1 || { fail "numpy check: $1"; sed 's/^/  /' pyout; }
}

# A small bce model on the small data set: D 3, Z 4.
small_model() {
    lm 0 train --data "$data/small_f4.npy" --lengths "$data/small_len.npy" \
        --hidden 8 --latent 4 --epochs 3 --batch 2 --quiet -o small.lstmae
}

# lm_limited RC ARGS...: lm under `ulimit -v 3000000` (3 GB of address
# space) and `timeout 20`: a file that makes the tool reach for gigabytes
# must fail fast. Where the tool cannot run at all under that limit (the
# sanitizers reserve terabytes of shadow memory), only the timeout applies.
lm_limited() {
    local want=$1
    shift
    checks=$((checks + 1))
    if [ -z "${limit+set}" ]; then
        limit="ulimit -v 3000000;"
        # shellcheck disable=SC2086
        { (ulimit -v 3000000; exec $wrapper "$bin" --version); } \
            >/dev/null 2>&1 || limit=""
    fi
    # shellcheck disable=SC2086
    (eval "$limit"; exec timeout 20 $wrapper "$bin" "$@") >out 2>err
    ran "$?" "$want" "lstmae $* (${limit:-no ulimit;} timeout 20)"
}

# ---- usage ------------------------------------------------------------------
# long_opts FILE: the long options named in FILE, sorted, one a line.
long_opts() { grep -oE -- '--[a-z][a-z-]*' "$1" | sort -u; }
# choices FILE: "--option a|b|c" for the options with a list of values.
choices() { grep -oE -- '--[a-z][a-z-]* [a-z_]+(\|[a-z_]+)+' "$1" | sort -u; }

# help_man CMD: the usage lines of `lstmae CMD --help` and the man page's
# synopsis of CMD name the same long options, with the same lists of
# values (--loss bce|mse|ce); for train, every one of them is also
# described in the man page's train section (--header in its CSV section).
help_man() {
    local cmd=$1 o
    sed 's/\\-/-/g' "$docs/lstmae.1" >man.txt
    $wrapper "$bin" "$cmd" --help 2>err |
        awk '/^usage:/ { f = 1 } /^$/ { f = 0 } f' >help_usage.txt
    SY=".SY lstmae\\ $cmd" awk '$0 == ENVIRON["SY"] { f = 1; next }
        /^\.YS/ { f = 0 } f' man.txt >man_synopsis.txt
    check "lstmae $cmd --help has options in its usage" test \
        "$(long_opts help_usage.txt | wc -l)" -ge 1
    checks=$((checks + 1))
    diff <(long_opts help_usage.txt) <(long_opts man_synopsis.txt) >d.txt ||
        { fail "options of 'lstmae $cmd --help' (<) and of the man page's synopsis (>) differ"
          sed 's/^/  /' d.txt; }
    checks=$((checks + 1))
    diff <(choices help_usage.txt) <(choices man_synopsis.txt) >d.txt ||
        { fail "values of 'lstmae $cmd --help' (<) and of the man page's synopsis (>) differ"
          sed 's/^/  /' d.txt; }
    [ "$cmd" = train ] || return 0
    awk '/^\.SS train/ { f = 1 } /^\.SS encode/ { f = 0 } f' man.txt >man_train.txt
    awk '/^\.SS CSV/ { f = 1 } /^\.S[SH] / && !/CSV/ { f = 0 } f' man.txt >man_csv.txt
    for o in $(long_opts help_usage.txt); do
        checks=$((checks + 1))
        if [ "$o" = --header ]; then
            grep -qF -- "$o" man_csv.txt || fail "the man page's CSV section lacks $o"
        else
            grep -qF -- "$o" man_train.txt || fail "the man page's train section lacks $o"
        fi
    done
}

group_usage() {
    local c
    for c in train encode decode eval score calibrate reconstruct info show \
        make-moving-ones; do
        help_man "$c"
    done
    lm 0 --version && has_out "lstmae 0."
    lm 0 version && has_out "lstmae 0."
    lm 0 --help && has_out "usage: lstmae COMMAND"
    lm 0 -h && has_out "commands:"
    lm 0 help && has_out "make-moving-ones"
    for c in train encode decode eval score calibrate reconstruct info show \
        make-moving-ones; do
        lm 0 "$c" --help && has_out "usage: lstmae $c"
        lm 0 help "$c" && has_out "usage: lstmae $c"
        lm 0 "$c" -h && has_out "usage: lstmae $c"
    done
    lm 0 train --bogus --help && has_out "usage: lstmae train"
    lm 2
    has_err "usage: lstmae COMMAND"
    lm 2 frobnicate && has_err "no command 'frobnicate'"
    lm 2 help frobnicate && has_err "no command 'frobnicate'"
    lm 2 train --bogus 1 && has_err "unknown option '--bogus'" "lstmae train --help"
    lm 2 train --data && has_err "--data needs a value"
    lm 2 train --data x.npy && has_err "-o MODEL is required"
    lm 2 train -o m.lstmae && has_err "--data is required"
    lm 2 train --data x.npy -o m --epochs ten && has_err "--epochs" "'ten'"
    lm 2 train --data x.npy -o m --epochs 5 --epochs 6 && has_err "given twice"
    lm 2 train --data x.npy -o m --hidden 0 && has_err "--hidden"
    lm 2 train --data x.npy -o m --lr 0 && has_err "--lr"
    lm 2 train --data x.npy -o m --loss hinge
    has_err "--loss: expected bce, mse or ce (cross_entropy), got 'hinge'"
    lm 2 train --data x.npy -o m --loss CE && has_err "got 'CE'"
    lm 2 train --data x.npy -o m --loss cross-entropy && has_err "got 'cross-entropy'"
    # the variants' options (issue 12): values, flags, and --resume
    lm 2 train --data x.npy -o m --decoder-init middle
    has_err "--decoder-init: expected zero or latent, got 'middle'"
    lm 2 train --data x.npy -o m --decoder-init && has_err "--decoder-init needs a value"
    lm 2 train --data x.npy -o m --decoder-init=Latent && has_err "got 'Latent'"
    local f
    for f in --bidirectional --reverse-target --decoder-feedback; do
        lm 2 train --data x.npy -o m "$f=1" && has_err "$f takes no value"
        lm 2 train --data x.npy -o m "$f" "$f" && has_err "$f given twice"
    done
    lm 2 train --data x.npy -o m --resume r --bidirectional --loss ce
    has_err "--resume takes the model's configuration; drop --bidirectional and --loss"
    lm 2 train --data x.npy -o m --resume r --hidden 5 --reverse-target \
        --decoder-init latent --decoder-feedback
    has_err "drop --hidden, --reverse-target, --decoder-init and --decoder-feedback"
    lm 2 train --data x.npy -o m --valid-split 1.5 && has_err "--valid-split"
    lm 2 train --data x.npy -o m --patience 3 && has_err "--patience needs a validation set"
    lm 2 train --data x.npy -o m --valid v.npy --valid-split 0.2 && has_err "exclude"
    lm 2 train --data x.npy -o m --resume r --hidden 5 && has_err "--resume"
    lm 2 train --data x.npy -o m --momentum 0.9 && has_err "--momentum is for"
    lm 2 train --data=x.npy -o m --quiet=1 && has_err "--quiet takes no value"
    lm 2 encode && has_err "required"
    lm 2 encode -m m --data x.npy -o z.txt && has_err "z.txt" ".npy or .csv"
    lm 2 encode -m m --data x.npy -o z.npy --threads -1 && has_err "--threads"
    lm 2 eval -m m --data x.npy --threads 1025 && has_err "--threads"
    lm 2 decode -m m --latent z.npy --length 0 -o d.npy && has_err "--length"
    lm 2 decode -m m --latent z.npy -o d.npy && has_err "required"
    lm 2 eval -m m && has_err "required"
    lm 2 info && has_err "a MODEL file is required"
    lm 2 info a b && has_err "unexpected argument 'b'"
    lm 2 show && has_err "a FILE is required"
    lm 2 make-moving-ones -o x.npy && has_err "--lengths-out"
    lm 2 make-moving-ones -o x.csv --lengths-out l.npy && has_err "drop --lengths-out"
    lm 2 make-moving-ones -o x.npy --lengths-out l.npy --count -3 && has_err "--count"
    # Decimal numbers only: no leading space, no sign where negative means
    # nothing (strtoull took ' -1' as 2^64-1), no hex floats.
    lm 2 train --data x.npy -o m --seed ' -1' && has_err "--seed" "' -1'"
    lm 2 train --data x.npy -o m --seed +5 && has_err "--seed" "'+5'"
    lm 2 train --data x.npy -o m --epochs ' 5' && has_err "--epochs" "' 5'"
    lm 2 train --data x.npy -o m --lr 0x1p-3 && has_err "--lr" "'0x1p-3'"
    # float32 options: a value that rounds to 0 (--lr became 0, --clip
    # silently turned clipping off), named with the smallest accepted value
    lm 2 train --data x.npy -o m --lr 1e-50 && has_err "--lr: 1e-50" "1.4013e-45"
    lm 2 train --data x.npy -o m --clip 1e-50 && has_err "--clip: 1e-50" "1.4013e-45"
    lm 2 train --data x.npy -o m --clip 1e39 && has_err "--clip" "1e39"
    # the library's limit on a decoded length, not the latent file's fault
    lm 2 decode -m m --latent z.npy --length 100000000 -o d.npy
    has_err "--length" "'100000000'" "8388607"
    # standard output that cannot be written: exit 1, with a message
    if [ -c /dev/full ]; then
        local a rc
        for a in --help --version "train --help" "info --help"; do
            checks=$((checks + 1))
            # shellcheck disable=SC2086
            $wrapper "$bin" $a >/dev/full 2>err
            rc=$?
            last_cmd="lstmae $a >/dev/full"
            [ "$rc" = 1 ] || fail "exit $rc, expected 1: $last_cmd"
            has_err "cannot write to standard output"
        done
    else
        echo "note: /dev/full is not a device here; not tested"
    fi
}

# ---- npy --------------------------------------------------------------------
group_npy() {
    small_model
    lm 0 encode -m small.lstmae --data "$data/small_f4.npy" \
        --lengths "$data/small_len.npy" -o z.npy
    # The same values in every supported form give the same encodings.
    lm 0 encode -m small.lstmae --data "$data/small_f8_be.npy" \
        --lengths "$data/small_len_u1.npy" -o z_be.npy && same z.npy z_be.npy
    lm 0 encode -m small.lstmae --data "$data/small_f4_v2.npy" \
        --lengths "$data/small_len_be.npy" -o z_v2.npy && same z.npy z_v2.npy
    lm 0 encode -m small.lstmae --data "$data/small_f8_v3.npy" \
        --lengths "$data/small_len.npy" -o z_v3.npy && same z.npy z_v3.npy
    lm 0 encode -m small.lstmae --data "$data/small_header.csv" -o z_csv.npy
    same z.npy z_csv.npy
    # Worker threads: the same encodings to float rounding.
    lm 0 encode -m small.lstmae --data "$data/small_f4.npy" \
        --lengths "$data/small_len.npy" --threads 3 -o z3.npy
    py "a = np.load('z3.npy'); b = np.load('z.npy')
assert a.shape == b.shape and np.allclose(a, b, rtol=1e-5, atol=1e-6), (a, b)"
    lm 0 eval -m small.lstmae --data "$data/small_f4.npy" \
        --lengths "$data/small_len.npy" --threads 2 && has_out "loss="
    # Round trips: the tool reads what it wrote.
    lm 0 show z.npy && has_out "float32 ('<f4'), shape (6, 4)"
    lm 0 decode -m small.lstmae --latent z.npy --length 5 -o d.npy
    lm 0 show d.npy --index 5 && has_out "shape (6, 5, 3)"
    lm 0 encode -m small.lstmae --data "$data/small_f4.npy" \
        --lengths "$data/small_len.npy" -o z.csv
    lm 0 decode -m small.lstmae --latent z.csv --length 5 -o d_from_csv.npy
    same d.npy d_from_csv.npy
    lm 0 encode -m small.lstmae --data d.npy -o zd.npy
    lm 0 show zd.npy && has_out "shape (6, 4)"
    # One vector, 1-D.
    py "z = np.load('z.npy'); np.save('z1.npy', z[2].astype('>f8'))"
    if [ -n "$numpy" ]; then
        lm 0 decode -m small.lstmae --latent z1.npy --length 5 -o d1.npy
        py "a = np.load('d1.npy'); b = np.load('d.npy')
assert a.shape == (1, 5, 3) and np.array_equal(a[0], b[2]), (a, b[2])"
    fi
    # NumPy reads the tool's files, and they hold what the CSV holds.
    py "z = np.load('z.npy'); d = np.load('d.npy')
assert z.dtype == np.float32 and z.shape == (6, 4), z.shape
assert d.dtype == np.float32 and d.shape == (6, 5, 3), d.shape
assert ((0 < d) & (d < 1)).all()
c = np.loadtxt('z.csv', delimiter=',', skiprows=1, dtype=np.float64)
assert np.array_equal(c[:, 0], np.arange(6)), c[:, 0]
assert np.array_equal(c[:, 1:].astype(np.float32), z)
with open('z.npy', 'rb') as f:
    head = f.read(10)
assert head[:8] == b'\x93NUMPY\x01\x00'
assert (10 + head[8] + 256 * head[9]) % 64 == 0"
    # One feature per step: [n, T].
    lm 0 train --data "$data/series_2d.npy" --loss mse --hidden 4 --latent 2 \
        --epochs 2 --quiet -o series.lstmae
    lm 0 encode -m series.lstmae --data "$data/series_2d.npy" -o zs.npy
    lm 0 show zs.npy && has_out "shape (8, 2)"
    lm 0 decode -m series.lstmae --latent zs.npy --length 12 -o ds.npy
    lm 0 show ds.npy && has_out "shape (8, 12, 1)"
    lm 0 info series.lstmae && has_out "input_dim:        1"
    # Declared sizes against the file's: a 128-byte file of shape
    # (2147483647, 0, 3) holds no data but 2^31 sequences; it is refused
    # before anything is allocated, by every command that reads data.
    local h
    h=$(printf "%-117s" \
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647, 0, 3), }")
    { printf '\223NUMPY\001\000\166\000'; printf '%s\n' "$h"; } >zero_t.npy
    check "zero_t.npy is 128 bytes" test "$(wc -c <zero_t.npy)" = 128
    lm_limited 2 show zero_t.npy
    has_err "zero_t.npy: shape (2147483647, 0, 3)" "second dimension is 0"
    lm_limited 2 encode -m small.lstmae --data zero_t.npy -o zt.npy
    has_err "second dimension is 0" && absent zt.npy
    lm_limited 2 eval -m small.lstmae --data zero_t.npy
    has_err "second dimension is 0"
    lm_limited 2 train --data zero_t.npy --epochs 1 --quiet -o zt.lstmae
    has_err "second dimension is 0" && absent zt.lstmae
    no_temp
}

# ---- csv --------------------------------------------------------------------
group_csv() {
    small_model
    lm 0 encode -m small.lstmae --data "$data/small_header.csv" -o zh.csv
    check "csv header" grep -qx "sequence_id,z1,z2,z3,z4" zh.csv
    check "csv ids kept" test "$(cut -d, -f1 zh.csv | tr '\n' ' ')" = \
        "sequence_id s0 s1 s2 s3 s4 s5 "
    lm 0 encode -m small.lstmae --data "$data/small_noheader.csv" -o zn.csv
    check "csv ids kept, no header" test \
        "$(cut -d, -f1 zn.csv | tr '\n' ' ')" = \
        "sequence_id 100 101 102 103 104 105 "
    check "same values with and without a header" cmp -s \
        <(cut -d, -f2- zh.csv) <(cut -d, -f2- zn.csv)
    lm 0 encode -m small.lstmae --data "$data/small_noheader.csv" -o zn.npy
    lm 0 encode -m small.lstmae --data "$data/small_f4.npy" \
        --lengths "$data/small_len.npy" -o z.npy
    same z.npy zn.npy
    # decode keeps the ids of a CSV latent file; T rows per vector
    lm 0 decode -m small.lstmae --latent zh.csv --length 4 -o dh.csv
    check "decode csv header" grep -qx "sequence_id,f1,f2,f3" dh.csv
    check "decode csv rows" test "$(grep -c '^s3,' dh.csv)" = 4
    check "decode csv row count" test "$(wc -l <dh.csv)" = 25
    # eval on CSV equals eval on the same data in .npy
    lm 0 eval -m small.lstmae --data "$data/small_header.csv" \
        --per-sequence e.csv
    cp out eval_csv.txt
    has_out "loss=" && has_out "accuracy="
    lm 0 eval -m small.lstmae --data "$data/small_f4.npy" \
        --lengths "$data/small_len.npy" --per-sequence e.npy
    same out eval_csv.txt
    check "per-sequence csv header" grep -qx "sequence_id,error" e.csv
    check "per-sequence csv rows" test "$(wc -l <e.csv)" = 7
    check "per-sequence csv id" grep -q "^s5," e.csv
    py "e = np.load('e.npy'); c = np.loadtxt('e.csv', delimiter=',', skiprows=1, usecols=1)
assert e.shape == (6,) and e.dtype == np.float32
assert np.array_equal(e, c.astype(np.float32)), (e, c)
assert (e > 0).all()"
    # quoting, blank lines, spaces, exponents
    printf 'id,x,y,z\n"a,1",0.5,0.25,1e-1\n\n  "a,1" , 0.5 ,.25, 0\n"b""q",1,0,0\n' >q.csv
    lm 0 encode -m small.lstmae --data q.csv -o zq.csv
    check "quoted id written back quoted" grep -q '^"a,1",' zq.csv
    check "quote inside id doubled" grep -q '^"b""q",' zq.csv
    lm 0 show q.csv && has_out "2 sequences of 1 to 2 steps"
    # a spreadsheet's byte order mark
    printf '\357\273\277id,a,b,c\nx,0,1,0\n' >bom.csv
    lm 0 show bom.csv && has_out "1 rows after a header"
    # a CSV of sequences from make-moving-ones
    lm 0 make-moving-ones -o mo.csv --count 20 --max-len 6 --width 4
    lm 0 show mo.csv --count 2 && has_out "4 values per row"
    # A first row is a header only when each value field is a name: neither
    # a number (nan, inf, 1e39 and 0x1p3 count as numbers) nor empty.
    # Otherwise it is data, and checked as such: nothing is dropped.
    printf 's,nan,nan,nan\n1,0,0,1\n' >h_nan.csv
    lm 2 show h_nan.csv
    has_err "h_nan.csv:1: field 2 ('nan') is not a finite number"
    printf 's,1e39,1e39,1e39\n1,0,0,1\n' >h_big.csv
    lm 2 encode -m small.lstmae --data h_big.csv -o zb.npy
    has_err "h_big.csv:1: field 2 ('1e39') is outside the float32 range"
    absent zb.npy
    printf 's,,,\n1,0,0,1\n' >h_empty.csv
    lm 2 eval -m small.lstmae --data h_empty.csv
    has_err "h_empty.csv:1: field 2 is empty"
    printf 'id,a,,c\n1,0,0,1\n' >h_mixed.csv
    lm 2 show h_mixed.csv
    has_err "h_mixed.csv:1: field 2 ('a') is not a number" \
        "as field 3 is empty" "--header yes"
    # --header yes|no|auto says which, on every command that reads data
    lm 0 show --header yes h_mixed.csv && has_out "1 rows after a header"
    lm 0 show --header=auto "$data/small_header.csv" && has_out "20 rows after a header"
    lm 2 show --header no "$data/small_header.csv"
    has_err "small_header.csv:1: field 2 ('a') is not a number"
    lm 0 show --header yes "$data/small_noheader.csv" && has_out "19 rows after a header"
    lm 2 show --header maybe "$data/small_header.csv"
    has_err "--header: expected yes, no or auto, got 'maybe'"
    lm 0 encode -m small.lstmae --data h_mixed.csv --header yes -o zm.npy
    lm 0 eval -m small.lstmae --data h_nan.csv --header yes && has_out "loss="
    lm 0 decode -m small.lstmae --latent zh.csv --header yes --length 2 -o dd.npy
    lm 2 decode -m small.lstmae --latent zh.csv --header no --length 2 -o dd.npy
    has_err "zh.csv:1: field 2 ('z1') is not a number"
    lm 0 train --data "$data/small_noheader.csv" --header no --hidden 4 \
        --latent 2 --epochs 1 --quiet -o th.lstmae
    lm 2 train --data h_nan.csv --epochs 1 --quiet -o th2.lstmae
    has_err "h_nan.csv:1:" && absent th2.lstmae
    # hexadecimal floats are refused, with the line and the field
    printf '1,0,0,1\n1,0x1p3,0,1\n' >hex.csv
    lm 2 show hex.csv
    has_err "hex.csv:2: field 2 ('0x1p3') is a hexadecimal float"
    printf '1,0,-0X.8P1,1\n' >hex2.csv
    lm 2 show hex2.csv && has_err "hex2.csv:1: field 3" "hexadecimal"
    # CR-only line ends (old Mac), like LF and CRLF
    tr '\n' '\r' <"$data/small_noheader.csv" >cr.csv
    lm 0 encode -m small.lstmae --data cr.csv -o zcr.npy && same zn.npy zcr.npy
    sed 's/$/\r/' "$data/small_noheader.csv" >crlf.csv
    lm 0 encode -m small.lstmae --data crlf.csv -o zcrlf.npy
    same zn.npy zcrlf.npy
    printf '1,0,0,1\r1,0,x,1\r' >cr_bad.csv
    lm 2 show cr_bad.csv && has_err "cr_bad.csv:2: field 3 ('x') is not a number"
    # an id with blanks at its end is written quoted, read back the same
    printf '"a\t ",0,0,1\n' >blank_id.csv
    lm 0 encode -m small.lstmae --data blank_id.csv -o zbid.csv
    check "id with blanks quoted" grep -q '^"a	 ",' zbid.csv
    # Padding bound: 60000 rows of one sequence and 32000 of one row each
    # (495 KB) would pad to 7.7 GB; refused at once, naming the lengths.
    awk 'BEGIN { for (i = 0; i < 60000; i++) print "a,0"
                 for (i = 0; i < 32000; i++) printf "b%d,1\n", i }' >pad.csv
    lm_limited 2 show pad.csv
    has_err "pad.csv: the sequences' lengths differ too much" \
        "'a' (line 1) has 60000 rows, the mean is 2.9" "16 x the values"
    lm_limited 2 train --data pad.csv --loss mse --epochs 1 --quiet -o pad.lstmae
    has_err "differ too much" && absent pad.lstmae
    # ... while ragged lengths within the bound are fine
    awk 'BEGIN { for (i = 0; i < 16; i++) print "a,0,0,1"
                 for (i = 0; i < 8; i++) printf "b%d,1,0,1\n", i }' >ragged_ok.csv
    lm 0 show ragged_ok.csv && has_out "9 sequences of 1 to 16 steps"
    lm 0 eval -m small.lstmae --data ragged_ok.csv && has_out "loss="
    no_temp
}

# ---- commands ---------------------------------------------------------------
group_commands() {
    lm 0 make-moving-ones -o mo.npy --lengths-out mo_len.npy --count 300
    has_out "300 sequences"
    lm 0 show mo.npy --lengths mo_len.npy --index 0 && has_out "sequence 0"
    lm 0 show mo_len.npy && has_out "int32 ('<i4'), shape (300,)"
    lm 0 train --data mo.npy --lengths mo_len.npy --valid-split 0.2 \
        --hidden 16 --latent 20 --batch 50 --lr 0.01 --epochs 3 \
        --plot loss.svg -o mo.lstmae
    has_out "trained 3 epochs" && has_out "train:" && has_out "validation:"
    has_err "epoch 3/3"
    check "plot is SVG" grep -q "<svg" loss.svg
    check "plot has a training line" grep -q "training loss" loss.svg
    check "plot has a validation line" grep -q "validation loss" loss.svg
    check "plot has an x label" grep -q ">epoch<" loss.svg
    if command -v python3 >/dev/null; then
        check "plot is well-formed XML" python3 -c \
            "import xml.etree.ElementTree as E; E.parse('loss.svg')"
    fi
    lm 0 encode -m mo.lstmae --data mo.npy --lengths mo_len.npy -o z.npy
    lm 0 show z.npy && has_out "shape (300, 20)"
    lm 0 decode -m mo.lstmae --latent z.npy --length 10 -o d.npy
    lm 0 show d.npy && has_out "shape (300, 10, 8)"
    lm 0 eval -m mo.lstmae --data mo.npy --lengths mo_len.npy \
        --per-sequence err.npy
    check "eval prints loss and accuracy" \
        grep -qE '^loss=[0-9.e-]+ accuracy=[0-9.]+ baseline_loss=[0-9.e-]+ baseline_accuracy=[0-9.]+$' out
    # sequences of length 0 get NaN
    py "e = np.load('err.npy'); l = np.load('mo_len.npy')
assert e.shape == (300,) and (np.isnan(e) == (l == 0)).all()"
    lm 0 info mo.lstmae
    has_out "format version:   2" && has_out "epochs done:      3"
    has_out "latent_dim:       20" && has_out "hidden_dim:       16"
    has_out "parameters:" && has_out "loss:             bce"
    has_out "training state:   present"
    lm 0 info mo.lstmae --tensors && has_out "decoder.0.weight_hh"
    has_out "cell:             lstm"
    # the defaults of the variants (issue 12)
    has_out "bidirectional:    no" && has_out "reverse_target:   no"
    has_out "decoder_init:     zero" && has_out "decoder_feedback: no"
    # a GRU (--cell gru): info names the cell and its tensors, encode works
    lm 0 train --data mo.npy --lengths mo_len.npy --cell gru --hidden 16 \
        --latent 20 --batch 50 --lr 0.01 --epochs 2 -o gru.lstmae
    has_out "trained 2 epochs" && has_err ", gru, bce loss"
    lm 0 info gru.lstmae --tensors && has_out "cell:             gru"
    has_out "decoder.0.bias_hh" && has_out "in 12 tensors"
    lm 0 show gru.lstmae && has_out "cell:             gru"
    lm 2 show gru.lstmae --index 1 && has_err "are for data files, not a model"
    lm 0 encode -m gru.lstmae --data mo.npy --lengths mo_len.npy -o zg.npy
    lm 0 show zg.npy && has_out "shape (300, 20)"
    lm 2 train --data mo.npy --lengths mo_len.npy --cell rnn -o bad.lstmae
    has_err "--cell: expected lstm or gru, got 'rnn'" && absent bad.lstmae
    lm 2 train --resume gru.lstmae --data mo.npy --lengths mo_len.npy \
        --cell lstm -o bad.lstmae
    has_err "--resume takes the model's configuration; drop --cell"
    # resume: epochs add up
    lm 0 train --resume mo.lstmae --data mo.npy --lengths mo_len.npy \
        --epochs 2 --batch 50 --lr 0.01 --quiet -o mo2.lstmae
    lm 0 info mo2.lstmae && has_out "epochs done:      5"
    # a validation file, early stopping, threads, clipping, sgd
    lm 0 make-moving-ones -o va.npy --lengths-out va_len.npy --count 60 \
        --seed 9
    lm 0 train --data mo.npy --lengths mo_len.npy --valid va.npy \
        --valid-lengths va_len.npy --patience 2 --epochs 4 --hidden 8 \
        --latent 4 --threads 2 --clip 1 --plot es.svg -o es.lstmae
    check "plot marks the best epoch" grep -q "best: epoch" es.svg
    lm 0 train --data mo.npy --lengths mo_len.npy --optimizer sgd \
        --momentum 0.9 --lr 0.1 --epochs 1 --hidden 8 --latent 4 \
        --quiet -o sgd.lstmae
    # zero epochs is allowed: a fresh model
    lm 0 train --data mo.npy --lengths mo_len.npy --epochs 0 --hidden 4 \
        --latent 2 --plot empty.svg -o zero.lstmae
    check "empty plot" grep -q "no completed epochs" empty.svg
    # mse: loss only
    lm 0 train --data "$data/series_2d.npy" --loss mse --hidden 4 \
        --latent 2 --epochs 2 --quiet -o s.lstmae
    lm 0 eval -m s.lstmae --data "$data/series_2d.npy"
    check "mse eval prints the loss and its baseline only" grep -qE '^loss=[0-9.e-]+ baseline_loss=[0-9.e-]+$' out
    # bce on data outside [0, 1]: a warning
    lm 0 train --data "$data/series_2d.npy" --hidden 4 --latent 2 \
        --epochs 1 --quiet -o w.lstmae
    has_err "warning" "--loss mse"
    # train's summary to a full disk: exit 1 (the model is saved)
    if [ -c /dev/full ]; then
        checks=$((checks + 1))
        # shellcheck disable=SC2086
        $wrapper "$bin" train --data mo.npy --lengths mo_len.npy --epochs 1 \
            --hidden 4 --latent 2 --quiet -o full.lstmae >/dev/full 2>err
        local rc=$?
        last_cmd="lstmae train ... >/dev/full"
        [ "$rc" = 1 ] || fail "exit $rc, expected 1: $last_cmd"
        has_err "cannot write to standard output"
    fi
    # A small address space (ulimit -v): OpenBLAS's threads, started before
    # main, could not get their buffers; every command finished, then spun
    # in OpenBLAS's exit (64 MiB), or died of OpenBLAS's SIGINT (48 MiB,
    # status 130). Each must now finish in seconds with its usual status.
    local kb probe
    # shellcheck disable=SC2086
    probe=$( (ulimit -v 65536; exec timeout 20 $wrapper "$bin" --help) 2>&1)
    if [ -n "$wrapper" ] || printf '%s' "$probe" | grep -q 'Sanitizer'; then
        echo "note: a wrapper or sanitizer here; ulimit -v is not tested"
    else
        for kb in 65536 49152; do
            lm_vlimit "$kb" 0 --version && has_out "lstmae 0."
            lm_vlimit "$kb" 0 info mo.lstmae && has_out "epochs done:"
            lm_vlimit "$kb" 0 train --data mo.npy --lengths mo_len.npy \
                --epochs 1 --hidden 8 --latent 4 --quiet -o v$kb.lstmae
            lm_vlimit "$kb" 0 encode -m v$kb.lstmae --data mo.npy \
                --lengths mo_len.npy -o v$kb.npy
            lm_vlimit "$kb" 0 eval -m v$kb.lstmae --data mo.npy \
                --lengths mo_len.npy && has_out "loss="
            lm_vlimit "$kb" 2 show missing.npy && has_err "missing.npy"
        done
    fi
    no_temp
}

# lm_vlimit KB RC ARGS...: lm under `ulimit -v KB` and `timeout 10`.
lm_vlimit() {
    local kb=$1 want=$2
    shift 2
    checks=$((checks + 1))
    (ulimit -v "$kb"; exec timeout 10 "$bin" "$@") >out 2>err
    local rc=$?
    last_cmd="lstmae $* (ulimit -v $kb)"
    if [ "$rc" != "$want" ]; then
        fail "exit $rc, expected $want: $last_cmd"
        return 1
    fi
    return 0
}

# ---- errors -----------------------------------------------------------------
# bad RC FILE_TEXT... -- ARGS: exit RC, stderr holds each text, no output.
group_errors() {
    small_model
    local m=small.lstmae f4=$data/small_f4.npy len=$data/small_len.npy
    local size
    size=$(wc -c <"$f4")
    head -c $((size - 7)) "$f4" >trunc.npy
    lm 2 encode -m $m --data trunc.npy --lengths "$len" -o z.npy
    has_err "trunc.npy" "truncated" && absent z.npy
    head -c 40 "$f4" >trunc_head.npy
    lm 2 encode -m $m --data trunc_head.npy -o z.npy
    has_err "trunc_head.npy" "truncated" && absent z.npy
    head -c 5 "$f4" >tiny.npy
    lm 2 eval -m $m --data tiny.npy && has_err "tiny.npy" "not a .npy file"
    echo "hello" >text.npy
    lm 2 eval -m $m --data text.npy && has_err "text.npy" "not a .npy file"
    { cat "$f4"; printf 'xx'; } >trailing.npy
    lm 2 eval -m $m --data trailing.npy --lengths "$len"
    has_err "trailing.npy" "2 unexpected bytes after the data"
    local h="{'descr': '<f4', 'fortran_order': False, }"
    { printf '\223NUMPY\001\000'; printf "\\$(printf %03o ${#h})\\000"
      printf '%s' "$h"; } >noshape.npy
    lm 2 eval -m $m --data noshape.npy && has_err "noshape.npy" "missing 'shape'"
    h="{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }"
    { printf '\223NUMPY\001\000'; printf "\\$(printf %03o ${#h})\\000"
      printf '%s' "$h"; } >badshape.npy
    lm 2 eval -m $m --data badshape.npy
    has_err "badshape.npy" "bad .npy header at character"
    { printf '\223NUMPY\004\000'; tail -c +9 "$f4"; } >v4.npy
    lm 2 eval -m $m --data v4.npy && has_err "v4.npy" "version 4.0"
    lm 2 encode -m $m --data "$data/bad_int_data.npy" -o z.npy
    has_err "bad_int_data.npy" "unsupported dtype '<i4'" && absent z.npy
    lm 2 encode -m $m --data "$data/bad_f2.npy" -o z.npy
    has_err "bad_f2.npy" "unsupported dtype '<f2'"
    lm 2 encode -m $m --data "$data/bad_structured.npy" -o z.npy
    has_err "bad_structured.npy" "structured"
    lm 2 encode -m $m --data "$data/bad_fortran.npy" -o z.npy
    has_err "bad_fortran.npy" "Fortran"
    lm 2 encode -m $m --data "$f4" --lengths "$data/bad_len_float.npy" -o z.npy
    has_err "bad_len_float.npy" "expected an integer type"
    lm 2 encode -m $m --data "$f4" --lengths "$data/bad_len_range.npy" -o z.npy
    has_err "bad_len_range.npy" "entry 3 is 6, outside 0..5"
    lm 2 encode -m $m --data "$f4" --lengths "$data/bad_len_count.npy" -o z.npy
    has_err "bad_len_count.npy" "4 lengths for the 6 sequences"
    lm 2 encode -m $m --data "$f4" -o z.npy
    has_err "small_f4.npy: sequence 1, step 3, feature 0: NaN in a valid step" \
        "(steps 0..4 of this sequence are valid)" && absent z.npy
    lm 2 encode -m $m --data "$data/small_header.csv" --lengths "$len" -o z.npy
    has_err "small_header.csv" "row counts"
    # CSV
    printf 'id,a,b,c\n1,0,0,1\n1,0,1\n' >ragged.csv
    lm 2 encode -m $m --data ragged.csv -o z.npy
    has_err "ragged.csv:3:" "ragged row: 3 fields, expected 4" && absent z.npy
    printf '1,0,0,1\n1,0,abc,1\n' >nonnum.csv
    lm 2 encode -m $m --data nonnum.csv -o z.npy
    has_err "nonnum.csv:2:" "field 3 ('abc') is not a number"
    printf '1,0,0,1\n1,0,nan,1\n' >nan.csv
    lm 2 eval -m $m --data nan.csv && has_err "nan.csv:2:" "not a finite number"
    printf '1,0,0,1\n1,0,1e99,1\n' >big.csv
    lm 2 eval -m $m --data big.csv && has_err "big.csv:2:" "float32 range"
    printf '1,0,0,1\n2,0,1,1\n1,1,1,1\n' >split.csv
    lm 2 eval -m $m --data split.csv && has_err "split.csv:3:" "not consecutive" "line 1"
    printf 'id,a,b,c\n' >header_only.csv
    lm 2 eval -m $m --data header_only.csv && has_err "header_only.csv" "no data rows"
    printf 'id,a\n"open,1\n' >quote.csv
    lm 2 eval -m $m --data quote.csv && has_err "quote.csv:2:" "unterminated"
    printf 'just-one-field\n' >one.csv
    lm 2 eval -m $m --data one.csv && has_err "one.csv:1:" "at least one value"
    # dimensions that do not match the model
    lm 2 encode -m $m --data "$data/series_2d.npy" -o z.npy
    has_err "series_2d.npy" "1 feature per step, but the model small.lstmae expects 3"
    absent z.npy
    printf '1,0,0\n' >two.csv
    lm 2 eval -m $m --data two.csv && has_err "two.csv" "2 features per step"
    lm 2 train --resume $m --data "$data/series_2d.npy" -o r.lstmae
    has_err "series_2d.npy" "expects 3" && absent r.lstmae
    printf '0,1,2\n' >z2.csv
    lm 2 decode -m $m --latent z2.csv --length 3 -o d.npy
    has_err "z2.csv" "latent size of 4" && absent d.npy
    lm 2 train --data "$f4" --lengths "$len" --valid "$data/series_2d.npy" -o t.lstmae
    has_err "series_2d.npy" "1 features per step, but"
    # cross-entropy needs 2 features or more: the library's reason
    lm 2 train --data "$data/series_2d.npy" --loss ce -o ce1.lstmae
    has_err "cannot train on" "series_2d.npy: cross-entropy needs input_dim >= 2" \
        "(a softmax over 1 feature is always 1)"
    absent ce1.lstmae
    printf 'a,1\na,0\n' >one_feature.csv
    lm 2 train --data one_feature.csv --loss cross_entropy --cell gru \
        --bidirectional -o ce1.lstmae
    has_err "one_feature.csv: cross-entropy needs input_dim >= 2" && absent ce1.lstmae
    # files that are missing, of no known type, or not models
    lm 2 eval -m $m --data missing.npy && has_err "missing.npy" "cannot open"
    lm 2 eval -m $m --data data.txt && has_err "data.txt" "unknown data file type"
    lm 2 eval -m missing.lstmae --data "$f4" && has_err "missing.lstmae" "cannot open model"
    lm 2 info "$f4" && has_err "small_f4.npy" "not a usable lstmae model"
    head -c 100 $m >trunc.lstmae
    lm 2 info trunc.lstmae && has_err "trunc.lstmae" "not a usable lstmae model"
    # a failed command leaves an existing output as it was
    echo "keep me" >keep.npy
    lm 2 encode -m $m --data ragged.csv -o keep.npy
    check "existing output kept" grep -qx "keep me" keep.npy
    # outputs that cannot be written: exit 1
    lm 1 encode -m $m --data "$f4" --lengths "$len" -o no/such/dir/z.npy
    has_err "no/such/dir/z.npy" "cannot write"
    lm 1 train --data "$f4" --lengths "$len" -o no/such/dir/m.lstmae
    has_err "no/such/dir/m.lstmae"
    lm 1 train --data "$f4" --lengths "$len" --plot no/dir/p.svg -o ok.lstmae
    has_err "no/dir/p.svg" && absent ok.lstmae
    # every sequence empty
    py "np.save('zeros_len.npy', np.zeros(6, dtype=np.int16))"
    if [ -n "$numpy" ]; then
        lm 2 train --data "$f4" --lengths zeros_len.npy -o e.lstmae
        has_err "every training sequence is empty"
        lm 2 eval -m $m --data "$f4" --lengths zeros_len.npy
        has_err "every sequence is empty"
    fi
    # An output that is an input, under any name: refused, input intact
    # (train -o X.npy used to overwrite the data with a model).
    cp "$f4" f4.npy && cp "$len" len.npy
    lm 2 train --data f4.npy --lengths len.npy -o f4.npy
    has_err "-o f4.npy is the same file as --data f4.npy" && same f4.npy "$f4"
    lm 2 train --data f4.npy --lengths len.npy -o ./len.npy
    has_err "-o ./len.npy is the same file as --lengths len.npy"
    same len.npy "$len"
    lm 2 train --data f4.npy --lengths len.npy --plot p.svg -o p.svg
    has_err "are the same file" && absent p.svg
    ln -s f4.npy link.npy
    lm 2 encode -m $m --data f4.npy --lengths len.npy -o link.npy
    has_err "-o link.npy is the same file as --data f4.npy"
    same f4.npy "$f4"
    ln f4.npy hard.npy
    lm 2 eval -m $m --data f4.npy --lengths len.npy --per-sequence hard.npy
    has_err "--per-sequence hard.npy is the same file as --data f4.npy"
    same f4.npy "$f4"
    lm 0 encode -m $m --data f4.npy --lengths len.npy -o zz.npy
    cp zz.npy zz.orig
    lm 2 decode -m $m --latent zz.npy --length 3 -o zz.npy
    has_err "--latent zz.npy" && same zz.npy zz.orig
    lm 2 make-moving-ones -o mm.npy --lengths-out ./mm.npy --count 5
    has_err "-o mm.npy and --lengths-out ./mm.npy are the same file"
    absent mm.npy
    # Values the library rejects, named with the option and the limit
    # (they used to be "training failed: invalid argument").
    lm 2 train --data "$f4" --lengths "$len" --batch 1073741824 -o b.lstmae
    has_err "--batch 1073741824 is above 429496729" "has 5 steps"
    absent b.lstmae
    # T = 8388608 steps, one more than LSTMAE_MAX_STEPS (32 MiB of zeros)
    lm 0 train --data "$data/series_2d.npy" --loss mse --hidden 4 \
        --latent 2 --epochs 1 --quiet -o d1.lstmae
    local h
    h=$(printf "%-117s" \
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 8388608), }")
    { printf '\223NUMPY\001\000\166\000'; printf '%s\n' "$h"
      head -c 33554432 /dev/zero; } >long_t.npy
    lm 2 encode -m d1.lstmae --data long_t.npy -o zt.npy
    has_err "long_t.npy" "8388608 steps" "8388607" && absent zt.npy
    lm 2 train --data long_t.npy --loss mse --epochs 1 -o t8.lstmae
    has_err "long_t.npy" "8388608 steps" "8388607" && absent t8.lstmae
    rm -f long_t.npy
    no_temp
}

# ---- train: signals ---------------------------------------------------------
# wait_err PATTERN: waits (up to a minute) for a line of err matching it.
wait_err() {
    local i
    for i in $(seq 1 1200); do
        grep -q "$1" err && break
        sleep 0.05
    done
}

# end_within PID WHAT: waits up to 2 minutes for PID to end, else kills it
# and fails; then sets rc to its exit status.
end_within() {
    local pid=$1 what=$2 i
    for i in $(seq 1 1200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        fail "still running 2 minutes after $what"
    fi
    wait "$pid"
    rc=$?
}

# interrupt_run SIGNAL MODEL PATTERN ARGS...: starts a long training in the
# background, waits for a line of its standard error that matches PATTERN,
# sends SIGNAL, and checks it stopped, saved and exited 130.
interrupt_run() {
    local sig=$1 model=$2 pattern=$3
    shift 3
    checks=$((checks + 1))
    set -m # a job of its own, with SIGINT not ignored
    # shellcheck disable=SC2086
    $wrapper "$bin" train "$@" -o "$model" >out 2>err &
    local pid=$! rc
    set +m
    wait_err "$pattern"
    kill -"$sig" "$pid"
    last_cmd="train $* (SIG$sig)"
    end_within "$pid" "SIG$sig"
    [ "$rc" = 130 ] || fail "exit $rc after SIG$sig, expected 130"
    checks=$((checks + 1))
    if grep -qE 'Sanitizer|runtime error:|^==[0-9]+==' err; then
        fail "sanitizer or valgrind report: $last_cmd"
    fi
}

# A shell started in the background of a non-interactive shell ignores
# SIGINT, and so do its children (the tool leaves an ignored SIGINT
# ignored, as nohup expects): then SIGTERM stands in for it.
int_signal=INT
case $(trap -p INT) in
*"''"*) int_signal=TERM ;;
esac

group_train() {
    lm 0 make-moving-ones -o mo.npy --lengths-out mo_len.npy --count 2000
    [ "$int_signal" = INT ] ||
        echo "note: SIGINT is ignored here; SIGTERM stands in for it"
    # After the second epoch: the best epoch is saved.
    interrupt_run "$int_signal" int.lstmae "^epoch 2/" --data mo.npy \
        --lengths mo_len.npy --valid-split 0.1 --epochs 100000 --hidden 16 \
        --latent 8 --plot int.svg
    has_err "interrupted: stopping after the current batch"
    has_out "interrupted " && has_out "lowest validation loss"
    has_out "saved int.lstmae"
    check "plot written on interrupt" grep -q "best: epoch" int.svg
    check "no batch lines off a terminal" eval '! grep -q " batch [0-9]" err'
    lm 0 info int.lstmae
    check "interrupted model has its epochs" grep -qE \
        '^epochs done: +([2-9]|[1-9][0-9]+)$' out
    interrupt_run TERM term.lstmae "^epoch 2/" --data mo.npy \
        --lengths mo_len.npy --epochs 100000 --hidden 16 --latent 8
    has_out "no validation set"
    lm 0 info term.lstmae && has_out "training state:   present"
    # Within the first epoch: 2000 batches of one sequence take a second or
    # more; the signal goes as soon as training starts, and training stops
    # after the batch it was in, with the model as that batch left it.
    interrupt_run "$int_signal" mid.lstmae "^training on" --data mo.npy \
        --lengths mo_len.npy --epochs 3 --batch 1 --hidden 64 --latent 8 \
        --plot mid.svg
    has_out "interrupted in epoch 1 at batch "
    check "stopped before the epoch's end" grep -qE \
        'interrupted in epoch 1 at batch ([1-9]|[1-9][0-9]{1,2}|1[0-9]{3})/2000;' out
    has_out "as that batch left it (no validation set; epochs done: 0"
    has_out "trained 0 epochs and " && has_out "saved mid.lstmae"
    check "plot without epochs" grep -q "no completed epochs" mid.svg
    lm 0 info mid.lstmae
    has_out "epochs done:      0" && has_out "training state:   present"
    lm 0 eval -m mid.lstmae --data mo.npy --lengths mo_len.npy
    # Mid-epoch with a validation set but no epoch completed: the model as
    # the batch left it.
    interrupt_run TERM midv.lstmae "^training on" --data mo.npy \
        --lengths mo_len.npy --valid-split 0.1 --epochs 3 --batch 1 \
        --hidden 64 --latent 8
    has_out "interrupted in epoch 1 at batch "
    has_out "no epoch completed to compare"
    lm 0 info midv.lstmae && has_out "epochs done:      0"
    # On a terminal the progress line moves with the batches.
    if script -qec true /dev/null >/dev/null 2>&1; then
        checks=$((checks + 1))
        script -qec "$wrapper '$bin' train --data mo.npy --lengths mo_len.npy \
--epochs 1 --batch 50 --hidden 8 --latent 4 -o tty.lstmae" /dev/null \
            >tty.txt 2>&1 </dev/null || fail "train on a terminal"
        check "per-batch progress on a terminal" grep -q \
            "epoch 1/1 batch 1/40 | " tty.txt
        check "epoch line on a terminal" grep -q "epoch 1/1 | " tty.txt
        check "no sanitizer report on a terminal" eval \
            "! grep -qE 'Sanitizer|runtime error:|^==[0-9]+==' tty.txt"
    else
        echo "note: no script(1) here; the terminal progress is not tested"
    fi
    # A second signal during a long batch (8 sequences of up to 1000 steps,
    # H 512: a second or more): exit 3, "not saved", the existing model
    # unchanged, no temporary file (it used to exit 130, as if saved).
    lm 0 make-moving-ones -o long.npy --lengths-out long_len.npy --count 8 \
        --max-len 1000
    echo "an older model" >old.lstmae
    cp old.lstmae old.orig
    checks=$((checks + 1))
    set -m
    # shellcheck disable=SC2086
    $wrapper "$bin" train --data long.npy --lengths long_len.npy --batch 8 \
        --hidden 512 --latent 8 --epochs 5 --threads 1 -o old.lstmae \
        >out 2>err &
    local pid=$! rc
    set +m
    wait_err "^training on"
    kill -"$int_signal" "$pid"
    wait_err "interrupted: stopping"
    kill -"$int_signal" "$pid"
    last_cmd="train -o old.lstmae (SIG$int_signal twice)"
    end_within "$pid" "a second SIG$int_signal"
    [ "$rc" = 3 ] || fail "exit $rc after a second SIG$int_signal, expected 3"
    has_err "interrupted again" "old.lstmae not saved"
    same old.lstmae old.orig
    no_temp
}

# ---- variants (issue 12) ----------------------------------------------------
# info_is KEY VALUE: info's line "KEY:" shows VALUE (the values in column 19).
info_is() { has_out "$(printf '%-18s%s' "$1:" "$2")"; }

# variants_are CELL BIDIRECTIONAL REVERSE_TARGET DECODER_INIT FEEDBACK LOSS:
# info's lines for the cell, the four variants and the loss.
variants_are() {
    info_is cell "$1" && info_is bidirectional "$2"
    info_is reverse_target "$3" && info_is decoder_init "$4"
    info_is decoder_feedback "$5" && info_is loss "$6"
}

# sums_to_one FILE.npy: every step of every sequence sums to 1 (a softmax),
# each value in [0, 1].
sums_to_one() {
    py "d = np.load('$1'); s = d.astype(np.float64).sum(axis=2)
assert d.ndim == 3 and d.shape[2] >= 2, d.shape
assert ((0 <= d) & (d <= 1)).all(), (d.min(), d.max())
assert np.abs(s - 1).max() < 1e-5, np.abs(s - 1).max()"
}

group_variants() {
    # one-hot steps: no more steps than features, so every valid step has
    # its one
    lm 0 make-moving-ones -o oh.npy --lengths-out oh_len.npy --count 400 \
        --max-len 8 --width 8 --seed 7
    py "x = np.load('oh.npy'); l = np.load('oh_len.npy')
v = np.arange(x.shape[1])[None, :] < l[:, None]
assert (x.sum(axis=2)[v] == 1).all() and (x.sum(axis=2)[~v] == 0).all()
assert (l == 0).any() and (l > 0).sum() > 300"
    local d="--data oh.npy --lengths oh_len.npy" s="--hidden 16 --latent 8 --batch 50 --lr 0.01"
    # --loss ce, and its other spelling: the same model
    # shellcheck disable=SC2086
    lm 0 train $d $s --loss ce --epochs 3 -o ce.lstmae
    has_err ", K 1, lstm, cross_entropy loss; 3 epochs"
    has_out "trained 3 epochs" && has_out "saved ce.lstmae"
    check "ce: the summary has an accuracy" grep -qE \
        '^train: +loss=[0-9.e-]+ accuracy=[0-9.]+ baseline_loss=[0-9.e-]+ baseline_accuracy=[0-9.]+ +\(400 sequences\)$' out
    check "ce: no warning on one-hot data" eval '! grep -q warning err'
    # shellcheck disable=SC2086
    lm 0 train $d $s --loss cross_entropy --epochs 3 --quiet -o ce2.lstmae
    same ce.lstmae ce2.lstmae
    lm 0 info ce.lstmae && variants_are lstm no no zero no cross_entropy
    info_is input_dim 8 && info_is epochs\ done 3
    # eval: loss per valid step and the accuracy of the argmax
    # shellcheck disable=SC2086
    lm 0 eval -m ce.lstmae $d --per-sequence ce_err.npy
    check "ce eval prints loss and accuracy" \
        grep -qE '^loss=[0-9.e-]+ accuracy=(0|1)\.[0-9]{6} baseline_loss=[0-9.e-]+ baseline_accuracy=(0|1)\.[0-9]{6}$' out
    py "e = np.load('ce_err.npy'); l = np.load('oh_len.npy')
assert e.shape == (400,) and (np.isnan(e) == (l == 0)).all()
assert (e[l > 0] > 0).all() and np.isfinite(e[l > 0]).all()"
    # decode: each step a softmax over the 8 features
    # shellcheck disable=SC2086
    lm 0 encode -m ce.lstmae $d -o ce_z.npy
    lm 0 decode -m ce.lstmae --latent ce_z.npy --length 8 -o ce_d.npy
    lm 0 show ce_d.npy && has_out "shape (400, 8, 8)"
    sums_to_one ce_d.npy
    lm 0 decode -m ce.lstmae --latent ce_z.npy --length 3 -o ce_d.csv
    checks=$((checks + 1))
    awk -F, 'NR > 1 { s = 0; for (i = 2; i <= NF; i++) s += $i
        if (s < 0.9999 || s > 1.0001) { print "row " NR ": " s; bad = 1 } }
        END { exit bad }' ce_d.csv >pyout || { fail "ce decode csv rows sum to 1"; head -3 pyout; }
    # bce and cross-entropy warn about values outside [0, 1]
    printf 'a,1.5,-0.5\na,0,1\nb,1,0\n' >outside.csv
    lm 0 train --data outside.csv --loss ce --hidden 4 --latent 2 \
        --epochs 1 --quiet -o outside.lstmae
    has_err "warning: outside.csv has values outside [0, 1]" \
        "--loss cross_entropy is meant for one-hot or probability steps"

    # every variant at once, 2 layers: the training line, info and show
    local all="--cell gru --bidirectional --reverse-target --decoder-init latent --decoder-feedback --loss ce --layers 2"
    # shellcheck disable=SC2086
    lm 0 train $d $s $all --epochs 2 -o all.lstmae
    has_err ", K 2, gru, bidirectional, reverse-target, decoder-init latent, decoder-feedback, cross_entropy loss; 2 epochs"
    lm 0 info all.lstmae --tensors
    variants_are gru yes yes latent yes cross_entropy
    info_is num_layers 2 && info_is hidden_dim 16 && info_is latent_dim 8
    # D 8, H 16, Z 8, K 2, GRU (3 gate blocks): encoder.0 2 x 1248, encoder.1
    # (2H inputs) 2 x 2400, latent 8 x 32 + 8, bridge 2 x (16 x 8 + 16),
    # decoder.0 (Z + D inputs) 1632, decoder.1 1632, output 8 x 16 + 8
    info_is parameters "11248 values in 32 tensors"
    sed -n 's/^  \([^ ]*\) *\([0-9]*\)$/\1 \2/p' out >tensors.txt
    local k dir t want="" n
    for k in 0 1; do
        n=$((k == 0 ? 8 : 32))
        for dir in "" _reverse; do
            want="$want encoder.$k.weight_ih$dir $((48 * n)) encoder.$k.weight_hh$dir 768"
            want="$want encoder.$k.bias_ih$dir 48 encoder.$k.bias_hh$dir 48"
        done
    done
    want="$want latent.weight 256 latent.bias 8"
    want="$want bridge.0.weight 128 bridge.0.bias 16 bridge.1.weight 128 bridge.1.bias 16"
    for k in 0 1; do
        want="$want decoder.$k.weight_ih 768 decoder.$k.weight_hh 768"
        want="$want decoder.$k.bias_ih 48 decoder.$k.bias_hh 48"
    done
    want="$want output.weight 128 output.bias 8"
    check "info --tensors lists the 32 tensors in order, with their sizes" \
        test "$(tr '\n' ' ' <tensors.txt)" = "${want# } "
    lm 0 info all.lstmae && cp out info_all.txt
    lm 0 show all.lstmae && same out info_all.txt
    # encode, free-running decode (feedback: its own previous output),
    # eval (teacher forcing) with accuracy
    # shellcheck disable=SC2086
    lm 0 encode -m all.lstmae $d -o all_z.npy
    lm 0 show all_z.npy && has_out "shape (400, 8)"
    lm 0 decode -m all.lstmae --latent all_z.npy --length 8 -o all_d.npy
    sums_to_one all_d.npy
    # shellcheck disable=SC2086
    lm 0 eval -m all.lstmae $d
    check "all variants: eval prints loss and accuracy" \
        grep -qE '^loss=[0-9.e-]+ accuracy=[0-9.]+ baseline_loss=[0-9.e-]+ baseline_accuracy=[0-9.]+$' out
    # resume keeps them all, and the epochs add up
    # shellcheck disable=SC2086
    lm 0 train --resume all.lstmae $d --batch 50 --lr 0.01 --epochs 1 -o all2.lstmae
    has_err ", gru, bidirectional, reverse-target, decoder-init latent, decoder-feedback, cross_entropy loss; 1 epochs"
    lm 0 info all2.lstmae && variants_are gru yes yes latent yes cross_entropy
    info_is epochs\ done 3 && info_is num_layers 2

    # each variant alone, bce: info shows it, and only it
    local v b r i f
    for v in --bidirectional --reverse-target "--decoder-init latent" \
        "--decoder-init zero" --decoder-feedback; do
        b=no r=no i=zero f=no
        case $v in
        --bidirectional) b=yes ;;
        --reverse-target) r=yes ;;
        "--decoder-init latent") i=latent ;;
        --decoder-feedback) f=yes ;;
        esac
        # shellcheck disable=SC2086
        lm 0 train $d $s $v --epochs 1 -o one.lstmae
        has_err ", lstm$(printf '%s' "$v" | sed -e 's/--/, /' \
            -e 's/^, decoder-init zero$//'), bce loss; 1 epochs"
        lm 0 show one.lstmae && variants_are lstm $b $r $i $f bce
        lm 0 decode -m one.lstmae --latent ce_z.npy --length 4 -o one_d.npy
        py "d = np.load('one_d.npy')
assert d.shape == (400, 4, 8) and ((0 <= d) & (d <= 1)).all()"
    done
    # mse with a variant: eval prints the loss only
    lm 0 train --data "$data/series_2d.npy" --loss mse --reverse-target \
        --decoder-feedback --hidden 4 --latent 2 --epochs 2 --quiet -o mse.lstmae
    lm 0 info mse.lstmae && variants_are lstm no yes zero yes mse
    lm 0 eval -m mse.lstmae --data "$data/series_2d.npy"
    check "mse eval prints the loss and its baseline only" grep -qE '^loss=[0-9.e-]+ baseline_loss=[0-9.e-]+$' out
    no_temp
}

# ---- tutorial ---------------------------------------------------------------
# Runs every "$ " line of the console blocks of docs/tutorial.md, in order.
group_tutorial() {
    lstmae() {
        # shellcheck disable=SC2086
        $wrapper "$bin" "$@"
    }
    local in=0 line cmd n=0
    while IFS= read -r line; do
        case $line in
        '```console') in=1; continue ;;
        '```'*) in=0; continue ;;
        esac
        [ "$in" = 1 ] || continue
        case $line in
        '$ '*) ;;
        *) continue ;;
        esac
        cmd=${line#'$ '}
        n=$((n + 1))
        checks=$((checks + 1))
        last_cmd=$cmd
        eval "$cmd" >out 2>err </dev/null || fail "tutorial: $cmd"
    done <"$docs/tutorial.md"
    check "tutorial has its commands ($n)" test "$n" -ge 15
    # what the tutorial promises: [5000, 20] vectors, decoded sequences,
    # held-out accuracy of at least 99.5%, a plot
    lm 0 show vectors.npy && has_out "shape (5000, 20)"
    lm 0 show decoded.npy && has_out "shape (5000, 10, 8)"
    lm 0 eval -m moving.lstmae --data moving.npy --lengths moving_len.npy
    check "tutorial model reconstructs" awk -F'accuracy=' \
        '{ exit !($2 >= 0.995) }' out
    check "tutorial plot" grep -q "validation loss" loss.svg
    no_temp
}

# ---- files: what writing and reading do to the paths (issue 11) -------------
# lm_ulimit "LIMITS" RC ARGS...: lm with `ulimit LIMITS`, in a subshell.
lm_ulimit() {
    local lim=$1 want=$2
    shift 2
    checks=$((checks + 1))
    # shellcheck disable=SC2086
    (ulimit $lim && exec $wrapper "$bin" "$@") >out 2>err
    local rc=$?
    last_cmd="(ulimit $lim; lstmae $*)"
    [ "$rc" = "$want" ] || { fail "exit $rc, expected $want: $last_cmd"; return 1; }
}

mode_is() { # mode_is FILE MODE: the file's permission bits, in octal
    checks=$((checks + 1))
    local got
    got=$(stat -c %a "$1")
    [ "$got" = "$2" ] || fail "$1 has mode $got, expected $2 ($last_cmd)"
}

group_files() {
    small_model
    local m=small.lstmae f4=$data/small_f4.npy len=$data/small_len.npy
    local d="--data $f4 --lengths $len --epochs 3 --batch 2 --quiet"
    local t="$d --hidden 8 --latent 4" n
    # shellcheck disable=SC2086
    lm 0 train $t -o ref.lstmae && same $m ref.lstmae # the same bytes each run
    lm 0 encode -m $m --data "$f4" --lengths "$len" -o ref.npy
    # Devices are written in place, never replaced. As root, on copies made
    # with mknod here (a regression must not destroy the real /dev/full).
    if [ "$(id -u)" = 0 ] && mknod null.lstmae c 1 3 2>/dev/null &&
        mknod full.lstmae c 1 7 && mknod null.npy c 1 3 && mknod full.npy c 1 7; then
        # shellcheck disable=SC2086
        lm 0 train $t -o null.lstmae
        # shellcheck disable=SC2086
        lm 1 train $t -o full.lstmae
        has_err "cannot save the model to full.lstmae: No space left on device"
        lm 0 encode -m $m --data "$f4" --lengths "$len" -o null.npy
        lm 1 encode -m $m --data "$f4" --lengths "$len" -o full.npy
        has_err "full.npy: cannot write: No space left on device"
        for n in null.lstmae full.lstmae null.npy full.npy; do
            check "$n is still a character device" test -c $n
        done
    else
        echo "cli files: not root or no mknod: /dev/full only"
        # shellcheck disable=SC2086
        lm 1 train $t -o /dev/full && has_err "/dev/full" "No space left on device"
        check "/dev/full is still a character device" test -c /dev/full
    fi
    # A FIFO with a reader gets the bytes and stays a FIFO (the shell holds
    # it open for reading; a timeout keeps a regression from hanging).
    mkfifo pipe.lstmae pipe.npy lonely.lstmae lonely.npy nowriter.lstmae
    exec 3<>pipe.lstmae
    # shellcheck disable=SC2086
    lm 0 train $t -o pipe.lstmae
    timeout 10 head -c "$(wc -c <ref.lstmae)" <&3 >got.lstmae
    exec 3<&-
    same ref.lstmae got.lstmae
    exec 3<>pipe.npy
    lm 0 encode -m $m --data "$f4" --lengths "$len" -o pipe.npy
    timeout 10 head -c "$(wc -c <ref.npy)" <&3 >got.npy
    exec 3<&-
    same ref.npy got.npy
    # with no reader: an error at once, not a wait, and still a FIFO
    # shellcheck disable=SC2086
    lm 1 train $t -o lonely.lstmae
    has_err "cannot save the model to lonely.lstmae: a FIFO with no reader"
    lm 1 encode -m $m --data "$f4" --lengths "$len" -o lonely.npy
    has_err "lonely.npy: cannot write: a FIFO with no reader"
    for n in pipe.lstmae pipe.npy lonely.lstmae lonely.npy; do
        check "$n is still a FIFO" test -p $n
    done
    # A model that is a FIFO with no writer (or a device) is refused at
    # once by info, -m and --resume: the timeout turns a hang into exit 124.
    local keep_wrapper=$wrapper
    wrapper="timeout 20 $keep_wrapper"
    lm 2 info nowriter.lstmae
    has_err "nowriter.lstmae: cannot read model: not a regular file"
    lm 2 encode -m nowriter.lstmae --data "$f4" --lengths "$len" -o z.npy
    has_err "nowriter.lstmae" "not a regular file" && absent z.npy
    # shellcheck disable=SC2086
    lm 2 train --resume nowriter.lstmae $d -o r.lstmae
    has_err "nowriter.lstmae" "not a regular file" && absent r.lstmae
    lm 2 info /dev/zero && has_err "/dev/zero" "not a regular file"
    wrapper=$keep_wrapper
    # A symbolic link stays a link; the file it names is replaced, and
    # keeps its mode.
    mkdir real
    echo old >real/z.npy
    cp $m real/m.lstmae
    chmod 600 real/z.npy real/m.lstmae
    ln -s real/z.npy zlink.npy
    ln -s real/m.lstmae mlink.lstmae
    lm 0 encode -m $m --data "$f4" --lengths "$len" -o zlink.npy
    # shellcheck disable=SC2086
    lm 0 train $t -o mlink.lstmae
    check "zlink.npy is still a link" test -L zlink.npy
    check "mlink.lstmae is still a link" test -L mlink.lstmae
    same ref.npy real/z.npy
    same ref.lstmae real/m.lstmae
    mode_is real/z.npy 600
    mode_is real/m.lstmae 600
    # modes: a re-saved file keeps its own, a new one gets 0666 less umask
    chmod 640 $m
    # shellcheck disable=SC2086
    lm 0 train $t -o $m && mode_is $m 640
    local old_umask
    old_umask=$(umask)
    umask 077
    # shellcheck disable=SC2086
    lm 0 train $t -o new.lstmae && mode_is new.lstmae 600
    lm 0 encode -m $m --data "$f4" --lengths "$len" -o new.npy
    mode_is new.npy 600
    umask "$old_umask"
    # A file size limit: the write fails with EFBIG (SIGXFSZ is ignored),
    # the message says so, the old file is intact, no temporary is left.
    cp $m keep.lstmae
    # shellcheck disable=SC2086
    lm_ulimit "-f 8" 1 train $d --hidden 64 --latent 4 -o keep.lstmae
    has_err "cannot save the model to keep.lstmae: File too large"
    same $m keep.lstmae
    # (lstmae_save's temporary files are not hidden: MODEL.tmp-XXXXXX)
    check "no temporary model file" test -z "$(find . -name '*.tmp-*')"
    echo "keep me" >big.npy
    lm_ulimit "-f 8" 1 make-moving-ones -o big.npy --lengths-out big_len.npy
    has_err "big.npy: cannot write: File too large"
    check "big.npy kept" grep -qx "keep me" big.npy
    no_temp
    # A 6 GB file that is not a model (sparse) is refused from its header,
    # with exit 2, within seconds, under `ulimit -v 3000000` (not under a
    # sanitizer or valgrind, which need the address space).
    truncate -s 6G huge.lstmae
    printf 'junk' | dd of=huge.lstmae conv=notrunc status=none
    local lim="-t 20"
    if [ -z "$wrapper" ] && ! grep -qaE '__(a|t|m)san_init' "$bin"; then
        lim="-t 20 -v 3000000"
    fi
    lm_ulimit "$lim" 2 info huge.lstmae
    has_err "huge.lstmae: not a usable lstmae model file"
    lm_ulimit "$lim" 2 encode -m huge.lstmae --data "$f4" --lengths "$len" -o z.npy
    has_err "huge.lstmae: not a usable lstmae model file" && absent z.npy
    rm -f huge.lstmae
    no_temp
}

# ---- anomaly detection (issue 13) -------------------------------------------
# sines CSV N SEED [SPIKED]: N sequences of 16 steps, one feature, about
# 1000 + 50 sin(...) with noise; ids 0..N-1. The first SPIKED ones get
# +400 at step 9.
sines() {
    awk -v n="$2" -v seed="$3" -v spiked="${4:-0}" 'BEGIN {
        srand(seed); print "id,value"
        for (i = 0; i < n; i++) {
            p = rand() * 6.283
            for (t = 0; t < 16; t++)
                printf "%d,%.4f\n", i, 1000 + 50 * sin(t / 2.5 + p) + \
                    rand() - 0.5 + (i < spiked && t == 9 ? 400 : 0)
        }
    }' >"$1"
}

# field FILE KEY: the value after "KEY" in FILE's first line that has it,
# KEY being "name=" (eval, train) or "name:" (info).
field() {
    awk -v k="$2" '{ for (i = 1; i <= NF; i++) {
        if (index($i, k) == 1 && length($i) > length(k)) {
            print substr($i, length(k) + 1); exit }
        if ($i == k) { print $(i + 1); exit } } }' "$1"
}

# (awk programs in single quotes throughout)
# shellcheck disable=SC2016
group_anomaly() {
    small_model
    local m=small.lstmae f4=$data/small_f4.npy len=$data/small_len.npy
    sines normal.csv 120 7
    sines new.csv 30 8 10
    # -- usage: required options, values, files
    lm 2 score -m $m --data "$f4" --lengths "$len" && has_err "-o OUT is required"
    lm 2 score -m $m --data "$f4" --lengths "$len" -o s.txt && has_err "s.txt" ".npy or .csv"
    lm 2 score -m $m --data "$f4" --lengths "$len" -o s.npy --step-scores st.txt
    has_err "st.txt" ".npy or .csv"
    lm 2 score -m $m --data normal.csv -o normal.csv && has_err "refusing to overwrite an input"
    lm 2 score -m $m --data normal.csv -o s.npy --step-scores s.npy
    has_err "give each output its own"
    lm 2 score $m normal.csv -m $m -o s.npy && has_err "MODEL given twice"
    lm 2 score $m normal.csv extra.csv -o s.npy && has_err "unexpected argument 'extra.csv'"
    lm 2 reconstruct -m $m --data normal.csv && has_err "-o OUT is required"
    lm 2 calibrate -m $m --data normal.csv --param 0.9 && has_err "--rule R is required"
    lm 2 calibrate -m $m --data normal.csv --rule max && has_err "--param P is required"
    lm 2 calibrate -m $m --data normal.csv --rule median --param 0.5
    has_err "--rule: expected quantile, mean_std or max, got 'median'"
    lm 2 calibrate -m $m --data normal.csv --rule max --param x
    has_err "--param: expected a number" "got 'x'"
    # the library's reasons, before the model is read (it does not exist)
    local bad
    for bad in "quantile 1.5:quantile q 1.5 is outside (0, 1]" \
        "quantile 0:quantile q 0 is outside (0, 1]" \
        "mean_std -1:mean_std k -1 is negative" \
        "max 0.5:max factor f 0.5 is below 1"; do
        # shellcheck disable=SC2086 # rule and parameter: two words
        set -- ${bad%%:*}
        lm 2 calibrate -m missing.lstmae --data normal.csv --rule "$1" --param "$2"
        has_err "lstmae calibrate: --param: ${bad#*:}"
    done
    lm 2 calibrate -m $m --data normal.csv --rule max --param 1 -o normal.csv
    has_err "refusing to overwrite an input"
    lm 2 train --data normal.csv -o t.lstmae --scaling zscore
    has_err "--scaling: expected none, standard or minmax, got 'zscore'"
    lm 2 train --data normal.csv -o t.lstmae --resume $m --scaling standard
    has_err "drop --scaling"
    lm 2 train --data normal.csv -o t.lstmae --valid-index-out i.txt
    has_err "--valid-index-out needs --valid-split"
    lm 2 train --data normal.csv -o t.lstmae --history normal.csv
    has_err "refusing to overwrite an input"
    absent t.lstmae s.npy s.txt

    # -- NaN or infinity in a valid step: every command that reads data
    # exits 2 with the library's reason and writes nothing (small_f4.npy has
    # NaN at sequence 1, step 3: padding with its lengths, valid without)
    local nan_msg="small_f4.npy: sequence 1, step 3, feature 0: NaN in a valid step (steps 0..4"
    lm 2 encode -m $m --data "$f4" -o o.npy && has_err "$nan_msg"
    lm 2 eval -m $m --data "$f4" --per-sequence o.npy && has_err "$nan_msg"
    lm 2 score -m $m --data "$f4" -o o.npy --step-scores o2.npy && has_err "$nan_msg"
    lm 2 reconstruct $m "$f4" -o o.npy && has_err "$nan_msg"
    cp $m cal.lstmae
    lm 2 calibrate cal.lstmae "$f4" --rule max --param 1 && has_err "$nan_msg"
    same $m cal.lstmae
    lm 2 train --data "$f4" --epochs 1 -o o.lstmae && has_err "$nan_msg"
    # with --valid-split: the sequence's index in the file, not in a part
    lm 2 train --data "$f4" --valid-split 0.5 --epochs 1 -o o.lstmae
    has_err "$nan_msg"
    lm 2 train --data "$f4" --lengths "$len" --valid "$f4" --epochs 1 -o o.lstmae
    has_err "$nan_msg"
    absent o.npy o2.npy o.lstmae
    if [ -n "$numpy" ]; then
        py "x = np.load('$f4'); x[2, 1, 2] = -np.inf; np.save('inf.npy', x)"
        lm 2 score -m $m --data inf.npy --lengths "$len" -o o.npy
        has_err "inf.npy: sequence 2, step 1, feature 2: infinity in a valid step"
        absent o.npy
    fi

    # -- train: --scaling, --history, --valid-index-out
    local t="--loss mse --hidden 16 --latent 4 --batch 16 --lr 0.01 --quiet"
    # shellcheck disable=SC2086
    lm 0 train --data normal.csv $t --epochs 40 --scaling standard --valid-split 0.25 \
        --valid-index-out held.txt --history hist.csv -o sines.lstmae
    has_out "saved sines.lstmae, history hist.csv, held-out indices held.txt"
    cp out train_out.txt
    check "30 held-out indices, ascending, in 0..119" awk \
        'NR > 1 && $1 <= prev { exit 1 } { prev = $1 } $1 !~ /^[0-9]+$/ || $1 > 119 { exit 1 }
         END { exit NR != 30 }' held.txt
    check "history header" test "$(head -1 hist.csv)" = \
        "epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,learning_rate,seconds"
    # 40 rows; mse: the accuracies empty; lr 0.01; time increasing
    check "history rows" awk -F, 'NR == 1 { next } NF != 7 || $1 != NR - 1 ||
        $2 == "" || $3 != "" || $4 == "" || $5 != "" || $6 != "0.01" ||
        $7 < prev { exit 1 } { prev = $7 } END { exit NR != 41 }' hist.csv
    lm 0 info sines.lstmae
    has_out "epochs done:      40" && has_out "scaling:          standard"
    has_out "threshold:        none"
    check "the offset is the data's mean" awk '/^  offset:/ { exit !($2 > 990 && $2 < 1010) }' out
    # the validation loss is that of the held-out sequences: eval of them
    awk -F, 'NR == FNR { h[$1] = 1; next } FNR == 1 || ($1 in h)' held.txt normal.csv >held.csv
    awk -F, 'NR == FNR { h[$1] = 1; next } FNR == 1 || !($1 in h)' held.txt normal.csv >trained.csv
    lm 0 eval sines.lstmae held.csv
    check "train's validation loss is eval's on the held-out sequences" test \
        "$(awk '/^validation:/ { print $2 }' train_out.txt)" = "loss=$(field out loss=)"
    lm 0 eval sines.lstmae trained.csv
    check "train's training loss is eval's on the others" test \
        "$(awk '/^train:/ { print $2 }' train_out.txt)" = "loss=$(field out loss=)"
    check "a trained model is far below its baseline" awk -v l="$(field out loss=)" \
        -v b="$(field out baseline_loss=)" 'BEGIN { exit !(l < 0.2 * b) }'
    # --valid-index-out as .npy: the same indices; --history with --resume
    # counts on
    # shellcheck disable=SC2086
    lm 0 train --data normal.csv $t --epochs 2 --scaling standard \
        --valid-split 0.25 --valid-index-out held.npy -o s2.lstmae
    lm 0 show held.npy --count 30 && has_out "int32 ('<i4'), shape (30,)"
    check ".npy and text indices agree" test "$(awk 'NR > 1 { print $2 }' out | tr '\n' ' ')" = \
        "$(tr '\n' ' ' <held.txt)"
    lm 0 train --resume s2.lstmae --data normal.csv --epochs 2 --quiet --history h2.csv -o s3.lstmae
    check "resumed history counts on" test "$(cut -d, -f1 h2.csv | tr '\n' ' ')" = "epoch 3 4 "
    check "no validation set: its fields empty" awk -F, 'NR > 1 && ($4 != "" || $5 != "") { exit 1 }' h2.csv
    lm 0 info s3.lstmae && has_out "epochs done:      4" && has_out "scaling:          standard"

    # -- score, calibrate, score again: the flags are the scores above the
    # threshold, and the spiked sequences are among them
    lm 0 score sines.lstmae new.csv -o s0.csv
    has_out "scored 30 sequences; sines.lstmae holds no threshold"
    check "no threshold: score column only" test "$(head -1 s0.csv)" = "sequence_id,score"
    cp sines.lstmae before.lstmae
    lm 0 calibrate sines.lstmae held.csv --rule quantile --param 0.9 -o q.lstmae
    same sines.lstmae before.lstmae
    lm 0 calibrate -m sines.lstmae --data held.csv --rule quantile --param 0.9
    has_out "(quantile 0.9 over 30 non-empty sequences); saved sines.lstmae"
    no_temp
    same sines.lstmae q.lstmae
    local thr
    thr=$(awk '{ print $2 }' out)
    lm 0 info sines.lstmae && has_out "threshold:        $thr"
    # quantile 0.9 of 30: the 27th smallest held-out score
    lm 0 score sines.lstmae held.csv -o held_s.csv
    check "quantile 0.9: the 27th smallest of 30 scores" test "$(awk -F, \
        'NR > 1 { print $2 }' held_s.csv | sort -g | sed -n 27p)" = "$(printf '%.9g' "$thr")"
    check "quantile 0.9: 3 held-out sequences above it" test "$(awk -F, \
        'NR > 1 { n += $3 } END { print n }' held_s.csv)" = 3
    lm 0 score sines.lstmae new.csv -o s.csv --step-scores st.csv
    check "score,flag columns" test "$(head -1 s.csv)" = "sequence_id,score,flag"
    local flagged above spiked
    flagged=$(awk -F, 'NR > 1 { n += $3 } END { print n + 0 }' s.csv)
    above=$(awk -F, -v t="$thr" 'NR > 1 && $2 > t { n++ } END { print n + 0 }' s.csv)
    spiked=$(awk -F, 'NR > 1 && $1 < 10 && $3 == 1 { n++ } END { print n + 0 }' s.csv)
    has_out "flagged $flagged of 30 sequences (score above the threshold $thr)"
    check "flags ($flagged) are the scores above the threshold ($above)" test "$flagged" = "$above"
    check "every spiked sequence flagged ($spiked of 10)" test "$spiked" = 10
    check "step scores: 16 columns" test "$(head -1 st.csv)" = \
        "sequence_id,$(seq -s, -f 'step%g' 1 16)"
    # a spiked sequence's highest step is the spike's, step 9 (column 11)
    check "the spike's step scores highest" awk -F, 'NR == 2 { m = 2
        for (i = 3; i <= NF; i++) if ($i > $m) m = i; exit m != 11 }' st.csv
    lm 0 score sines.lstmae new.csv -o s.npy --step-scores st.npy
    py "s = np.load('s.npy'); st = np.load('st.npy'); t = $thr
assert s.shape == (30, 2) and s.dtype == np.float32 and st.shape == (30, 16), (s.shape, st.shape)
assert np.array_equal(s[:, 1], (s[:, 0].astype(np.float64) > t).astype(np.float32))
assert s[:, 1].sum() == $flagged
assert np.allclose(st.mean(axis=1), s[:, 0], rtol=1e-5), (st.mean(axis=1), s[:, 0])
c = np.loadtxt('s.csv', delimiter=',', skiprows=1)
assert np.array_equal(c[:, 1:].astype(np.float32), s)"
    # the other rules: max 1 flags none of the data; mean_std 0 is the mean
    lm 0 calibrate sines.lstmae new.csv --rule max --param 1 -o max.lstmae
    local tmax
    tmax=$(awk '{ print $2 }' out)
    lm 0 score max.lstmae new.csv -o smax.csv && has_out "flagged 0 of 30"
    check "max 1: the largest score" test "$(printf '%.9g' "$tmax")" = \
        "$(awk -F, 'NR > 1 { print $2 }' smax.csv | sort -g | tail -1)"
    lm 0 calibrate sines.lstmae new.csv --rule mean_std --param 0 -o ms.lstmae
    check "mean_std 0: the mean score" awk -F, -v t="$(awk '{ print $2 }' out)" \
        'NR > 1 { s += $2; n++ } END { d = s / n - t; exit !(d < 1e-6 * t && -d < 1e-6 * t) }' smax.csv
    # resuming keeps the threshold and the scaling
    lm 0 train --resume sines.lstmae --data trained.csv --epochs 1 --quiet -o r.lstmae
    lm 0 info r.lstmae && has_out "threshold:        $thr" && has_out "epochs done:      41"
    # sequences of length 0: score 0, not flagged; none non-empty: refused
    lm 0 score -m $m --data "$f4" --lengths "$len" -o s6.npy
    py "s = np.load('s6.npy'); l = np.load('$len')
assert s.shape == (6,) and (s[l == 0] == 0).all() and (s[l > 0] > 0).all(), (s, l)"
    if [ -n "$numpy" ]; then
        py "np.save('zero_len.npy', np.zeros(6, dtype=np.int32))"
        cp $m m0.lstmae
        lm 2 calibrate m0.lstmae "$f4" --lengths zero_len.npy --rule max --param 1
        has_err "every sequence is empty (length 0): nothing to calibrate on"
        same $m m0.lstmae
    fi

    # -- reconstruct: data units, with --scaling standard and an offset of 1000
    lm 0 reconstruct sines.lstmae new.csv -o r.csv
    check "reconstruct CSV: one row per valid step" test "$(wc -l <r.csv)" = 481
    check "reconstructions in data units (near 1000)" awk -F, \
        'NR > 1 && ($2 < 900 || $2 > 1100) { exit 1 }' r.csv
    lm 0 reconstruct -m sines.lstmae --data normal.csv -o r.npy
    lm 0 eval sines.lstmae normal.csv
    local loss
    loss=$(field out loss=)
    lm 0 info sines.lstmae
    py "r = np.load('r.npy')[:, :, 0].astype(np.float64)
x = np.loadtxt('normal.csv', delimiter=',', skiprows=1)[:, 1].reshape(120, 16)
mean, std = x.mean(), x.std()
off, sc = [float(l.split()[1]) for l in open('out') if l.startswith(('  offset', '  scale'))]
assert abs(off - mean) < 1e-3 * abs(mean) and abs(sc - std) < 1e-3 * std, (off, sc, mean, std)
# the loss is in scaled units: eval's loss is the reconstruction's
# squared error divided by the scale squared
got = ((r - x) ** 2).mean() / sc ** 2
assert abs(got - $loss) < 1e-3 * $loss, (got, $loss)
assert abs(r.mean() - mean) < 0.05 * std, (r.mean(), mean)"
    # --scaling minmax: offset the minimum, scale the range
    # shellcheck disable=SC2086
    lm 0 train --data normal.csv $t --epochs 1 --scaling minmax -o mm.lstmae
    lm 0 info mm.lstmae && has_out "scaling:          minmax"
    check "minmax: offset and scale are the data's min and range" awk -F, \
        -v o="$(awk '/^  offset:/ { print $2 }' out)" -v s="$(awk '/^  scale:/ { print $2 }' out)" \
        'NR == 2 { lo = hi = $2 } NR > 1 { if ($2 < lo) lo = $2; if ($2 > hi) hi = $2 }
         END { exit !((o - lo) ^ 2 < 1e-6 && (s - (hi - lo)) ^ 2 < 1e-4) }' normal.csv
    lm 0 info $m && has_out "scaling:          none" && has_out "threshold:        none"
    # any saved model: a 0.1 file (format 1), and an inference-only file
    # that holds its epochs (record 14) and a threshold (record 13)
    lm 0 info "$data/../../data/golden_v1.lstmae"
    has_out "format version:   1" && has_out "epochs done:      3"
    has_out "scaling:          none" && has_out "threshold:        none"
    local corpus=$data/../../fuzz/corpus
    lm 0 info "$corpus/v2_all_variants_gru_ce_inference_only.lstmae"
    has_out "training state:   absent (inference only)" && has_out "epochs done:      2"
    lm 0 info "$corpus/tiny_d1h1z1_v2_inference_only_optional_records.lstmae"
    has_out "threshold:        0.5"

    # -- the baseline: numbers computed here from the data
    lm 0 make-moving-ones -o mo.npy --lengths-out mo_len.npy --count 300 --max-len 10 --width 8
    lm 0 train --data mo.npy --lengths mo_len.npy --hidden 8 --latent 4 --epochs 1 --quiet -o mo.lstmae
    lm 0 eval mo.lstmae mo.npy --lengths mo_len.npy
    # bce on one-hot data: the base rates' cross-entropy; predicting all zeros
    py "x = np.load('mo.npy').astype(np.float64); l = np.load('mo_len.npy')
v = np.concatenate([x[i, :l[i]] for i in range(len(l))])
p = np.clip(v.mean(axis=0), 1e-7, 1 - 1e-7)
loss = -(v * np.log(p) + (1 - v) * np.log(1 - p)).mean()
acc = (v == 0).mean()   # all zeros
f = dict(kv.split('=') for kv in open('out').read().split())
assert abs(float(f['baseline_loss']) - loss) < 1e-5 * loss, (f, loss)
assert abs(float(f['baseline_accuracy']) - acc) < 2e-6, (f, acc)"
    # cross-entropy: the features' frequencies
    lm 0 make-moving-ones -o oh.npy --lengths-out oh_len.npy --count 300 --max-len 6 --width 6
    lm 0 train --data oh.npy --lengths oh_len.npy --loss ce --hidden 8 --latent 4 --epochs 1 --quiet -o oh.lstmae
    cp out oh_train.txt
    lm 0 eval oh.lstmae oh.npy --lengths oh_len.npy
    py "x = np.load('oh.npy').astype(np.float64); l = np.load('oh_len.npy')
v = np.concatenate([x[i, :l[i]] for i in range(len(l))])
q = v.mean(axis=0) / v.mean(axis=0).sum()
loss = -(v * np.log(np.maximum(q, 1e-7))).sum(axis=1).mean()
acc = (v.argmax(axis=1) == q.argmax()).mean()
f = dict(kv.split('=') for kv in open('out').read().split())
assert abs(float(f['baseline_loss']) - loss) < 1e-5 * loss, (f, loss)
assert abs(float(f['baseline_accuracy']) - acc) < 2e-6, (f, acc)"
    check "train prints the same baseline as eval (no validation set)" test \
        "$(awk '/^train:/ { print $4, $5 }' oh_train.txt)" = \
        "$(awk '{ print $3, $4 }' out)"
    # mse: the squared deviation from the means, in scaled units
    lm 0 info sines.lstmae && cp out info.txt
    lm 0 eval sines.lstmae new.csv
    py "x = np.loadtxt('new.csv', delimiter=',', skiprows=1)[:, 1]
sc = [float(l.split()[1]) for l in open('info.txt') if l.startswith('  scale')][0]
loss = (((x - x.mean()) / sc) ** 2).mean()
f = dict(kv.split('=') for kv in open('out').read().split())
assert 'accuracy' not in f and 'baseline_accuracy' not in f, f
assert abs(float(f['baseline_loss']) - loss) < 1e-4 * loss, (f, loss)"
    no_temp
}

if [ "$group" = all ]; then
    for g in usage npy csv commands errors train variants tutorial files \
        anomaly; do
        mkdir -p "$work/$g" && cd "$work/$g" || exit 1
        "group_$g"
    done
else
    "group_$group"
fi
echo "cli $group: $checks checks, $failures failures"
[ "$failures" = 0 ]

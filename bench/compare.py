#!/usr/bin/python3
"""lstmae against PyTorch on the same CPU, side by side (docs/performance.md).

Runs bench/bench.c (lstmae_bench) and bench/torch_baseline.py on the same
data (written once by `lstmae_bench --write-data`), with the same thread
count, in the same BLAS environment, each configuration in a fresh process,
and prints the ratios lstmae / PyTorch:

  - environments: "default" (the caller's environment, OPENBLAS_CORETYPE
    removed) and "SkylakeX" (OPENBLAS_CORETYPE=SkylakeX), the same for both
    sides;
  - threads 1 and 2: lstmae num_threads = T, torch.set_num_threads(T), and
    for both OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = T (without it
    OpenBLAS's own pthreads would give both sides a second core at T = 1);
  - PyTorch also gets OMP_WAIT_POLICY=PASSIVE (its OpenMP threads otherwise
    spin and fight OpenBLAS's at 2 threads);
  - PyTorch runs twice per cell: "packed" (PackedSequence, as the issue
    asks) and "padded" (the same model over padded batches with a mask,
    which avoids PackedSequence's slow CPU backward); ratios are given
    against the faster of the two ("best") and against "packed". The
    packed variant on L takes minutes and is never the faster one there:
    it runs once (threads 1, first environment) unless --packed-L all;
  - cells: lstmae's default LSTM against nn.LSTM, and its GRU
    (`lstmae_bench --cell gru`) against nn.GRU (`torch_baseline.py --cell
    gru`), each pair in the same run (--cells);
  - --base PATH runs a second lstmae_bench (an earlier release's, e.g. 0.1)
    beside the first on the LSTM cells, interleaved with it, and prints
    the median and range of the two over the --repeat runs and the ratio
    of the medians (--no-torch leaves PyTorch out of such a run).

Usage: /usr/bin/python3 bench/compare.py [--bench PATH] [--quick]
           [--cells lstm,gru] [--threads 1,2] [--configs S,M,L]
           [--envs default,SkylakeX] [--packed-L all|once|none]
           [--repeat N] [--retries N] [--base PATH] [--no-torch]
           [--raw FILE]
The full run takes about 6 minutes on the idle 2-core development machine
(10 with other jobs running); --quick under 2.
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PYTHON = "/usr/bin/python3"  # Debian's, with python3-torch

# Work per configuration, the same arguments for both sides: (epochs,
# batches, warmup, encode_count, encode_reps); see bench.c's usage. Full: S
# the median of 20 epochs after 5 warm-up epochs (an lstmae epoch of S is
# ~6 ms: a short run would measure start-up, such as OpenBLAS's idle
# threads spinning for their first ~0.1 s), encoded 20 times; M of 3 runs
# of 8 batches (512 sequences); L of 3 single batches, each after one
# warm-up unit, 128 sequences encoded 3 times. PyTorch's packed variant on
# L (30-60 s a batch) times one batch (PACKED_L). Quick: L without warm-up
# (its first batch pays for the allocations): indicative only.
PLAN = {
    False: {"S": (20, 0, 5, 0, 20), "M": (3, 8, 1, 0, 3), "L": (3, 1, 1, 128, 3)},
    True: {"S": (5, 0, 2, 0, 5), "M": (1, 4, 1, 512, 1), "L": (1, 1, 0, 32, 1)},
}
PACKED_L = (1, 1, 1, 128, 1)

# A run whose CPU time is below this share of its wall time times its
# thread count was disturbed by other processes (or, on a virtual machine,
# had a virtual CPU taken away): it is run again; but no retry starts after
# RETRY_UNTIL seconds (by quick), so that a machine that stays busy cannot
# double the run time.
MIN_CPU_UTIL = 0.8
RETRY_UNTIL = {False: 1200, True: 120}
# ... or more than this share of the machine's CPU time was stolen by the
# hypervisor during the run (/proc/stat; on this virtual machine steal comes
# in bursts of seconds that halve a two-thread run). Up to MAX_RETRIES more
# runs, SETTLE_S apart; the least disturbed run is kept.
MAX_STEAL = 0.03
MAX_RETRIES = 3
SETTLE_S = 2

VARIANTS = ("packed", "padded")

# Goals, as ratios over PyTorch: (training, encoding), None: none. The
# LSTM's are issue 4's, the GRU's issue 12's (M training at one thread).
GOALS = {"lstm": {"S": (10, 3), "M": (3, 2), "L": (1.5, 2)},
         "gru": {"M": (3, None)}}
CELLS = ("lstm", "gru")


def parse_line(out):
    for line in out.splitlines():
        if line.startswith("bench "):
            return dict(kv.split("=", 1) for kv in line.split()[1:])
    return None


def cpu_ticks():
    """(steal, total) ticks of all CPUs from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[7], sum(v[:8])
    except (OSError, ValueError, IndexError):
        return None


def run(cmd, env, timeout):
    t0 = time.time()
    s0 = cpu_ticks()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"  TIMEOUT after {timeout} s: {' '.join(cmd)}", flush=True)
        return None
    rec = parse_line(p.stdout)
    if p.returncode != 0 or rec is None:
        print(f"  FAILED ({p.returncode}): {' '.join(cmd)}\n"
              f"  {p.stderr.strip()[-2000:]}", flush=True)
        return None
    rec["wall_s"] = f"{time.time() - t0:.1f}"
    s1 = cpu_ticks()
    if s0 and s1 and s1[1] > s0[1]:
        # the share of all CPUs' time the hypervisor gave to someone else
        rec["steal"] = f"{(s1[0] - s0[0]) / (s1[1] - s0[1]):.3f}"
    return rec


def disturbed(rec, threads):
    return float(rec["cpu_util"]) < MIN_CPU_UTIL * threads or \
        float(rec.get("steal", "0")) > MAX_STEAL


def better(a, b, threads):
    """The less disturbed of two runs of one process."""
    def score(r):
        return (not disturbed(r, threads), float(r["cpu_util"]),
                -float(r.get("steal", "0")))
    return b if score(b) > score(a) else a


def work_args(threads, work):
    epochs, batches, warmup, enc_n, reps = work
    a = ["--threads", str(threads), "--epochs", str(epochs),
         "--batches", str(batches), "--warmup", str(warmup),
         "--encode-reps", str(reps)]
    return a + (["--encode-count", str(enc_n)] if enc_n else [])


def environment(base, coretype, threads, torch):
    env = dict(base)
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["OMP_NUM_THREADS"] = str(threads)
    if torch:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    return env


OPENBLAS_PROBE = """
import ctypes
try:
    ob = ctypes.CDLL("libopenblas.so.0")
    ob.openblas_get_config.restype = ctypes.c_char_p
    ob.openblas_get_corename.restype = ctypes.c_char_p
    print(ob.openblas_get_config().decode(), "| core:",
          ob.openblas_get_corename().decode())
except OSError as e:
    print("libopenblas.so.0 not loadable:", e)
"""


def machine_info(bench, base_env, envs, base=None):
    lines = []
    model = platform.processor()
    try:
        for l in subprocess.run(["lscpu"], capture_output=True,
                                text=True).stdout.splitlines():
            if l.startswith("Model name:"):
                model = l.split(":", 1)[1].strip()
    except OSError:
        pass
    lines.append(f"cpu: {model}, {os.cpu_count()} logical CPUs")
    try:
        ldd = subprocess.run(["ldd", bench], capture_output=True,
                             text=True).stdout
        libs = [l.split("=>")[1].split("(")[0].strip()
                for l in ldd.splitlines()
                if "=>" in l and ("blas" in l or "blis" in l)]
        lines.append(f"{bench} links: {', '.join(libs) or '?'}")
    except OSError:
        pass
    for name, coretype in envs:
        env = environment(base_env, coretype, 1, False)
        out = subprocess.run([PYTHON, "-c", OPENBLAS_PROBE], env=env,
                             capture_output=True, text=True).stdout.strip()
        lines.append(f"OpenBLAS in env {name}: {out}")
        for label, path in (("lstmae", bench), ("lstmae-base", base)):
            if path is None:
                continue
            out = subprocess.run([path, "--info"], env=env,
                                 capture_output=True, text=True).stdout.strip()
            lines.append(f"{label} in env {name}: {out.removeprefix('info ')}")
    out = subprocess.run([PYTHON, "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True).stdout.strip()
    lines.append(f"torch: {out or 'not importable with ' + PYTHON}")
    lines.append(f"load average at start: {os.getloadavg()}")
    return lines


def best_of(a, b):
    """Two runs of one cell: the faster training run's record, with the
    faster encoding of the two."""
    first, second = (a, b) if float(a["train_seq_per_s"]) >= \
        float(b["train_seq_per_s"]) else (b, a)
    rec = dict(first)
    if float(second["encode_seq_per_s"]) > float(first["encode_seq_per_s"]):
        rec["encode_seq_per_s"] = second["encode_seq_per_s"]
        rec["encode_gflops"] = second["encode_gflops"]
    # per CPU second: the best of each, independently (absent from a 0.1
    # binary's lines)
    for field in ("train_cpu_seq_per_s", "encode_cpu_seq_per_s"):
        if field in a and field in b:
            rec[field] = str(max(float(a[field]), float(b[field])))
    rec["peak_rss_mb"] = str(max(float(a["peak_rss_mb"]), float(b["peak_rss_mb"])))
    return rec


def median(v):
    v = sorted(v)
    n = len(v)
    return None if n == 0 else (v[n // 2] if n % 2 else
                                0.5 * (v[n // 2 - 1] + v[n // 2]))


def fmt(v, digits=1):
    return "—" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", help="lstmae_bench (default: build/bench/ "
                    "or build-bench/)")
    ap.add_argument("--quick", action="store_true",
                    help="less work (about 2 minutes); skips PyTorch's "
                    "packed variant on L")
    ap.add_argument("--cells", default="lstm,gru",
                    help="lstm: the default LSTM against nn.LSTM; gru: "
                    "lstmae_bench --cell gru against nn.GRU")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--configs", default="S,M,L")
    ap.add_argument("--envs", default="default,SkylakeX")
    ap.add_argument("--raw", help="also write every result line here")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every cell's processes this many times, in "
                    "turn (lstmae, torch, torch, lstmae, ...), and keep each "
                    "implementation's best training and best encoding: "
                    "the same for both sides, against a noisy machine")
    ap.add_argument("--base", help="a second lstmae_bench (e.g. 0.1's), "
                    "run beside --bench on the LSTM cells, interleaved")
    ap.add_argument("--no-torch", dest="no_torch", action="store_true",
                    help="leave PyTorch out (with --base: lstmae against "
                    "itself only)")
    ap.add_argument("--retries", type=int, default=MAX_RETRIES,
                    help="at most this many more runs of a disturbed "
                    "process (0: none; the per-CPU-second figures need "
                    "none at one thread)")
    ap.add_argument("--timeout", type=int, default=300,
                    help="seconds per process")
    ap.add_argument("--packed-L", dest="packed_l",
                    choices=("all", "once", "none"),
                    help="where to run PyTorch's packed variant on L, which "
                    "takes 1-3 minutes a run and is never its faster one "
                    "there: every cell, once (threads 1 of the first "
                    "environment; the default) or nowhere (--quick's "
                    "default)")
    args = ap.parse_args()

    bench = args.bench
    if bench is None:
        for cand in ("build/bench/lstmae_bench", "build-bench/lstmae_bench"):
            if os.access(os.path.join(ROOT, cand), os.X_OK):
                bench = os.path.join(ROOT, cand)
                break
    if bench is None or not os.access(bench, os.X_OK):
        sys.exit("lstmae_bench not found: build it (cmake -S bench -B "
                 "build-bench && cmake --build build-bench) or pass --bench")
    threads = [int(t) for t in args.threads.split(",")]
    configs = args.configs.split(",")
    cells = args.cells.split(",")
    if any(c not in CELLS for c in cells):
        sys.exit(f"--cells: one or more of {','.join(CELLS)}")
    if args.base is not None and not os.access(args.base, os.X_OK):
        sys.exit(f"--base {args.base}: not an executable")
    envs = [(e, None if e == "default" else e) for e in args.envs.split(",")]
    base_env = dict(os.environ)
    packed_l = args.packed_l or ("none" if args.quick else "once")

    started = time.time()
    info = machine_info(bench, base_env, envs, args.base)
    for l in info:
        print(l, flush=True)

    results = {}  # (env, threads, config, cell, impl) -> record
    runs = {}  # the same keys -> every (undisturbed or best-retried) run
    raw = []
    data = tempfile.mkdtemp(prefix="lstmae-bench-")
    try:
        subprocess.run([bench, "--write-data", data], check=True)
        plan = PLAN[args.quick]
        # threads innermost: a configuration's 1- and 2-thread runs follow
        # each other, so that the machine's drift over minutes does not
        # enter the scaling ratios
        for env_name, coretype in envs:
            for c, cell, t in ((c, cell, t) for c in configs
                               for cell in cells for t in threads):
                # the LSTM is lstmae_bench's default: no --cell, so
                # that a 0.1 binary (which has none) runs as --base
                cell_arg = [] if cell == "lstm" else ["--cell", cell]
                jobs = [("lstmae", [bench, "--config", c] + cell_arg +
                         work_args(t, plan[c]),
                         environment(base_env, coretype, t, False))]
                if args.base is not None and cell == "lstm":
                    jobs.append(("lstmae-base", [args.base, "--config", c] +
                                 work_args(t, plan[c]),
                                 environment(base_env, coretype, t, False)))
                for v in () if args.no_torch else VARIANTS:
                    if v == "packed" and c == "L" and not (
                            packed_l == "all" or
                            (packed_l == "once" and t == threads[0] and
                             env_name == envs[0][0])):
                        continue
                    work = PACKED_L if (v, c) == ("packed", "L") \
                        and not args.quick else plan[c]
                    jobs.append((f"torch-{v}",
                                 [PYTHON, os.path.join(HERE, "torch_baseline.py"),
                                  "--data", os.path.join(data, c + ".bin"),
                                  "--cell", cell, "--variant", v] +
                                 work_args(t, work),
                                 environment(base_env, coretype, t, True)))
                for impl, cmd, env in jobs * args.repeat:
                    rec = run(cmd, env, args.timeout)
                    tries = 1
                    while rec is not None and disturbed(rec, t) and \
                            tries <= args.retries and \
                            time.time() - started < RETRY_UNTIL[args.quick]:
                        print(f"  [{time.time() - started:5.0f} s] "
                              f"{impl} {c} {cell}: cpu_util {rec['cpu_util']}, "
                              f"steal {rec.get('steal', '?')}, disturbed; "
                              "again", flush=True)
                        time.sleep(SETTLE_S)
                        again = run(cmd, env, args.timeout)
                        tries += 1
                        if again is not None:
                            rec = better(rec, again, t)
                    if rec is None:
                        continue
                    rec["impl"] = impl  # lstmae-base prints "lstmae"
                    rec.setdefault("cell", "lstm")  # 0.1 prints no cell
                    key = (env_name, t, c, cell, impl)
                    runs.setdefault(key, []).append(rec)
                    line = f"env={env_name} " + " ".join(
                        f"{k}={v}" for k, v in rec.items())
                    if key in results:
                        rec = best_of(results[key], rec)
                    results[key] = rec
                    raw.append(line)
                    print(f"  [{time.time() - started:5.0f} s] {line}",
                              flush=True)
    finally:
        shutil.rmtree(data, ignore_errors=True)

    if args.raw:
        with open(args.raw, "w") as f:
            f.write("\n".join(info + raw) + "\n")

    def val(key, field):
        rec = results.get(key)
        return float(rec[field]) if rec and field in rec else None

    print(f"\nload average at end: {os.getloadavg()}; "
          f"total {time.time() - started:.0f} s")
    if not args.no_torch:
        print("\nRatios lstmae / PyTorch (> 1: lstmae faster). best = the "
              "faster PyTorch variant for that column.\n")
        print("| env | threads | config | cell | train vs best | train vs packed | "
              "encode vs best | encode vs packed | goal train / encode | "
              "peak RSS lstmae / torch MB | train / encode vs best, "
              "per CPU second |")
        print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for env_name, _ in envs if not args.no_torch else ():
        for t, c, cell in ((t, c, cell) for t in threads for c in configs
                           for cell in cells):
            k = (env_name, t, c, cell)
            row = []
            for field in ("train_seq_per_s", "encode_seq_per_s"):
                mine = val(k + ("lstmae",), field)
                theirs = {v: val(k + (f"torch-{v}",), field)
                          for v in VARIANTS}
                present = [(x, v) for v, x in theirs.items() if x]
                best = max(present) if present else None
                r = ratio(mine, best[0] if best else None)
                row.append(f"{fmt(r, 2)} ({best[1]})" if best and r
                           else "—")
                row.append(fmt(ratio(mine, theirs["packed"]), 2))
            cpu = []
            for field in ("train_cpu_seq_per_s", "encode_cpu_seq_per_s"):
                theirs = [x for x in (val(k + (f"torch-{v}",), field)
                                      for v in VARIANTS) if x]
                cpu.append(fmt(ratio(val(k + ("lstmae",), field),
                                     max(theirs) if theirs else None), 2))
            rss_torch = [val(k + (f"torch-{v}",), "peak_rss_mb")
                         for v in VARIANTS]
            rss_torch = [x for x in rss_torch if x is not None]
            rss = (f"{fmt(val(k + ('lstmae',), 'peak_rss_mb'), 0)} / "
                   f"{fmt(min(rss_torch), 0) if rss_torch else '—'}")
            goal = " / ".join("—" if g is None else str(g) for g in
                              GOALS[cell].get(c, (None, None)))
            print(f"| {env_name} | {t} | {c} | {cell} | " + " | ".join(row) +
                  f" | {goal} | {rss} | {' / '.join(cpu)} |")

    print("\nAbsolute numbers (train/encode in sequences per second; GFLOP/s "
          "by the formula in docs/performance.md; CPU/wall: CPU time over "
          "wall time of the training, ~threads when undisturbed; steal: the "
          "share of the machine's CPU time the hypervisor took during the "
          "process).\n")
    impls = ("lstmae", "lstmae-base") + tuple(f"torch-{v}" for v in VARIANTS)
    print("| env | threads | config | cell | impl | train seq/s | encode seq/s | "
          "train GFLOP/s | encode GFLOP/s | peak RSS MB | CPU/wall | steal |")
    print("| --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for env_name, _ in envs:
        for t, c, cell in ((t, c, cell) for t in threads for c in configs
                           for cell in cells):
            for impl in impls:
                rec = results.get((env_name, t, c, cell, impl))
                if rec is None:
                    continue
                print(f"| {env_name} | {t} | {c} | {cell} | {impl} | "
                      f"{rec['train_seq_per_s']} | {rec['encode_seq_per_s']} | "
                      f"{rec['gflops']} | {rec['encode_gflops']} | "
                      f"{rec['peak_rss_mb']} | {rec['cpu_util']} | "
                      f"{rec.get('steal', '—')} |")
    if 1 in threads and len(threads) > 1:
        print("\nScaling: sequences per second at T threads over 1 thread, "
              "same environment (issue 4: lstmae >= 1.7 at 2 threads on M "
              "and L).\n")
        print("| env | config | cell | impl | threads | train | encode |")
        print("| --- | --- | --- | --- | ---: | ---: | ---: |")
        for env_name, _ in envs:
            for c, cell in ((c, cell) for c in configs for cell in cells):
                for impl in impls:
                    for t in threads:
                        if t == 1:
                            continue
                        one = (env_name, 1, c, cell, impl)
                        many = (env_name, t, c, cell, impl)
                        if one not in results or many not in results:
                            continue
                        print(f"| {env_name} | {c} | {cell} | {impl} | {t} | "
                              f"{fmt(ratio(val(many, 'train_seq_per_s'), val(one, 'train_seq_per_s')), 2)} | "
                              f"{fmt(ratio(val(many, 'encode_seq_per_s'), val(one, 'encode_seq_per_s')), 2)} |")
    if args.base is not None and "lstm" in cells:
        print(f"\nlstmae ({bench}) against lstmae-base ({args.base}), LSTM: "
              "the median and range (min-max) of sequences per second over "
              "the runs, and the ratio of the medians (lstmae / base; "
              "< 1: lstmae slower); per wall second, then per CPU second "
              "where both binaries print it.\n")
        print("| env | threads | config | runs | speed | train lstmae | "
              "train base | train ratio | encode lstmae | encode base | "
              "encode ratio |")
        print("| --- | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for env_name, _ in envs:
            for t, c in ((t, c) for t in threads for c in configs):
                mine = runs.get((env_name, t, c, "lstm", "lstmae"), [])
                theirs = runs.get((env_name, t, c, "lstm", "lstmae-base"), [])
                if not mine or not theirs:
                    continue
                for speed, suffix in (("wall", "seq_per_s"),
                                      ("CPU", "cpu_seq_per_s")):
                    fields = ("train_" + suffix, "encode_" + suffix)
                    if any(f not in r for r in mine + theirs for f in fields):
                        continue
                    row = [f"{len(mine)}/{len(theirs)}", speed]
                    for field in fields:
                        a = [float(r[field]) for r in mine]
                        b = [float(r[field]) for r in theirs]
                        row += [f"{median(a):.1f} ({min(a):.1f}-{max(a):.1f})",
                                f"{median(b):.1f} ({min(b):.1f}-{max(b):.1f})",
                                fmt(ratio(median(a), median(b)), 3)]
                    print(f"| {env_name} | {t} | {c} | " + " | ".join(row) +
                          " |")
    missing = [(e, t, c, cell) for e, _ in envs for t in threads
               for c in configs for cell in cells
               if (e, t, c, cell, "lstmae") not in results]
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

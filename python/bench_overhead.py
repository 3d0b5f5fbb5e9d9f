#!/usr/bin/env python3
"""What the Python binding adds over the C API, on the M benchmark's
encode (bench/bench.c's config M: D 32, H 128, Z 64, one layer, mse; 512
sequences of 25..50 steps of sinusoids).

Times Model.encode (conversion checks, output allocation, the call)
against lstmae_encode called directly through ctypes with everything
prepared beforehand (the C call alone), interleaved in alternating order,
best and median of --repeats runs each. Usage:

    PYTHONPATH=python LSTMAE_LIBRARY=build/liblstmae.so \\
        python3 python/bench_overhead.py [--repeats 200] [--threads 1]
"""

import argparse
import ctypes
import statistics
import time

import numpy as np

import lstmae
from lstmae import _capi


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    rng = np.random.default_rng(202)
    n, T, D = 512, 50, 32
    lengths = rng.integers(25, T + 1, n)
    t = np.arange(T)[None, :, None]
    freq = rng.uniform(0.05, 0.5, (n, 1, D))
    phase = rng.uniform(0, 2 * np.pi, (n, 1, D))
    x = np.sin(freq * t + phase).astype(np.float32)
    m = lstmae.Model(D, hidden_dim=128, latent_dim=64, loss="mse", seed=1)
    m.num_threads = a.threads

    # the C call alone: a prepared lstmae_sequences and output buffer
    L32 = np.ascontiguousarray(lengths, dtype=np.int32)
    seqs = _capi.Sequences(x.ctypes.data_as(_capi.P_float),
                           L32.ctypes.data_as(_capi.P_int32), n, T)
    out = np.empty((n, 64), np.float32)
    outp = out.ctypes.data_as(_capi.P_float)
    fn, h, ref = _capi.lib.lstmae_encode, m._h, ctypes.byref(seqs)

    def c_call():
        assert fn(h, ref, outp) == 0

    def binding():
        m.encode(x, lengths)

    for f in (c_call, binding):  # warm up
        f()
    times = {c_call: [], binding: []}
    for i in range(a.repeats):
        for f in ((c_call, binding) if i % 2 else (binding, c_call)):
            t0 = time.perf_counter()
            f()
            times[f].append(time.perf_counter() - t0)
    assert np.array_equal(out, m.encode(x, lengths))
    cb, bb = min(times[c_call]), min(times[binding])
    cm, bm = statistics.median(times[c_call]), statistics.median(times[binding])
    print("M encode, %d sequences, %d thread(s), %d runs each (lstmae %s)"
          % (n, a.threads, a.repeats, lstmae.__version__))
    print("  C API (ctypes, prepared): best %.3f ms, median %.3f ms" % (cb * 1e3, cm * 1e3))
    print("  Model.encode:             best %.3f ms, median %.3f ms" % (bb * 1e3, bm * 1e3))
    print("  binding overhead: %+.2f%% (best), %+.2f%% (median)"
          % (100 * (bb / cb - 1), 100 * (bm / cm - 1)))


if __name__ == "__main__":
    main()

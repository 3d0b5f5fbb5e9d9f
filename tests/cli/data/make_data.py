#!/usr/bin/python3
"""Makes the NumPy test files of the lstmae CLI tests (committed; rerun
only to change them): python3 make_data.py  (needs numpy).

small_*: the same 6 sequences, T = 5, D = 3, lengths 5 3 2 4 1 5, values
with two decimals in [0, 1], in every supported form; the CLI tests check
that each form gives the same encodings. bad_*: files the tool must refuse
with exit status 2.
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(5)
N, T, D = 6, 5, 3
lengths = np.array([5, 3, 2, 4, 1, 5], dtype=np.int64)
x = np.round(rng.uniform(0.0, 1.0, size=(N, T, D)), 2)  # float64
for i, n in enumerate(lengths):
    x[i, n:, :] = np.nan  # padding may hold NaN: never read


def path(name):
    return os.path.join(HERE, name)


def save_version(name, arr, version):
    with open(path(name), "wb") as f:
        np.lib.format.write_array(f, arr, version=version)


np.save(path("small_f4.npy"), x.astype("<f4"))              # version 1.0
np.save(path("small_f8_be.npy"), np.nan_to_num(x).astype(">f8"))
save_version("small_f4_v2.npy", x.astype("<f4"), (2, 0))
save_version("small_f8_v3.npy", x.astype("<f8"), (3, 0))
np.save(path("small_len.npy"), lengths)                      # int64
np.save(path("small_len_u1.npy"), lengths.astype(np.uint8))
np.save(path("small_len_be.npy"), lengths.astype(">i4"))

# The same sequences as CSV: with a header and string ids, and without.
with open(path("small_header.csv"), "w") as f:
    f.write("sequence_id,a,b,c\n")
    for i, n in enumerate(lengths):
        for t in range(n):
            f.write("s%d,%s\n" % (i, ",".join("%.2f" % v for v in x[i, t])))
with open(path("small_noheader.csv"), "w") as f:
    for i, n in enumerate(lengths):
        for t in range(n):
            f.write("%d, %s\r\n" % (100 + i,
                                    ", ".join("%.2f" % v for v in x[i, t])))

# One feature per step: [n, T] float64, version 2.0.
save_version("series_2d.npy", np.round(rng.normal(size=(8, 12)), 3), (2, 0))

# Refused inputs.
np.save(path("bad_fortran.npy"), np.asfortranarray(np.nan_to_num(x)))
np.save(path("bad_int_data.npy"), np.zeros((N, T, D), dtype=np.int32))
np.save(path("bad_f2.npy"), np.zeros((N, T, D), dtype=np.float16))
np.save(path("bad_structured.npy"),
        np.zeros(4, dtype=[("a", "<f4"), ("b", "<i4")]))
np.save(path("bad_len_float.npy"), lengths.astype(np.float32))
np.save(path("bad_len_range.npy"), np.array([5, 3, 2, 6, 1, 5]))
np.save(path("bad_len_count.npy"), lengths[:4])

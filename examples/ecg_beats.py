#!/usr/bin/env python3
"""ecg_beats.py - cut SciPy's bundled ECG record into beats for lstmae.

Writes a .npy file of float32, shape (beats, 64, 1): one 64-sample window
per heartbeat of the 5-minute MIT-BIH excerpt that SciPy ships (360 Hz,
108,000 samples; scipy.misc.electrocardiogram, moved to scipy.datasets in
SciPy 1.10). No network access: the record is part of Debian's
python3-scipy 1.10 (scipy/misc/ecg.dat).

Beats: the R peaks are scipy.signal.find_peaks(ecg, distance=150,
prominence=1.0) (at least 0.42 s apart); each window starts 24 samples
(67 ms) before its peak and ends 40 samples (111 ms) after it, so it holds
the QRS complex and the start of the ST segment. Windows that would run
off the record are dropped. The values are standardised by the mean and
the population standard deviation of every sample of every beat, which
the script prints. The file is the same on every run.

Usage: python3 examples/ecg_beats.py OUT.npy
(docs/variants.md uses it for examples/variant_table.c; `lstmae train`
reads the same file.)
"""
import sys
import warnings

import numpy as np
import scipy.signal

WINDOW = 64
BEFORE = 24


def load_record():
    """The ECG record as float64 millivolts, from wherever this SciPy has it."""
    try:
        import scipy.misc
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return scipy.misc.electrocardiogram()
    except (ImportError, AttributeError):
        import scipy.datasets  # SciPy >= 1.12: needs pooch and its cache
        return scipy.datasets.electrocardiogram()


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: ecg_beats.py OUT.npy\n")
        return 2
    ecg = load_record()
    peaks, _ = scipy.signal.find_peaks(ecg, distance=150, prominence=1.0)
    starts = [p - BEFORE for p in peaks
              if p - BEFORE >= 0 and p - BEFORE + WINDOW <= len(ecg)]
    beats = np.stack([ecg[s:s + WINDOW] for s in starts])
    mean, std = float(beats.mean()), float(beats.std())
    beats = ((beats - mean) / std).astype(np.float32)[:, :, None]
    np.save(argv[1], beats)
    print(f"{argv[1]}: {beats.shape[0]} beats of {WINDOW} samples "
          f"(record {len(ecg)} samples, {len(peaks)} peaks); "
          f"standardised with mean {mean:.6f} mV, std {std:.6f} mV")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

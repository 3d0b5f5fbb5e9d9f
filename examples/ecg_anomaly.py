#!/usr/bin/env python3
"""ecg_anomaly.py - the data sets of docs/anomaly.md, from SciPy's ECG record.

Cuts the 5-minute MIT-BIH excerpt that SciPy ships (record 208, lead MLII,
360 Hz, 108,000 samples; scipy.misc.electrocardiogram, in Debian's
python3-scipy; scipy.datasets.electrocardiogram from SciPy 1.10 on) into
beats, as examples/ecg_beats.py does: R peaks by
scipy.signal.find_peaks(ecg, distance=150, prominence=1.0), a window of
64 samples (178 ms) from 24 samples before each peak. Unlike ecg_beats.py
the values stay in millivolts: the model's own input scaling
(--scaling standard, LSTMAE_SCALING_STANDARD) standardises them.

Labels. The excerpt has no annotations, so "typical" and "atypical" are
defined here, by shape: a beat's distance to the median beat is the root
mean square, over the 64 samples, of the difference between the two after
each has its own mean removed (so that baseline wander does not count).
The distances are bimodal (docs/anomaly.md shows the histogram): most
beats lie below 0.2 mV, a second group (wide, tall complexes with a deep
trough after them; record 208 is known for its premature ventricular
beats) above 0.4 mV. A beat is atypical when its distance exceeds
ATYPICAL_MV = 0.3 mV, typical otherwise. This is a rule about shape, not
a cardiologist's reading.

Sets (written as float32 .npy, [n][64][1], millivolts):
  train.npy        half of the typical beats (a fixed random draw)
  calib.npy        a quarter of the typical beats: held-out normal data
                   for the threshold
  test.npy         the last quarter of the typical beats (label 0), then
                   one copy of each of them with an injected anomaly
                   (labels 1 spike, 2 flat line, 3 noise burst, in turn),
                   then every atypical beat (label 4)
  test_labels.npy  int32 [n], the labels above

The injected anomalies are sized by the standard deviation s of all the
training samples: a spike of +-3 s at one sample; the signal held at its
value for 16 samples (a lead dropping out); Gaussian noise of standard
deviation s added over 16 samples (a muscle artefact). Their place is
drawn at random; the draw is seeded (SEED, default 13: the split and the
injections), so every run with the same SEED writes the same files.

Usage: python3 examples/ecg_anomaly.py OUT_DIR [SEED]
"""
import os
import sys
import warnings

import numpy as np
import scipy.signal

WINDOW = 64
BEFORE = 24
ATYPICAL_MV = 0.3
SPAN = WINDOW // 4
SEED = 13
KINDS = ["typical", "spike", "flat line", "noise burst", "atypical"]


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


def cut_beats(ecg):
    """[n][WINDOW] windows around the R peaks, and their peak indices."""
    peaks, _ = scipy.signal.find_peaks(ecg, distance=150, prominence=1.0)
    peaks = [p for p in peaks if p - BEFORE >= 0 and p - BEFORE + WINDOW <= len(ecg)]
    return np.stack([ecg[p - BEFORE:p - BEFORE + WINDOW] for p in peaks]), np.array(peaks)


def shape_distance(beats):
    """RMS distance (mV) of each beat to the median beat, means removed."""
    centred = beats - beats.mean(axis=1, keepdims=True)
    median = np.median(centred, axis=0)
    return np.sqrt(((centred - median) ** 2).mean(axis=1))


def inject(beat, kind, spread, rng):
    """A copy of beat with one anomaly of the given kind (1, 2 or 3)."""
    x = beat.copy()
    start = int(rng.integers(0, WINDOW - SPAN + 1))
    if kind == 2:  # held where the signal moves: over part of the QRS complex
        start = int(rng.integers(BEFORE - SPAN // 2, BEFORE + SPAN // 2 + 1))
    if kind == 1:
        x[start + SPAN // 2] += rng.choice([-1.0, 1.0]) * 3.0 * spread
    elif kind == 2:
        x[start + 1:start + SPAN] = x[start]
    elif kind == 3:
        x[start:start + SPAN] += spread * rng.standard_normal(SPAN)
    return x


def make_sets(beats, distance, seed=SEED):
    """train, calib, test, labels, as described in the module's docstring."""
    rng = np.random.default_rng(seed)
    typical = np.flatnonzero(distance <= ATYPICAL_MV)
    atypical = np.flatnonzero(distance > ATYPICAL_MV)
    order = rng.permutation(typical)
    n_train, n_calib = len(order) // 2, len(order) // 4
    train = beats[order[:n_train]]
    calib = beats[order[n_train:n_train + n_calib]]
    held = beats[order[n_train + n_calib:]]
    spread = float(train.std())
    injected = np.stack([inject(b, 1 + i % 3, spread, rng) for i, b in enumerate(held)])
    test = np.concatenate([held, injected, beats[atypical]])
    labels = np.concatenate([np.zeros(len(held)), 1 + np.arange(len(held)) % 3,
                             np.full(len(atypical), 4)]).astype(np.int32)
    return train, calib, test, labels, spread


def main(argv):
    if len(argv) not in (2, 3) or (len(argv) == 3 and not argv[2].isdigit()):
        sys.stderr.write("usage: ecg_anomaly.py OUT_DIR [SEED]\n")
        return 2
    out = argv[1]
    seed = int(argv[2]) if len(argv) == 3 else SEED
    os.makedirs(out, exist_ok=True)
    ecg = load_record()
    beats, _ = cut_beats(ecg)
    distance = shape_distance(beats)
    train, calib, test, labels, spread = make_sets(beats, distance, seed)
    for name, data in (("train", train), ("calib", calib), ("test", test)):
        np.save(os.path.join(out, name + ".npy"), data.astype(np.float32)[:, :, None])
    np.save(os.path.join(out, "test_labels.npy"), labels)
    np.save(os.path.join(out, "distance.npy"), distance.astype(np.float32))
    print(f"{len(beats)} beats of {WINDOW} samples from a record of {len(ecg)} samples: "
          f"{int((distance <= ATYPICAL_MV).sum())} typical, "
          f"{int((distance > ATYPICAL_MV).sum())} atypical "
          f"(shape distance > {ATYPICAL_MV} mV)")
    print(f"{out}/train.npy {len(train)}, calib.npy {len(calib)}, test.npy {len(test)} "
          f"(" + ", ".join(f"{int((labels == k).sum())} {KINDS[k]}" for k in range(5)) +
          f"); injected anomalies sized by s = {spread:.4f} mV")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

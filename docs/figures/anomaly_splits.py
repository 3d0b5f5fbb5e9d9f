#!/usr/bin/env python3
"""anomaly_splits.py - how the threshold rules of docs/anomaly.md fare
across different splits of the ECG beats.

For each SEED, runs examples/ecg_anomaly.py OUT/SEED SEED (a new split of
the typical beats and new injections), then with the lstmae tool:
  lstmae train --data train.npy --loss mse --scaling standard --hidden 32
      --latent 8 --epochs 300 --batch 32 --lr 0.005 --clip 1 -o m.lstmae
  lstmae score -m m.lstmae --data calib.npy -o calib_scores.npy
  lstmae score -m m.lstmae --data test.npy -o test_scores.npy
and prints, for each threshold rule applied to the calibration scores (as
lstmae_calibrate defines them), the recall over all anomalies and the
false alarms among the 89 held-out typical beats, per split, as markdown.
Steps already done (a file present) are not redone.

Usage: python3 docs/figures/anomaly_splits.py LSTMAE OUT_DIR SEED...
(LSTMAE: the tool, e.g. build/tools/lstmae)
"""
import math
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MAKE_SETS = os.path.join(HERE, "..", "..", "examples", "ecg_anomaly.py")
TRAIN = ["--loss", "mse", "--scaling", "standard", "--hidden", "32", "--latent", "8",
         "--epochs", "300", "--batch", "32", "--lr", "0.005", "--clip", "1", "--quiet"]


def rules(calib):
    """Each rule's threshold, as lstmae_calibrate computes it."""
    s = np.sort(calib.astype(np.float64))
    n = len(s)
    quantile = lambda q: s[math.ceil(q * n) - 1]
    return [("QUANTILE 0.95", quantile(0.95)), ("QUANTILE 0.99", quantile(0.99)),
            ("MEAN_STD 3", s.mean() + 3 * s.std()), ("MAX 1.5", 1.5 * s[-1])]


def run(cmd, cwd):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def one_split(tool, out, seed):
    d = os.path.join(out, str(seed))
    if not os.path.exists(os.path.join(d, "test_labels.npy")):
        run([sys.executable, MAKE_SETS, d, str(seed)], None)
    if not os.path.exists(os.path.join(d, "m.lstmae")):
        run([tool, "train", "--data", "train.npy", *TRAIN, "-o", "m.lstmae"], d)
    for name in ("calib", "test"):
        if not os.path.exists(os.path.join(d, name + "_scores.npy")):
            run([tool, "score", "-m", "m.lstmae", "--data", name + ".npy",
                 "-o", name + "_scores.npy"], d)
    load = lambda n: np.load(os.path.join(d, n + ".npy"))
    return load("calib_scores"), load("test_scores"), load("test_labels")


def main(argv):
    if len(argv) < 4:
        sys.stderr.write("usage: anomaly_splits.py LSTMAE OUT_DIR SEED...\n")
        return 2
    tool, out, seeds = os.path.abspath(argv[1]), os.path.abspath(argv[2]), argv[3:]
    rows = {}
    for seed in seeds:
        calib, test, labels = one_split(tool, out, seed)
        anomalous = labels != 0
        for rule, t in rules(calib):
            flags = test > t
            recall = (flags & anomalous).sum() / anomalous.sum()
            false = int((flags & ~anomalous).sum())
            rows.setdefault(rule, []).append((recall, false, int((~anomalous).sum())))
    print("| rule | " + " | ".join(f"split {s}" for s in seeds) + " | recall, range | false alarms, range |")
    print("|---|" + "---:|" * len(seeds) + "---:|---:|")
    for rule, cells in rows.items():
        r = [c[0] for c in cells]
        f = [c[1] for c in cells]
        print(f"| {rule} | " + " | ".join(f"{c[0]:.2f}, {c[1]}/{c[2]}" for c in cells) +
              f" | {min(r):.2f}-{max(r):.2f} | {min(f)}-{max(f)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

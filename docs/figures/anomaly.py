#!/usr/bin/env python3
"""anomaly.py - the figure and the tables of docs/anomaly.md.

Reads the sets that examples/ecg_anomaly.py wrote (DATA_DIR: test.npy,
test_labels.npy, distance.npy) and what the trained model made of them
(RESULT_DIR: calib_scores.npy and test_scores.npy, [n] or, with a flag
column, [n, 2]; test_recon.npy, like test.npy), as `lstmae score` and
`lstmae reconstruct` write them, or `anomaly ... EPOCHS RESULT_DIR`. The
threshold is THRESHOLD (as `lstmae info` prints it), or else
RESULT_DIR/threshold.npy (which the example program writes). Flags in the score files must agree with the
threshold (score > threshold). It
  - prints the markdown tables of docs/anomaly.md: the scores by kind, and
    precision and recall at the model's threshold and at the thresholds
    the other rules of lstmae_calibrate would give;
  - writes OUT.svg: the shape distances that define the labels, the
    score histogram with the threshold, and five beats with their
    reconstructions.
The SVG is the same on every run with the same inputs (fixed hash salt,
no date).

Usage: python3 docs/figures/anomaly.py DATA_DIR RESULT_DIR OUT.svg [THRESHOLD]
Needs numpy and matplotlib (Debian: python3-numpy python3-matplotlib).
"""
import math
import os
import sys

import numpy as np
import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402

KINDS = ["typical", "spike", "flat line", "noise burst", "atypical"]
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
ATYPICAL_MV = 0.3   # as examples/ecg_anomaly.py
RATE = 360.0        # samples per second


def rule_thresholds(calib):
    """What lstmae_calibrate would set, by rule (API.md's definitions)."""
    s = np.sort(calib.astype(np.float64))
    n = len(s)
    quantile = lambda q: s[math.ceil(q * n) - 1]  # the ceil(q n)-th smallest
    mean, std = s.mean(), s.std()                  # population std
    return [("QUANTILE 0.95", quantile(0.95)),
            ("QUANTILE 0.99", quantile(0.99)),
            ("MEAN_STD 3", mean + 3 * std),
            ("MEAN_STD 5", mean + 5 * std),
            ("MAX 1", s[-1]),
            ("MAX 1.5", 1.5 * s[-1])]


def confusion(scores, labels, threshold, kinds):
    """precision, recall, fpr, tp, fp over the test rows whose label is 0
    or in kinds (flag: score > threshold, as lstmae_detect)."""
    rows = (labels == 0) | np.isin(labels, kinds)
    flags = scores[rows] > threshold
    anomalous = labels[rows] != 0
    tp = int((flags & anomalous).sum())
    fp = int((flags & ~anomalous).sum())
    fn = int((~flags & anomalous).sum())
    tn = int((~flags & ~anomalous).sum())
    precision = tp / (tp + fp) if tp + fp else float("nan")
    return precision, tp / (tp + fn), fp / (fp + tn), tp, fp, fn, tn


def print_tables(calib, scores, labels, threshold):
    print("| set | beats | median score | largest score | flagged |")
    print("|---|---:|---:|---:|---:|")
    print(f"| calibration (typical) | {len(calib)} | {np.median(calib):.4f} | "
          f"{calib.max():.4f} | {int((calib > threshold).sum())} |")
    for k, name in enumerate(KINDS):
        s = scores[labels == k]
        print(f"| test, {name} | {len(s)} | {np.median(s):.4f} | {s.max():.4f} | "
              f"{int((s > threshold).sum())} |")
    print()
    groups = [("injected (spike, flat line, noise burst)", [1, 2, 3]),
              ("atypical beats", [4]), ("all anomalies", [1, 2, 3, 4])]
    print("| threshold rule | threshold | anomalies | precision | recall "
          "| false-positive rate |")
    print("|---|---:|---|---:|---:|---:|")
    for rule, t in rule_thresholds(calib):
        mark = " (the model's)" if abs(t - threshold) <= 1e-6 * threshold else ""
        for name, kinds in groups:
            p, r, f, tp, fp, fn, tn = confusion(scores, labels, t, kinds)
            print(f"| {rule}{mark} | {t:.4f} | {name} | {p:.3f} ({tp}/{tp + fp}) | "
                  f"{r:.3f} ({tp}/{tp + fn}) | {f:.3f} ({fp}/{fp + tn}) |")


def pick_examples(scores, labels):
    """One test beat of each kind: the one with the median score."""
    picks = []
    for k in range(len(KINDS)):
        rows = np.flatnonzero(labels == k)
        picks.append(rows[np.argsort(scores[rows])[len(rows) // 2]])
    return picks


def draw(distance, calib, test, labels, scores, recon, threshold, out):
    plt.rcParams.update({"svg.hashsalt": "lstmae-anomaly", "svg.fonttype": "none",
                         "font.size": 9})
    fig = plt.figure(figsize=(10.5, 8), layout="constrained")
    grid = fig.add_gridspec(3, 5, height_ratios=[1.1, 1.1, 1.0])

    ax = fig.add_subplot(grid[0, :2])
    ax.hist(distance, bins=40, color="#777777")
    ax.axvline(ATYPICAL_MV, color="black", linestyle="--", linewidth=1)
    ax.set_xlabel("RMS distance to the median beat (mV, means removed)")
    ax.set_ylabel("beats")
    ax.set_title(f"labels: typical \u2264 {ATYPICAL_MV} mV < atypical", fontsize=9)

    ax = fig.add_subplot(grid[0:2, 2:])
    bins = np.logspace(np.log10(min(calib.min(), scores.min()) * 0.9),
                       np.log10(scores.max() * 1.1), 45)
    ax.hist(calib, bins=bins, histtype="step", color="black", linewidth=1.2,
            label=f"calibration, typical ({len(calib)})")
    for k, name in enumerate(KINDS):
        s = scores[labels == k]
        ax.hist(s, bins=bins, alpha=0.55, color=COLOURS[k], label=f"test, {name} ({len(s)})")
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1.2)
    ax.text(threshold * 1.08, ax.get_ylim()[1] * 0.93, f"threshold {threshold:.4f}",
            fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("score: mean squared reconstruction error (scaled units)")
    ax.set_ylabel("beats")
    ax.legend(fontsize=7.5, loc="upper right", bbox_to_anchor=(1.0, 0.88))
    ax.set_title("scores of held-out beats", fontsize=9)

    ax = fig.add_subplot(grid[1, :2])
    order = np.sort(calib)
    ax.plot(order, np.arange(1, len(order) + 1) / len(order), drawstyle="steps-post",
            color="black")
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("calibration score")
    ax.set_ylabel("share at or below")
    ax.set_title("calibration scores (cumulative) and the threshold", fontsize=9)

    t = 1000.0 * (np.arange(test.shape[1]) - 24) / RATE
    for i, row in enumerate(pick_examples(scores, labels)):
        ax = fig.add_subplot(grid[2, i])
        ax.plot(t, test[row, :, 0], color=COLOURS[labels[row]], linewidth=1.2, label="beat")
        ax.plot(t, recon[row, :, 0], color="black", linewidth=1, linestyle=":",
                label="reconstruction")
        flag = "flagged" if scores[row] > threshold else "not flagged"
        ax.set_title(f"{KINDS[labels[row]]}\nscore {scores[row]:.3f}, {flag}", fontsize=8)
        ax.set_xlabel("ms from R peak")
        if i == 0:
            ax.set_ylabel("mV")
            ax.legend(fontsize=7, loc="center right")
    fig.savefig(out, metadata={"Date": None}, bbox_inches="tight")


def main(argv):
    if len(argv) not in (4, 5):
        sys.stderr.write("usage: anomaly.py DATA_DIR RESULT_DIR OUT.svg [THRESHOLD]\n")
        return 2
    data, result, out = argv[1:4]
    load = lambda d, n: np.load(os.path.join(d, n + ".npy"))
    test, labels, distance = load(data, "test"), load(data, "test_labels"), load(data, "distance")
    # THRESHOLD as `lstmae info` prints it (9 digits) is read as a float32,
    # which it round-trips: a QUANTILE or MAX 1 threshold is a float32 score.
    threshold = (float(np.float32(argv[4])) if len(argv) == 5
                 else float(load(result, "threshold")[0]))
    calib, scores = load(result, "calib_scores"), load(result, "test_scores")
    recon = load(result, "test_recon")
    for name, s in (("calib_scores", calib), ("test_scores", scores)):
        if s.ndim == 2 and not np.array_equal(s[:, 1] == 1, s[:, 0] > threshold):
            sys.stderr.write(f"anomaly.py: the flags of {name} disagree with the "
                             f"threshold {threshold!r}\n")
            return 2
    calib, scores = (s[:, 0] if s.ndim == 2 else s for s in (calib, scores))
    if len(scores) != len(labels) or recon.shape != test.shape:
        sys.stderr.write("anomaly.py: RESULT_DIR does not match DATA_DIR\n")
        return 2
    print_tables(calib, scores, labels, threshold)
    draw(distance, calib, test, labels, scores, recon, threshold, out)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""mpi_projection.py - lstmae_fit_mpi's scaling projection (docs/distributed.md).

Reads mpi_bench lines (stdin or files) and projects the parallel efficiency
of synchronous data-parallel training to 8, 64 and 512 ranks:

  compute per step   c(B) = B * s, s the CPU seconds per sequence of a
                     one-rank epoch (alone_cpu_s / sequences, the least
                     over the lines given: the machine's load only adds);
  all-reduce         ring: t(R) = 2 (R-1)/R * V / bandwidth + 2 (R-1) * latency,
                     V = allreduce_bytes (the parameters and a few counts,
                     4 bytes each);
  efficiency         E(R, B) = c(B) / (c(B) + t(R))  (lstmae_fit_collective
                     reduces after the backward pass: no overlap);
  batch for 80 %     the least local batch B with E >= 0.8:
                     B >= 4 t(R) / s.

Usage: mpirun -np 1 mpi_bench --repeat 3 | python3 mpi_projection.py
       python3 mpi_projection.py bench-lines.txt [--bandwidth-gbit 10,100]
                                 [--latency-us 5] [--batch 32]
"""
import argparse
import math
import sys


def parse(lines):
    runs = []
    for line in lines:
        if not line.startswith("mpi_bench "):
            continue
        kv = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
        runs.append(kv)
    return runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--bandwidth-gbit", default="10,100")
    ap.add_argument("--latency-us", type=float, default=5.0)
    ap.add_argument("--batch", type=int, default=32, help="local batch of the table's E column")
    ap.add_argument("--ranks", default="2,8,64,512")
    a = ap.parse_args()
    lines = []
    if a.files:
        for f in a.files:
            with open(f) as fh:
                lines += fh.read().splitlines()
    else:
        lines = sys.stdin.read().splitlines()
    runs = parse(lines)
    if not runs:
        sys.exit("mpi_projection: no mpi_bench lines")
    s = min(float(r["alone_cpu_s"]) / int(r["sequences"]) for r in runs)
    volume = int(runs[0]["allreduce_bytes"])
    lat = a.latency_us * 1e-6
    print(f"compute: {1e3 * s:.3f} ms per sequence (T = {runs[0]['T']}, D = {runs[0]['D']}, "
          f"H = {runs[0]['H']}, Z = {runs[0]['Z']}), so c({a.batch}) = {1e3 * s * a.batch:.2f} ms "
          f"a step; all-reduce volume {volume} bytes ({int(runs[0]['params'])} parameters)")
    print()
    print(f"| network | ranks R | all-reduce t(R) | E at local batch {a.batch} "
          f"| local batch for E >= 80% | global batch |")
    print("|---|---:|---:|---:|---:|---:|")
    for gbit in (float(x) for x in a.bandwidth_gbit.split(",")):
        bw = gbit * 1e9 / 8.0
        for R in (int(x) for x in a.ranks.split(",")):
            t = 2.0 * (R - 1) / R * volume / bw + 2.0 * (R - 1) * lat
            c = s * a.batch
            e = c / (c + t)
            b80 = max(1, math.ceil(4.0 * t / s - 1e-9))
            print(f"| {gbit:g} Gbit/s, {a.latency_us:g} us | {R} | {1e3 * t:.3f} ms | "
                  f"{100 * e:.1f}% | {b80} | {b80 * R} |")


if __name__ == "__main__":
    main()

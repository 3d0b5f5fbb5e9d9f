#!/bin/sh
# python_example_seed_task (CTest): examples/python/seed_task.py trains and
# saves in Python; the CLI (C) loads the file and encodes the held-out set;
# the latent vectors must be the same bits. Usage: PYTHON CLI SRC OUTDIR
set -eu
py="$1" cli="$2" src="$3" out="$4"
rm -rf "$out" && mkdir -p "$out"
"$py" "$src/examples/python/seed_task.py" "$out"
"$cli" encode -m "$out/seed.lstmae" --data "$out/held.npy" \
    --lengths "$out/held_lengths.npy" -o "$out/c_latent.npy"
"$py" - "$out" <<'PY'
import sys, numpy as np
out = sys.argv[1]
a, b = np.load(out + "/c_latent.npy"), np.load(out + "/held_latent.npy")
print("C encode of the Python-trained model: %s, bit-identical: %s" % (a.shape, np.array_equal(a, b)))
sys.exit(0 if a.shape == b.shape and np.array_equal(a, b) else 1)
PY

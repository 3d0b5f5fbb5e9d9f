#!/usr/bin/env python3
"""The seed task from Python, notebook style: train on "moving ones",
plot the training curve, save the model for the C example to load.

    PYTHONPATH=python LSTMAE_LIBRARY=build/liblstmae.so \
        python3 examples/python/seed_task.py [OUT_DIR]

writes OUT_DIR/seed.lstmae (default: the current directory), the
held-out set (held.npy, held_lengths.npy, held_latent.npy: what Python's
encode gave) and, when matplotlib is installed, OUT_DIR/seed_curve.svg.
Then the C side loads the same file (lstmae_load) and encodes the same
sequences to the same bits:

    build/tools/lstmae encode -m OUT_DIR/seed.lstmae --data OUT_DIR/held.npy \
        --lengths OUT_DIR/held_lengths.npy -o OUT_DIR/c_latent.npy

(CTest runs both and compares: python_example_seed_task.)"""

import os
import sys

import numpy as np

import lstmae

# %% data: 3000 sequences of up to 10 steps; step t is one-hot at t (t < 8),
# steps 8 and 9 are all zeros; padding holds NaN (never read)
rng = np.random.default_rng(1)
n, T, D = 3000, 10, 8
lengths = rng.integers(0, T + 1, n)
x = np.zeros((n, T, D), np.float32)
for i in range(n):
    for t in range(min(lengths[i], D)):
        x[i, t, t] = 1.0
    x[i, lengths[i]:] = np.nan
train, held = slice(0, 2400), slice(2400, n)

# %% model and training
model = lstmae.Model(D, hidden_dim=32, latent_dim=20, seed=7)
print(model)
history = model.fit(x[train], lengths[train], valid=x[held], valid_lengths=lengths[held],
                    epochs=15, batch_size=100, learning_rate=0.01,
                    callback=lambda r: print("epoch %2d  loss %.4f  held-out accuracy %.4f"
                                             % (r["epoch"], r["loss"], r["val_accuracy"])))
result = model.evaluate(x[held], lengths[held])
print("held-out accuracy %.4f after %d epochs, %.2f s"
      % (result["accuracy"], len(history["epoch"]), sum(history["seconds"])))

# %% what the model gives: latent vectors, reconstructions, anomaly scores
z = model.encode(x[held], lengths[held])
recon = model.reconstruct(x[held], lengths[held])
scores = model.score(x[held], lengths[held])
print("latent", z.shape, "reconstruction", recon.shape, "scores", scores.shape)

# %% save for C, and the curve
out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)
model.save(os.path.join(out, "seed.lstmae"))
np.save(os.path.join(out, "held.npy"), x[held])
np.save(os.path.join(out, "held_lengths.npy"), lengths[held].astype(np.int32))
np.save(os.path.join(out, "held_latent.npy"), z)
print("saved", os.path.join(out, "seed.lstmae"), "and the held-out set")
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib not installed: no curve (apt-get install python3-matplotlib)")
else:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(history["epoch"], history["loss"], label="training loss")
    ax.plot(history["epoch"], history["val_loss"], label="held-out loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("BCE per element")
    ax.set_yscale("log")
    ax2 = ax.twinx()
    ax2.plot(history["epoch"], history["val_accuracy"], "g--", label="held-out accuracy")
    ax2.set_ylabel("accuracy")
    fig.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "seed_curve.svg"))
    print("wrote", os.path.join(out, "seed_curve.svg"))
sys.exit(0 if result["accuracy"] >= 0.99 else 1)

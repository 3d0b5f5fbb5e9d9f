#!/usr/bin/python3
"""The lstmae benchmark model in idiomatic PyTorch (docs/performance.md).

Reads the data (and the configuration: D, H, Z, K, batch, loss) from a file
written by `lstmae_bench --write-data DIR`, so both sides train on the same
numbers, and measures the same things as bench/bench.c with the same
options: warm-up epochs (or batches), the median of N timed epochs (or runs
of B batches) of Adam (lr 1e-3, shuffled mini-batches), then the median of
R encoding passes; also the same per CPU second (time.process_time), as
bench.c's *_cpu_seq_per_s. Prints one line in bench.c's format:

  bench impl=torch-packed cell=lstm config=S threads=1 ... \
        train_seq_per_s=... encode_seq_per_s=... gflops=... \
        encode_gflops=... peak_rss_mb=...

The model is MODEL.md's: a K-layer nn.LSTM encoder, z = Linear(H -> Z) of
the top layer's final h, a K-layer nn.LSTM decoder whose input at every
step is z, Linear(H -> D) on every valid decoder step, and the loss (BCE
with logits or MSE) over the valid elements only. nn.LSTM keeps its two
bias vectors (PyTorch as people use it). --cell gru puts nn.GRU (two bias
vectors, as lstmae's GRU has) in place of nn.LSTM in both, everything
else the same (lstmae_bench --cell gru). --variant packed (the default)
runs both RNNs over PackedSequences; --variant padded runs them over the
padded batch and masks (see docs/performance.md for why both).

Usage: /usr/bin/python3 bench/torch_baseline.py --data DIR/M.bin
           [--cell lstm|gru] [--threads T] [--epochs N] [--batches B]
           [--warmup W] [--encode-count N] [--encode-reps R] [--quick]
           [--variant packed|padded]
Run it with Debian's interpreter (python3-torch): /usr/bin/python3.
"""

import argparse
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

# Per-configuration defaults, as in bench.c's CONFIGS table: (epochs,
# batches, encode_reps, quick encode count, quick batches).
DEFAULTS = {"S": (10, 0, 5, 1200, 0), "M": (3, 0, 3, 512, 0),
            "L": (2, 0, 2, 64, 1)}


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def read_data(path):
    """Reads a file written by `lstmae_bench --write-data` (see bench.c)."""
    raw = open(path, "rb").read()
    if raw[:8] != b"LSTMAEBD":
        sys.exit(f"{path}: not an lstmae_bench data file")
    header = np.frombuffer(raw, dtype=np.int32, count=9, offset=8)
    version, n, T, D, H, Z, K, batch, loss = (int(v) for v in header)
    if version != 1:
        sys.exit(f"{path}: data file version {version}, expected 1")
    off = 8 + 9 * 4
    lengths = np.frombuffer(raw, dtype=np.int32, count=n, offset=off)
    x = np.frombuffer(raw, dtype=np.float32, count=n * T * D, offset=off + 4 * n)
    cfg = dict(n=n, T=T, D=D, H=H, Z=Z, K=K, batch=batch,
               loss="bce" if loss == 0 else "mse")
    return cfg, torch.from_numpy(x.reshape(n, T, D).copy()), \
        torch.from_numpy(lengths.astype(np.int64))


# The recurrent module of each cell kind (lstmae_bench --cell).
CELLS = {"lstm": nn.LSTM, "gru": nn.GRU}


class Autoencoder(nn.Module):
    def __init__(self, D, H, Z, K, cell="lstm"):
        super().__init__()
        rnn = CELLS[cell]
        self.encoder = rnn(D, H, K, batch_first=True)
        self.latent = nn.Linear(H, Z)
        self.decoder = rnn(Z, H, K, batch_first=True)
        self.output = nn.Linear(H, D)

    def encode(self, x, lengths):
        """x [B, T, D] padded, lengths [B] (CPU int64, >= 1) -> z [B, Z]."""
        packed = pack_padded_sequence(x, lengths, batch_first=True,
                                      enforce_sorted=False)
        _, state = self.encoder(packed)  # LSTM: (h, c); GRU: h
        h = state[0] if isinstance(state, tuple) else state
        return self.latent(h[-1])

    def forward(self, x, lengths):
        """Logits (bce) or values (mse) of every valid step, packed:
        [sum(lengths), D], in the order of the packed input."""
        z = self.encode(x, lengths)
        T = x.shape[1]
        repeated = z.unsqueeze(1).expand(-1, T, -1)
        packed = pack_padded_sequence(repeated, lengths, batch_first=True,
                                      enforce_sorted=False)
        h, _ = self.decoder(packed)
        return self.output(h.data)

    # The same model without PackedSequence: the LSTMs run over the padded
    # batch (padding steps come after the valid ones, so they never reach a
    # valid output), h_enc is the top layer's output at step L - 1, and the
    # loss takes the valid steps only. More arithmetic (padding is
    # computed), but no packed-sequence autograd (see docs/performance.md).

    def encode_padded(self, x, lengths):
        out, _ = self.encoder(x)
        h_enc = out[torch.arange(x.shape[0]), lengths - 1]
        return self.latent(h_enc)

    def forward_padded(self, x, lengths, mask):
        """Logits or values of every valid step: [sum(lengths), D]."""
        z = self.encode_padded(x, lengths)
        h, _ = self.decoder(z.unsqueeze(1).expand(-1, x.shape[1], -1))
        return self.output(h[mask])


def masked_loss(model, x, lengths, loss, variant="packed"):
    """Mean loss over the valid elements. packed: the packed target holds
    exactly the valid steps in the decoder's packed order; padded: the
    valid steps picked by the mask. Either is the masked loss without
    multiplying padding by zero."""
    if variant == "packed":
        y = model(x, lengths)
        target = pack_padded_sequence(x, lengths, batch_first=True,
                                      enforce_sorted=False).data
    else:
        mask = torch.arange(x.shape[1]) < lengths.unsqueeze(1)
        y = model.forward_padded(x, lengths, mask)
        target = x[mask]
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(y, target)
    return F.mse_loss(y, target)


def batches_of(x, lengths, batch, gen):
    """Shuffled mini-batches, a new order every epoch, without end."""
    while True:
        perm = torch.randperm(x.shape[0], generator=gen)
        for start in range(0, x.shape[0], batch):
            idx = perm[start:start + batch]
            lb = lengths[idx]
            yield x[idx, :int(lb.max())], lb


def train_batch(model, opt, xb, lb, loss, variant):
    opt.zero_grad(set_to_none=True)
    l = masked_loss(model, xb, lb, loss, variant)
    l.backward()
    opt.step()
    return l.item()


def flops(cfg, cell, steps, seqs, encoder_only=False):
    """bench.c's model_flops / encoder_flops: matrix products only; G gate
    blocks per layer (LSTM 4, GRU 3)."""
    D, H, Z, K = cfg["D"], cfg["H"], cfg["Z"], cfg["K"]
    G = 3 if cell == "gru" else 4
    enc = sum(2.0 * ((D if k == 0 else H) + H) * G * H for k in range(K))
    f = steps * enc + seqs * 2.0 * H * Z
    if encoder_only:
        return f
    dec = sum(2.0 * ((Z if k == 0 else H) + H) * G * H for k in range(K))
    return f + steps * (dec + 2.0 * H * D)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True,
                    help="DIR/<config>.bin from lstmae_bench --write-data")
    ap.add_argument("--cell", choices=tuple(CELLS), default="lstm",
                    help="nn.LSTM (the default) or nn.GRU in the encoder "
                    "and the decoder")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--batches", type=int, default=-1)
    ap.add_argument("--encode-count", type=int, default=0)
    ap.add_argument("--encode-reps", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed epochs (batches with --batches)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--variant", choices=("packed", "padded"),
                    default="packed",
                    help="packed: PackedSequence (the default, what the "
                    "issue asks for); padded: the same model over padded "
                    "batches with a mask")
    args = ap.parse_args()

    torch.set_num_threads(max(args.threads, 1))
    torch.manual_seed(1)
    base_rss = rss_mb()

    name = os.path.basename(args.data).split(".")[0]
    cfg, x, lengths = read_data(args.data)
    d_epochs, d_batches, d_reps, d_quick_n, d_quick_b = \
        DEFAULTS.get(name, (3, 0, 3, 0, 0))
    epochs = args.epochs or (2 if args.quick else d_epochs)
    batches = args.batches if args.batches >= 0 else \
        (d_quick_b if args.quick else d_batches)
    reps = args.encode_reps or (1 if args.quick else d_reps)
    enc_n = args.encode_count or (d_quick_n if args.quick else cfg["n"])
    enc_n = min(enc_n, cfg["n"])

    model = Autoencoder(cfg["D"], cfg["H"], cfg["Z"], cfg["K"], args.cell)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(1)

    # Training, as bench.c: `warmup` epochs, then the median of `epochs`
    # timed ones; or, with `batches`, `warmup` batches, then the median of
    # `epochs` timed runs of `batches` consecutive batches.
    model.train()
    stream = batches_of(x, lengths, cfg["batch"], gen)
    per_epoch = -(-cfg["n"] // cfg["batch"])
    unit = batches or per_epoch
    last = float("nan")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(args.warmup * unit if not batches else args.warmup):
        last = train_batch(model, opt, *next(stream), cfg["loss"], args.variant)
    times, cpu_times = [], []
    for _ in range(epochs):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(unit):
            last = train_batch(model, opt, *next(stream), cfg["loss"],
                               args.variant)
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    # CPU over wall time of all training (bench.c's cpu_util: a diagnostic)
    cpu_util = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    train_time = statistics.median(times)
    train_cpu = statistics.median(cpu_times)
    seen = cfg["n"] if not batches else batches * cfg["batch"]
    train_steps = float(lengths.sum()) * seen / cfg["n"]

    # Encoding: the whole set (its first enc_n sequences) in one call.
    model.eval()
    xe, le = x[:enc_n], lengths[:enc_n]
    enc_times, enc_cpu = [], []
    encode = model.encode if args.variant == "packed" else model.encode_padded
    with torch.inference_mode():
        encode(x[:16], lengths[:16])  # warm-up
        for _ in range(reps):
            c0, t0 = time.process_time(), time.perf_counter()
            encode(xe, le)
            enc_times.append(time.perf_counter() - t0)
            enc_cpu.append(time.process_time() - c0)
    encode_time = statistics.median(enc_times)
    encode_cpu = statistics.median(enc_cpu)

    print(f"bench impl=torch-{args.variant} cell={args.cell} config={name} "
          f"threads={args.threads} "
          f"epochs={epochs} batches={batches} warmup={args.warmup} "
          f"encode_n={enc_n} "
          f"train_seq_per_s={seen / train_time:.1f} "
          f"encode_seq_per_s={enc_n / encode_time:.1f} "
          f"gflops="
          f"{3 * flops(cfg, args.cell, train_steps, seen) / train_time * 1e-9:.2f} "
          f"encode_gflops="
          f"{flops(cfg, args.cell, float(le.sum()), enc_n, True) / encode_time * 1e-9:.2f} "
          f"peak_rss_mb={rss_mb():.1f} base_rss_mb={base_rss:.1f} "
          f"unit_s={train_time:.4f} loss={last:.5f} cpu_util={cpu_util:.2f} "
          f"train_cpu_seq_per_s={seen / train_cpu:.1f} "
          f"encode_cpu_seq_per_s={enc_n / encode_cpu:.1f}",
          flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate the GRU layer cases of tests/data/gru with PyTorch's nn.GRU.

Each case is one nn.GRU layer (batch_first) run in float64 over a packed
batch of variable lengths, from weights and inputs that are exactly
representable in float32 (so that the float32 layer of lib/gru.c starts
from the same numbers). Sequences of length 0 have no rows: PyTorch's
pack_padded_sequence refuses them, so they are left out of the PyTorch
run, and their outputs and gradients are zero. With `repeat`, the input is
one vector per sequence, the same at every step (the decoder's z).

The loss is sum(h * R) over the valid steps, R fixed and random; the file
holds h (every valid step, padding 0) and the gradients of that loss for
the four tensors and the input.

Format (tests/test_gru.c reads it), one tensor per line:
    gru-layer 1
    config in_dim D hidden H batch B max_len T repeat 0|1
    lengths L_0 .. L_{B-1}
    <name> <count> <values...>
with the names weight_ih [3H][D], weight_hh [3H][H], bias_ih [3H],
bias_hh [3H], input [B][T][D] (repeat: [B][D]), R [B][T][H], h [B][T][H],
d_weight_ih, d_weight_hh, d_bias_ih, d_bias_hh, d_input.

Usage: /usr/bin/python3 tests/gen_gru_layer.py tests/data/gru
(Debian's python3-torch.)
"""
import os
import sys

import torch

CASES = [
    # name, in_dim, hidden, lengths, repeat, seed
    ("plain", 3, 5, [4, 0, 1, 6, 3, 6], 0, 1),
    ("repeat", 4, 3, [5, 1, 0, 2], 1, 2),
]


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def run_case(din, hid, lengths, repeat, seed):
    g = torch.Generator().manual_seed(seed)
    B, T = len(lengths), max(lengths)
    k = 1.0 / hid ** 0.5
    gru = torch.nn.GRU(din, hid, batch_first=True).double()
    with torch.no_grad():
        for p in gru.parameters():
            p.copy_(f32((torch.rand(p.shape, generator=g, dtype=torch.float64) * 2 - 1) * k * 2))
    if repeat:
        inp = f32(torch.rand(B, din, generator=g, dtype=torch.float64) * 2 - 1)
    else:
        inp = f32(torch.rand(B, T, din, generator=g, dtype=torch.float64) * 2 - 1)
        for b, L in enumerate(lengths):
            inp[b, L:] = 0.0
    R = f32(torch.rand(B, T, hid, generator=g, dtype=torch.float64) * 2 - 1)
    for b, L in enumerate(lengths):
        R[b, L:] = 0.0
    inp.requires_grad_(True)
    x = inp[:, None, :].expand(B, T, din) if repeat else inp
    live = [b for b in range(B) if lengths[b] > 0]
    h = torch.zeros(B, T, hid, dtype=torch.float64)
    xs = x[live]
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        xs, torch.tensor([lengths[b] for b in live]), batch_first=True,
        enforce_sorted=False)
    out, _ = gru(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                    total_length=T)
    h = h.index_copy(0, torch.tensor(live), out)
    loss = (h * R).sum()
    loss.backward()
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    params = {n: getattr(gru, n) for n in names}
    return B, T, params, inp, R, h.detach(), inp.grad


def fmt(name, t):
    v = t.detach().reshape(-1).tolist()
    return "%s %d %s\n" % (name, len(v), " ".join("%.17g" % x for x in v))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name, din, hid, lengths, repeat, seed in CASES:
        B, T, params, inp, R, h, dinp = run_case(din, hid, lengths, repeat, seed)
        with open(os.path.join(outdir, name + ".txt"), "w") as f:
            f.write("gru-layer 1\n")
            f.write("config in_dim %d hidden %d batch %d max_len %d repeat %d\n"
                    % (din, hid, B, T, repeat))
            f.write("lengths %s\n" % " ".join(str(L) for L in lengths))
            for n, p in params.items():
                f.write(fmt(n[:-3], p))
            f.write(fmt("input", inp))
            f.write(fmt("R", R))
            f.write(fmt("h", h))
            for n, p in params.items():
                f.write(fmt("d_" + n[:-3], p.grad))
            f.write(fmt("d_input", dinp))


if __name__ == "__main__":
    main()

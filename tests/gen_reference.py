#!/usr/bin/env python3
"""Generate (or re-check) lstmae reference cases with PyTorch.

Writes files in the "lstmae-reference 1" format of MODEL.md:

    lstmae-reference 1
    config input_dim D hidden_dim H latent_dim Z num_layers K loss L n N max_len T
    tensor <name> <rank> <dims...>
    <values>

The model is MODEL.md's: a K-layer LSTM encoder over the valid steps of each
sequence, z = W_z h_enc + b_z, a K-layer LSTM decoder fed z at every step,
y_t = W_o h_t + b_o, reconstruction sigmoid(y) (bce) or y (mse), loss the
mean over the valid elements.  Everything is computed in float64 with torch
autograd from parameters and inputs that are exactly representable in
float32; each LSTM layer has ONE bias vector (PyTorch's bias_ih + bias_hh,
i.e. PyTorch run with bias_hh frozen at zero).  Sequences are processed one
by one over their own valid steps only, so whatever the padding holds (NaN
included) never enters the computation.

Usage:
    gen_reference.py check [--impl hand|nn] [--float32] [--tol T] FILE...
        recompute every output tensor of FILE from its config, parameters
        and input; print the largest difference relative to each tensor's
        largest magnitude (adam3: MODEL.md's noise-floor entries, |grad| <
        1e-5 max|grad|, reported apart as adam3_floor_moved, the distance
        they moved); exit 1 above --tol (default 1e-6).  --impl nn uses
        PyTorch's modules (NNModel) instead of the hand-written cells;
        --float32 computes in float32, to see float32's own spread.
    gen_reference.py crosscheck [--tol T] FILE...
        the hand-written cells against PyTorch's modules, both float64, on
        FILE's config, parameters and input; exit 1 above --tol (1e-10)
    gen_reference.py generate [--seed S] OUTDIR [CASE...]
        write the case_gen_*.txt cases (CASES) and, into OUTDIR/v2, the
        v2_gen_*.txt ones (V2_CASES), deterministic for a given seed, or
        only the named ones

Cross-check (PyTorch 1.13.1, Debian), max over all tensors and cases of
|ours - file| / max|file tensor|:
    hand cell, float64, vs the 4 shared cases (PyTorch-made):  1.4e-7
    torch.nn.LSTM, float64, vs all 16 cases (shared + gen):   1.4e-7
    (that is float32 rounding of the printed values: 9 digits)
    float32 runs vs the files: hand cell 6.6e-6, nn.LSTM 2.1e-6 (adam3
    near the noise floor dominates; forward tensors stay below 1.1e-7).
    With the six cases of weights of scale 0.02 (22 files): torch.nn.LSTM,
    float64, 1.4e-7; float32 runs: hand cell 6.6e-6, nn.LSTM 4.4e-6,
    forward tensors below 2.7e-7.

Version 2 ("lstmae-reference 2", MODEL.md "Variants"): the config line adds
"cell lstm|gru bidirectional 0|1 reverse_target 0|1 decoder_init
zero|latent decoder_feedback 0|1", loss may be cross_entropy, and the file
holds a `decoded` tensor (lstmae_decode of each sequence's latent at its
own length, padding 0).  The model, every sequence alone over its own
valid steps:
  - cell: LSTM (gates i, f, g, o; one bias) or PyTorch's GRU (gates r, z,
    n; bias_ih and bias_hh, both trained);
  - bidirectional: each encoder layer also runs backwards over x_{L-1} ..
    x_0 (tensors *_reverse right after the layer's forward ones); the
    layer's output is [h_fwd; h_bwd] (2H, the next layer's input); h_enc
    = [h_fwd after step L-1; h_bwd after step 0]; latent.weight [Z, 2H];
  - reverse_target: decoder step t's target is x_{L-1-t};
    `reconstruction` and `decoded` are in the data's own time order;
  - decoder_init latent: bridge.{k}.weight [H, Z], bridge.{k}.bias [H]
    after latent.bias; decoder layer k starts at h_0 = tanh(W z + b),
    c_0 = 0;
  - decoder_feedback: decoder input [z; prev_t] (decoder.0.weight_ih
    [G*H, Z+D]), prev_0 = 0; the loss and `reconstruction` take prev_t =
    the previous target step (teacher forcing), `decoded` the model's own
    previous output (sigmoid for bce, softmax for cross_entropy, the value
    for mse), free running;
  - cross_entropy: p_t = softmax(y_t) over the D features; loss = sum over
    the valid steps of -sum_d x log p, over S_valid = sum L_i; accuracy =
    the share of valid steps with argmax y = argmax x (ties to the lowest
    index; a step whose target is all 0 adds 0 to the loss).
  bce's accuracy is as in version 1 (per element); mse has none.
V2_CASES cover the GRU alone, each of the four flags alone for both cells,
cross-entropy alone (one-hot targets, probability targets, all-zero target
steps), pairs, three and all four flags together, with 1, 2 and 3 layers,
lengths 0 and 1 in the sets, two sets with max_len 1, one with n 1, one
with weights of scale 0.02, and NaN / garbage padding.

Cross-check, version 2 (PyTorch 1.13.1; relative to each tensor's max):
    hand cells, float64, vs the 5 shared v2 cases (made by another
    implementation): 1.7e-7 (every tensor, grad, sgd1, adam3 and decoded
    included; float32 printing); --impl nn on the same files: 1.7e-7
    --impl nn vs the 36 v2_gen cases: 1.1e-7 (float32 printing)
    crosscheck, hand vs nn both in float64: the 36 v2_gen cases 1.0e-14
    (an adam3 tensor; other tensors below 7.4e-15), the 5 shared v2
    cases 6.0e-14 (adam3 of v2_gru_bce)
    float32 runs vs the 31 variant cases: hand 3.9e-6, nn 6.2e-6 (adam3);
    latent, reconstruction, decoded, loss, accuracy and grad below 2.9e-6.

Needs Debian's python3-torch (PyTorch 1.13); run it with /usr/bin/python3.
"""

import argparse
import math
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


# ---- the model -------------------------------------------------------------

def layer_shapes(part, k, ink, H, cell, suffix=""):
    """A recurrent layer's tensors: LSTM weight_ih, weight_hh, bias (4H
    rows); GRU weight_ih, weight_hh, bias_ih, bias_hh (3H rows).  suffix
    "_reverse" names a bidirectional encoder layer's backward direction."""
    if cell == "gru":
        return [(f"{part}.{k}.weight_ih{suffix}", (3 * H, ink)),
                (f"{part}.{k}.weight_hh{suffix}", (3 * H, H)),
                (f"{part}.{k}.bias_ih{suffix}", (3 * H,)),
                (f"{part}.{k}.bias_hh{suffix}", (3 * H,))]
    return [(f"{part}.{k}.weight_ih{suffix}", (4 * H, ink)),
            (f"{part}.{k}.weight_hh{suffix}", (4 * H, H)),
            (f"{part}.{k}.bias{suffix}", (4 * H,))]


def param_shapes(D, H, Z, K, cell="lstm", bidirectional=0, decoder_init="zero",
                 decoder_feedback=0, reverse_target=0):
    """(name, shape) of every parameter tensor, in MODEL.md order: encoder
    layers (forward tensors, then the _reverse ones), latent, bridge,
    decoder layers, output.  reverse_target adds no tensor."""
    del reverse_target
    out = []
    E = 2 * H if bidirectional else H      # an encoder layer's output width
    for k in range(K):
        ink = D if k == 0 else E
        out += layer_shapes("encoder", k, ink, H, cell)
        if bidirectional:
            out += layer_shapes("encoder", k, ink, H, cell, "_reverse")
    out += [("latent.weight", (Z, E)), ("latent.bias", (Z,))]
    if decoder_init == "latent":
        for k in range(K):
            out += [(f"bridge.{k}.weight", (H, Z)), (f"bridge.{k}.bias", (H,))]
    for k in range(K):
        ink = (Z + D if decoder_feedback else Z) if k == 0 else H
        out += layer_shapes("decoder", k, ink, H, cell)
    out += [("output.weight", (D, H)), ("output.bias", (D,))]
    return out


def variant(cfg):
    """The config's variant fields, their defaults filled in (version 1
    files have none)."""
    v = dict(cell="lstm", **V2_DEFAULTS)
    v.update({k: cfg[k] for k in V2_KEYS if k in cfg})
    return v


def cfg_shapes(cfg):
    return param_shapes(cfg["input_dim"], cfg["hidden_dim"], cfg["latent_dim"],
                        cfg["num_layers"], **variant(cfg))


def lstm_cell(W, u, state):
    """One LSTM step (gate blocks i, f, g, o; one bias).  state (h, c)."""
    Wih, Whh, b = W
    h, c = state
    H = h.shape[0]
    a = Wih @ u + Whh @ h + b
    i = torch.sigmoid(a[0:H])
    f = torch.sigmoid(a[H:2 * H])
    g = torch.tanh(a[2 * H:3 * H])
    o = torch.sigmoid(a[3 * H:4 * H])
    c = f * c + i * g
    h = o * torch.tanh(c)
    return h, (h, c)


def gru_cell(W, u, state):
    """One GRU step (PyTorch's: gate blocks r, z, n, two biases).  state (h,)."""
    Wih, Whh, bih, bhh = W
    (h,) = state
    H = h.shape[0]
    gi = Wih @ u + bih
    gh = Whh @ h + bhh
    r = torch.sigmoid(gi[0:H] + gh[0:H])
    z = torch.sigmoid(gi[H:2 * H] + gh[H:2 * H])
    n = torch.tanh(gi[2 * H:3 * H] + r * gh[2 * H:3 * H])
    h = (1 - z) * n + z * h
    return h, (h,)


class HandModel:
    """The recurrent parts written out cell by cell (lstm_cell, gru_cell):
    the generator's model.  P maps lstmae's names to leaf tensors."""

    def __init__(self, P0, dtype, cfg):
        self.P = {k: torch.tensor(v, dtype=dtype, requires_grad=True) for k, v in P0.items()}
        v = variant(cfg)
        self.gru = v["cell"] == "gru"
        self.bidir = bool(v["bidirectional"])
        self.K, self.H = cfg["num_layers"], cfg["hidden_dim"]
        self.dtype = dtype

    def _w(self, part, k, suffix=""):
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if self.gru else \
                ("weight_ih", "weight_hh", "bias")
        return tuple(self.P[f"{part}.{k}.{nm}{suffix}"] for nm in names)

    def _state(self, h):
        return (h,) if self.gru else (h, torch.zeros(self.H, dtype=self.dtype))

    def _run(self, W, inputs, state):
        cell = gru_cell if self.gru else lstm_cell
        outs = []
        for u in inputs:
            h, state = cell(W, u, state)
            outs.append(h)
        return outs

    def encode(self, steps):
        """h_enc of one sequence's valid steps (at least one)."""
        seq = steps
        zero = torch.zeros(self.H, dtype=self.dtype)
        for k in range(self.K):
            fw = self._run(self._w("encoder", k), seq, self._state(zero))
            if self.bidir:
                # the backward direction over x_{L-1} .. x_0, its outputs
                # put back in time order
                bw = self._run(self._w("encoder", k, "_reverse"), seq[::-1],
                               self._state(zero))[::-1]
                seq = [torch.cat([f, b]) for f, b in zip(fw, bw)]
            else:
                seq = fw
        if self.bidir:
            return torch.cat([seq[-1][:self.H], seq[0][self.H:]])
        return seq[-1]

    def dec_init(self, h0s):
        """The decoder's state from each layer's h_0 (c_0 = 0)."""
        return [self._state(h) for h in h0s]

    def dec_step(self, u, states):
        cell = gru_cell if self.gru else lstm_cell
        new = []
        for k in range(self.K):
            u, st = cell(self._w("decoder", k), u, states[k])
            new.append(st)
        return u, new

    def dec_run(self, inputs, states):
        """The top layer's h at each step, every input known beforehand."""
        outs = []
        for u in inputs:
            h, states = self.dec_step(u, states)
            outs.append(h)
        return outs


class NNModel:
    """The same model on PyTorch's own modules, for cross-checking the
    hand-written cells: torch.nn.GRU / torch.nn.LSTM (bidirectional=True
    for a bidirectional encoder; every sequence run alone over its valid
    steps, which is what pack_padded_sequence gives), the decoder called
    on the whole input sequence, or stepped one step at a time where the
    input is the model's own previous output.  A GRU's tensors are all
    the module's own; an LSTM's bias_ih holds lstmae's single bias and
    bias_hh is frozen at zero.  The losses are torch.nn.functional's."""

    def __init__(self, P0, dtype, cfg):
        D, H, Z, K = cfg["input_dim"], cfg["hidden_dim"], cfg["latent_dim"], cfg["num_layers"]
        v = variant(cfg)
        self.gru = v["cell"] == "gru"
        self.bidir = bool(v["bidirectional"])
        self.K, self.H, self.dtype = K, H, dtype
        module = torch.nn.GRU if self.gru else torch.nn.LSTM
        names = ({"weight_ih": "weight_ih", "weight_hh": "weight_hh", "bias_ih": "bias_ih",
                  "bias_hh": "bias_hh"} if self.gru else
                 {"weight_ih": "weight_ih", "weight_hh": "weight_hh", "bias": "bias_ih"})
        dec_in = Z + D if v["decoder_feedback"] else Z
        self.enc = module(D, H, num_layers=K, batch_first=True,
                          bidirectional=self.bidir).to(dtype)
        self.dec = module(dec_in, H, num_layers=K, batch_first=True).to(dtype)
        P = {}
        with torch.no_grad():
            for part, mod, sfxs in (("encoder", self.enc, ("", "_reverse") if self.bidir else ("",)),
                                    ("decoder", self.dec, ("",))):
                for k in range(K):
                    for sfx in sfxs:
                        for ours, theirs in names.items():
                            prm = getattr(mod, "%s_l%d%s" % (theirs, k, sfx))
                            nm = "%s.%d.%s%s" % (part, k, ours, sfx)
                            prm.copy_(torch.tensor(P0[nm], dtype=dtype))
                            P[nm] = prm
                        if not self.gru:
                            bhh = getattr(mod, "bias_hh_l%d%s" % (k, sfx))
                            bhh.zero_()
                            bhh.requires_grad_(False)
        for nm in P0:
            if nm not in P:
                P[nm] = torch.tensor(P0[nm], dtype=dtype, requires_grad=True)
        self.P = P

    def encode(self, steps):
        _, hn = self.enc(torch.stack(steps)[None])
        if not self.gru:
            hn = hn[0]
        if self.bidir:      # h_n[-2], h_n[-1]: the top layer's two directions
            return torch.cat([hn[-2, 0], hn[-1, 0]])
        return hn[-1, 0]

    def dec_init(self, h0s):
        h0 = torch.stack(h0s)[:, None, :]
        return h0 if self.gru else (h0, torch.zeros_like(h0))

    def dec_step(self, u, state):
        out, state = self.dec(u[None, None], state)
        return out[0, 0], state

    def dec_run(self, inputs, state):
        out, _ = self.dec(torch.stack(inputs)[None], state)
        return list(out[0])


def forward(M, cfg, x, lengths, use_functional=False):
    """Returns (latent [n,Z], reconstruction [n,T,D], loss (scalar tensor),
    accuracy (float or None), decoded ([n,T,D], version 2 only, else
    None)).  M: a HandModel or NNModel (its P holds every parameter);
    use_functional: the loss by torch.nn.functional instead of written
    out.  Each sequence runs alone over its own valid steps."""
    P = M.P
    D, H, K = cfg["input_dim"], cfg["hidden_dim"], cfg["num_layers"]
    n, T = cfg["n"], cfg["max_len"]
    v = variant(cfg)
    loss_kind = cfg["loss"]
    rev, fb = bool(v["reverse_target"]), bool(v["decoder_feedback"])
    bridge = v["decoder_init"] == "latent"
    E = 2 * H if v["bidirectional"] else H
    dt = P["output.bias"].dtype
    F = torch.nn.functional

    def out_layer(h):
        return P["output.weight"] @ h + P["output.bias"]

    def prob(y):    # what the model outputs: reconstruction, decoded, feedback
        if loss_kind == "bce":
            return torch.sigmoid(y)
        if loss_kind == "cross_entropy":
            return torch.softmax(y, dim=-1)
        return y

    def h0s(z):
        if bridge:
            return [torch.tanh(P[f"bridge.{k}.weight"] @ z + P[f"bridge.{k}.bias"])
                    for k in range(K)]
        return [torch.zeros(H, dtype=dt) for _ in range(K)]

    def data_order(rows, L):
        """Decoder step t is data step L-1-t with reverse_target."""
        return rows.flip(0) if rev else rows

    latents = []
    recon = torch.zeros(n, T, D, dtype=dt)
    total = torch.zeros((), dtype=dt)
    n_steps = 0
    correct = 0
    for s in range(n):
        L = int(lengths[s])
        steps = [x[s, t] for t in range(L)]          # valid steps only
        h_enc = M.encode(steps) if L > 0 else torch.zeros(E, dtype=dt)
        z = P["latent.weight"] @ h_enc + P["latent.bias"]
        latents.append(z)
        if L == 0:
            continue
        tgt = steps[::-1] if rev else steps
        if fb:      # teacher forcing: the previous target step, 0 first
            prev = [torch.zeros(D, dtype=dt)] + tgt[:-1]
            inputs = [torch.cat([z, p]) for p in prev]
        else:
            inputs = [z] * L
        dec = M.dec_run(inputs, M.dec_init(h0s(z)))
        y = torch.stack([out_layer(h) for h in dec])      # [L, D], decoder order
        X = torch.stack(tgt)
        if loss_kind == "bce":
            if use_functional:
                total = total + F.binary_cross_entropy_with_logits(y, X, reduction="sum")
            else:
                # max(y, 0) - y x + log(1 + exp(-|y|))
                total = total + (torch.clamp(y, min=0) - y * X +
                                 torch.log1p(torch.exp(-torch.abs(y)))).sum()
            correct += int(((y > 0) == (X > 0.5)).sum())
        elif loss_kind == "cross_entropy":
            if use_functional:    # probability targets (PyTorch >= 1.10)
                total = total + F.cross_entropy(y, X, reduction="sum")
            else:
                total = total - (X * torch.log_softmax(y, dim=-1)).sum()
            yn, xn = y.detach().numpy(), X.numpy()
            # np.argmax: ties to the lowest index
            correct += int((np.argmax(yn, axis=1) == np.argmax(xn, axis=1)).sum())
        else:
            if use_functional:
                total = total + F.mse_loss(y, X, reduction="sum")
            else:
                total = total + ((y - X) ** 2).sum()
        n_steps += L
        recon[s, :L] = data_order(prob(y), L).detach()
    latent = torch.stack(latents)
    decoded = None
    if cfg.get("version", 1) >= 2:
        # lstmae_decode of each latent at its own length: from z alone,
        # feeding back the model's own previous output
        decoded = torch.zeros(n, T, D, dtype=dt)
        with torch.no_grad():
            for s in range(n):
                L = int(lengths[s])
                if L == 0:
                    continue
                z = latents[s].detach()
                st = M.dec_init(h0s(z))
                if fb:
                    p = torch.zeros(D, dtype=dt)
                    rows = []
                    for _ in range(L):
                        h, st = M.dec_step(torch.cat([z, p]), st)
                        p = prob(out_layer(h))
                        rows.append(p)
                    rows = torch.stack(rows)
                else:
                    rows = prob(torch.stack([out_layer(h) for h in M.dec_run([z] * L, st)]))
                decoded[s, :L] = data_order(rows, L)
    if n_steps == 0:
        raise ValueError("every sequence is empty: loss undefined")
    if loss_kind == "cross_entropy":
        loss = total / n_steps                      # per valid step
        acc = correct / n_steps
    else:
        loss = total / (n_steps * D)                # per valid element
        acc = correct / (n_steps * D) if loss_kind == "bce" else None
    return latent, recon, loss, acc, decoded


def compute_case(cfg, P0, x_np, lengths, dtype=torch.float64, impl="hand"):
    """P0: dict name -> float64 numpy arrays (float32-representable).
    Returns dict of output tensors (numpy float64).  dtype float32 gives a
    float32 run, for measuring how far float32 rounding moves each tensor;
    impl "nn" runs PyTorch's modules (NNModel) instead of the hand-written
    cells."""
    Model = NNModel if impl == "nn" else HandModel
    use_f = impl == "nn"
    names = [nm for nm, _ in cfg_shapes(cfg)]
    x = torch.tensor(x_np, dtype=dtype)
    out = {}

    # forward, gradient
    M = Model(P0, dtype, cfg)
    latent, recon, loss, acc, decoded = forward(M, cfg, x, lengths, use_f)
    loss.backward()
    out["latent"] = latent.detach().numpy().astype(np.float64)
    out["reconstruction"] = recon.numpy().astype(np.float64)
    if decoded is not None:
        out["decoded"] = decoded.numpy().astype(np.float64)
    out["loss"] = np.array([loss.item()])
    if acc is not None:
        out["accuracy"] = np.array([acc])
    for nm in names:
        out["grad." + nm] = M.P[nm].grad.numpy().astype(np.float64)

    # one SGD step, lr 0.1, whole set as one batch
    M = Model(P0, dtype, cfg)
    opt = torch.optim.SGD([M.P[nm] for nm in names], lr=0.1)
    opt.zero_grad()
    forward(M, cfg, x, lengths, use_f)[2].backward()
    opt.step()
    for nm in names:
        out["sgd1." + nm] = M.P[nm].detach().numpy().astype(np.float64)

    # three Adam steps, lr 0.01, defaults otherwise, whole set each time
    M = Model(P0, dtype, cfg)
    opt = torch.optim.Adam([M.P[nm] for nm in names], lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        forward(M, cfg, x, lengths, use_f)[2].backward()
        opt.step()
    for nm in names:
        out["adam3." + nm] = M.P[nm].detach().numpy().astype(np.float64)
    return out


# ---- the file format -------------------------------------------------------

CONFIG_KEYS = ("input_dim", "hidden_dim", "latent_dim", "num_layers", "loss", "n", "max_len")
V2_KEYS = ("cell", "bidirectional", "reverse_target", "decoder_init", "decoder_feedback")
V2_DEFAULTS = dict(bidirectional=0, reverse_target=0, decoder_init="zero", decoder_feedback=0)
WORD_KEYS = ("loss", "cell", "decoder_init")


def read_case(path):
    with open(path) as f:
        tok = f.read().split()
    pos = 0
    assert tok[0] == "lstmae-reference" and tok[1] in ("1", "2"), path
    assert tok[2] == "config"
    pos = 3
    cfg = {"version": int(tok[1])}
    while tok[pos] != "tensor":
        key, val = tok[pos], tok[pos + 1]
        cfg[key] = val if key in WORD_KEYS else int(val)
        pos += 2
    tensors = {}
    order = []
    while pos < len(tok):
        assert tok[pos] == "tensor"
        name = tok[pos + 1]
        rank = int(tok[pos + 2])
        dims = tuple(int(d) for d in tok[pos + 3:pos + 3 + rank])
        pos += 3 + rank
        cnt = int(np.prod(dims)) if rank else 1
        vals = np.array([float(v) for v in tok[pos:pos + cnt]], dtype=np.float64)
        pos += cnt
        tensors[name] = vals.reshape(dims)
        order.append(name)
    return cfg, tensors, order


def fmt(v):
    v = float(np.float32(v))
    if math.isnan(v):
        return "nan"
    s = "%.9g" % v
    return s


def write_tensor(f, name, arr, integer=False):
    arr = np.asarray(arr)
    dims = arr.shape
    f.write("tensor %s %d %s\n" % (name, len(dims), " ".join(str(d) for d in dims)))
    if integer:
        f.write(" ".join(str(int(v)) for v in arr.reshape(-1)) + "\n")
        return
    row = dims[-1] if len(dims) >= 2 else max(1, arr.size)
    flat = arr.reshape(-1)
    for r in range(0, flat.size, row):
        f.write(" ".join(fmt(v) for v in flat[r:r + row]) + "\n")


def write_case(path, cfg, P0, x_np, lengths, out):
    names = [nm for nm, _ in cfg_shapes(cfg)]
    v2 = cfg.get("version", 1) >= 2
    keys = CONFIG_KEYS + (V2_KEYS if v2 else ())
    with open(path, "w") as f:
        f.write("lstmae-reference %d\n" % (2 if v2 else 1))
        f.write("config " + " ".join("%s %s" % (k, cfg[k]) for k in keys) + "\n")
        for nm in names:
            write_tensor(f, nm, P0[nm])
        write_tensor(f, "input", x_np)
        write_tensor(f, "lengths", np.asarray(lengths), integer=True)
        write_tensor(f, "latent", out["latent"])
        write_tensor(f, "reconstruction", out["reconstruction"])
        if v2:
            write_tensor(f, "decoded", out["decoded"])
        write_tensor(f, "loss", out["loss"])
        if "accuracy" in out:
            write_tensor(f, "accuracy", out["accuracy"])
        for pre in ("grad.", "sgd1.", "adam3."):
            for nm in names:
                write_tensor(f, pre + nm, out[pre + nm])


# ---- check mode ------------------------------------------------------------

def check(paths, tol, impl="hand", dtype=torch.float64):
    worst_all = 0.0
    for path in paths:
        cfg, T, order = read_case(path)
        names = [nm for nm, _ in cfg_shapes(cfg)]
        P0 = {nm: T[nm] for nm in names}
        lengths = [int(v) for v in T["lengths"]]
        out = compute_case(cfg, P0, T["input"], lengths, dtype=dtype, impl=impl)
        expected = [k for k in order if k not in names and k not in ("input", "lengths")]
        missing = set(out) ^ set(expected)
        if missing:
            print("%s: tensors differ in set: %s" % (path, sorted(missing)))
            worst_all = math.inf
        worst = (0.0, None)
        per_kind = {}
        for k in expected:
            if k not in out:
                continue
            want = T[k]
            got = out[k]
            # compare our float64 result, rounded to float32 as the file is
            got32 = got.astype(np.float32).astype(np.float64)
            scale = float(np.max(np.abs(want))) if want.size else 0.0
            kind = k.split(".")[0] if "." in k else k
            d = np.abs(got32 - want)
            if kind == "adam3":
                # MODEL.md: entries whose gradient is below 1e-5 of the
                # tensor's largest sit at float32's noise floor; only their
                # displacement from the start (at most 3 lr) is reported
                g = np.abs(T["grad." + k[len("adam3."):]])
                at_floor = g < 1e-5 * g.max()
                if at_floor.any():
                    moved = np.abs(got32 - T[k[len("adam3."):]])[at_floor]
                    per_kind["adam3_floor_moved"] = max(
                        per_kind.get("adam3_floor_moved", 0.0), float(moved.max()))
                d = np.where(at_floor, 0.0, d)
            diff = float(np.max(d)) if want.size else 0.0
            rel = diff / scale if scale > 0 else diff
            per_kind[kind] = max(per_kind.get(kind, 0.0), rel)
            if rel > worst[0]:
                worst = (rel, k)
        print("%s: worst %.3g (%s); by kind: %s" % (
            os.path.basename(path), worst[0], worst[1],
            ", ".join("%s %.2g" % kv for kv in sorted(per_kind.items()))))
        worst_all = max(worst_all, worst[0])
    print("overall worst relative difference: %.3g (tolerance %.3g)" % (worst_all, tol))
    return 0 if worst_all <= tol else 1


def crosscheck(paths, tol):
    """The hand-written cells against PyTorch's modules, both in float64,
    on each file's config, parameters and input (the file's outputs are
    not read): the largest |hand - nn| relative to each tensor's largest
    |nn| value, over every output tensor."""
    worst_all = 0.0
    for path in paths:
        cfg, T, _ = read_case(path)
        names = [nm for nm, _ in cfg_shapes(cfg)]
        P0 = {nm: T[nm] for nm in names}
        lengths = [int(v) for v in T["lengths"]]
        hand = compute_case(cfg, P0, T["input"], lengths, impl="hand")
        ref = compute_case(cfg, P0, T["input"], lengths, impl="nn")
        assert set(hand) == set(ref)
        worst = (0.0, None)
        for k, want in ref.items():
            scale = float(np.max(np.abs(want))) if want.size else 0.0
            diff = float(np.max(np.abs(hand[k] - want))) if want.size else 0.0
            rel = diff / scale if scale > 0 else diff
            if rel >= worst[0]:
                worst = (rel, k)
        print("%s: hand vs nn, float64: worst %.3g (%s)" % (
            os.path.basename(path), worst[0], worst[1]))
        worst_all = max(worst_all, worst[0])
    print("overall worst relative difference: %.3g (tolerance %.3g)" % (worst_all, tol))
    return 0 if worst_all <= tol else 1


# ---- generate mode ---------------------------------------------------------

def f32(a):
    """Round to float32, return float64 (exactly representable)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def init_params(rng, cfg, init=None):
    """Uniform(-1/sqrt(H), 1/sqrt(H)) like PyTorch's initialisation, drawn
    in float32 (so exactly representable); the bias is one vector of the
    same range.  The small initialisations that leave gates and cell
    states near 0, where tanh and sigmoid need their full relative
    precision: init ("uniform", s), uniform(-s, s) for every parameter;
    ("normal", s), normal(0, s) for the weights and zero biases (BERT's
    and GPT-2's initialiser, with s = 0.02)."""
    H = cfg["hidden_dim"]
    kind, scale = init if init else ("uniform", 1.0 / math.sqrt(H))
    P0 = {}
    for nm, shape in cfg_shapes(cfg):
        if kind == "normal":
            is_bias = nm.split(".")[-1].startswith("bias")
            w = np.zeros(shape) if is_bias else rng.standard_normal(size=shape) * scale
        else:
            w = rng.uniform(-scale, scale, size=shape)
        P0[nm] = f32(np.asarray(w).astype(np.float32))
    return P0


PAD_VALUES = np.array([75000.0, -2500000.0, 123456.0, -999999.0, 1e6, -300000.0], dtype=np.float32)


def make_input(rng, cfg, lengths, pad, targets="onehot", zero_steps=()):
    """The input [n, T, D]: bce data in [0, 1] (exact 0s and 1s among
    uniform values), mse standard normal, cross_entropy one distribution
    per step (targets "onehot", or "prob": uniform weights normalised, in
    float32); zero_steps lists (s, t) valid steps set to all 0 (for
    cross-entropy, a step that adds nothing to the loss).  Padding: "nan",
    "garbage" (huge values) or "mixed" (huge values and NaNs)."""
    n, T, D = cfg["n"], cfg["max_len"], cfg["input_dim"]
    if cfg["loss"] == "bce":
        # data in [0, 1]: a mix of exact 0, exact 1 and uniform values
        u = rng.uniform(0, 1, size=(n, T, D)).astype(np.float32)
        r = rng.uniform(0, 1, size=(n, T, D))
        x = np.where(r < 0.3, 0.0, np.where(r < 0.6, 1.0, u)).astype(np.float32)
    elif cfg["loss"] == "cross_entropy":
        if targets == "prob":
            w = rng.uniform(0, 1, size=(n, T, D)) ** 2
            x = (w / w.sum(axis=2, keepdims=True)).astype(np.float32)
        else:
            x = np.eye(D, dtype=np.float32)[rng.integers(0, D, size=(n, T))]
    else:
        x = rng.standard_normal(size=(n, T, D)).astype(np.float32)
    for s, t in zero_steps:
        assert t < lengths[s], "a zero step must be a valid step"
        x[s, t, :] = 0.0
    for s in range(n):
        for t in range(lengths[s], T):
            if pad == "nan":
                x[s, t, :] = np.nan
            elif pad == "mixed":
                # huge garbage, with a NaN in every other padding step
                vals = rng.choice(PAD_VALUES, size=D).astype(np.float32)
                if (s + t) % 2 == 0:
                    vals[rng.integers(0, D)] = np.nan
                x[s, t, :] = vals
            else:  # garbage
                x[s, t, :] = (rng.uniform(-1, 1, size=D) *
                              rng.choice(PAD_VALUES, size=D)).astype(np.float32)
    return f32(x)


CASES = [
    # name, D, H, Z, K, loss, n, T, lengths, padding[, init (init_params)]
    ("case_gen_mse_deep3", 3, 5, 4, 3, "mse", 4, 6, [6, 2, 0, 5], "garbage"),
    ("case_gen_bce_d1", 1, 6, 3, 1, "bce", 5, 8, [8, 3, 1, 0, 6], "garbage"),
    ("case_gen_mse_d1_t1", 1, 4, 2, 2, "mse", 3, 1, [1, 0, 1], "garbage"),
    ("case_gen_bce_t1", 4, 5, 3, 1, "bce", 4, 1, [1, 1, 0, 1], "garbage"),
    ("case_gen_mse_z_gt_h", 4, 3, 7, 1, "mse", 4, 5, [5, 0, 3, 1], "garbage"),
    ("case_gen_bce_z_gt_h_2layer", 3, 4, 9, 2, "bce", 3, 4, [4, 2, 4], "garbage"),
    ("case_gen_bce_n1", 6, 8, 5, 1, "bce", 1, 7, [7], "garbage"),
    ("case_gen_mse_n1_short", 2, 5, 3, 2, "mse", 1, 6, [3], "nan"),
    ("case_gen_bce_nanpad", 5, 7, 4, 2, "bce", 6, 9, [9, 0, 4, 1, 9, 6], "nan"),
    ("case_gen_mse_nanpad", 4, 6, 5, 1, "mse", 5, 8, [2, 8, 0, 7, 5], "mixed"),
    ("case_gen_bce_full_nolen", 3, 6, 4, 1, "bce", 3, 5, [5, 5, 5], "garbage"),
    ("case_gen_mse_wide", 10, 10, 8, 1, "mse", 4, 6, [6, 0, 3, 6], "garbage"),
    # weights of scale 0.02: gates and cell states of 1e-5 .. 1e-2, where
    # 2 / (1 + exp(-2x)) - 1 lost 1e-4 .. 1e-1 of tanh's relative precision
    ("case_gen_bce_w002", 4, 8, 3, 1, "bce", 4, 7, [7, 3, 0, 5], "garbage", ("normal", 0.02)),
    ("case_gen_bce_w002_2layer", 3, 6, 4, 2, "bce", 3, 6, [6, 2, 4], "nan", ("normal", 0.02)),
    ("case_gen_mse_w002", 5, 8, 4, 1, "mse", 4, 6, [6, 1, 4, 6], "garbage", ("normal", 0.02)),
    ("case_gen_mse_w002_2layer", 3, 7, 5, 2, "mse", 3, 8, [8, 5, 0], "mixed", ("normal", 0.02)),
    ("case_gen_bce_u002_2layer", 3, 6, 4, 2, "bce", 3, 6, [6, 2, 4], "nan", ("uniform", 0.02)),
    ("case_gen_mse_u002", 5, 8, 4, 1, "mse", 4, 10, [10, 1, 4, 9], "garbage", ("uniform", 0.02)),
]


def v2(cell="lstm", b=0, r=0, i=0, f=0, **more):
    """A version-2 case's options: the cell, the variant flags
    (bidirectional, reverse_target, decoder_init latent, decoder_feedback)
    and make_input's / init_params' (targets, zero_steps, init)."""
    return dict(cell=cell, bidirectional=b, reverse_target=r,
                decoder_init="latent" if i else "zero", decoder_feedback=f, **more)


ALL = dict(b=1, r=1, i=1, f=1)
W002 = ("normal", 0.02)
CE = "cross_entropy"

# Version 2 (written to OUTDIR/v2): name, D, H, Z, K, loss, n, T, lengths,
# padding, options (v2()).  The first five, the GRU with every other
# variant at its default, keep their seeds (the seed is the position in
# this list): append new cases at the end.  Any number of tensors
# (test_reference.c's scratch grows): the last two, 3-layer bidirectional
# GRUs, have 40 and 46.
V2_CASES = [
    ("v2_gen_gru_bce", 4, 5, 3, 1, "bce", 4, 6, [6, 0, 1, 4], "garbage", v2("gru")),
    ("v2_gen_gru_mse_2layer", 3, 6, 4, 2, "mse", 4, 7, [7, 1, 0, 5], "nan", v2("gru")),
    ("v2_gen_gru_bce_2layer_t1", 5, 4, 6, 2, "bce", 3, 1, [1, 0, 1], "mixed", v2("gru")),
    ("v2_gen_gru_mse_w002", 4, 8, 3, 1, "mse", 4, 6, [6, 3, 0, 1], "garbage",
     v2("gru", init=W002)),
    ("v2_gen_gru_bce_n1", 2, 5, 3, 1, "bce", 1, 5, [5], "garbage", v2("gru")),
    # each variant alone, for both cells
    ("v2_gen_lstm_bidir_bce", 4, 5, 3, 1, "bce", 4, 6, [6, 0, 1, 4], "garbage", v2(b=1)),
    ("v2_gen_gru_bidir_mse_2layer", 3, 4, 5, 2, "mse", 4, 5, [5, 2, 0, 1], "nan",
     v2("gru", b=1)),
    ("v2_gen_lstm_reverse_mse", 3, 6, 4, 1, "mse", 4, 7, [7, 1, 0, 4], "mixed", v2(r=1)),
    ("v2_gen_gru_reverse_bce_2layer", 4, 5, 3, 2, "bce", 3, 6, [6, 3, 1], "garbage",
     v2("gru", r=1)),
    ("v2_gen_lstm_latentinit_bce", 5, 6, 4, 1, "bce", 4, 6, [6, 0, 2, 5], "nan", v2(i=1)),
    ("v2_gen_gru_latentinit_mse_2layer", 3, 5, 4, 2, "mse", 4, 5, [5, 1, 0, 3], "garbage",
     v2("gru", i=1)),
    ("v2_gen_lstm_feedback_mse", 3, 5, 4, 1, "mse", 4, 6, [6, 1, 0, 4], "garbage", v2(f=1)),
    ("v2_gen_gru_feedback_bce", 4, 6, 3, 1, "bce", 4, 7, [7, 2, 1, 0], "mixed",
     v2("gru", f=1)),
    ("v2_gen_lstm_ce_onehot", 5, 6, 4, 1, CE, 5, 6, [6, 0, 1, 3, 6], "nan", v2()),
    ("v2_gen_gru_ce_onehot_2layer", 4, 5, 3, 2, CE, 4, 6, [6, 2, 0, 1], "garbage", v2("gru")),
    ("v2_gen_lstm_ce_prob_zero", 4, 6, 5, 1, CE, 4, 6, [6, 4, 0, 1], "garbage",
     v2(targets="prob", zero_steps=[(0, 2), (1, 0)])),
    ("v2_gen_gru_ce_onehot_zero", 6, 5, 4, 1, CE, 4, 5, [5, 3, 1, 0], "nan",
     v2("gru", zero_steps=[(0, 4), (2, 0)])),
    # pairs
    ("v2_gen_lstm_bidir_reverse_mse_2layer", 3, 5, 4, 2, "mse", 4, 6, [6, 1, 0, 3], "garbage",
     v2(b=1, r=1)),
    ("v2_gen_gru_bidir_latentinit_bce", 4, 5, 3, 1, "bce", 4, 6, [6, 0, 1, 5], "nan",
     v2("gru", b=1, i=1)),
    ("v2_gen_lstm_bidir_feedback_ce", 5, 5, 4, 1, CE, 4, 6, [6, 2, 1, 0], "garbage",
     v2(b=1, f=1)),
    ("v2_gen_gru_reverse_latentinit_mse", 3, 6, 3, 1, "mse", 4, 7, [7, 0, 1, 5], "mixed",
     v2("gru", r=1, i=1)),
    ("v2_gen_lstm_reverse_feedback_bce_2layer", 4, 5, 4, 2, "bce", 4, 6, [6, 1, 3, 0],
     "garbage", v2(r=1, f=1)),
    ("v2_gen_gru_latentinit_feedback_mse", 3, 5, 4, 1, "mse", 4, 6, [6, 2, 0, 1], "nan",
     v2("gru", i=1, f=1)),
    ("v2_gen_lstm_reverse_ce_3layer", 4, 4, 3, 3, CE, 3, 5, [5, 1, 3], "garbage", v2(r=1)),
    ("v2_gen_gru_feedback_ce_prob", 5, 6, 4, 1, CE, 4, 6, [6, 3, 0, 1], "garbage",
     v2("gru", f=1, targets="prob", zero_steps=[(1, 1)])),
    ("v2_gen_lstm_latentinit_ce_2layer", 4, 5, 4, 2, CE, 4, 5, [5, 0, 2, 1], "nan", v2(i=1)),
    ("v2_gen_gru_bidir_ce", 5, 4, 3, 1, CE, 4, 6, [6, 1, 4, 0], "mixed", v2("gru", b=1)),
    # three, and all four
    ("v2_gen_lstm_bidir_reverse_feedback_bce_3layer", 3, 4, 3, 3, "bce", 3, 5, [5, 0, 2],
     "garbage", v2(b=1, r=1, f=1)),
    ("v2_gen_gru_reverse_latentinit_feedback_ce", 4, 5, 4, 2, CE, 4, 6, [6, 1, 0, 3], "nan",
     v2("gru", r=1, i=1, f=1)),
    ("v2_gen_lstm_all_ce_2layer", 5, 6, 4, 2, CE, 4, 6, [6, 0, 1, 4], "garbage",
     v2(**ALL, zero_steps=[(3, 2)])),
    ("v2_gen_gru_all_mse_2layer", 3, 4, 4, 2, "mse", 4, 5, [5, 2, 0, 1], "nan", v2("gru", **ALL)),
    ("v2_gen_lstm_all_bce_t1", 4, 5, 3, 2, "bce", 4, 1, [1, 0, 1, 1], "mixed", v2(**ALL)),
    ("v2_gen_gru_all_ce_prob", 4, 6, 5, 1, CE, 3, 7, [7, 1, 4], "garbage",
     v2("gru", **ALL, targets="prob")),
    ("v2_gen_lstm_all_mse_w002", 4, 8, 3, 1, "mse", 4, 6, [6, 3, 0, 1], "garbage",
     v2(**ALL, init=W002)),
    ("v2_gen_gru_bidir_feedback_ce_t1", 5, 4, 3, 1, CE, 4, 1, [1, 1, 0, 1], "nan",
     v2("gru", b=1, f=1)),
    ("v2_gen_lstm_all_mse_n1", 3, 5, 4, 1, "mse", 1, 8, [8], "garbage", v2(**ALL)),
    ("v2_gen_gru_bidir_bce_3layer", 3, 4, 3, 3, "bce", 3, 5, [5, 1, 0], "nan", v2("gru", b=1)),
    ("v2_gen_gru_all_ce_3layer", 4, 4, 3, 3, CE, 3, 5, [5, 0, 2], "mixed", v2("gru", **ALL)),
]


def generate(outdir, seed, only=None):
    os.makedirs(outdir, exist_ok=True)
    todo = [(c[:10], c[10:] and {"init": c[10]} or {}, 1, outdir, 1000 * i)
            for i, c in enumerate(CASES)]
    todo += [(c[:10], c[10], 2, os.path.join(outdir, "v2"), 500000 + 1000 * i)
             for i, c in enumerate(V2_CASES)]
    for (name, D, H, Z, K, loss, n, T, lengths, pad), opts, version, where, off in todo:
        if only and name not in only:
            continue
        os.makedirs(where, exist_ok=True)
        rng = np.random.default_rng(seed + off)
        cfg = dict(input_dim=D, hidden_dim=H, latent_dim=Z, num_layers=K,
                   loss=loss, n=n, max_len=T)
        opts = dict(opts)
        init = opts.pop("init", None)
        targets = opts.pop("targets", "onehot")
        zero_steps = opts.pop("zero_steps", ())
        if version == 2:
            cfg.update(version=2, **opts)
        assert len(lengths) == n and all(0 <= L <= T for L in lengths)
        P0 = init_params(rng, cfg, init)
        x = make_input(rng, cfg, lengths, pad, targets, zero_steps)
        out = compute_case(cfg, P0, x, lengths)
        path = os.path.join(where, name + ".txt")
        write_case(path, cfg, P0, x, lengths, out)
        print("%s: %d bytes, loss %.6g" % (path, os.path.getsize(path), out["loss"][0]))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("files", nargs="+")
    c.add_argument("--tol", type=float, default=1e-6)
    c.add_argument("--impl", choices=("hand", "nn"), default="hand",
                   help="hand: the hand-written cells that generate the "
                        "cases; nn: torch.nn.LSTM / GRU modules (an independent check)")
    c.add_argument("--float32", action="store_true",
                   help="compute in float32 (to see float32's spread; "
                        "use with a --tol around 1e-5)")
    x = sub.add_parser("crosscheck")
    x.add_argument("files", nargs="+")
    x.add_argument("--tol", type=float, default=1e-10)
    g = sub.add_parser("generate")
    g.add_argument("outdir")
    g.add_argument("--seed", type=int, default=20240601)
    g.add_argument("cases", nargs="*",
                   help="the names of the cases to write (default: all)")
    a = ap.parse_args()
    if a.cmd == "check":
        return check(a.files, a.tol, a.impl,
                     torch.float32 if a.float32 else torch.float64)
    if a.cmd == "crosscheck":
        return crosscheck(a.files, a.tol)
    generate(a.outdir, a.seed, set(a.cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())

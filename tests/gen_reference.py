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
        torch.nn.LSTM instead of the hand-written cell; --float32 computes
        in float32, to see float32's own spread.
    gen_reference.py generate [--seed S] OUTDIR [CASE...]
        write the case_gen_*.txt cases (deterministic for a given seed),
        or only the named ones

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
"cell lstm|gru bidirectional 0 reverse_target 0 decoder_init zero
decoder_feedback 0" and the file a `decoded` tensor (lstmae_decode of each
sequence's latent at its own length; without feedback it equals the
reconstruction).  This generator writes and checks the GRU cell only (the
other variants at their defaults; check skips files that need more).  The
GRU is PyTorch's (gate blocks r, z, n; bias_ih and bias_hh, both trained):
the hand-written cell (gru_stack) is cross-checked by --impl nn against
torch.nn.GRU.  `generate` writes the V2_CASES into OUTDIR/v2.
Cross-check (PyTorch 1.13.1), the shared v2_gru_bce.txt and the
v2_gen_gru_* cases: see the figures in the commit that added them.

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

def layer_shapes(part, k, ink, H, cell):
    """A recurrent layer's tensors: LSTM weight_ih, weight_hh, bias (4H
    rows); GRU weight_ih, weight_hh, bias_ih, bias_hh (3H rows)."""
    if cell == "gru":
        return [(f"{part}.{k}.weight_ih", (3 * H, ink)),
                (f"{part}.{k}.weight_hh", (3 * H, H)),
                (f"{part}.{k}.bias_ih", (3 * H,)),
                (f"{part}.{k}.bias_hh", (3 * H,))]
    return [(f"{part}.{k}.weight_ih", (4 * H, ink)),
            (f"{part}.{k}.weight_hh", (4 * H, H)),
            (f"{part}.{k}.bias", (4 * H,))]


def param_shapes(D, H, Z, K, cell="lstm"):
    """(name, shape) of every parameter tensor, in MODEL.md order."""
    out = []
    for k in range(K):
        out += layer_shapes("encoder", k, D if k == 0 else H, H, cell)
    out += [("latent.weight", (Z, H)), ("latent.bias", (Z,))]
    for k in range(K):
        out += layer_shapes("decoder", k, Z if k == 0 else H, H, cell)
    out += [("output.weight", (D, H)), ("output.bias", (D,))]
    return out


def cfg_shapes(cfg):
    return param_shapes(cfg["input_dim"], cfg["hidden_dim"], cfg["latent_dim"],
                        cfg["num_layers"], cfg.get("cell", "lstm"))


def lstm_stack(P, part, K, H, inputs):
    """Runs a K-layer LSTM over the list of input vectors; returns the top
    layer's h at every step.  Gate blocks in order i, f, g, o."""
    seq = inputs
    for k in range(K):
        Wih = P[f"{part}.{k}.weight_ih"]
        Whh = P[f"{part}.{k}.weight_hh"]
        b = P[f"{part}.{k}.bias"]
        h = torch.zeros(H, dtype=Wih.dtype)
        c = torch.zeros(H, dtype=Wih.dtype)
        outs = []
        for u in seq:
            a = Wih @ u + Whh @ h + b
            i = torch.sigmoid(a[0:H])
            f = torch.sigmoid(a[H:2 * H])
            g = torch.tanh(a[2 * H:3 * H])
            o = torch.sigmoid(a[3 * H:4 * H])
            c = f * c + i * g
            h = o * torch.tanh(c)
            outs.append(h)
        seq = outs
    return seq


def gru_stack(P, part, K, H, inputs):
    """Runs a K-layer GRU (PyTorch's: gate blocks r, z, n, two biases) over
    the list of input vectors; returns the top layer's h at every step."""
    seq = inputs
    for k in range(K):
        Wih = P[f"{part}.{k}.weight_ih"]
        Whh = P[f"{part}.{k}.weight_hh"]
        bih = P[f"{part}.{k}.bias_ih"]
        bhh = P[f"{part}.{k}.bias_hh"]
        h = torch.zeros(H, dtype=Wih.dtype)
        outs = []
        for u in seq:
            gi = Wih @ u + bih
            gh = Whh @ h + bhh
            r = torch.sigmoid(gi[0:H] + gh[0:H])
            z = torch.sigmoid(gi[H:2 * H] + gh[H:2 * H])
            n = torch.tanh(gi[2 * H:3 * H] + r * gh[2 * H:3 * H])
            h = (1 - z) * n + z * h
            outs.append(h)
        seq = outs
    return seq


def forward(P, cfg, x, lengths, stack=lstm_stack):
    """Returns (latent [n,Z], reconstruction [n,T,D], loss (scalar tensor),
    accuracy (float or None), decoded ([n,T,D], version 2 only, else None)).  stack(P, part, K, H, inputs) runs a K-layer
    LSTM stack and returns the top layer's h at every step."""
    D, H, K = cfg["input_dim"], cfg["hidden_dim"], cfg["num_layers"]
    n, T = cfg["n"], cfg["max_len"]
    bce = cfg["loss"] == "bce"
    latents = []
    dt = P["output.bias"].dtype
    recon = torch.zeros(n, T, D, dtype=dt)
    total = torch.zeros((), dtype=dt)
    n_valid = 0
    correct = 0
    recon_rows = []
    for s in range(n):
        L = int(lengths[s])
        steps = [x[s, t] for t in range(L)]          # valid steps only
        top = stack(P, "encoder", K, H, steps) if L > 0 else []
        h_enc = top[-1] if L > 0 else torch.zeros(H, dtype=dt)
        z = P["latent.weight"] @ h_enc + P["latent.bias"]
        latents.append(z)
        if L == 0:
            recon_rows.append(None)
            continue
        dec = stack(P, "decoder", K, H, [z] * L)
        y = torch.stack([P["output.weight"] @ h + P["output.bias"] for h in dec])  # [L, D]
        xv = x[s, :L]
        if bce:
            # max(y, 0) - y x + log(1 + exp(-|y|))
            el = torch.clamp(y, min=0) - y * xv + torch.log1p(torch.exp(-torch.abs(y)))
            p = torch.sigmoid(y)
            correct += int(((y > 0) == (xv > 0.5)).sum())
        else:
            el = (y - xv) ** 2
            p = y
        total = total + el.sum()
        n_valid += L * D
        recon_rows.append(p)
    for s in range(n):
        if recon_rows[s] is not None:
            L = recon_rows[s].shape[0]
            recon[s, :L] = recon_rows[s].detach()
    latent = torch.stack(latents)
    decoded = None
    if cfg.get("version", 1) >= 2:
        # lstmae_decode of each latent at its own length (no feedback: the
        # decoder and output layer again, from z alone)
        decoded = torch.zeros(n, T, D, dtype=dt)
        with torch.no_grad():
            for s in range(n):
                L = int(lengths[s])
                if L == 0:
                    continue
                z = latents[s].detach()
                dec = stack(P, "decoder", K, H, [z] * L)
                y = torch.stack([P["output.weight"] @ h + P["output.bias"] for h in dec])
                decoded[s, :L] = torch.sigmoid(y) if bce else y
    if n_valid == 0:
        raise ValueError("every sequence is empty: loss undefined")
    loss = total / n_valid
    acc = (correct / n_valid) if bce else None
    return latent, recon, loss, acc, decoded


def make_params(P0, dtype, cfg=None):
    """Leaf tensors for the hand-written cell (lstm_stack or gru_stack)."""
    P = {k: torch.tensor(v, dtype=dtype, requires_grad=True) for k, v in P0.items()}
    gru = cfg is not None and cfg.get("cell", "lstm") == "gru"
    return P, gru_stack if gru else lstm_stack


def make_params_nn(P0, dtype, cfg):
    """The same model on PyTorch's own modules, for cross-checking the
    hand-written cells: torch.nn.GRU (every tensor the module's own, both
    biases trained) or torch.nn.LSTM (bias_ih holds lstmae's single bias,
    bias_hh is frozen at zero).  P maps the lstmae names to the modules'
    parameters."""
    D, H, Z, K = cfg["input_dim"], cfg["hidden_dim"], cfg["latent_dim"], cfg["num_layers"]
    gru = cfg.get("cell", "lstm") == "gru"
    module = torch.nn.GRU if gru else torch.nn.LSTM
    # lstmae's tensor name -> the module's, per layer
    names = ({"weight_ih": "weight_ih", "weight_hh": "weight_hh", "bias_ih": "bias_ih",
              "bias_hh": "bias_hh"} if gru else
             {"weight_ih": "weight_ih", "weight_hh": "weight_hh", "bias": "bias_ih"})
    mods = {"encoder": module(D, H, num_layers=K, batch_first=True).to(dtype),
            "decoder": module(Z, H, num_layers=K, batch_first=True).to(dtype)}
    P = {}
    with torch.no_grad():
        for part, mod in mods.items():
            for k in range(K):
                for ours, theirs in names.items():
                    prm = getattr(mod, "%s_l%d" % (theirs, k))
                    prm.copy_(torch.tensor(P0["%s.%d.%s" % (part, k, ours)], dtype=dtype))
                    P["%s.%d.%s" % (part, k, ours)] = prm
                if not gru:
                    bhh = getattr(mod, "bias_hh_l%d" % k)
                    bhh.zero_()
                    bhh.requires_grad_(False)
    for nm in ("latent.weight", "latent.bias", "output.weight", "output.bias"):
        P[nm] = torch.tensor(P0[nm], dtype=dtype, requires_grad=True)

    def stack(_P, part, _K, _H, inputs):
        out, _ = mods[part](torch.stack(inputs)[None])
        return list(out[0])
    return P, stack


def compute_case(cfg, P0, x_np, lengths, dtype=torch.float64, impl="hand"):
    """P0: dict name -> float64 numpy arrays (float32-representable).
    Returns dict of output tensors (numpy float64).  dtype float32 gives a
    float32 run, for measuring how far float32 rounding moves each tensor;
    impl "nn" runs torch.nn.LSTM instead of the hand-written cell."""
    def build():
        if impl == "nn":
            return make_params_nn(P0, dtype, cfg)
        return make_params(P0, dtype, cfg)

    names = [nm for nm, _ in cfg_shapes(cfg)]
    x = torch.tensor(x_np, dtype=dtype)
    out = {}

    # forward, gradient
    P, stack = build()
    latent, recon, loss, acc, decoded = forward(P, cfg, x, lengths, stack)
    loss.backward()
    out["latent"] = latent.detach().numpy().astype(np.float64)
    out["reconstruction"] = recon.numpy()
    if decoded is not None:
        out["decoded"] = decoded.numpy()
    out["loss"] = np.array([loss.item()])
    if acc is not None:
        out["accuracy"] = np.array([acc])
    for nm in names:
        out["grad." + nm] = P[nm].grad.numpy().copy()

    # one SGD step, lr 0.1, whole set as one batch
    P, stack = build()
    opt = torch.optim.SGD([P[nm] for nm in names], lr=0.1)
    opt.zero_grad()
    forward(P, cfg, x, lengths, stack)[2].backward()
    opt.step()
    for nm in names:
        out["sgd1." + nm] = P[nm].detach().numpy().copy()

    # three Adam steps, lr 0.01, defaults otherwise, whole set each time
    P, stack = build()
    opt = torch.optim.Adam([P[nm] for nm in names], lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        forward(P, cfg, x, lengths, stack)[2].backward()
        opt.step()
    for nm in names:
        out["adam3." + nm] = P[nm].detach().numpy().copy()
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
        other = [k for k, d in V2_DEFAULTS.items() if k in cfg and cfg[k] != d]
        if other or cfg["loss"] not in ("bce", "mse"):
            print("%s: skipped, variants this generator lacks: %s" % (
                os.path.basename(path), ", ".join(other + [cfg["loss"]] * (
                    cfg["loss"] not in ("bce", "mse")))))
            continue
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


def make_input(rng, cfg, lengths, pad):
    n, T, D = cfg["n"], cfg["max_len"], cfg["input_dim"]
    if cfg["loss"] == "bce":
        # data in [0, 1]: a mix of exact 0, exact 1 and uniform values
        u = rng.uniform(0, 1, size=(n, T, D)).astype(np.float32)
        r = rng.uniform(0, 1, size=(n, T, D))
        x = np.where(r < 0.3, 0.0, np.where(r < 0.6, 1.0, u)).astype(np.float32)
    else:
        x = rng.standard_normal(size=(n, T, D)).astype(np.float32)
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


# Version 2: the GRU cell, every other variant at its default (written
# to OUTDIR/v2).  Lengths include 0 and 1.
V2_CASES = [
    ("v2_gen_gru_bce", 4, 5, 3, 1, "bce", 4, 6, [6, 0, 1, 4], "garbage"),
    ("v2_gen_gru_mse_2layer", 3, 6, 4, 2, "mse", 4, 7, [7, 1, 0, 5], "nan"),
    ("v2_gen_gru_bce_2layer_t1", 5, 4, 6, 2, "bce", 3, 1, [1, 0, 1], "mixed"),
    ("v2_gen_gru_mse_w002", 4, 8, 3, 1, "mse", 4, 6, [6, 3, 0, 1], "garbage", ("normal", 0.02)),
    ("v2_gen_gru_bce_n1", 2, 5, 3, 1, "bce", 1, 5, [5], "garbage"),
]


def generate(outdir, seed, only=None):
    os.makedirs(outdir, exist_ok=True)
    todo = [(c, 1, outdir, 1000 * i) for i, c in enumerate(CASES)]
    todo += [(c, 2, os.path.join(outdir, "v2"), 500000 + 1000 * i)
             for i, c in enumerate(V2_CASES)]
    for (name, D, H, Z, K, loss, n, T, lengths, pad, *init), version, where, off in todo:
        if only and name not in only:
            continue
        os.makedirs(where, exist_ok=True)
        rng = np.random.default_rng(seed + off)
        cfg = dict(input_dim=D, hidden_dim=H, latent_dim=Z, num_layers=K,
                   loss=loss, n=n, max_len=T)
        if version == 2:
            cfg.update(version=2, cell="gru", **V2_DEFAULTS)
        assert len(lengths) == n and all(0 <= L <= T for L in lengths)
        P0 = init_params(rng, cfg, init[0] if init else None)
        x = make_input(rng, cfg, lengths, pad)
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
                   help="hand: the hand-written LSTM cell that generates the "
                        "cases; nn: torch.nn.LSTM (an independent check)")
    c.add_argument("--float32", action="store_true",
                   help="compute in float32 (to see float32's spread; "
                        "use with a --tol around 1e-5)")
    g = sub.add_parser("generate")
    g.add_argument("outdir")
    g.add_argument("--seed", type=int, default=20240601)
    g.add_argument("cases", nargs="*",
                   help="the names of the cases to write (default: all)")
    a = ap.parse_args()
    if a.cmd == "check":
        return check(a.files, a.tol, a.impl,
                     torch.float32 if a.float32 else torch.float64)
    generate(a.outdir, a.seed, set(a.cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Checks that bench/torch_baseline.py computes lstmae's model.

Loads each reference case of tests/data/reference and
tests/data/reference/v2 (docs/model.md: PyTorch in double precision) into
torch_baseline's Autoencoder and compares the latent vectors and the loss
of both variants, packed and padded, in double precision. LSTM cases have
one bias per layer (bias_ih = the case's bias, bias_hh = 0); GRU cases
(`cell gru`, the model of `torch_baseline.py --cell gru`) have PyTorch's
two. Version-2 cases that turn on a variant the benchmark's model does not
compute (bidirectional, reverse_target, decoder_init latent,
decoder_feedback, cross-entropy) are listed as not applicable and not
counted. Sequences of length 0 are left out (PackedSequence rejects them);
they add nothing to the loss.

Usage: /usr/bin/python3 bench/check_baseline.py [CASE.txt ...]
Exits 0 when every applicable case agrees to 1e-7 of the largest value
(and at least one case was applicable).
"""

import glob
import importlib.util
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "torch_baseline", os.path.join(HERE, "torch_baseline.py"))
tb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tb)


def read_case(path):
    toks = open(path).read().split()
    assert toks[0] == "lstmae-reference" and toks[2] == "config", path
    i, cfg = 3, {}
    while toks[i] != "tensor":
        cfg[toks[i]] = toks[i + 1]
        i += 2
    tensors = {}
    while i < len(toks):
        name, rank = toks[i + 1], int(toks[i + 2])
        shape = [int(v) for v in toks[i + 3:i + 3 + rank]]
        i += 3 + rank
        n = 1
        for d in shape:
            n *= d
        tensors[name] = torch.tensor([float(v) for v in toks[i:i + n]],
                                     dtype=torch.float64).reshape(shape)
        i += n
    return cfg, tensors


# The benchmark model's variants (version-2 config keys and their values).
DEFAULT_VARIANTS = {"bidirectional": "0", "reverse_target": "0",
                    "decoder_init": "zero", "decoder_feedback": "0"}


def applicable(cfg):
    """None, or why torch_baseline's model is not the case's."""
    for key, want in DEFAULT_VARIANTS.items():
        if cfg.get(key, want) != want:
            return f"{key} {cfg[key]}"
    if cfg["loss"] not in ("bce", "mse"):
        return f"loss {cfg['loss']}"
    return None


def check(path):
    """True: agrees; False: disagrees; None: not the benchmark's model."""
    cfg, ts = read_case(path)
    why = applicable(cfg)
    if why is not None:
        print(f"{os.path.basename(path)}: not applicable ({why})")
        return None
    D, H, Z, K = (int(cfg[k]) for k in
                  ("input_dim", "hidden_dim", "latent_dim", "num_layers"))
    cell = cfg.get("cell", "lstm")
    model = tb.Autoencoder(D, H, Z, K, cell).double()
    with torch.no_grad():
        for part, rnn in (("encoder", model.encoder),
                          ("decoder", model.decoder)):
            for k in range(K):
                getattr(rnn, f"weight_ih_l{k}").copy_(ts[f"{part}.{k}.weight_ih"])
                getattr(rnn, f"weight_hh_l{k}").copy_(ts[f"{part}.{k}.weight_hh"])
                if cell == "gru":
                    getattr(rnn, f"bias_ih_l{k}").copy_(ts[f"{part}.{k}.bias_ih"])
                    getattr(rnn, f"bias_hh_l{k}").copy_(ts[f"{part}.{k}.bias_hh"])
                else:
                    getattr(rnn, f"bias_ih_l{k}").copy_(ts[f"{part}.{k}.bias"])
                    getattr(rnn, f"bias_hh_l{k}").zero_()
        for name, lin in (("latent", model.latent), ("output", model.output)):
            lin.weight.copy_(ts[f"{name}.weight"])
            lin.bias.copy_(ts[f"{name}.bias"])
    lengths = ts["lengths"].long()
    keep = lengths > 0
    x = torch.nan_to_num(ts["input"])[keep]
    lengths = lengths[keep]
    x = x[:, :int(lengths.max())]
    want_z = ts["latent"][keep]
    want_loss = float(ts["loss"][0])
    worst = 0.0
    with torch.no_grad():
        for variant, encode in (("packed", model.encode),
                                ("padded", model.encode_padded)):
            z = encode(x, lengths)
            loss = float(tb.masked_loss(model, x, lengths, cfg["loss"], variant))
            err_z = float((z - want_z).abs().max() / want_z.abs().max())
            err_l = abs(loss - want_loss) / abs(want_loss)
            worst = max(worst, err_z, err_l)
            print(f"{os.path.basename(path)} {cell} {variant}: "
                  f"latent {err_z:.2e}, "
                  f"loss {err_l:.2e} (relative)")
    return worst < 1e-7


def main():
    ref = os.path.join(HERE, "..", "tests", "data", "reference")
    cases = sys.argv[1:] or sorted(glob.glob(os.path.join(ref, "*.txt"))) + \
        sorted(glob.glob(os.path.join(ref, "v2", "*.txt")))
    if not cases:
        sys.exit("no reference cases found")
    results = [check(c) for c in cases]
    checked = [r for r in results if r is not None]
    ok = bool(checked) and all(checked)
    cells = {}
    for c, r in zip(cases, results):
        if r is not None:
            cell = read_case(c)[0].get("cell", "lstm")
            cells[cell] = cells.get(cell, 0) + 1
    print(f"{len(checked)} cases checked ({', '.join(f'{n} {c}' for c, n in sorted(cells.items()))}), "
          f"{len(results) - len(checked)} not applicable: "
          + ("ok" if ok else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Checks that bench/torch_baseline.py computes lstmae's model.

Loads each reference case of tests/data/reference (docs/model.md: PyTorch
in double precision, one bias per layer) into torch_baseline's
LstmAutoencoder (bias_ih = the case's bias, bias_hh = 0) and compares the
latent vectors and the loss of both variants, packed and padded, in double
precision. Sequences of length 0 are left out (PackedSequence rejects them);
they add nothing to the loss.

Usage: /usr/bin/python3 bench/check_baseline.py [CASE.txt ...]
Exits 0 when every case agrees to 1e-7 of the largest value.
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


def check(path):
    cfg, ts = read_case(path)
    D, H, Z, K = (int(cfg[k]) for k in
                  ("input_dim", "hidden_dim", "latent_dim", "num_layers"))
    model = tb.LstmAutoencoder(D, H, Z, K).double()
    with torch.no_grad():
        for part, lstm in (("encoder", model.encoder),
                           ("decoder", model.decoder)):
            for k in range(K):
                getattr(lstm, f"weight_ih_l{k}").copy_(ts[f"{part}.{k}.weight_ih"])
                getattr(lstm, f"weight_hh_l{k}").copy_(ts[f"{part}.{k}.weight_hh"])
                getattr(lstm, f"bias_ih_l{k}").copy_(ts[f"{part}.{k}.bias"])
                getattr(lstm, f"bias_hh_l{k}").zero_()
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
            print(f"{os.path.basename(path)} {variant}: latent {err_z:.2e}, "
                  f"loss {err_l:.2e} (relative)")
    return worst < 1e-7


def main():
    cases = sys.argv[1:] or sorted(glob.glob(
        os.path.join(HERE, "..", "tests", "data", "reference", "*.txt")))
    if not cases:
        sys.exit("no reference cases found")
    ok = all([check(c) for c in cases])
    print("ok" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

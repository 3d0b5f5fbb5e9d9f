"""PyTorch interchange: only state dicts cross the boundary, and torch is
imported here only (when from_torch or Model.to_torch is called).

The modules (MODEL.md; docs/python.md):
    encoder  nn.LSTM / nn.GRU (D, H, K, batch_first=True[, bidirectional=True])
    latent   nn.Linear(dirs * H, Z)
    bridge   nn.ModuleList of K nn.Linear(Z, H)   (decoder_init latent only)
    decoder  nn.LSTM / nn.GRU (Z [+ D with feedback], H, K, batch_first=True)
    output   nn.Linear(H, D)
An LSTM layer's lstmae bias is PyTorch's bias_ih + bias_hh; to_torch puts
it in bias_ih and zeros bias_hh.
"""

import numpy as np


def _get(modules, key):
    if isinstance(modules, dict) or hasattr(modules, "keys"):
        return modules[key] if key in modules else None
    return getattr(modules, key, None)


def from_torch(Model, modules, loss, seed, reverse_target, decoder_feedback, scaling):
    import torch
    enc, lat, dec, out = (_get(modules, k) for k in ("encoder", "latent", "decoder", "output"))
    bridge = _get(modules, "bridge")
    if enc is None or lat is None or dec is None or out is None:
        raise ValueError("from_torch needs encoder, latent, decoder and output modules")
    kinds = {torch.nn.LSTM: "lstm", torch.nn.GRU: "gru"}
    if type(enc) not in kinds or type(dec) is not type(enc):
        raise TypeError("encoder and decoder must both be nn.LSTM or both nn.GRU")
    cell = kinds[type(enc)]
    D, H, K = enc.input_size, enc.hidden_size, enc.num_layers
    Z = lat.out_features
    if not enc.batch_first or not dec.batch_first:
        raise ValueError("the encoder and decoder must be batch_first=True")
    if dec.hidden_size != H or dec.num_layers != K or dec.bidirectional:
        raise ValueError("the decoder must be one-directional with the encoder's H and K")
    if decoder_feedback is None:
        decoder_feedback = dec.input_size == Z + D
    if dec.input_size != Z + (D if decoder_feedback else 0):
        raise ValueError("decoder input_size %d: expected Z = %d (or Z + D = %d with "
                         "decoder feedback)" % (dec.input_size, Z, Z + D))
    if bridge is not None and len(bridge) != K:
        raise ValueError("bridge must hold one nn.Linear(Z, H) per decoder layer (%d)" % K)
    m = Model(D, hidden_dim=H, latent_dim=Z, num_layers=K, loss=loss, seed=seed, cell=cell,
              bidirectional=enc.bidirectional, reverse_target=reverse_target,
              decoder_init="latent" if bridge is not None else "zero",
              decoder_feedback=decoder_feedback, scaling=scaling)

    def arr(t):
        return t.detach().to(torch.float64).cpu().numpy()

    sd = {}
    for part, mod in (("encoder", enc), ("decoder", dec)):
        for k in range(K):
            for sfx in ([""] if part == "decoder" or not mod.bidirectional else ["", "_reverse"]):
                p = lambda n: getattr(mod, "%s_l%d%s" % (n, k, sfx))
                sd["%s.%d.weight_ih%s" % (part, k, sfx)] = arr(p("weight_ih"))
                sd["%s.%d.weight_hh%s" % (part, k, sfx)] = arr(p("weight_hh"))
                if cell == "lstm":
                    sd["%s.%d.bias%s" % (part, k, sfx)] = arr(p("bias_ih")) + arr(p("bias_hh"))
                else:
                    sd["%s.%d.bias_ih%s" % (part, k, sfx)] = arr(p("bias_ih"))
                    sd["%s.%d.bias_hh%s" % (part, k, sfx)] = arr(p("bias_hh"))
    sd["latent.weight"], sd["latent.bias"] = arr(lat.weight), arr(lat.bias)
    for k in range(K if bridge is not None else 0):
        sd["bridge.%d.weight" % k] = arr(bridge[k].weight)
        sd["bridge.%d.bias" % k] = arr(bridge[k].bias)
    sd["output.weight"], sd["output.bias"] = arr(out.weight), arr(out.bias)
    m.load_state_dict(sd)
    return m


def to_torch(m):
    import torch
    D, H, Z, K = m.input_dim, m.hidden_dim, m.latent_dim, m.num_layers
    rnn = torch.nn.GRU if m.cell == "gru" else torch.nn.LSTM
    mods = torch.nn.ModuleDict()
    mods["encoder"] = rnn(D, H, K, batch_first=True, bidirectional=m.bidirectional)
    mods["latent"] = torch.nn.Linear(H * (2 if m.bidirectional else 1), Z)
    if m.decoder_init == "latent":
        mods["bridge"] = torch.nn.ModuleList(torch.nn.Linear(Z, H) for _ in range(K))
    mods["decoder"] = rnn(Z + (D if m.decoder_feedback else 0), H, K, batch_first=True)
    mods["output"] = torch.nn.Linear(H, D)
    sd = m.state_dict()
    with torch.no_grad():
        def put(param, name):
            param.copy_(torch.from_numpy(np.ascontiguousarray(sd[name])))
        for part in ("encoder", "decoder"):
            mod = mods[part]
            for k in range(K):
                sfxs = ["", "_reverse"] if part == "encoder" and m.bidirectional else [""]
                for sfx in sfxs:
                    p = lambda n: getattr(mod, "%s_l%d%s" % (n, k, sfx))
                    put(p("weight_ih"), "%s.%d.weight_ih%s" % (part, k, sfx))
                    put(p("weight_hh"), "%s.%d.weight_hh%s" % (part, k, sfx))
                    if m.cell == "lstm":
                        put(p("bias_ih"), "%s.%d.bias%s" % (part, k, sfx))
                        p("bias_hh").zero_()
                    else:
                        put(p("bias_ih"), "%s.%d.bias_ih%s" % (part, k, sfx))
                        put(p("bias_hh"), "%s.%d.bias_hh%s" % (part, k, sfx))
        put(mods["latent"].weight, "latent.weight")
        put(mods["latent"].bias, "latent.bias")
        for k in range(K if m.decoder_init == "latent" else 0):
            put(mods["bridge"][k].weight, "bridge.%d.weight" % k)
            put(mods["bridge"][k].bias, "bridge.%d.bias" % k)
        put(mods["output"].weight, "output.weight")
        put(mods["output"].bias, "output.bias")
    return mods

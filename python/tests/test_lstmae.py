"""Tests of the Python binding (issue 14). Run from a checkout:

    PYTHONPATH=python LSTMAE_LIBRARY=build/liblstmae.so python3 -m pytest python/tests

CTest runs them (test python_binding). LSTMAE_REFERENCE_DIRS (os.pathsep
separated) names the reference-case folders to reproduce; by default
tests/data/reference and its v2, and ../shared/reference when present.
"""

import glob
import os
import pickle
import signal
import threading
import time

import numpy as np
import pytest

import lstmae

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


# ---- data ---------------------------------------------------------------------

def moving_ones(n, seed=1, T=10, D=8, pad=np.nan):
    """The seed task: step t of a sequence is one-hot at t for t < 8, zeros
    at 8 and 9; lengths 0..10; padding `pad`."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(0, T + 1, n)
    x = np.zeros((n, T, D), np.float32)
    for i in range(n):
        for t in range(min(lengths[i], D)):
            x[i, t, t] = 1.0
        x[i, lengths[i]:] = pad
    return x, lengths


@pytest.fixture(scope="module")
def trained():
    x, L = moving_ones(3000, seed=3)
    m = lstmae.Model(8, hidden_dim=32, latent_dim=20, seed=7)
    hist = m.fit(x[:2400], L[:2400], valid=x[2400:], valid_lengths=L[2400:], epochs=15,
                 batch_size=100, learning_rate=0.01)
    return m, hist, x, L


# ---- the seed task and the calls' shapes ----------------------------------------

def test_seed_task_learns(trained):
    m, hist, x, L = trained
    held = m.evaluate(x[2400:], L[2400:])
    print("held-out accuracy %.4f, loss %.5f, %d epochs, %.2f s"
          % (held["accuracy"], held["loss"], len(hist["epoch"]), sum(hist["seconds"])))
    assert held["accuracy"] >= 0.99
    assert hist["epoch"] == list(range(1, 16))
    assert set(hist) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                         "learning_rate", "seconds"}
    assert hist["val_accuracy"][-1] == pytest.approx(held["accuracy"])
    assert all(lr == pytest.approx(0.01) for lr in hist["learning_rate"])
    assert m.epochs_done == 15


def test_shapes_and_dtypes(trained):
    m, _, x, L = trained
    z = m.encode(x[:50], L[:50])
    assert z.shape == (50, 20) and z.dtype == np.float32
    y = m.decode(z, 10)
    assert y.shape == (50, 10, 8) and y.dtype == np.float32
    assert np.all((y >= 0) & (y <= 1))
    r = m.reconstruct(x[:50], L[:50])
    assert r.shape == (50, 10, 8) and r.dtype == np.float32
    for i in range(50):
        assert np.all(r[i, L[i]:] == 0.0)  # padding: 0
    s = m.score(x[:50], L[:50])
    assert s.shape == (50,) and s.dtype == np.float32
    s2, steps = m.score(x[:50], L[:50], steps=True)
    assert steps.shape == (50, 10) and np.array_equal(s, s2)
    for i in range(50):
        assert np.all(steps[i, L[i]:] == 0.0)
        if L[i]:
            assert steps[i, :L[i]].mean() == pytest.approx(s[i], rel=1e-5)
        else:
            assert s[i] == 0.0
    d = m.evaluate(x[:50], L[:50])
    assert set(d) == {"loss", "accuracy", "elements"}
    assert d["elements"] == 8 * int(L[:50].sum())


def test_lengths_none_and_layouts(trained):
    m, _, x, L = trained
    full = x[L == 10][:20]
    z = m.encode(full)
    assert np.array_equal(z, m.encode(full, np.full(len(full), 10)))
    # any float dtype and layout: the same values give the same bits
    assert np.array_equal(z, m.encode(full.astype(np.float64)))
    assert np.array_equal(z, m.encode(np.asfortranarray(full)))
    strided = np.repeat(full, 2, axis=2)[:, :, ::2]
    assert not strided.flags.c_contiguous
    assert np.array_equal(z, m.encode(strided))
    assert np.array_equal(z, m.encode(full.tolist()))
    # a C-contiguous float32 array is used as it is, not copied
    assert lstmae._floats(full, "x") is full


def test_nan_padding_never_matters(trained):
    m, _, x, L = trained
    a = x[:40].copy()
    b = a.copy()
    for i in range(40):
        b[i, L[i]:] = 1e30
    assert np.array_equal(m.encode(a, L[:40]), m.encode(b, L[:40]))


def test_save_load_bit_identical(trained, tmp_path):
    m, _, x, L = trained
    p = tmp_path / "m.lstmae"
    m.save(p)
    m2 = lstmae.Model.load(p)
    assert np.array_equal(m.encode(x, L), m2.encode(x, L))
    assert m2.config() == m.config() and m2.epochs_done == m.epochs_done
    m.save(str(tmp_path / "small.lstmae"), training_state=False)
    m3 = lstmae.Model.load(str(tmp_path / "small.lstmae"))
    assert np.array_equal(m.encode(x, L), m3.encode(x, L))
    assert os.path.getsize(tmp_path / "small.lstmae") < os.path.getsize(p)


def test_pickle_and_repr(trained):
    m, _, x, L = trained
    m2 = pickle.loads(pickle.dumps(m))
    assert np.array_equal(m.encode(x[:30], L[:30]), m2.encode(x[:30], L[:30]))
    r = repr(m)
    assert r.startswith("lstmae.Model(") and "input_dim=8" in r and "loss='bce'" in r
    assert "hidden_dim=32" in r and "cell='lstm'" in r


def test_variants_and_anomaly_surface():
    x, L = moving_ones(200, seed=5)
    m = lstmae.Model(8, hidden_dim=12, latent_dim=6, num_layers=2, loss="ce", cell="gru",
                     bidirectional=True, reverse_target=True, decoder_init="latent",
                     decoder_feedback=True, scaling="none")
    assert m.loss == "cross_entropy" and m.cell == "gru" and m.bidirectional
    m.fit(x, L, epochs=2, batch_size=50, learning_rate=0.01)
    y = m.decode(m.encode(x[:5], L[:5]), 10)
    assert np.allclose(y.sum(axis=2), 1.0, atol=1e-5)  # a softmax per step
    assert m.threshold is None
    t = m.calibrate(x, L, "quantile", 0.9)
    assert m.threshold == t
    flags, scores = m.detect(x, L)
    assert np.array_equal(flags, scores > t)
    m.threshold = 0.5
    assert m.threshold == 0.5


def test_scaling(tmp_path):
    rng = np.random.default_rng(2)
    x = (100.0 + 5.0 * rng.standard_normal((60, 7, 3))).astype(np.float32)
    m = lstmae.Model(3, hidden_dim=8, latent_dim=4, loss="mse", scaling="standard")
    m.fit(x, epochs=1, batch_size=20)
    off, sc = m.get_scaling()
    assert np.allclose(off, x.reshape(-1, 3).mean(0), rtol=1e-5)
    assert np.allclose(sc, x.reshape(-1, 3).std(0), rtol=1e-4)
    r = m.reconstruct(x)
    assert abs(float(r.mean()) - 100.0) < 10.0  # data units


# ---- parameters, reference cases, PyTorch -----------------------------------------

def read_reference(path):
    """A reference case (MODEL.md "Reference cases"): config dict and
    {name: ndarray}."""
    with open(path) as f:
        tokens = f.read().split()
    assert tokens[0] == "lstmae-reference"
    i = 2
    assert tokens[i] == "config"
    i += 1
    cfg = {}
    while tokens[i] != "tensor":
        cfg[tokens[i]] = tokens[i + 1]
        i += 2
    tensors = {}
    while i < len(tokens):
        assert tokens[i] == "tensor"
        name, rank = tokens[i + 1], int(tokens[i + 2])
        dims = [int(d) for d in tokens[i + 3:i + 3 + rank]]
        i += 3 + rank
        count = int(np.prod(dims)) if dims else 1
        tensors[name] = np.array([float(v) for v in tokens[i:i + count]],
                                 np.float64).reshape(dims)
        i += count
    return cfg, tensors


def reference_files():
    dirs = os.environ.get("LSTMAE_REFERENCE_DIRS")
    if dirs:
        dirs = dirs.split(os.pathsep)
    else:
        dirs = [os.path.join(ROOT, "tests", "data", "reference"),
                os.path.join(ROOT, "tests", "data", "reference", "v2"),
                os.path.join(ROOT, "..", "shared", "reference"),
                os.path.join(ROOT, "..", "shared", "reference", "v2")]
    files = []
    for d in dirs:
        files += sorted(glob.glob(os.path.join(d, "*.txt")))
    return files


def test_reference_cases_found():
    files = reference_files()
    print("%d reference cases" % len(files))
    assert len(files) >= 20  # tests/data/reference holds 22 v1 and 43 v2


@pytest.mark.parametrize("path", reference_files(), ids=lambda p: os.path.basename(p))
def test_reference_case_latents(path):
    cfg, t = read_reference(path)
    g = lambda k, d: cfg.get(k, d)
    m = lstmae.Model(int(cfg["input_dim"]), hidden_dim=int(cfg["hidden_dim"]),
                     latent_dim=int(cfg["latent_dim"]), num_layers=int(cfg["num_layers"]),
                     loss=cfg["loss"], cell=g("cell", "lstm"),
                     bidirectional=g("bidirectional", "0") == "1",
                     reverse_target=g("reverse_target", "0") == "1",
                     decoder_init=g("decoder_init", "zero"),
                     decoder_feedback=g("decoder_feedback", "0") == "1")
    names = m.param_names()
    sd = {n: t[n] for n in names}  # every MODEL.md name is in the file
    m.load_state_dict(sd)
    # state_dict: MODEL.md's names in MODEL.md's order (the file's order)
    file_params = [n for n in t if n in set(names)]
    assert list(m.state_dict()) == file_params
    lengths = t["lengths"].astype(np.int64)
    z = m.encode(t["input"], lengths)
    want = t["latent"]
    scale = max(np.abs(want).max(), 1e-30)
    assert np.abs(z - want).max() <= 2e-5 * scale, path


def test_state_dict_round_trip_and_bad_dicts(trained):
    m, _, x, L = trained
    sd = m.state_dict()
    assert list(sd)[:3] == ["encoder.0.weight_ih", "encoder.0.weight_hh", "encoder.0.bias"]
    assert sd["encoder.0.weight_ih"].shape == (128, 8)
    m2 = lstmae.Model(8, hidden_dim=32, latent_dim=20, seed=99)
    m2.load_state_dict(sd)
    assert np.array_equal(m.encode(x, L), m2.encode(x, L))
    before = m2.state_dict()
    bad = dict(sd)
    del bad["latent.bias"]
    with pytest.raises(ValueError, match="missing"):
        m2.load_state_dict(bad)
    bad = dict(sd, extra=np.zeros(3))
    with pytest.raises(ValueError, match="unexpected"):
        m2.load_state_dict(bad)
    bad = dict(sd)
    bad["latent.weight"] = np.zeros((20, 31))
    with pytest.raises(ValueError, match="shape"):
        m2.load_state_dict(bad)
    after = m2.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)  # nothing changed


@pytest.mark.parametrize("kw", [
    dict(), dict(cell="gru"), dict(bidirectional=True, num_layers=2),
    dict(cell="gru", bidirectional=True, decoder_init="latent", decoder_feedback=True,
         num_layers=2),
])
def test_torch_round_trip(kw):
    torch = pytest.importorskip("torch")
    x, L = moving_ones(20, seed=9)
    m = lstmae.Model(8, hidden_dim=6, latent_dim=5, seed=4, **kw)
    mods = m.to_torch()
    back = lstmae.from_torch(mods, decoder_feedback=m.decoder_feedback)
    assert back.config() == dict(m.config(), seed=1)
    for k, v in m.state_dict().items():
        assert np.array_equal(v, back.state_dict()[k]), k
    # PyTorch's own modules, sequence by sequence over the valid steps,
    # give encode's latent
    z = m.encode(x, L)
    with torch.no_grad():
        for i in range(len(x)):
            if L[i] == 0:
                want = mods["latent"].bias.numpy()
            else:
                seq = torch.from_numpy(np.ascontiguousarray(x[i:i + 1, :L[i]]))
                _, hn = mods["encoder"](seq)
                hn = hn[0] if isinstance(hn, tuple) else hn
                top = hn[-2:] if m.bidirectional else hn[-1:]
                want = mods["latent"](torch.cat(list(top), dim=-1)).numpy()[0]
            assert np.allclose(z[i], want, atol=2e-6, rtol=1e-5), i


# ---- bad input never crashes ------------------------------------------------------------

def test_bad_input_raises(trained, tmp_path):
    m, _, x, L = trained
    with pytest.raises(ValueError, match="input_dim"):
        lstmae.Model(0)
    with pytest.raises(ValueError):
        lstmae.Model(3, loss="hinge")
    with pytest.raises(TypeError):
        lstmae.Model("3")
    with pytest.raises(ValueError, match="features"):
        m.encode(x[:, :, :5], L)
    with pytest.raises(ValueError, match="shape"):
        m.encode(x[0], L[:1])
    with pytest.raises(ValueError, match="outside"):
        m.encode(x[:3], np.array([3, 11, 2]))
    with pytest.raises(ValueError, match="outside"):
        m.encode(x[:3], np.array([3, -1, 2]))
    with pytest.raises(ValueError, match="shape"):
        m.encode(x[:3], np.array([3, 1]))
    with pytest.raises(TypeError):
        m.encode(x[:3], np.array([3.0, 1.0, 2.0]))
    with pytest.raises(TypeError):
        m.encode(np.array([["a"]]))
    bad = np.zeros((5, 10, 8), np.float32)
    bad[2, 1, 3] = np.nan
    lens = np.array([5, 5, 5, 5, 5])
    with pytest.raises(lstmae.Error) as e:
        m.encode(bad, lens)
    assert e.value.name == "LSTMAE_ERR_NUMERIC"
    assert "sequence 2, step 1" in str(e.value)
    with pytest.raises(lstmae.Error):
        m.fit(bad, lens, epochs=1)
    with pytest.raises(lstmae.Error) as e:
        lstmae.Model.load(tmp_path / "missing.lstmae")
    assert e.value.name == "LSTMAE_ERR_IO"
    (tmp_path / "junk.lstmae").write_bytes(b"not a model")
    with pytest.raises(lstmae.Error) as e:
        lstmae.Model.load(tmp_path / "junk.lstmae")
    assert e.value.name == "LSTMAE_ERR_FORMAT"
    with pytest.raises(ValueError):
        m.decode(np.zeros((2, 3), np.float32), 5)
    with pytest.raises(lstmae.Error):
        m.decode(np.full((1, 20), np.inf, np.float32), 5)
    with pytest.raises(ValueError):
        m.fit(x, L, epochs=1, batch_size=0)
    with pytest.raises(ValueError):
        m.calibrate(x, L, "quantile", 1.5)
    with pytest.raises(ValueError):
        m.calibrate(x, L, "mean_std", -1)
    with pytest.raises(ValueError):
        m.calibrate(x, L, "max", 0.5)
    with pytest.raises(lstmae.Error):
        m.calibrate(x[:3], np.zeros(3, int), "quantile", 0.5)  # nothing non-empty
    # the model is still usable
    assert m.encode(x[:2], L[:2]).shape == (2, 20)


# ---- threads, callbacks, Ctrl-C -----------------------------------------------------------

def test_gil_released_during_fit():
    x, L = moving_ones(2000, seed=11)
    m = lstmae.Model(8, hidden_dim=64, latent_dim=16)
    count = [0]
    done = threading.Event()

    def spin():
        while not done.is_set():
            count[0] += 1

    # the spinner's rate alone
    th = threading.Thread(target=spin)
    th.start()
    time.sleep(0.2)
    c0, t0 = count[0], time.perf_counter()
    time.sleep(0.3)
    rate = (count[0] - c0) / (time.perf_counter() - t0)
    # during fit: between the first and the last epoch's callback, lstmae
    # runs its batches; with the GIL held there, the spinner would stand
    # still (it gets the GIL only in the brief callbacks)
    marks = []
    m.fit(x, L, epochs=4, batch_size=50,
          callback=lambda r: marks.append((count[0], time.perf_counter())))
    done.set()
    th.join()
    (c1, t1), (c2, t2) = marks[0], marks[-1]
    share = (c2 - c1) / (rate * (t2 - t1))
    print("other thread during fit: %d iterations in %.2f s, %.0f%% of its rate alone"
          % (c2 - c1, t2 - t1, 100 * share))
    assert share > 0.1
    # fit's per-batch callback hands the GIL over now and then even when a
    # call holds it; encode has no callback: one long call, which must not
    # hold the GIL (with ctypes.PyDLL, which keeps it, the share here is 0)
    big = np.repeat(x, 20, axis=0)
    bigL = np.repeat(L, 20)
    shares = []
    for _ in range(3):  # the best of three: other jobs may take the cores
        count[0] = 0
        done.clear()
        th = threading.Thread(target=spin)
        th.start()
        time.sleep(0.05)
        c1, t1 = count[0], time.perf_counter()
        m.encode(big, bigL)
        c2, t2 = count[0], time.perf_counter()
        done.set()
        th.join()
        assert t2 - t1 > 0.05
        shares.append((c2 - c1) / (rate * (t2 - t1)))
        if shares[-1] > 0.2:
            break
    print("other thread during encode: %s of its rate alone"
          % ", ".join("%.0f%%" % (100 * v) for v in shares))
    assert max(shares) > 0.2


def test_callback_stops_and_history():
    x, L = moving_ones(300, seed=12)
    m = lstmae.Model(8, hidden_dim=8, latent_dim=4)
    seen = []
    hist = m.fit(x, L, epochs=10, batch_size=100, callback=lambda r: seen.append(r) or
                 (r["epoch"] < 3))
    assert [r["epoch"] for r in seen] == [1, 2, 3]
    assert hist["epoch"] == [1, 2, 3] and m.epochs_done == 3

    def boom(_r):
        raise RuntimeError("from the callback")
    with pytest.raises(RuntimeError, match="from the callback"):
        m.fit(x, L, epochs=2, batch_size=100, callback=boom)


def test_ctrl_c_stops_at_a_batch():
    if threading.current_thread() is not threading.main_thread():
        pytest.fail("must run on the main thread")
    x, L = moving_ones(3000, seed=13)
    m = lstmae.Model(8, hidden_dim=64, latent_dim=16)
    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        m.fit(x, L, epochs=1000, batch_size=20)
    timer.join()
    # intact and usable
    assert m.encode(x[:4], L[:4]).shape == (4, 16)
    assert 0 <= m.epochs_done < 1000
    assert np.isfinite(m.evaluate(x[:100], L[:100])["loss"])

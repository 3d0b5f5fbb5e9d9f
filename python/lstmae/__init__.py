"""lstmae: LSTM/GRU sequence autoencoders, from Python, over lstmae's C ABI.

    import numpy as np, lstmae
    m = lstmae.Model(input_dim=8, hidden_dim=32, latent_dim=16)
    history = m.fit(x, lengths, epochs=20, learning_rate=0.01)
    z = m.encode(x, lengths)          # (n, latent_dim) float32

Arrays go in as any real dtype and layout and are converted once to
C-contiguous float32 (no copy when they already are). Long calls release
the GIL. Errors raise lstmae.Error (with the status name and the library's
message), ValueError or TypeError. See docs/python.md.
"""

import ctypes
import math
import signal
import threading
import time

import numpy as np

from . import _capi
from ._capi import lib

__all__ = ["Model", "Error", "from_torch", "__version__"]
__version__ = lib.lstmae_version().decode()

_LOSSES = {"bce": 0, "mse": 1, "cross_entropy": 2, "ce": 2}
_LOSS_NAMES = {0: "bce", 1: "mse", 2: "cross_entropy"}
_CELLS = {"lstm": 0, "gru": 1}
_INITS = {"zero": 0, "latent": 1}
_SCALINGS = {"none": 0, "standard": 1, "minmax": 2}
_OPTIMIZERS = {"adam": 0, "sgd": 1}
_RULES = {"quantile": 0, "mean_std": 1, "max": 2}


class Error(Exception):
    """A failed lstmae call: .status (int), .name ("LSTMAE_ERR_..."),
    .message (the library's reason, where it gives one)."""

    def __init__(self, status, message=""):
        self.status = status
        self.name = _capi.STATUS_NAMES.get(status, "status %d" % status)
        self.message = message or lib.lstmae_strerror(status).decode()
        super().__init__("%s: %s" % (self.name, self.message))


def _check(status, message=""):
    if status != _capi.OK:
        raise Error(status, message)


def _pick(table, value, what):
    if not isinstance(value, str):
        raise TypeError("%s must be a string, one of %s" % (what, ", ".join(table)))
    try:
        return table[value.lower()]
    except KeyError:
        raise ValueError("%s %r is not one of %s" % (what, value, ", ".join(table))) from None


def _floats(a, what):
    """a as C-contiguous float32, copied only when it is not one already."""
    a = np.asarray(a)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.floating) or
                                 np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
        raise TypeError("%s must hold real numbers, not %s" % (what, a.dtype))
    return np.ascontiguousarray(a, dtype=np.float32)


def _fptr(a):
    return a.ctypes.data_as(_capi.P_float)


class _Set:
    """A lstmae_sequences view of (x, lengths), keeping the arrays alive."""

    def __init__(self, model, x, lengths, what="x"):
        x = _floats(x, what)
        D = model.input_dim
        if x.ndim == 2 and D == 1:
            x = x[:, :, None]
        if x.ndim != 3:
            raise ValueError("%s must have shape (n, T, %d), not %s" % (what, D, x.shape))
        n, T, d = x.shape
        if d != D:
            raise ValueError("%s has %d features per step; the model's input_dim is %d"
                             % (what, d, D))
        if n == 0:
            raise ValueError("%s holds no sequence" % what)
        if lengths is None:
            self.lengths = None
        else:
            ln = np.asarray(lengths)
            if ln.dtype == bool or not np.issubdtype(ln.dtype, np.integer):
                raise TypeError("lengths must be integers, not %s" % ln.dtype)
            if ln.shape != (n,):
                raise ValueError("lengths must have shape (%d,), not %s" % (n, ln.shape))
            if ln.size and (ln.min() < 0 or ln.max() > T):
                bad = int(np.argmax((ln < 0) | (ln > T)))
                raise ValueError("lengths[%d] = %d is outside 0..%d" % (bad, ln[bad], T))
            self.lengths = np.ascontiguousarray(ln, dtype=np.int32)
        self.x, self.n, self.T = x, n, T
        self.s = _capi.Sequences(
            _fptr(x), self.lengths.ctypes.data_as(_capi.P_int32) if self.lengths is not None
            else None, n, T)

    def check(self, model):
        """Raises Error naming the sequence and step of bad data."""
        why = ctypes.create_string_buffer(256)
        st = lib.lstmae_check_sequences_why(model._h, ctypes.byref(self.s), why, 256)
        _check(st, why.value.decode())


class Model:
    """An lstmae model (MODEL.md). Arguments as lstmae_config's fields;
    loss "bce", "mse" or "cross_entropy" ("ce"), cell "lstm" or "gru",
    decoder_init "zero" or "latent", scaling "none", "standard" or
    "minmax"."""

    def __init__(self, input_dim, hidden_dim=64, latent_dim=16, num_layers=1, loss="bce",
                 seed=1, cell="lstm", bidirectional=False, reverse_target=False,
                 decoder_init="zero", decoder_feedback=False, scaling="none"):
        self._h = None
        c = _capi.config_defaults()
        for name, v in (("input_dim", input_dim), ("hidden_dim", hidden_dim),
                        ("latent_dim", latent_dim), ("num_layers", num_layers)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError("%s must be an int, not %r" % (name, v))
            if not -2**31 <= int(v) < 2**31:
                raise ValueError("%s %d is out of range" % (name, v))
            setattr(c, name, int(v))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise TypeError("seed must be a non-negative int, not %r" % (seed,))
        c.seed = int(seed) & (2**64 - 1)
        c.loss = _pick(_LOSSES, loss, "loss")
        c.cell = _pick(_CELLS, cell, "cell")
        c.bidirectional = int(bool(bidirectional))
        c.reverse_target = int(bool(reverse_target))
        c.decoder_init = _pick(_INITS, decoder_init, "decoder_init")
        c.decoder_feedback = int(bool(decoder_feedback))
        c.scaling = _pick(_SCALINGS, scaling, "scaling")
        why = ctypes.create_string_buffer(256)
        st = lib.lstmae_check_config(ctypes.byref(c), why, 256)
        if st == _capi.ERR_INVALID_ARG:
            raise ValueError(why.value.decode())
        h = ctypes.c_void_p()
        _check(lib.lstmae_create(ctypes.byref(c), ctypes.byref(h)))
        self._adopt(h)

    # ---- life cycle -------------------------------------------------------

    def _adopt(self, h):
        self._h = h
        c = _capi.config_defaults()
        _check(lib.lstmae_get_config(h, ctypes.byref(c)))
        self._cfg = c

    @classmethod
    def _from_handle(cls, h):
        m = cls.__new__(cls)
        m._h = None
        m._adopt(h)
        return m

    def __del__(self):
        h = getattr(self, "_h", None)
        if h:
            lib.lstmae_free(h)
            self._h = None

    @classmethod
    def load(cls, path):
        """Loads a model file (any version lstmae writes)."""
        h = ctypes.c_void_p()
        st = lib.lstmae_load(_path(path), ctypes.byref(h))
        _check(st, "%s: %s" % (path, lib.lstmae_strerror(st).decode()) if st else "")
        return cls._from_handle(h)

    def save(self, path, training_state=True):
        """Saves atomically; training_state=False leaves the optimiser state
        out (a smaller file that still encodes the same)."""
        flags = 0 if training_state else _capi.SAVE_INFERENCE_ONLY
        st = lib.lstmae_save_ex(self._h, _path(path), flags)
        _check(st, "%s: %s" % (path, lib.lstmae_strerror(st).decode()) if st else "")

    def to_bytes(self, training_state=True):
        """The model file's bytes."""
        flags = 0 if training_state else _capi.SAVE_INFERENCE_ONLY
        size = lib.lstmae_saved_size_ex(self._h, flags)
        buf = ctypes.create_string_buffer(size)
        _check(lib.lstmae_save_buffer_ex(self._h, buf, size, flags))
        return buf.raw

    @classmethod
    def from_bytes(cls, data):
        data = bytes(data)
        h = ctypes.c_void_p()
        _check(lib.lstmae_load_buffer(data, len(data), ctypes.byref(h)))
        return cls._from_handle(h)

    def __getstate__(self):
        return {"file": self.to_bytes(), "num_threads": self.num_threads}

    def __setstate__(self, state):
        h = ctypes.c_void_p()
        data = state["file"]
        _check(lib.lstmae_load_buffer(data, len(data), ctypes.byref(h)))
        self._h = None
        self._adopt(h)
        self.num_threads = state.get("num_threads", 0)

    def copy(self):
        return Model.from_bytes(self.to_bytes())

    # ---- configuration ----------------------------------------------------

    input_dim = property(lambda s: s._cfg.input_dim)
    hidden_dim = property(lambda s: s._cfg.hidden_dim)
    latent_dim = property(lambda s: s._cfg.latent_dim)
    num_layers = property(lambda s: s._cfg.num_layers)
    loss = property(lambda s: _LOSS_NAMES[s._cfg.loss])
    seed = property(lambda s: s._cfg.seed)
    cell = property(lambda s: "gru" if s._cfg.cell == 1 else "lstm")
    bidirectional = property(lambda s: bool(s._cfg.bidirectional))
    reverse_target = property(lambda s: bool(s._cfg.reverse_target))
    decoder_init = property(lambda s: "latent" if s._cfg.decoder_init == 1 else "zero")
    decoder_feedback = property(lambda s: bool(s._cfg.decoder_feedback))
    scaling = property(lambda s: {v: k for k, v in _SCALINGS.items()}[s._cfg.scaling])
    epochs_done = property(lambda s: int(lib.lstmae_epochs_done(s._h)))

    def config(self):
        """The configuration as Model's keyword arguments."""
        return dict(input_dim=self.input_dim, hidden_dim=self.hidden_dim,
                    latent_dim=self.latent_dim, num_layers=self.num_layers, loss=self.loss,
                    seed=self.seed, cell=self.cell, bidirectional=self.bidirectional,
                    reverse_target=self.reverse_target, decoder_init=self.decoder_init,
                    decoder_feedback=self.decoder_feedback, scaling=self.scaling)

    def __repr__(self):
        return "lstmae.Model(%s)" % ", ".join("%s=%r" % kv for kv in self.config().items())

    @property
    def num_threads(self):
        return lib.lstmae_get_num_threads(self._h)

    @num_threads.setter
    def num_threads(self, n):
        _check(lib.lstmae_set_num_threads(self._h, int(n)), "num_threads %r" % (n,))

    # ---- training ---------------------------------------------------------

    def fit(self, x, lengths=None, valid=None, valid_lengths=None, epochs=10, batch_size=64,
            learning_rate=1e-3, optimizer="adam", beta1=0.9, beta2=0.999, epsilon=1e-8,
            clip_norm=0.0, momentum=0.0, shuffle=True, num_threads=0, patience=0,
            checkpoint_path=None, checkpoint_every=1, callback=None):
        """Trains; returns the history: a dict of per-epoch lists ("epoch",
        "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate",
        "seconds"; NaN where undefined). callback(metrics), a dict of one
        epoch's values, may stop training by returning False. Ctrl-C stops
        at the end of the current batch and raises KeyboardInterrupt, the
        model as that batch left it."""
        train = _Set(self, x, lengths)
        vset = _Set(self, valid, valid_lengths, "valid") if valid is not None else None
        o = _capi.fit_options_defaults()
        o.epochs, o.batch_size = int(epochs), int(batch_size)
        o.optimizer = _pick(_OPTIMIZERS, optimizer, "optimizer")
        o.learning_rate, o.beta1, o.beta2 = learning_rate, beta1, beta2
        o.epsilon, o.clip_norm, o.momentum = epsilon, clip_norm, momentum
        o.shuffle, o.num_threads, o.patience = int(bool(shuffle)), int(num_threads), int(patience)
        o.checkpoint_every = int(checkpoint_every)
        ckpt = _path(checkpoint_path) if checkpoint_path is not None else None
        o.checkpoint_path = ckpt
        why = ctypes.create_string_buffer(256)
        if lib.lstmae_check_fit_options(ctypes.byref(o), max(train.T, 1), why, 256):
            raise ValueError(why.value.decode())
        if patience and vset is None:
            raise ValueError("patience needs a validation set (valid=...)")
        for s in (train, vset):
            if s is not None:
                s.check(self)

        history = {k: [] for k in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                                   "learning_rate", "seconds")}
        state = {"stop": False, "interrupted": False, "error": None, "t0": time.perf_counter()}

        def on_epoch(_user, epoch, tm, vm):
            try:
                now = time.perf_counter()
                row = {"epoch": epoch, "loss": tm.contents.loss,
                       "accuracy": tm.contents.accuracy,
                       "val_loss": vm.contents.loss if vm else math.nan,
                       "val_accuracy": vm.contents.accuracy if vm else math.nan,
                       "learning_rate": float(learning_rate),
                       "seconds": now - state["t0"]}
                state["t0"] = now
                for k, v in row.items():
                    history[k].append(v)
                if callback is not None and callback(dict(row)) is False:
                    state["stop"] = True
                return 1 if state["stop"] or state["interrupted"] else 0
            except BaseException as e:  # raised again after lstmae_fit returns
                state["error"] = e
                return 1

        def on_batch(_user, _epoch, _batch, _nb, _loss):
            return 1 if state["interrupted"] else 0

        o.on_epoch = _capi.ON_EPOCH(on_epoch)
        o.on_batch = _capi.ON_BATCH(on_batch)
        # Ctrl-C: a flag the next batch boundary sees (the main thread only)
        old = None
        if threading.current_thread() is threading.main_thread():
            def on_sigint(_sig, _frame):
                state["interrupted"] = True
            old = signal.signal(signal.SIGINT, on_sigint)
        try:
            last = _capi.metrics_defaults()
            st = lib.lstmae_fit(self._h, ctypes.byref(train.s),
                                ctypes.byref(vset.s) if vset else None, ctypes.byref(o),
                                ctypes.byref(last))
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)
        if state["error"] is not None:
            raise state["error"]
        if state["interrupted"]:
            raise KeyboardInterrupt("lstmae fit interrupted; the model is as the last "
                                    "batch left it")
        if st == _capi.ERR_CANCELLED and state["stop"]:
            return history
        _check(st)
        return history

    # ---- inference --------------------------------------------------------

    def encode(self, x, lengths=None):
        """Latent vectors, (n, latent_dim) float32."""
        s = _Set(self, x, lengths)
        out = np.empty((s.n, self.latent_dim), np.float32)
        self._call(lib.lstmae_encode, s, _fptr(out))
        return out

    def decode(self, z, length):
        """Sequences of `length` steps from latent vectors (n, latent_dim):
        (n, length, input_dim) float32 (probabilities for bce, a softmax per
        step for cross_entropy, values for mse; free-running with
        decoder_feedback)."""
        z = _floats(z, "z")
        if z.ndim == 1:
            z = z[None]
        if z.ndim != 2 or z.shape[1] != self.latent_dim or z.shape[0] == 0:
            raise ValueError("z must have shape (n, %d), not %s" % (self.latent_dim, z.shape))
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
            raise ValueError("length must be an int >= 1, not %r" % (length,))
        out = np.empty((z.shape[0], int(length), self.input_dim), np.float32)
        st = lib.lstmae_decode(self._h, _fptr(z), z.shape[0], int(length), _fptr(out))
        if st == -5:
            raise Error(st, "z holds NaN or infinity")
        _check(st)
        return out

    def reconstruct(self, x, lengths=None):
        """Reconstructions like x (data units), padding steps 0."""
        s = _Set(self, x, lengths)
        out = np.empty(s.x.shape, np.float32)
        self._call(lib.lstmae_reconstruct, s, _fptr(out))
        return out

    def evaluate(self, x, lengths=None):
        """{"loss", "accuracy" (NaN for mse), "elements"}."""
        s = _Set(self, x, lengths)
        m = _capi.metrics_defaults()
        self._call(lib.lstmae_evaluate, s, ctypes.byref(m))
        return {"loss": m.loss, "accuracy": m.accuracy, "elements": int(m.elements)}

    def score(self, x, lengths=None, steps=False):
        """Per-sequence anomaly scores (n,) float32; with steps=True also
        the per-step scores (n, T), 0 on padding."""
        s = _Set(self, x, lengths)
        out = np.empty(s.n, np.float32)
        st_out = np.empty((s.n, s.T), np.float32) if steps else None
        self._call(lib.lstmae_score, s, _fptr(out),
                   _fptr(st_out) if steps else None)
        return (out, st_out) if steps else out

    def calibrate(self, x, lengths=None, rule="quantile", param=0.99):
        """Sets the threshold from normal data by a rule ("quantile",
        "mean_std", "max") and returns it."""
        r = _pick(_RULES, rule, "rule")
        why = ctypes.create_string_buffer(256)
        if lib.lstmae_check_threshold_rule(r, float(param), why, 256):
            raise ValueError(why.value.decode())
        s = _Set(self, x, lengths)
        t = ctypes.c_double()
        self._call(lib.lstmae_calibrate, s, r, float(param), ctypes.byref(t))
        return t.value

    @property
    def threshold(self):
        """The threshold, or None while none is set."""
        t = ctypes.c_double()
        return t.value if lib.lstmae_get_threshold(self._h, ctypes.byref(t)) == 0 else None

    @threshold.setter
    def threshold(self, value):
        _check(lib.lstmae_set_threshold(self._h, float(value)), "threshold %r" % (value,))

    def detect(self, x, lengths=None):
        """(flags (n,) bool, scores (n,) float32): flags where score >
        threshold."""
        s = _Set(self, x, lengths)
        scores = np.empty(s.n, np.float32)
        flags = np.empty(s.n, np.uint8)
        if self.threshold is None:
            raise Error(_capi.ERR_INVALID_ARG, "no threshold is set: calibrate first")
        self._call(lib.lstmae_detect, s, _fptr(scores),
                   flags.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))
        return flags.astype(bool), scores

    def get_scaling(self):
        """(offset, scale), input_dim float32 each."""
        off = np.empty(self.input_dim, np.float32)
        sc = np.empty(self.input_dim, np.float32)
        _check(lib.lstmae_get_scaling(self._h, _fptr(off), _fptr(sc)))
        return off, sc

    def set_scaling(self, offset, scale):
        off = _floats(offset, "offset").reshape(-1)
        sc = _floats(scale, "scale").reshape(-1)
        if off.shape != (self.input_dim,) or sc.shape != (self.input_dim,):
            raise ValueError("offset and scale need %d values each" % self.input_dim)
        _check(lib.lstmae_set_scaling(self._h, _fptr(off), _fptr(sc)),
               "the model's scaling is none, or a value is not finite")

    def _call(self, fn, s, *args):
        st = fn(self._h, ctypes.byref(s.s), *args)
        if st != _capi.OK:
            s.check(self)  # raises with the sequence and step named, if the data is at fault
            _check(st)

    # ---- parameters -------------------------------------------------------

    def param_names(self):
        return [lib.lstmae_param_name(self._h, i).decode()
                for i in range(lib.lstmae_param_count(self._h))]

    def _shape(self, name):
        dims = (ctypes.c_size_t * 2)()
        rank = lib.lstmae_param_shape(self._h, name.encode(), dims)
        return tuple(dims[:rank])

    def state_dict(self):
        """{MODEL.md name: float32 ndarray}, in MODEL.md order."""
        sd = {}
        for name in self.param_names():
            a = np.empty(self._shape(name), np.float32)
            _check(lib.lstmae_get_param(self._h, name.encode(), _fptr(a), a.size))
            sd[name] = a
        return sd

    def load_state_dict(self, sd):
        """Sets every tensor from sd (names and shapes as state_dict's);
        missing, extra or wrongly shaped tensors raise ValueError before
        anything changes."""
        names = self.param_names()
        missing = [n for n in names if n not in sd]
        extra = [n for n in sd if n not in names]
        if missing or extra:
            raise ValueError("state dict: missing %s, unexpected %s" % (missing, extra))
        arrays = {}
        for n in names:
            a = _floats(np.asarray(sd[n]), n)
            if a.shape != self._shape(n):
                raise ValueError("state dict: %s has shape %s, the model's is %s"
                                 % (n, a.shape, self._shape(n)))
            if not np.all(np.isfinite(a)):
                raise ValueError("state dict: %s holds NaN or infinity" % n)
            arrays[n] = a
        for n, a in arrays.items():
            _check(lib.lstmae_set_param(self._h, n.encode(), _fptr(a), a.size))

    # ---- PyTorch ----------------------------------------------------------

    def to_torch(self):
        """PyTorch modules laid out as MODEL.md describes (see from_torch):
        a torch.nn.ModuleDict of encoder, latent, [bridge,] decoder,
        output. Imports torch."""
        from ._torch import to_torch
        return to_torch(self)


def from_torch(modules, loss="bce", seed=1, reverse_target=False, decoder_feedback=None,
               scaling="none"):
    """A Model from PyTorch modules laid out as MODEL.md describes: a
    mapping (or ModuleDict) with "encoder" (nn.LSTM or nn.GRU,
    batch_first, optionally bidirectional), "latent" (nn.Linear),
    optionally "bridge" (a list/ModuleList of nn.Linear(Z, H), one per
    decoder layer: decoder_init latent), "decoder" (the same cell kind,
    input Z, or Z + D with decoder feedback) and "output" (nn.Linear).
    What the modules cannot say (loss, reverse_target, scaling) is given
    here. Imports torch."""
    from ._torch import from_torch as impl
    return impl(Model, modules, loss=loss, seed=seed, reverse_target=reverse_target,
                decoder_feedback=decoder_feedback, scaling=scaling)


def _path(p):
    import os
    return os.fsencode(p)

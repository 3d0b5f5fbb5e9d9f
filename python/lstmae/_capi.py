"""The C library's ABI, declared for ctypes (include/lstmae.h).

Only what the binding calls is declared. The structs mirror the header's
field order; each growable struct carries its own size in struct_size, so
a newer library reading an older layout is fine (the library copies the
first struct_size bytes over its defaults).

ctypes.CDLL releases the GIL for the duration of every foreign call, so
other Python threads run while lstmae trains or encodes; the callbacks
(on_epoch, on_batch) take the GIL back while they run Python code.
"""

import ctypes
import ctypes.util
import os

c_size_t = ctypes.c_size_t
c_int = ctypes.c_int
c_float = ctypes.c_float
c_double = ctypes.c_double
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p
P_float = ctypes.POINTER(ctypes.c_float)
P_int32 = ctypes.POINTER(ctypes.c_int32)

# statuses (LSTMAE_OK, LSTMAE_ERR_*)
OK = 0
STATUS_NAMES = {
    -1: "LSTMAE_ERR_INVALID_ARG",
    -2: "LSTMAE_ERR_NOMEM",
    -3: "LSTMAE_ERR_IO",
    -4: "LSTMAE_ERR_FORMAT",
    -5: "LSTMAE_ERR_NUMERIC",
    -6: "LSTMAE_ERR_CANCELLED",
}
ERR_INVALID_ARG, ERR_CANCELLED = -1, -6
SAVE_INFERENCE_ONLY = 1


class Config(ctypes.Structure):
    """lstmae_config."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("input_dim", c_int),
        ("hidden_dim", c_int),
        ("latent_dim", c_int),
        ("num_layers", c_int),
        ("loss", c_int),
        ("seed", ctypes.c_uint64),
        ("cell", c_int),
        ("bidirectional", c_int),
        ("reverse_target", c_int),
        ("decoder_init", c_int),
        ("decoder_feedback", c_int),
        ("scaling", c_int),
    ]


class Metrics(ctypes.Structure):
    """lstmae_metrics."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("loss", c_double),
        ("accuracy", c_double),
        ("elements", ctypes.c_uint64),
    ]


P_Metrics = ctypes.POINTER(Metrics)
ON_EPOCH = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, P_Metrics, P_Metrics)
ON_BATCH = ctypes.CFUNCTYPE(c_int, c_void_p, c_int, c_size_t, c_size_t, c_double)


class FitOptions(ctypes.Structure):
    """lstmae_fit_options."""
    _fields_ = [
        ("struct_size", c_size_t),
        ("epochs", c_int),
        ("batch_size", c_int),
        ("optimizer", c_int),
        ("learning_rate", c_float),
        ("beta1", c_float),
        ("beta2", c_float),
        ("epsilon", c_float),
        ("clip_norm", c_float),
        ("shuffle", c_int),
        ("num_threads", c_int),
        ("on_epoch", ON_EPOCH),
        ("user", c_void_p),
        ("momentum", c_float),
        ("patience", c_int),
        ("checkpoint_path", c_char_p),
        ("checkpoint_every", c_int),
        ("on_batch", ON_BATCH),
    ]


class Sequences(ctypes.Structure):
    """lstmae_sequences (not growable: exactly these four fields)."""
    _fields_ = [
        ("data", P_float),
        ("lengths", P_int32),
        ("count", c_size_t),
        ("max_len", c_size_t),
    ]


def config_defaults():
    """lstmae_config_init (a static inline function in the header)."""
    c = Config()
    c.struct_size = ctypes.sizeof(Config)
    c.hidden_dim, c.latent_dim, c.num_layers, c.seed = 64, 16, 1, 1
    return c


def fit_options_defaults():
    """lstmae_fit_options_init."""
    o = FitOptions()
    o.struct_size = ctypes.sizeof(FitOptions)
    o.epochs, o.batch_size, o.learning_rate = 10, 64, 1e-3
    o.beta1, o.beta2, o.epsilon = 0.9, 0.999, 1e-8
    o.shuffle, o.checkpoint_every = 1, 1
    return o


def metrics_defaults():
    m = Metrics()
    m.struct_size = ctypes.sizeof(Metrics)
    m.loss = m.accuracy = float("nan")
    return m


# name -> (restype, argtypes)
_M = c_void_p  # lstmae_model *
_PROTOTYPES = {
    "lstmae_strerror": (c_char_p, [c_int]),
    "lstmae_version": (c_char_p, []),
    "lstmae_runtime_info": (c_size_t, [ctypes.c_char_p, c_size_t]),
    "lstmae_create": (c_int, [ctypes.POINTER(Config), ctypes.POINTER(_M)]),
    "lstmae_free": (None, [_M]),
    "lstmae_get_config": (c_int, [_M, ctypes.POINTER(Config)]),
    "lstmae_check_config": (c_int, [ctypes.POINTER(Config), ctypes.c_char_p, c_size_t]),
    "lstmae_check_fit_options": (c_int, [ctypes.POINTER(FitOptions), c_size_t,
                                         ctypes.c_char_p, c_size_t]),
    "lstmae_check_sequences_why": (c_int, [_M, ctypes.POINTER(Sequences),
                                           ctypes.c_char_p, c_size_t]),
    "lstmae_fit": (c_int, [_M, ctypes.POINTER(Sequences), ctypes.POINTER(Sequences),
                           ctypes.POINTER(FitOptions), P_Metrics]),
    "lstmae_set_num_threads": (c_int, [_M, c_int]),
    "lstmae_get_num_threads": (c_int, [_M]),
    "lstmae_encode": (c_int, [_M, ctypes.POINTER(Sequences), P_float]),
    "lstmae_decode": (c_int, [_M, P_float, c_size_t, c_size_t, P_float]),
    "lstmae_reconstruct": (c_int, [_M, ctypes.POINTER(Sequences), P_float]),
    "lstmae_evaluate": (c_int, [_M, ctypes.POINTER(Sequences), P_Metrics]),
    "lstmae_score": (c_int, [_M, ctypes.POINTER(Sequences), P_float, P_float]),
    "lstmae_calibrate": (c_int, [_M, ctypes.POINTER(Sequences), c_int, c_double,
                                 ctypes.POINTER(c_double)]),
    "lstmae_check_threshold_rule": (c_int, [c_int, c_double, ctypes.c_char_p, c_size_t]),
    "lstmae_get_threshold": (c_int, [_M, ctypes.POINTER(c_double)]),
    "lstmae_set_threshold": (c_int, [_M, c_double]),
    "lstmae_detect": (c_int, [_M, ctypes.POINTER(Sequences), P_float,
                              ctypes.POINTER(ctypes.c_uint8)]),
    "lstmae_get_scaling": (c_int, [_M, P_float, P_float]),
    "lstmae_set_scaling": (c_int, [_M, P_float, P_float]),
    "lstmae_scaling_ready": (c_int, [_M]),
    "lstmae_save_ex": (c_int, [_M, c_char_p, ctypes.c_uint]),
    "lstmae_load": (c_int, [c_char_p, ctypes.POINTER(_M)]),
    "lstmae_saved_size_ex": (c_size_t, [_M, ctypes.c_uint]),
    "lstmae_save_buffer_ex": (c_int, [_M, c_void_p, c_size_t, ctypes.c_uint]),
    "lstmae_load_buffer": (c_int, [c_void_p, c_size_t, ctypes.POINTER(_M)]),
    "lstmae_epochs_done": (ctypes.c_uint64, [_M]),
    "lstmae_param_count": (c_size_t, [_M]),
    "lstmae_param_name": (c_char_p, [_M, c_size_t]),
    "lstmae_param_size": (c_size_t, [_M, c_char_p]),
    "lstmae_param_shape": (c_int, [_M, c_char_p, ctypes.POINTER(c_size_t)]),
    "lstmae_get_param": (c_int, [_M, c_char_p, P_float, c_size_t]),
    "lstmae_set_param": (c_int, [_M, c_char_p, P_float, c_size_t]),
}


def _candidates():
    """Where the library is looked for, in order: $LSTMAE_LIBRARY; a library
    installed beside the package; the system's search path."""
    env = os.environ.get("LSTMAE_LIBRARY")
    if env:
        return [env], True
    here = os.path.dirname(os.path.abspath(__file__))
    found = [os.path.join(here, n) for n in sorted(os.listdir(here))
             if n.startswith("liblstmae.so") or n == "liblstmae.dylib"]
    system = ctypes.util.find_library("lstmae")
    return found + ([system] if system else []) + ["liblstmae.so.0"], False


def load_library():
    names, from_env = _candidates()
    errors = []
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            errors.append("%s: %s" % (name, e))
            if from_env:
                break
            continue
        for fn, (res, args) in _PROTOTYPES.items():
            f = getattr(lib, fn)
            f.restype = res
            f.argtypes = args
        return lib
    raise ImportError(
        "lstmae: cannot load the C library (set LSTMAE_LIBRARY to a built "
        "liblstmae.so): " + "; ".join(errors))


lib = load_library()

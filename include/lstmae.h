/**
 * @file lstmae.h
 * @brief The one public header of lstmae, an LSTM autoencoder in C.
 *
 * lstmae turns variable-length sequences into fixed-size vectors (encode)
 * and vectors back into sequences (decode), with exact masking of padding.
 * What every call computes is fixed by docs/model.md (PyTorch semantics).
 *
 * The header reads top-down from the simplest calls to the advanced ones:
 * version and statuses, the types, a model's life cycle, training,
 * inference, then memory control, model files and parameters by name.
 *
 * Conventions (docs/api.md has the long form):
 *  - Every fallible call returns int: #LSTMAE_OK (0) or a negative status;
 *    lstmae_strerror() names it. The library never aborts, exits or prints
 *    on bad input, and leaves every object it was given as it was on failure.
 *  - The caller owns every buffer it passes; the library never keeps one.
 *    A model made by lstmae_create() belongs to the caller and is released
 *    with lstmae_free(). Returned `const char *` are borrowed: static, or
 *    valid for the model's lifetime.
 *  - No global mutable state. Any number of threads may call the functions
 *    taking `const lstmae_model *` on one model at once; a call taking a
 *    non-const model needs exclusive access to that model.
 *  - Growable structs begin with `size_t struct_size`, set by their
 *    static inline _init function to the size the caller was compiled with.
 *    The library reads only the first struct_size bytes, uses defaults for
 *    fields an older caller lacks, and rejects struct_size == 0.
 *
 * MIT licensed; see LICENSE.
 */
#ifndef LSTMAE_H
#define LSTMAE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ------------------------------------------------------------ */

/** @defgroup version Version
 *  The version of the header. lstmae_version() gives the library's; within
 *  one major version the library is backward compatible (abi/README.md).
 *  @{ */

#define LSTMAE_VERSION_MAJOR 0 /**< Major version: incompatible changes. */
#define LSTMAE_VERSION_MINOR 1 /**< Minor version: additions. */
#define LSTMAE_VERSION_PATCH 0 /**< Patch version: fixes. */

/** @} */

/* ---- export macro ------------------------------------------------------- */

/** @def LSTMAE_API
 *  Marks every public function: exported from the shared library (which
 *  hides every other symbol), imported on Windows. A program that links
 *  the static library on Windows defines LSTMAE_STATIC_DEFINE (the CMake
 *  target lstmae::lstmae does so); the library's own build defines
 *  LSTMAE_BUILDING. */
#if defined(LSTMAE_STATIC_DEFINE)
#  define LSTMAE_API
#elif defined(_WIN32)
#  if defined(LSTMAE_BUILDING)
#    define LSTMAE_API __declspec(dllexport)
#  else
#    define LSTMAE_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define LSTMAE_API __attribute__((visibility("default")))
#else
#  define LSTMAE_API
#endif

/* ---- statuses ----------------------------------------------------------- */

/** @defgroup status Statuses and library information
 *  What every fallible call returns, and what the library is built on.
 *  Status values are pinned: they never change between releases.
 *  @{ */

#define LSTMAE_OK                0  /**< Success. */
#define LSTMAE_ERR_INVALID_ARG (-1) /**< NULL pointer, bad size, bad option   */
#define LSTMAE_ERR_NOMEM       (-2) /**< an allocation failed                 */
#define LSTMAE_ERR_IO          (-3) /**< a file could not be read or written  */
#define LSTMAE_ERR_FORMAT      (-4) /**< not a model file, corrupt, too new   */
#define LSTMAE_ERR_NUMERIC     (-5) /**< NaN/Inf in valid input, or diverged  */
#define LSTMAE_ERR_CANCELLED   (-6) /**< a callback asked to stop             */

/**
 * Name of a status ("success", "invalid argument", ...).
 *
 * @par Thread safety
 *      Any thread, any time.
 *
 * @param status  any int; usually what a call returned.
 * @return a static string, never NULL; "unknown status" for a value that
 *         is not a status. Cannot fail.
 */
LSTMAE_API const char *lstmae_strerror(int status);

/**
 * The library's version, "MAJOR.MINOR.PATCH", as it was built.
 *
 * @par Thread safety
 *      Any thread, any time.
 *
 * @return a static string, never NULL. Cannot fail.
 */
LSTMAE_API const char *lstmae_version(void);

/**
 * What the library runs on, as one line of text written like snprintf.
 *
 * The line holds the library's version, the BLAS and its version, the
 * BLAS's kernels (e.g. OpenBLAS's core) and threads, the instruction
 * set of lstmae's own cell kernels, and what runs the per-step recurrent
 * products (lstmae's packed AVX-512 kernel, or the BLAS), e.g.
 * "lstmae=0.1.0 blas=OpenBLAS 0.3.21 ... core=SkylakeX blas_threads=2
 * kernels=avx512f-intrinsics step_gemm=avx512f-packed".
 *
 * @par Thread safety
 *      Any thread, any time.
 *
 * @param[out] buf   receives at most size bytes, NUL included (truncated
 *                   like snprintf); may be NULL when size is 0.
 * @param      size  bytes available at buf.
 * @return the length of the whole line, without the NUL (call with size 0
 *         to learn it). Cannot fail; buf is written only up to size bytes.
 */
LSTMAE_API size_t lstmae_runtime_info(char *buf, size_t size);

/** @} */

/* ---- limits ------------------------------------------------------------- */

/** @defgroup limits Limits
 *  Dimensions above these are rejected with #LSTMAE_ERR_INVALID_ARG, as are
 *  shapes whose element counts would overflow size_t.
 *  @{ */

#define LSTMAE_MAX_DIM    65536  /**< input_dim, hidden_dim, latent_dim */
#define LSTMAE_MAX_LAYERS 64     /**< num_layers                        */
/** max_len of a set and the length of lstmae_decode: INT_MAX / 256, so
    that every packed product's row count fits an int. */
#define LSTMAE_MAX_STEPS  8388607

/** @} */

/* ---- types -------------------------------------------------------------- */

/** @defgroup types Types
 *  The model handle, its configuration, a set of sequences, metrics and
 *  training options. The growable structs (lstmae_config,
 *  lstmae_fit_options, lstmae_metrics) are initialised with their _init
 *  function before use.
 *  @{ */

/**
 * A model: configuration, parameters, optimiser state and random generator.
 *
 * Opaque; made by lstmae_create() (or lstmae_load()), released by
 * lstmae_free(). Calls taking a `const lstmae_model *` may share one model
 * across threads; the others need it to themselves.
 */
typedef struct lstmae_model lstmae_model;

/**
 * Reconstruction loss.
 *
 * BCE treats the output as logits of Bernoulli probabilities (for data in
 * [0, 1], e.g. one-hot); MSE is plain squared error (for real-valued data).
 */
typedef enum {
    LSTMAE_LOSS_BCE = 0, /**< binary cross-entropy from logits; outputs are probabilities */
    LSTMAE_LOSS_MSE = 1, /**< mean squared error; outputs are values */
    LSTMAE_LOSS_CROSS_ENTROPY = 2 /**< softmax cross-entropy over the features of
                                     each step (one-hot or probability
                                     targets); outputs are the softmax; needs
                                     input_dim >= 2 (since 0.2) */
} lstmae_loss;

/**
 * Recurrent cell of every encoder and decoder layer (docs/model.md).
 *
 * The LSTM keeps one bias per layer; the GRU has PyTorch's two (bias_ih,
 * bias_hh), both trained.
 */
typedef enum {
    LSTMAE_CELL_LSTM = 0, /**< LSTM (torch.nn.LSTM with one bias), the default */
    LSTMAE_CELL_GRU = 1   /**< GRU (torch.nn.GRU), gate blocks r, z, n */
} lstmae_cell;

/**
 * Initial state of the decoder (docs/variants.md).
 */
typedef enum {
    LSTMAE_DECODER_INIT_ZERO = 0,  /**< zero state, the default */
    LSTMAE_DECODER_INIT_LATENT = 1 /**< layer k starts from h = tanh(W_b^k z + b_b^k)
                                      (tensors bridge.{k}.*), c = 0 */
} lstmae_decoder_init;

/**
 * Input scaling stored in the model (docs/anomaly.md): the network sees
 * (x - offset) / scale per feature, with offset and scale computed from
 * the valid steps of the training set of the model's first lstmae_fit()
 * (or set by lstmae_set_scaling()), then fixed.
 */
typedef enum {
    LSTMAE_SCALING_NONE = 0,     /**< no scaling, the default */
    LSTMAE_SCALING_STANDARD = 1, /**< offset = mean, scale = standard deviation (1/N) */
    LSTMAE_SCALING_MINMAX = 2    /**< offset = min, scale = max - min */
} lstmae_scaling;

/**
 * How lstmae_calibrate() turns the scores of normal data into a threshold.
 */
typedef enum {
    LSTMAE_THRESHOLD_QUANTILE = 0, /**< param q in (0, 1]: the ceil(q n)-th smallest score */
    LSTMAE_THRESHOLD_MEAN_STD = 1, /**< param k >= 0: mean + k std (population, 1/n) */
    LSTMAE_THRESHOLD_MAX = 2       /**< param f >= 1: f times the largest score */
} lstmae_threshold_rule;

/** Optimiser of lstmae_fit(), with PyTorch's semantics (docs/model.md). */
typedef enum {
    LSTMAE_OPT_ADAM = 0, /**< Adam (torch.optim.Adam) */
    LSTMAE_OPT_SGD = 1   /**< SGD with optional momentum (torch.optim.SGD) */
} lstmae_optimizer;

/**
 * Model configuration (growable).
 *
 * Initialise with lstmae_config_init(), then set input_dim (required) and
 * whatever else differs from the defaults. lstmae_create() copies it.
 */
typedef struct lstmae_config {
    size_t struct_size;     /**< set by lstmae_config_init                  */
    int input_dim;          /**< D, features per step; no default (0)       */
    int hidden_dim;         /**< H, recurrent state size; default 64        */
    int latent_dim;         /**< Z, size of the encoding; default 16        */
    int num_layers;         /**< K, recurrent layers in encoder and decoder;
                               default 1                                  */
    lstmae_loss loss;       /**< default LSTMAE_LOSS_BCE                    */
    uint64_t seed;          /**< initialisation and shuffling; default 1.
                               Same config, same seed: same model.        */
    lstmae_cell cell;       /**< recurrent cell; default LSTMAE_CELL_LSTM
                               (since 0.2)                                */
    int bidirectional;      /**< 1: each encoder layer also runs backwards
                               over the valid steps; default 0 (since 0.2) */
    int reverse_target;     /**< 1: the decoder produces the sequence last
                               step first (outputs stay in time order);
                               default 0 (since 0.2)                      */
    lstmae_decoder_init decoder_init; /**< default LSTMAE_DECODER_INIT_ZERO
                               (since 0.2)                                */
    int decoder_feedback;   /**< 1: the decoder also sees the previous step:
                               the target's in fit, evaluate and
                               reconstruct (teacher forcing), its own
                               output in decode; default 0 (since 0.2)    */
    lstmae_scaling scaling; /**< input scaling; default LSTMAE_SCALING_NONE
                               (since 0.2)                                */
} lstmae_config;

/**
 * Initialises a configuration: struct_size to the size this program was
 * compiled with, every other field to its default.
 *
 * @par Thread safety
 *      Touches only *cfg.
 *
 * @param[out] cfg  the struct to fill; every byte is written.
 */
static inline void lstmae_config_init(lstmae_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->input_dim = 0;
    cfg->hidden_dim = 64;
    cfg->latent_dim = 16;
    cfg->num_layers = 1;
    cfg->loss = LSTMAE_LOSS_BCE;
    cfg->seed = 1;
    cfg->cell = LSTMAE_CELL_LSTM;
    cfg->bidirectional = 0;
    cfg->reverse_target = 0;
    cfg->decoder_init = LSTMAE_DECODER_INIT_ZERO;
    cfg->decoder_feedback = 0;
    cfg->scaling = LSTMAE_SCALING_NONE;
}

/**
 * A set of sequences: a view of caller memory, never kept or written.
 *
 * data holds count * max_len * input_dim floats, row-major
 * [count][max_len][input_dim]; sequence i is its first lengths[i] steps,
 * the rest is padding, which is never read (it may hold anything, NaN
 * included). lengths == NULL means every sequence has max_len steps.
 * Not growable: it has exactly these four fields.
 */
typedef struct lstmae_sequences {
    const float *data;      /**< may be NULL only if max_len == 0           */
    const int32_t *lengths; /**< count entries in 0..max_len, or NULL       */
    size_t count;           /**< number of sequences, >= 1                  */
    size_t max_len;         /**< T, steps per padded sequence               */
} lstmae_sequences;

/**
 * Loss and accuracy over the valid (non-padding) elements of a set
 * (growable; initialise with lstmae_metrics_init()).
 */
typedef struct lstmae_metrics {
    size_t struct_size;     /**< set by lstmae_metrics_init                 */
    double loss;            /**< mean per valid element (cross-entropy: per
                               valid step)                                */
    double accuracy;        /**< bce: share of valid elements with
                               (p > 0.5) == (x > 0.5); cross-entropy:
                               share of valid steps whose argmax matches
                               the target's; NAN for mse                  */
    uint64_t elements;      /**< valid elements counted: D * sum(lengths)   */
} lstmae_metrics;

/**
 * Initialises metrics: struct_size to the size this program was compiled
 * with, loss and accuracy to NaN, elements to 0.
 *
 * @par Thread safety
 *      Touches only *m.
 *
 * @param[out] m  the struct to fill; every byte is written.
 */
static inline void lstmae_metrics_init(lstmae_metrics *m)
{
    memset(m, 0, sizeof *m);
    m->struct_size = sizeof *m;
    m->loss = NAN;
    m->accuracy = NAN;
    m->elements = 0;
}

/**
 * Training options of lstmae_fit() (growable).
 *
 * Initialise with lstmae_fit_options_init(), then change what differs from
 * the defaults. lstmae_fit() copies it and keeps none of its pointers.
 */
typedef struct lstmae_fit_options {
    size_t struct_size;     /**< set by lstmae_fit_options_init             */
    int epochs;             /**< passes over the data, >= 0; default 10     */
    int batch_size;         /**< sequences per step, >= 1; default 64       */
    lstmae_optimizer optimizer; /**< default LSTMAE_OPT_ADAM                */
    float learning_rate;    /**< > 0; default 1e-3                          */
    /** @var beta1
        Adam's first-moment decay, in [0, 1); default 0.9.
        @var beta2
        Adam's second-moment decay, in [0, 1); default 0.999. */
    float beta1, beta2;     /* Adam, in [0, 1); default 0.9, 0.999        */
    float epsilon;          /**< Adam, > 0; default 1e-8                    */
    float clip_norm;        /**< > 0: clip the global gradient norm to it
                               (torch.nn.utils.clip_grad_norm_); <= 0 off */
    int shuffle;            /**< non-zero: a new order every epoch, drawn
                               from the model's generator; 0: data order;
                               default 1                                  */
    int num_threads;        /**< worker threads fit uses, >= 0: that
                               many workers split each batch. 0: the
                               library's choice (now 1). The BLAS's own
                               threading (OPENBLAS_NUM_THREADS) is never
                               changed by lstmae. Results are
                               bit-identical for the same thread count,
                               whatever other threads do; they may differ
                               in the last bits between counts.           */
    /** Called after every epoch (epoch counts from 1 within this call) with
       the epoch's training metrics (per valid element over the whole
       epoch, each batch's loss taken before its update) and the
       validation metrics (NULL without
       a validation set). Return non-zero to stop: lstmae_fit then returns
       LSTMAE_ERR_CANCELLED with the model as that epoch left it.
       Called on the thread that called lstmae_fit; it may call the const
       functions on the model (evaluate, save), never train, change or
       free it. NULL: not called. */
    int (*on_epoch)(void *user, int epoch, const lstmae_metrics *train,
                    const lstmae_metrics *valid);
    void *user;             /**< passed to on_epoch and on_batch; not read  */
    float momentum;         /**< SGD momentum (PyTorch's form), >= 0; 0     */
    /** Early stopping, > 0 (needs a validation set): stop after `patience`
       epochs without a lower validation loss, and end with the model as
       the best epoch left it (parameters and training state). 0: off.   */
    int patience;
    /** Non-NULL: after every checkpoint_every-th epoch of this call, save
       the model with its training state to this path (atomically, as
       lstmae_save). A failed save stops fit with LSTMAE_ERR_IO. An
       empty string is LSTMAE_ERR_INVALID_ARG before any work.
       Default NULL.                                                      */
    const char *checkpoint_path;
    int checkpoint_every;   /**< >= 1; default 1                            */
    /** Called after every batch's update (epoch from 1; batch from 1 of
       num_batches, counting batches with no valid element too) with the
       batch's mean loss, taken before the update. For progress display.
       Return non-zero to stop: lstmae_fit returns LSTMAE_ERR_CANCELLED
       with the model as that batch left it (mid-epoch: lstmae_epochs_done
       does not count the unfinished epoch). NULL: not called. Same rules
       as on_epoch.                                                      */
    int (*on_batch)(void *user, int epoch, size_t batch, size_t num_batches,
                    double batch_loss);
} lstmae_fit_options;

/**
 * Initialises training options: struct_size to the size this program was
 * compiled with, every other field to its default.
 *
 * @par Thread safety
 *      Touches only *opt.
 *
 * @param[out] opt  the struct to fill; every byte is written.
 */
static inline void lstmae_fit_options_init(lstmae_fit_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->struct_size = sizeof *opt;
    opt->epochs = 10;
    opt->batch_size = 64;
    opt->optimizer = LSTMAE_OPT_ADAM;
    opt->learning_rate = 1e-3f;
    opt->beta1 = 0.9f;
    opt->beta2 = 0.999f;
    opt->epsilon = 1e-8f;
    opt->clip_norm = 0.0f;
    opt->shuffle = 1;
    opt->num_threads = 0;
    opt->on_epoch = NULL;
    opt->user = NULL;
    opt->momentum = 0.0f;
    opt->patience = 0;
    opt->checkpoint_path = NULL;
    opt->checkpoint_every = 1;
    opt->on_batch = NULL;
}

/** @} */

/* ---- life cycle --------------------------------------------------------- */

/** @defgroup lifecycle Life cycle
 *  Making and releasing a model. A model is owned by the caller.
 *  @{ */

/**
 * Makes a model with freshly initialised parameters (PyTorch's default
 * initialisation, drawn from a generator seeded with cfg->seed; an LSTM's
 * forget-gate biases start 1 higher, as Keras' unit_forget_bias, so that
 * training leaves the mean-sequence plateau sooner).
 *
 * @par Thread safety
 *      Any thread; touches no shared state.
 *
 * @param      cfg  the configuration (lstmae_config_init(), then
 *                  input_dim and any other changes); copied, not kept.
 * @param[out] out  receives the new model, which belongs to the caller:
 *                  release it with lstmae_free().
 * @retval LSTMAE_OK               *out is the model.
 * @retval LSTMAE_ERR_INVALID_ARG  cfg or out NULL, struct_size 0, a
 *                                 dimension < 1 or above the limits, an
 *                                 unknown loss, cell or decoder_init, a
 *                                 flag (bidirectional, reverse_target,
 *                                 decoder_feedback) other than 0 or 1, or
 *                                 a combination that cannot be computed:
 *                                 cross-entropy with input_dim 1 (a
 *                                 softmax over one feature is always 1).
 * @retval LSTMAE_ERR_NOMEM        an allocation failed.
 *
 * Every other combination of the variants is allowed, with any number
 * of layers (docs/variants.md).
 *
 * On failure *out is set to NULL (when out is not NULL).
 */
LSTMAE_API int lstmae_create(const lstmae_config *cfg, lstmae_model **out);

/**
 * Releases a model and everything it owns.
 *
 * @par Thread safety
 *      Needs the model to itself: no other call on it may be running.
 *
 * @param model  the model, or NULL (then nothing happens).
 *
 * Cannot fail; model is invalid afterwards.
 */
LSTMAE_API void lstmae_free(lstmae_model *model);

/**
 * Copies the model's configuration into *out (its first out->struct_size
 * bytes).
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model  the model.
 * @param[out] out    receives the configuration; its struct_size must be
 *                    set (lstmae_config_init()).
 * @retval LSTMAE_OK               *out holds the configuration.
 * @retval LSTMAE_ERR_INVALID_ARG  model or out NULL, struct_size 0.
 *
 * *out is unchanged on failure.
 */
LSTMAE_API int lstmae_get_config(const lstmae_model *model, lstmae_config *out);

/** @} */

/* ---- training ----------------------------------------------------------- */

/** @defgroup training Training
 *  @{ */

/**
 * Trains the model on `train` for opt->epochs epochs of mini-batches.
 *
 * Each batch takes one optimiser step on the gradient of the mean loss
 * over the batch (batches whose sequences are all empty are skipped).
 * `valid`, if not NULL, is evaluated after every epoch. The model keeps
 * its optimiser state and generator between calls, so fitting 5 epochs
 * equals fitting 2 then 3, bit for bit (same threads). fit allocates
 * everything it needs, lstmae_fit_memory() bytes, before it starts.
 *
 * @par Thread safety
 *      Needs the model to itself: no other call on it may be running. Its
 *      worker threads (opt->num_threads) end before it returns.
 *
 * @param         model       the model to train.
 * @param         train       the training set; read, not kept.
 * @param         valid       a validation set, or NULL.
 * @param         opt         options (lstmae_fit_options_init()), or NULL
 *                            for the defaults; copied, not kept.
 * @param[out]    last_train  if not NULL, gets the last epoch's training
 *                            metrics (when at least one epoch completed);
 *                            its struct_size must be set.
 * @retval LSTMAE_OK               trained (with patience: as its best
 *                                 epoch left it).
 * @retval LSTMAE_ERR_INVALID_ARG  NULL model or train, bad options,
 *                                 lengths out of range, dimensions that do
 *                                 not fit, no valid element in train or
 *                                 valid; nothing was changed.
 * @retval LSTMAE_ERR_NUMERIC      NaN/Inf in a valid step of train or
 *                                 valid (found before any work; nothing
 *                                 changed), or the loss or gradient became
 *                                 non-finite during training: the model
 *                                 (parameters, optimiser state, generator)
 *                                 is restored to where the last completed
 *                                 epoch left it.
 * @retval LSTMAE_ERR_CANCELLED    on_epoch returned non-zero; the model is
 *                                 as the epoch just completed left it
 *                                 (on_batch: as that batch left it).
 * @retval LSTMAE_ERR_IO           a checkpoint could not be written; the
 *                                 model is as the epoch just completed
 *                                 left it.
 * @retval LSTMAE_ERR_NOMEM        nothing was changed.
 *
 * On failure the sets are untouched, and last_train gets the metrics of
 * the last epoch completed in this call (untouched if none completed).
 */
LSTMAE_API int lstmae_fit(lstmae_model *model, const lstmae_sequences *train,
                          const lstmae_sequences *valid,
                          const lstmae_fit_options *opt,
                          lstmae_metrics *last_train);

/** lstmae_collective.allreduce's operations. */
#define LSTMAE_REDUCE_SUM 0 /**< sum over the ranks */
#define LSTMAE_REDUCE_MAX 1 /**< maximum over the ranks */

/**
 * The collective operations of a group of processes ("ranks") that train
 * one model together (growable; set struct_size to sizeof). lstmae_mpi
 * builds one on an MPI communicator (lstmae_fit_mpi(), lstmae_mpi.h); any
 * other transport can too. The core library itself has no MPI dependency.
 */
typedef struct lstmae_collective {
    size_t struct_size;     /**< sizeof(lstmae_collective)                  */
    int rank;               /**< this process, 0 .. size - 1                */
    int size;               /**< the number of ranks, >= 1                  */
    void *user;             /**< passed to the functions below              */
    /** Combines buf[0 .. n-1] over every rank in place by op
       (#LSTMAE_REDUCE_SUM or #LSTMAE_REDUCE_MAX). Every rank must receive
       the same bits. Returns 0, or non-zero when communication failed. */
    int (*allreduce)(void *user, float *buf, size_t n, int op);
    /** Copies buf[0 .. n-1] from rank 0 to every other rank. Returns 0,
       or non-zero when communication failed. */
    int (*broadcast)(void *user, void *buf, size_t n);
} lstmae_collective;

/**
 * Data-parallel lstmae_fit() over a group of ranks (docs/distributed.md).
 * Every rank calls it at once with its own shard of the training (and
 * validation) data and the same options. Rank 0's model is broadcast
 * first, so every rank starts, and ends, with the same model, bit for
 * bit. A step's gradient is the mean over every valid element of the
 * union of the ranks' local batches of batch_size sequences, combined by
 * one all-reduce (gradient sums and counts in one buffer); an epoch has as
 * many steps as the largest shard needs (a rank that has run out adds
 * nothing). Metrics, validation, early stopping, divergence and input
 * scaling statistics are global. With shuffle, each rank shuffles its own
 * shard, from the model's generator and its rank. Checkpoints are written
 * by rank 0 only, and the callbacks run on rank 0 only (a stop they ask
 * for takes effect on every rank after the same batch or epoch).
 *
 * Every rank returns the same status: arguments are checked, and the
 * outcome agreed, before any work and after every epoch, so a rank with
 * bad input (invalid arguments, NaN in a valid step, a model whose
 * configuration differs from rank 0's, no memory) makes every rank
 * return that status without training. A communication failure is
 * #LSTMAE_ERR_IO.
 *
 * @param model       this rank's model (replaced by rank 0's, then trained).
 * @param coll        the group; coll->size 1 trains alone.
 * @param train       this rank's shard; count may be 0 (train may then
 *                    have data NULL).
 * @param valid       this rank's validation shard, or NULL.
 * @param opt         the same options on every rank (NULL: defaults).
 * @param last_train  NULL, or receives the global metrics of the last
 *                    epoch.
 * @return as lstmae_fit(), the same on every rank.
 */
LSTMAE_API int lstmae_fit_collective(lstmae_model *model, const lstmae_collective *coll,
                                     const lstmae_sequences *train,
                                     const lstmae_sequences *valid,
                                     const lstmae_fit_options *opt,
                                     lstmae_metrics *last_train);

/** @} */

/* ---- inference (const: safe to call from many threads at once) --------- */

/** @defgroup inference Inference
 *  Encoding, decoding and evaluating. Every call here takes a const model:
 *  any number of threads may run them on one model at once, each with its
 *  own workspace (allocated and released within the call).
 *  @{ */

/**
 * Sets how many threads the inference calls on this model use:
 * lstmae_encode(), lstmae_decode(), lstmae_reconstruct() and
 * lstmae_evaluate().
 *
 * Each such call then puts the set in its canonical order (by length, then
 * content), deals it to num_threads workers (the calling thread and
 * num_threads - 1 threads started for the call, joined before it
 * returns), and each worker runs its share in chunks on a workspace of its
 * own. lstmae_infer_memory() counts every worker's workspace. For a given
 * thread count the results are the same on every run and for any order of
 * the set; between thread counts they may differ in the last bits (a BLAS
 * may round a product differently for a different number of rows). With a
 * threaded BLAS (OpenBLAS's pthread build) each worker's BLAS calls may
 * also be threaded: set OPENBLAS_NUM_THREADS=1 to keep to num_threads.
 * The setting is not saved in model files; a created or loaded model
 * starts at 0. lstmae_fit() has its own count
 * (lstmae_fit_options.num_threads), also used for its validation set.
 *
 * @par Thread safety
 *      Changes the model: call it before sharing the model between
 *      threads, not while another call uses it.
 *
 * @param model        the model.
 * @param num_threads  0 (the default) or 1: the calling thread only; more
 *                     (at most 1024; more than 64 counts as 64, and never
 *                     more workers than sequences).
 * @retval LSTMAE_OK               set.
 * @retval LSTMAE_ERR_INVALID_ARG  model NULL, or num_threads out of range;
 *                                 the setting is unchanged.
 */
LSTMAE_API int lstmae_set_num_threads(lstmae_model *model, int num_threads);

/**
 * The thread count lstmae_set_num_threads() last set (0 by default).
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param model  the model.
 * @return the count; 0 for NULL.
 */
LSTMAE_API int lstmae_get_num_threads(const lstmae_model *model);

/**
 * Writes the latent vector of every sequence to latent[count][latent_dim].
 *
 * A sequence of length 0 gets the latent of the empty sequence
 * (latent.bias). Sequences do not interact: a sequence's vector depends
 * on its own valid steps only.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model   the model.
 * @param      in      the sequences; read, not kept.
 * @param[out] latent  in->count * latent_dim floats.
 * @retval LSTMAE_OK               latent is written.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, count 0, lengths out of range,
 *                                 shapes too large.
 * @retval LSTMAE_ERR_NUMERIC      NaN/Inf in a valid step.
 * @retval LSTMAE_ERR_NOMEM        the workspace could not be allocated.
 *
 * latent is untouched on failure.
 */
LSTMAE_API int lstmae_encode(const lstmae_model *model,
                             const lstmae_sequences *in, float *latent);

/**
 * Decodes count latent vectors latent[count][latent_dim] into sequences of
 * `length` steps each.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model   the model.
 * @param      latent  count * latent_dim floats.
 * @param      count   number of vectors, >= 1.
 * @param      length  steps to decode each to, >= 1.
 * @param[out] out     count * length * input_dim floats
 *                     [count][length][input_dim]: probabilities for bce,
 *                     values for mse, per-step softmax for cross-entropy.
 *                     With decoder_feedback the decoder runs free: step t
 *                     sees its own output of step t - 1. With
 *                     reverse_target the steps are still in time order.
 * @retval LSTMAE_OK               out is written.
 * @retval LSTMAE_ERR_INVALID_ARG  count or length 0, NULL, shapes too
 *                                 large.
 * @retval LSTMAE_ERR_NUMERIC      NaN/Inf in latent.
 * @retval LSTMAE_ERR_NOMEM        the workspace could not be allocated.
 *
 * out is untouched on failure.
 */
LSTMAE_API int lstmae_decode(const lstmae_model *model, const float *latent,
                             size_t count, size_t length, float *out);

/**
 * Encodes and decodes every sequence to its own length.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model  the model.
 * @param      in     the sequences; read, not kept.
 * @param[out] out    the shape of in->data ([count][max_len][input_dim]):
 *                    probabilities for bce, values for mse; padding steps
 *                    are written 0.
 * @return as lstmae_encode(): #LSTMAE_OK, #LSTMAE_ERR_INVALID_ARG,
 *         #LSTMAE_ERR_NUMERIC (NaN/Inf in a valid step) or
 *         #LSTMAE_ERR_NOMEM.
 *
 * out is untouched on failure.
 */
LSTMAE_API int lstmae_reconstruct(const lstmae_model *model,
                                  const lstmae_sequences *in, float *out);

/**
 * Loss (and accuracy, for bce) of reconstructing `in`, over its valid
 * elements.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model  the model.
 * @param      in     the sequences; read, not kept.
 * @param[out] out    receives the metrics (its first struct_size bytes;
 *                    struct_size must be set: lstmae_metrics_init()).
 * @retval LSTMAE_OK               *out holds the metrics.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, struct_size 0, lengths out of
 *                                 range, or every sequence empty (the loss
 *                                 is undefined).
 * @retval LSTMAE_ERR_NUMERIC      NaN/Inf in a valid step.
 * @retval LSTMAE_ERR_NOMEM        the workspace could not be allocated.
 *
 * *out is untouched on failure.
 */
LSTMAE_API int lstmae_evaluate(const lstmae_model *model,
                               const lstmae_sequences *in,
                               lstmae_metrics *out);

/** @} */

/* ---- advanced: memory ---------------------------------------------------- */

/** @defgroup memory Advanced: memory and input checks
 *  Allocators per model, the memory a call will need, and the checks every
 *  call makes on a set of sequences.
 *  @{ */

/**
 * An application's allocation functions, for one model (there is no
 * process-wide setting).
 *
 * Every allocation of the model and of calls on it goes through them,
 * including the per-call workspace of const calls: if a model is shared by
 * threads, the functions must be thread-safe. Not growable.
 */
typedef struct lstmae_allocator {
    /** Returns size bytes aligned for any type, or NULL. */
    void *(*alloc)(void *opaque, size_t size);
    /** Releases what alloc returned (never called with NULL). */
    void (*free)(void *opaque, void *ptr);
    void *opaque; /**< passed to alloc and free; the library never reads it */
} lstmae_allocator;

/**
 * lstmae_create() with an allocator: the model and everything done with it
 * allocate through it.
 *
 * @par Thread safety
 *      Any thread; touches no shared state.
 *
 * @param      cfg        as lstmae_create().
 * @param      allocator  the functions to use (copied, not kept), or NULL
 *                        for malloc and free.
 * @param[out] out        as lstmae_create().
 * @return as lstmae_create(); also #LSTMAE_ERR_INVALID_ARG for an
 *         allocator lacking a function.
 *
 * On failure *out is set to NULL (when out is not NULL).
 */
LSTMAE_API int lstmae_create_advanced(const lstmae_config *cfg,
                                      const lstmae_allocator *allocator,
                                      lstmae_model **out);

/**
 * The most bytes lstmae_fit() with these sets and options would allocate at
 * once (it allocates all of it before training starts).
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param model  the model.
 * @param train  the training set; only count and max_len are read.
 * @param valid  the validation set (count and max_len), or NULL.
 * @param opt    the options, or NULL for the defaults.
 * @return the bytes; 0 when the arguments are invalid or the size
 *         overflows. Changes nothing.
 */
LSTMAE_API size_t lstmae_fit_memory(const lstmae_model *model,
                                    const lstmae_sequences *train,
                                    const lstmae_sequences *valid,
                                    const lstmae_fit_options *opt);

/**
 * The most bytes an inference call allocates.
 *
 * That is lstmae_encode(), lstmae_reconstruct() or lstmae_evaluate() for
 * `count` sequences of max_len steps, and lstmae_decode() for count
 * sequences of length max_len, with the model's current thread count
 * (lstmae_set_num_threads(): every worker has a workspace of its own, so
 * the figure grows with it). Each call makes this one allocation.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param model    the model.
 * @param count    number of sequences.
 * @param max_len  steps per padded sequence (decode: the length).
 * @return the bytes; 0 when invalid or overflowing. Changes nothing.
 */
LSTMAE_API size_t lstmae_infer_memory(const lstmae_model *model, size_t count,
                                      size_t max_len);

/**
 * Checks a set as every call does before any work, and says where the
 * first problem is.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model      the model (its input_dim and limits apply).
 * @param      in         the sequences; read, not kept.
 * @param[out] bad_index  if not NULL, on failure receives the sequence to
 *                        blame, or SIZE_MAX when no sequence is.
 * @retval LSTMAE_OK               the set is usable; *bad_index is left as
 *                                 it was.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, count 0, a length out of range
 *                                 (*bad_index is that sequence).
 * @retval LSTMAE_ERR_NUMERIC      NaN or infinity in a valid step
 *                                 (*bad_index is the first such sequence).
 *
 * The model and the set are never changed.
 */
LSTMAE_API int lstmae_check_sequences(const lstmae_model *model,
                                      const lstmae_sequences *in,
                                      size_t *bad_index);

/**
 * lstmae_check_sequences() with a one-line reason naming the sequence,
 * and for NaN/Inf the step and feature: "sequence 3, step 7, feature 0:
 * NaN in a valid step (steps 0..9 of this sequence are valid)".
 *
 * @param      model     the model.
 * @param      in        the sequences; read, not kept.
 * @param[out] why       NULL, or receives the reason (empty when the set
 *                       is usable), truncated to why_size bytes and
 *                       terminated.
 * @param      why_size  bytes at why.
 * @return as lstmae_check_sequences().
 */
LSTMAE_API int lstmae_check_sequences_why(const lstmae_model *model,
                                          const lstmae_sequences *in, char *why,
                                          size_t why_size);

/**
 * Checks a configuration as lstmae_create() does, and says why it is
 * rejected: for a program that takes the fields from a user (a command
 * line, a config file) and must tell them which value is wrong.
 *
 * @par Thread safety
 *      Reads only its arguments: any thread, any time.
 *
 * @param      cfg       the configuration (initialised by
 *                       lstmae_config_init()).
 * @param[out] why       if not NULL and why_size > 0: on failure a
 *                       one-line reason naming the field, its value and
 *                       the limit, NUL-terminated and truncated to
 *                       why_size bytes; "" on success.
 * @param      why_size  bytes at why; 256 always suffice.
 * @retval LSTMAE_OK               lstmae_create() accepts it.
 * @retval LSTMAE_ERR_INVALID_ARG  it does not (or cfg is NULL or was never
 *                                 initialised).
 */
LSTMAE_API int lstmae_check_config(const lstmae_config *cfg, char *why, size_t why_size);

/**
 * Checks fit options as lstmae_fit() does for a training set of max_len
 * steps, and says why they are rejected (the field, its value and the
 * limit), like lstmae_check_config(). The one check it cannot make is
 * that `patience > 0` needs a validation set.
 *
 * @par Thread safety
 *      Reads only its arguments: any thread, any time.
 *
 * @param      opt       the options, or NULL (the defaults).
 * @param      max_len   the training set's max_len (0 counts as 1); the
 *                       rows of one batch, batch_size * max_len, must fit
 *                       an int, and max_len is at most #LSTMAE_MAX_STEPS.
 * @param[out] why       as for lstmae_check_config().
 * @param      why_size  bytes at why; 256 always suffice.
 * @retval LSTMAE_OK               lstmae_fit() accepts the options.
 * @retval LSTMAE_ERR_INVALID_ARG  it does not.
 */
LSTMAE_API int lstmae_check_fit_options(const lstmae_fit_options *opt, size_t max_len,
                                        char *why, size_t why_size);

/** @} */

/* ---- model files (docs/file-format.md) --------------------------------- */

/** @defgroup files Model files
 *  A model file holds the configuration, the parameters and, unless saved
 *  with #LSTMAE_SAVE_INFERENCE_ONLY, the training state (optimiser moments
 *  and step count, the generator, epochs done), so that training resumed
 *  from a loaded model is bit-identical to training that never stopped.
 *  Files are portable (little-endian, IEEE-754 binary32), versioned and
 *  checksummed (CRC-32C); docs/file-format.md has the format. The save
 *  calls take a const model: they may run alongside other const calls.
 *  @{ */

#define LSTMAE_SAVE_INFERENCE_ONLY 1u /**< leave the training state out */

/**
 * Writes the model to path atomically, with its training state.
 *
 * The file is written to a temporary file in the same directory, flushed,
 * fsync'ed and renamed over path. A symbolic link is followed (the link
 * stays, the file it names is replaced); a replaced file keeps its mode, a
 * new one gets 0666 less the umask (which is never changed); an existing
 * device or FIFO is written in place, never replaced (a FIFO with no
 * reader fails at once, errno ENXIO). See docs/file-format.md.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param model  the model; never changed.
 * @param path   the file to write (replaced if it exists).
 * @retval LSTMAE_OK               the file is complete.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, or an empty path.
 * @retval LSTMAE_ERR_IO           cannot write (bad path, no permission,
 *                                 disk full): the previous file at path is
 *                                 intact and no temporary file is left;
 *                                 errno holds the system's reason (ENOSPC,
 *                                 EFBIG, EACCES, ...).
 * @retval LSTMAE_ERR_NOMEM        an allocation failed; nothing written.
 */
LSTMAE_API int lstmae_save(const lstmae_model *model, const char *path);

/**
 * lstmae_save() with flags.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param model  the model; never changed.
 * @param path   the file to write.
 * @param flags  0 or #LSTMAE_SAVE_INFERENCE_ONLY.
 * @return as lstmae_save(); also #LSTMAE_ERR_INVALID_ARG for an unknown
 *         flag. On failure the previous file at path is intact.
 */
LSTMAE_API int lstmae_save_ex(const lstmae_model *model, const char *path,
                              unsigned flags);

/**
 * Reads a model file. Safe on any bytes. A file without training state
 * gives a model with fresh optimiser state.
 *
 * @par Thread safety
 *      Any thread; touches no shared state.
 *
 * @param      path  the file.
 * @param[out] out   receives the new model, which belongs to the caller:
 *                   release it with lstmae_free().
 * @retval LSTMAE_OK               *out is the model.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL.
 * @retval LSTMAE_ERR_IO           cannot open or read, or not a regular
 *                                 file (refused without blocking: errno
 *                                 EINVAL, EISDIR for a directory); errno
 *                                 holds the system's reason.
 * @retval LSTMAE_ERR_FORMAT       not a model file, damaged, truncated, or
 *                                 from a newer format version (a file whose
 *                                 header does not match its size is refused
 *                                 before the rest is read).
 * @retval LSTMAE_ERR_NOMEM        an allocation failed.
 *
 * *out is NULL on failure (when out is not NULL).
 */
LSTMAE_API int lstmae_load(const char *path, lstmae_model **out);

/**
 * Bytes lstmae_save_buffer() needs (with training state).
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param model  the model.
 * @return the size of the model file; 0 for NULL. Changes nothing.
 */
LSTMAE_API size_t lstmae_saved_size(const lstmae_model *model);

/**
 * Bytes lstmae_save_buffer_ex() needs with these flags.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param model  the model.
 * @param flags  0 or #LSTMAE_SAVE_INFERENCE_ONLY.
 * @return the size of the model file; 0 for NULL or an unknown flag.
 *         Changes nothing.
 */
LSTMAE_API size_t lstmae_saved_size_ex(const lstmae_model *model, unsigned flags);

/**
 * Writes the model file's bytes (with training state) into buf[capacity].
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model     the model; never changed.
 * @param[out] buf       receives lstmae_saved_size() bytes.
 * @param      capacity  bytes available at buf.
 * @retval LSTMAE_OK               buf holds the file's bytes.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, or capacity below
 *                                 lstmae_saved_size().
 *
 * buf is untouched on failure.
 */
LSTMAE_API int lstmae_save_buffer(const lstmae_model *model, void *buf,
                                  size_t capacity);

/**
 * lstmae_save_buffer() with flags.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model     the model; never changed.
 * @param[out] buf       receives lstmae_saved_size_ex() bytes.
 * @param      capacity  bytes available at buf.
 * @param      flags     0 or #LSTMAE_SAVE_INFERENCE_ONLY.
 * @return as lstmae_save_buffer(); also #LSTMAE_ERR_INVALID_ARG for an
 *         unknown flag. buf is untouched on failure.
 */
LSTMAE_API int lstmae_save_buffer_ex(const lstmae_model *model, void *buf,
                                     size_t capacity, unsigned flags);

/**
 * lstmae_load() from memory: the same checks and statuses (never
 * #LSTMAE_ERR_IO; #LSTMAE_ERR_FORMAT for size 0).
 *
 * @par Thread safety
 *      Any thread; touches no shared state.
 *
 * @param      buf   the file's bytes; read, not kept.
 * @param      size  their number.
 * @param[out] out   receives the new model, as lstmae_load().
 * @return as lstmae_load(), without #LSTMAE_ERR_IO.
 *
 * *out is NULL on failure (when out is not NULL).
 */
LSTMAE_API int lstmae_load_buffer(const void *buf, size_t size,
                                  lstmae_model **out);

/**
 * lstmae_load() with an allocator, as lstmae_create_advanced().
 *
 * @par Thread safety
 *      Any thread; touches no shared state.
 *
 * @param      path       the file.
 * @param      allocator  the functions to use (copied), or NULL for malloc
 *                        and free.
 * @param[out] out        receives the new model, as lstmae_load().
 * @return as lstmae_load(); also #LSTMAE_ERR_INVALID_ARG for an allocator
 *         lacking a function.
 *
 * *out is NULL on failure (when out is not NULL).
 */
LSTMAE_API int lstmae_load_advanced(const char *path,
                                    const lstmae_allocator *allocator,
                                    lstmae_model **out);

/**
 * lstmae_load_buffer() with an allocator, as lstmae_create_advanced().
 *
 * @par Thread safety
 *      Any thread; touches no shared state.
 *
 * @param      buf        the file's bytes; read, not kept.
 * @param      size       their number.
 * @param      allocator  the functions to use (copied), or NULL for malloc
 *                        and free.
 * @param[out] out        receives the new model, as lstmae_load().
 * @return as lstmae_load_buffer(); also #LSTMAE_ERR_INVALID_ARG for an
 *         allocator lacking a function.
 *
 * *out is NULL on failure (when out is not NULL).
 */
LSTMAE_API int lstmae_load_buffer_advanced(const void *buf, size_t size,
                                           const lstmae_allocator *allocator,
                                           lstmae_model **out);

/**
 * Epochs trained so far, over every lstmae_fit() call and through files.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param model  the model.
 * @return the count; 0 for NULL. Changes nothing.
 */
LSTMAE_API uint64_t lstmae_epochs_done(const lstmae_model *model);

/** @} */

/* ---- anomaly scores, thresholds, scaling --------------------------------- */

/** @defgroup anomaly Anomaly scores, thresholds and input scaling
 *  Scoring sequences by reconstruction error, a threshold kept in the
 *  model, and the input scaling it applies (docs/anomaly.md).
 *  @{ */

/**
 * Scores every sequence: its own mean loss over its valid elements (for
 * cross-entropy, over its valid steps), the quantity training minimises,
 * in the model's scaled units. A length-0 sequence scores 0. A score may
 * be infinite: a reconstruction so far off that its loss overflows a
 * float (lstmae_detect flags it; lstmae_calibrate refuses to set an
 * infinite threshold, with #LSTMAE_ERR_NUMERIC).
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model        the model.
 * @param      in           the sequences; read, not kept.
 * @param[out] scores       count floats.
 * @param[out] step_scores  NULL, or count * max_len floats
 *                          [count][max_len]: each valid step's mean loss
 *                          over its D elements (cross-entropy: the step's
 *                          loss), in the data's time order; 0 on padding.
 *                          A sequence's score is the mean of its steps'.
 * @retval LSTMAE_OK               written.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, count 0, lengths out of range,
 *                                 shapes too large.
 * @retval LSTMAE_ERR_NUMERIC      NaN/Inf in a valid step
 *                                 (lstmae_check_sequences_why() says where).
 * @retval LSTMAE_ERR_NOMEM        the workspace could not be allocated.
 *
 * The outputs are untouched on failure.
 */
LSTMAE_API int lstmae_score(const lstmae_model *model, const lstmae_sequences *in,
                            float *scores, float *step_scores);

/**
 * Scores `normal` (data known to be normal, e.g. a held-out part of the
 * training data), sets the model's threshold by the rule, and returns it.
 * Length-0 sequences are left out (n counts the others). The threshold is
 * saved with the model.
 *
 * @par Thread safety
 *      Changes the model: not while another call uses it.
 *
 * @param      model      the model.
 * @param      normal     the sequences; read, not kept.
 * @param      rule       #LSTMAE_THRESHOLD_QUANTILE (param q in (0, 1]: the
 *                        ceil(q n)-th smallest score),
 *                        #LSTMAE_THRESHOLD_MEAN_STD (param k >= 0: mean +
 *                        k * population standard deviation) or
 *                        #LSTMAE_THRESHOLD_MAX (param f >= 1: f * the
 *                        largest score).
 * @param      param      q, k or f.
 * @param[out] threshold  NULL, or receives the threshold.
 * @retval LSTMAE_OK               set.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, an unknown rule, param out of its
 *                                 range (lstmae_check_threshold_rule()
 *                                 says which), no sequence of length >= 1,
 *                                 or the set's own problems.
 * @retval LSTMAE_ERR_NUMERIC      NaN/Inf in a valid step.
 * @retval LSTMAE_ERR_NOMEM        the workspace could not be allocated.
 *
 * The model is unchanged on failure.
 */
LSTMAE_API int lstmae_calibrate(lstmae_model *model, const lstmae_sequences *normal,
                                lstmae_threshold_rule rule, double param,
                                double *threshold);

/**
 * Checks a threshold rule and its parameter as lstmae_calibrate() does,
 * with a one-line reason.
 *
 * @param      rule      the rule.
 * @param      param     its parameter.
 * @param[out] why       NULL, or receives the reason (empty when valid),
 *                       truncated to why_size bytes and terminated.
 * @param      why_size  bytes at why.
 * @retval LSTMAE_OK               valid.
 * @retval LSTMAE_ERR_INVALID_ARG  not.
 */
LSTMAE_API int lstmae_check_threshold_rule(lstmae_threshold_rule rule, double param, char *why,
                                           size_t why_size);

/**
 * The model's threshold.
 *
 * @param      model      the model.
 * @param[out] threshold  receives it.
 * @retval LSTMAE_OK               *threshold holds it.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, or no threshold is set
 *                                 (*threshold untouched).
 */
LSTMAE_API int lstmae_get_threshold(const lstmae_model *model, double *threshold);

/**
 * Sets the model's threshold (saved with it).
 *
 * @par Thread safety
 *      Changes the model: not while another call uses it.
 *
 * @param model      the model.
 * @param threshold  the threshold, finite.
 * @retval LSTMAE_OK               set.
 * @retval LSTMAE_ERR_INVALID_ARG  model NULL or threshold not finite.
 */
LSTMAE_API int lstmae_set_threshold(lstmae_model *model, double threshold);

/**
 * Scores every sequence and flags those above the model's threshold:
 * flags[i] = 1 where scores[i] > threshold, else 0.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model   the model, with a threshold set.
 * @param      in      the sequences; read, not kept.
 * @param[out] scores  NULL, or count floats (as lstmae_score()).
 * @param[out] flags   count bytes.
 * @retval LSTMAE_OK               written.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, no threshold set, or the set's
 *                                 own problems.
 * @retval LSTMAE_ERR_NUMERIC      NaN/Inf in a valid step.
 * @retval LSTMAE_ERR_NOMEM        the workspace could not be allocated.
 */
LSTMAE_API int lstmae_detect(const lstmae_model *model, const lstmae_sequences *in,
                             float *scores, uint8_t *flags);

/**
 * The model's input scaling, input_dim values each: what the network
 * subtracts and divides by. A model with scaling #LSTMAE_SCALING_NONE, or
 * whose statistics are not computed yet (no lstmae_fit() and no
 * lstmae_set_scaling() so far), reports offset 0 and scale 1.
 *
 * @param      model   the model.
 * @param[out] offset  input_dim floats, or NULL.
 * @param[out] scale   input_dim floats, or NULL.
 * @retval LSTMAE_OK               written.
 * @retval LSTMAE_ERR_INVALID_ARG  model NULL.
 */
LSTMAE_API int lstmae_get_scaling(const lstmae_model *model, float *offset, float *scale);

/**
 * Sets the input scaling's statistics (input_dim values each), which
 * then stay fixed: lstmae_fit() no longer computes them. A scale of 0
 * becomes 1.
 *
 * @par Thread safety
 *      Changes the model: not while another call uses it.
 *
 * @param model   the model, with scaling other than #LSTMAE_SCALING_NONE.
 * @param offset  input_dim floats: what the network subtracts.
 * @param scale   input_dim floats: what it then divides by.
 * @retval LSTMAE_OK               set.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, the model's scaling is
 *                                 #LSTMAE_SCALING_NONE, a value not
 *                                 finite, or a scale below FLT_MIN in
 *                                 magnitude (other than 0); the model is
 *                                 unchanged.
 */
LSTMAE_API int lstmae_set_scaling(lstmae_model *model, const float *offset,
                                  const float *scale);

/**
 * Whether the model's input scaling statistics are fixed: 1 after the
 * first lstmae_fit() or lstmae_set_scaling() (and through files), 0
 * before and for #LSTMAE_SCALING_NONE.
 *
 * @param model  the model.
 * @return 1 or 0; 0 for NULL.
 */
LSTMAE_API int lstmae_scaling_ready(const lstmae_model *model);

/** @} */

/* ---- parameters, by name, in PyTorch's layout --------------------------- */

/** @defgroup params Parameters by name, in PyTorch's layout
 *  Named tensors, row-major, as a contiguous PyTorch tensor is; the names,
 *  shapes and their PyTorch counterparts are listed in docs/api.md.
 *  @{ */

/**
 * Number of named parameter tensors: 6K + 4 for K LSTM layers, 8K + 4
 * for K GRU layers, plus 3K (LSTM) or 4K (GRU) for a bidirectional
 * encoder's _reverse tensors and 2K for decoder_init latent's bridges.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param model  the model.
 * @return the count; 0 for NULL. Changes nothing.
 */
LSTMAE_API size_t lstmae_param_count(const lstmae_model *model);

/**
 * Name of tensor `index` (0-based, in docs/model.md order), such as
 * "encoder.0.weight_ih".
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param model  the model.
 * @param index  0 to lstmae_param_count() - 1.
 * @return the name, borrowed for the model's lifetime; NULL when model is
 *         NULL or index is out of range. Changes nothing.
 */
LSTMAE_API const char *lstmae_param_name(const lstmae_model *model,
                                         size_t index);

/**
 * Number of floats in the named tensor.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param model  the model.
 * @param name   a name from lstmae_param_name().
 * @return the count; 0 for an unknown name or NULL. Changes nothing.
 */
LSTMAE_API size_t lstmae_param_size(const lstmae_model *model,
                                    const char *name);

/**
 * Shape of the named tensor: its rank (1 for a vector, 2 for a matrix)
 * and dims[0 .. rank-1] (rows, then columns), as MODEL.md lists them.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model  the model.
 * @param      name   a name from lstmae_param_name().
 * @param[out] dims   two size_t; dims[1] is set to 1 for a vector.
 * @return the rank; 0 for an unknown name or NULL (dims untouched).
 */
LSTMAE_API int lstmae_param_shape(const lstmae_model *model, const char *name,
                                  size_t dims[2]);

/**
 * Copies the named tensor (row-major) into out.
 *
 * @par Thread safety
 *      A const call: may run alongside other const calls on the model.
 *
 * @param      model  the model.
 * @param      name   a name from lstmae_param_name().
 * @param[out] out    count floats.
 * @param      count  must equal lstmae_param_size().
 * @retval LSTMAE_OK               out holds the tensor.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, unknown name, wrong count.
 *
 * out is untouched on failure.
 */
LSTMAE_API int lstmae_get_param(const lstmae_model *model, const char *name,
                                float *out, size_t count);

/**
 * Replaces the named tensor with `count` floats from values. The optimiser
 * state is kept.
 *
 * @par Thread safety
 *      Needs the model to itself: no other call on it may be running.
 *
 * @param model   the model.
 * @param name    a name from lstmae_param_name().
 * @param values  count floats, row-major; read, not kept.
 * @param count   must equal lstmae_param_size().
 * @retval LSTMAE_OK               the tensor is replaced.
 * @retval LSTMAE_ERR_INVALID_ARG  NULL, unknown name, wrong count.
 * @retval LSTMAE_ERR_NUMERIC      a value is NaN/Inf.
 *
 * The model is unchanged on failure.
 */
LSTMAE_API int lstmae_set_param(lstmae_model *model, const char *name,
                                const float *values, size_t count);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* LSTMAE_H */

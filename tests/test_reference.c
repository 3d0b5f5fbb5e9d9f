/*
 * test_reference.c - lstmae against the PyTorch reference cases (MODEL.md).
 *
 * Usage: test_reference PATH...   (directories: every *.txt in them, sorted
 *                                  by name; or case files themselves)
 *
 * Version-2 files ("lstmae-reference 2", MODEL.md "Variants") run the same
 * tests with the case's cell, and test_forward also compares `decoded`
 * (lstmae_decode of each sequence's latent at its own length; free-running
 * with decoder_feedback). Every variant is run; the number of version-2
 * cases is printed at the end.
 *
 * Every case file becomes one CMocka group, named after the file, whose
 * tests use the public API (include/lstmae.h) only:
 *
 *   test_case_file      the file parses and holds every tensor with the
 *                       shape the config implies (else every test fails)
 *   test_param_layout   lstmae_param_count/_name/_size follow MODEL.md's
 *                       table; set_param then get_param round-trips bits
 *   test_forward        encode -> latent, reconstruct -> reconstruction
 *                       (padding must be written 0), evaluate -> loss,
 *                       accuracy (bce; NaN for mse), elements
 *   test_padding        NaN / inf / huge values written into the padding of
 *                       `input` change no bit of latent, reconstruction or
 *                       metrics; lengths == NULL equals lengths all T
 *   test_sgd1           one SGD step (lr 0.1, whole set, no shuffle, one
 *                       thread) -> sgd1.*; the gradient derived from it,
 *                       (before - after) / lr, -> grad.*
 *   test_grad_big_lr    one SGD step with a power-of-two lr so large that
 *                       lr * grad dwarfs the parameters: (before - after)
 *                       / lr -> grad.* at 2e-5 x max|grad|, a gradient
 *                       check as tight for tiny gradients as for big ones
 *   test_adam3          three Adam steps (lr 0.01) -> adam3.*, with
 *                       MODEL.md's rule for entries at the noise floor
 *
 * Tolerances. MODEL.md: a float32 implementation (PyTorch's own) stays
 * within about 4e-6 of the float64 reference, relative to the largest
 * magnitude in each tensor. A float32 rerun of tests/gen_reference.py (an
 * independent float32 implementation, different summation order) measured
 * at most 1.1e-7 on the forward tensors, 1.0e-6 on gradients and 6.6e-6 on
 * the Adam results over all the cases here. So:
 *
 *   TOL_REL          2e-5 x max|tensor|: latent, reconstruction, loss,
 *                    sgd1.* (5x MODEL.md's 4e-6).
 *   TOL_GRAD_REL     5e-5 x max|grad| plus TOL_GRAD_ABS_ULPS float32 ulps
 *                    of the tensor's largest parameter divided by lr: the
 *                    gradient derived from one SGD step carries the
 *                    rounding of `after` (half an ulp of the parameter)
 *                    amplified 1/lr = 10 times, which a gradient small
 *                    against its parameters does not absorb (test_sgd1).
 *                    test_grad_big_lr takes lr so large that the same
 *                    term is 2 ulps of the gradient itself, and holds the
 *                    derived gradient to TOL_REL.
 *   TOL_ADAM_REL     5e-5 x max|adam3 tensor|: Adam divides by each entry's
 *                    own gradient size, so an entry's relative gradient
 *                    error (tensor-scaled error / own size) reaches the
 *                    step; near MODEL.md's floor this is what the 6.6e-6
 *                    above came from. Entries whose |grad| < 1e-5 x
 *                    max|grad| of their tensor are, as MODEL.md says, at
 *                    float32's noise floor and "can take a full step
 *                    either way": they are only checked to have moved at
 *                    most 3 steps x lr x 1.01 (by Cauchy-Schwarz Adam's
 *                    bias-corrected |m^|/sqrt(v^) is at most 1, 1.0014,
 *                    1.0036 at t = 1, 2, 3) plus TOL_ADAM_REL x max|tensor|
 *                    from their start.
 *   accuracy         exact in count of correct elements, except that each
 *                    valid element whose reference probability is within
 *                    1e-5 of 0.5 may flip (float32 may round it either way).
 */
#define _POSIX_C_SOURCE 200809L

#include "testutil.h"
#include "refcase.h"
#include <lstmae.h>

#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TOL_REL            2e-5
#define TOL_GRAD_REL       5e-5
#define TOL_GRAD_ABS_ULPS  2.0
#define TOL_ADAM_REL       5e-5
#define ADAM_FLOOR         1e-5   /* MODEL.md: |grad| below this x max */
#define ADAM_STEP_BOUND    1.01   /* >= |bias-corrected step| / lr, t <= 3 */
#define ACC_AMBIGUOUS      1e-5   /* |p - 0.5| below this may flip      */

#define SGD_LR   0.1f
#define ADAM_LR  0.01f
#define ADAM_STEPS 3

#define MAX_MODELS  4
#define NAME_CAP    64

/* ---- per-case state ------------------------------------------------------ */

typedef struct case_ctx {
    const char *path;
    refcase *rc;               /* NULL when the file did not load         */
    int ok;                    /* loaded and every needed tensor present  */
    char error[1024];          /* why not ok                              */
    int32_t *lengths;          /* [n], from the file's `lengths`          */
    int all_full;              /* every length == max_len                 */
    size_t n_valid;            /* D * sum(lengths)                        */
    size_t num_params;         /* tensors, MODEL.md's list for the config */
    /* per-test scratch, released by the teardown even when a test fails */
    void **scratch;            /* grows: any number of tensors            */
    size_t num_scratch, cap_scratch;
    lstmae_model *models[MAX_MODELS];
    size_t num_models;
} case_ctx;

static int teardown_scratch(void **state)
{
    case_ctx *c = *state;
    for (size_t i = 0; i < c->num_scratch; i++)
        free(c->scratch[i]);
    free(c->scratch);
    c->scratch = NULL;
    c->num_scratch = c->cap_scratch = 0;
    for (size_t i = 0; i < c->num_models; i++)
        lstmae_free(c->models[i]);
    c->num_models = 0;
    return 0;
}

/* Zeroed memory owned by the test (freed by its teardown). */
static void *scratch_alloc(case_ctx *c, size_t count, size_t size)
{
    if (c->num_scratch == c->cap_scratch) {
        size_t cap = c->cap_scratch ? 2 * c->cap_scratch : 64;
        void **grown = realloc(c->scratch, cap * sizeof *grown);
        if (grown == NULL)
            fail_msg("out of memory (scratch list of %zu)", cap);
        c->scratch = grown;
        c->cap_scratch = cap;
    }
    void *p = calloc(count ? count : 1, size);
    if (p == NULL)
        fail_msg("out of memory (%zu x %zu bytes)", count, size);
    c->scratch[c->num_scratch++] = p;
    return p;
}

static float *scratch_floats(case_ctx *c, size_t count)
{
    return scratch_alloc(c, count, sizeof(float));
}

/* Floats all set to NaN, so that anything the library fails to write shows. */
static float *scratch_nans(case_ctx *c, size_t count)
{
    float *p = scratch_floats(c, count);
    for (size_t i = 0; i < count; i++)
        p[i] = NAN;
    return p;
}

/* ---- the parameter table of MODEL.md -------------------------------------- */

/* Parameter idx in MODEL.md's order for the case's configuration, with
   the variants of MODEL.md "Variants": each encoder layer's _reverse
   tensors after its forward ones (bidirectional), bridge.{k}.* after
   latent.* (decoder_init latent), decoder.0's input Z + D (feedback).
   Returns 0 past the end. */
static int param_spec(const refcase *rc, size_t idx, char name[NAME_CAP],
                      size_t dims[2], size_t *rank)
{
    const size_t D = (size_t)rc->input_dim, H = (size_t)rc->hidden_dim;
    const size_t Z = (size_t)rc->latent_dim, K = (size_t)rc->num_layers;
    static const char *const lstm_part[3] = {"weight_ih", "weight_hh", "bias"};
    static const char *const gru_part[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    const char *const *parts = rc->cell_gru ? gru_part : lstm_part;
    const size_t P = rc->cell_gru ? 4 : 3, G = (rc->cell_gru ? 3 : 4) * H;
    const size_t dirs = rc->bidirectional ? 2 : 1;
    size_t at = 0;
    /* encoder layers, each direction */
    for (size_t k = 0; k < K; k++)
        for (size_t dir = 0; dir < dirs; dir++)
            for (size_t part = 0; part < P; part++, at++)
                if (at == idx) {
                    snprintf(name, NAME_CAP, "encoder.%zu.%s%s", k, parts[part],
                             dir ? "_reverse" : "");
                    dims[0] = G;
                    dims[1] = part == 0 ? (k == 0 ? D : dirs * H) : H;
                    *rank = part >= 2 ? 1 : 2;
                    return 1;
                }
    /* latent, then the bridges */
    const size_t nb = rc->decoder_init_latent ? K : 0;
    for (size_t b = 0; b < 1 + nb; b++)
        for (size_t bias = 0; bias < 2; bias++, at++)
            if (at == idx) {
                if (b == 0)
                    snprintf(name, NAME_CAP, "latent.%s", bias ? "bias" : "weight");
                else
                    snprintf(name, NAME_CAP, "bridge.%zu.%s", b - 1, bias ? "bias" : "weight");
                dims[0] = b == 0 ? Z : H;
                dims[1] = b == 0 ? dirs * H : Z;
                *rank = bias ? 1 : 2;
                return 1;
            }
    for (size_t k = 0; k < K; k++)
        for (size_t part = 0; part < P; part++, at++)
            if (at == idx) {
                snprintf(name, NAME_CAP, "decoder.%zu.%s", k, parts[part]);
                dims[0] = G;
                dims[1] = part == 0 ? (k == 0 ? Z + (rc->decoder_feedback ? D : 0) : H) : H;
                *rank = part >= 2 ? 1 : 2;
                return 1;
            }
    for (size_t bias = 0; bias < 2; bias++, at++)
        if (at == idx) {
            snprintf(name, NAME_CAP, "output.%s", bias ? "bias" : "weight");
            dims[0] = D;
            dims[1] = H;
            *rank = bias ? 1 : 2;
            return 1;
        }
    return 0;
}

/* How many parameters the case's configuration has. */
static size_t param_total(const refcase *rc)
{
    char name[NAME_CAP];
    size_t dims[2], rank, n = 0;
    while (param_spec(rc, n, name, dims, &rank)) n++;
    return n;
}

static size_t dims_count(const size_t *dims, size_t rank)
{
    size_t n = 1;
    for (size_t i = 0; i < rank; i++)
        n *= dims[i];
    return n;
}

/* The tensor `name` if it has exactly the given shape, else NULL with a
   reason in c->error. */
static const refcase_tensor *shaped(case_ctx *c, const char *name,
                                    const size_t *dims, size_t rank)
{
    const refcase_tensor *t = refcase_find(c->rc, name);
    if (t == NULL) {
        snprintf(c->error, sizeof c->error, "%s: no tensor \"%s\"", c->path,
                 name);
        return NULL;
    }
    int same = t->rank == rank;
    for (size_t i = 0; same && i < rank; i++)
        same = t->dims[i] == dims[i];
    if (!same) {
        char want[128] = "", have[128] = "";
        size_t w = 0, h = 0;
        for (size_t i = 0; i < rank && w < sizeof want; i++)
            w += (size_t)snprintf(want + w, sizeof want - w, " %zu", dims[i]);
        for (size_t i = 0; i < t->rank && h < sizeof have; i++)
            h += (size_t)snprintf(have + h, sizeof have - h, " %zu", t->dims[i]);
        snprintf(c->error, sizeof c->error,
                 "%s: tensor \"%s\" has shape [%s ] (rank %zu), the config "
                 "implies [%s ]", c->path, name, have, t->rank, want);
        return NULL;
    }
    return t;
}

/* Loads the file and checks that every tensor the tests use is there with
   the right shape; sets c->ok, or c->error. */
static void case_prepare(case_ctx *c)
{
    if (refcase_load(c->path, &c->rc, c->error, sizeof c->error) != 0)
        return;
    const refcase *rc = c->rc;
    const size_t D = (size_t)rc->input_dim, Z = (size_t)rc->latent_dim;
    const size_t n = rc->n, T = rc->max_len;
    c->num_params = param_total(rc);

    const size_t in_dims[3] = {n, T, D}, n_dims[1] = {n}, lat_dims[2] = {n, Z};
    const size_t one[1] = {1};
    const refcase_tensor *len_t;
    if (!shaped(c, "input", in_dims, 3) || !shaped(c, "reconstruction", in_dims, 3) ||
        !(len_t = shaped(c, "lengths", n_dims, 1)) ||
        !shaped(c, "latent", lat_dims, 2) || !shaped(c, "loss", one, 1) ||
        ((rc->is_bce || rc->is_ce) && !shaped(c, "accuracy", one, 1)) ||
        (rc->version >= 2 && !shaped(c, "decoded", in_dims, 3)))
        return;
    for (size_t p = 0; p < c->num_params; p++) {
        char name[NAME_CAP], full[NAME_CAP + 8];
        size_t dims[2], rank;
        param_spec(rc, p, name, dims, &rank);
        static const char *const prefix[4] = {"", "grad.", "sgd1.", "adam3."};
        for (int k = 0; k < 4; k++) {
            snprintf(full, sizeof full, "%s%s", prefix[k], name);
            if (!shaped(c, full, dims, rank))
                return;
        }
    }
    c->lengths = calloc(n, sizeof *c->lengths);
    if (c->lengths == NULL) {
        snprintf(c->error, sizeof c->error, "%s: out of memory", c->path);
        return;
    }
    c->all_full = 1;
    size_t steps = 0;
    for (size_t i = 0; i < n; i++) {
        const double L = len_t->values64[i];
        if (!(L >= 0 && L <= (double)T) || L != floor(L)) {
            snprintf(c->error, sizeof c->error,
                     "%s: lengths[%zu] = %g is not a whole number in 0..%zu",
                     c->path, i, L, T);
            return;
        }
        c->lengths[i] = (int32_t)L;
        steps += (size_t)L;
        c->all_full &= (size_t)L == T;
    }
    c->n_valid = steps * D;
    if (c->n_valid == 0) {
        snprintf(c->error, sizeof c->error,
                 "%s: every sequence is empty: the loss is undefined", c->path);
        return;
    }
    c->ok = 1;
}

static case_ctx *require_case(void **state)
{
    case_ctx *c = *state;
    if (!c->ok)
        fail_msg("case not usable: %s", c->error);
    return c;
}

static const refcase_tensor *tensor(const case_ctx *c, const char *name)
{
    const refcase_tensor *t = refcase_find(c->rc, name);
    if (t == NULL) /* case_prepare checked; a bug here if reached */
        fail_msg("%s: no tensor \"%s\"", c->path, name);
    return t;
}

static const refcase_tensor *prefixed(const case_ctx *c, const char *prefix,
                                      const char *name)
{
    char full[NAME_CAP + 8];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return tensor(c, full);
}

static lstmae_sequences case_sequences(const case_ctx *c, const float *data)
{
    lstmae_sequences s;
    s.data = data;
    s.lengths = c->lengths;
    s.count = c->rc->n;
    s.max_len = c->rc->max_len;
    return s;
}

/* A model with the case's configuration and parameters; checks the
   parameter table of the API against MODEL.md on the way. */
static lstmae_model *make_model(case_ctx *c)
{
    const refcase *rc = c->rc;
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = rc->input_dim;
    cfg.hidden_dim = rc->hidden_dim;
    cfg.latent_dim = rc->latent_dim;
    cfg.num_layers = rc->num_layers;
    cfg.loss = rc->is_bce ? LSTMAE_LOSS_BCE
               : rc->is_ce ? LSTMAE_LOSS_CROSS_ENTROPY : LSTMAE_LOSS_MSE;
    cfg.cell = rc->cell_gru ? LSTMAE_CELL_GRU : LSTMAE_CELL_LSTM;
    cfg.bidirectional = rc->bidirectional;
    cfg.reverse_target = rc->reverse_target;
    cfg.decoder_init =
        rc->decoder_init_latent ? LSTMAE_DECODER_INIT_LATENT : LSTMAE_DECODER_INIT_ZERO;
    cfg.decoder_feedback = rc->decoder_feedback;
    if (c->num_models == MAX_MODELS)
        fail_msg("too many models in one test");
    lstmae_model *m = NULL;
    int st = lstmae_create(&cfg, &m);
    if (st != LSTMAE_OK || m == NULL)
        fail_msg("lstmae_create(D %d, H %d, Z %d, K %d, %s): %s", cfg.input_dim,
                 cfg.hidden_dim, cfg.latent_dim, cfg.num_layers,
                 rc->is_bce ? "bce" : rc->is_ce ? "cross_entropy" : "mse",
                 lstmae_strerror(st));
    c->models[c->num_models++] = m;

    const size_t count = lstmae_param_count(m);
    if (count != c->num_params)
        fail_msg("lstmae_param_count = %zu, MODEL.md has %zu", count, c->num_params);
    for (size_t p = 0; p < count; p++) {
        char name[NAME_CAP];
        size_t dims[2], rank;
        param_spec(rc, p, name, dims, &rank);
        const char *got = lstmae_param_name(m, p);
        if (got == NULL || strcmp(got, name) != 0)
            fail_msg("lstmae_param_name(%zu) = \"%s\", MODEL.md order has \"%s\"",
                     p, got ? got : "(NULL)", name);
        const size_t size = lstmae_param_size(m, name);
        if (size != dims_count(dims, rank))
            fail_msg("lstmae_param_size(\"%s\") = %zu, want %zu", name, size,
                     dims_count(dims, rank));
        const refcase_tensor *t = tensor(c, name);
        st = lstmae_set_param(m, name, t->values, t->count);
        if (st != LSTMAE_OK)
            fail_msg("lstmae_set_param(\"%s\"): %s", name, lstmae_strerror(st));
    }
    if (lstmae_param_name(m, count) != NULL)
        fail_msg("lstmae_param_name(%zu) (one past the end) is not NULL", count);
    return m;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_case_file(void **state)
{
    (void)require_case(state);
}

static void test_param_layout(void **state)
{
    case_ctx *c = require_case(state);
    lstmae_model *m = make_model(c); /* checks count, names, sizes */
    for (size_t p = 0; p < c->num_params; p++) {
        const char *name = lstmae_param_name(m, p);
        const refcase_tensor *t = tensor(c, name);
        float *back = scratch_nans(c, t->count);
        int st = lstmae_get_param(m, name, back, t->count);
        if (st != LSTMAE_OK)
            fail_msg("lstmae_get_param(\"%s\"): %s", name, lstmae_strerror(st));
        char what[NAME_CAP + 32];
        snprintf(what, sizeof what, "get_param(\"%s\") after set_param", name);
        tu_assert_bits_equal(what, back, t->values, t->count);
    }
}

/* Allowed difference in accuracy: (#ambiguous + 0.5) / count. bce: an
   element is ambiguous when its reference probability is within
   ACC_AMBIGUOUS of 0.5 (count: valid elements). Cross-entropy: a step is
   ambiguous when its two largest reference probabilities are within
   ACC_AMBIGUOUS (count: valid steps). */
static double accuracy_tolerance(const case_ctx *c)
{
    const refcase *rc = c->rc;
    const float *p = tensor(c, "reconstruction")->values;
    const size_t D = (size_t)rc->input_dim, T = rc->max_len;
    size_t ambiguous = 0;
    for (size_t i = 0; i < rc->n; i++)
        for (size_t t = 0; t < (size_t)c->lengths[i]; t++) {
            const float *row = p + (i * T + t) * D;
            if (!rc->is_ce) {
                for (size_t d = 0; d < D; d++)
                    ambiguous += fabs((double)row[d] - 0.5) < ACC_AMBIGUOUS;
                continue;
            }
            double first = -1.0, second = -1.0;
            for (size_t d = 0; d < D; d++) {
                if (row[d] > first) {
                    second = first;
                    first = row[d];
                } else if (row[d] > second) {
                    second = row[d];
                }
            }
            ambiguous += first - second < ACC_AMBIGUOUS;
        }
    size_t count = rc->is_ce ? c->n_valid / D : c->n_valid;
    return ((double)ambiguous + 0.5) / (double)count;
}

static void check_metrics(const case_ctx *c, const char *what,
                          const lstmae_metrics *got)
{
    const double want = tensor(c, "loss")->values64[0];
    const double tol = TOL_REL * fabs(want);
    if (!(fabs(got->loss - want) <= tol))
        fail_msg("%s: loss %.9g, want %.9g, |diff| %.3g > tolerance %.3g "
                 "(%g relative)", what, got->loss, want, fabs(got->loss - want),
                 tol, TOL_REL);
    if (c->rc->is_bce || c->rc->is_ce) {
        const double wa = tensor(c, "accuracy")->values64[0];
        const double ta = accuracy_tolerance(c);
        if (!(fabs(got->accuracy - wa) <= ta))
            fail_msg("%s: accuracy %.9g, want %.9g, |diff| %.3g > tolerance "
                     "%.3g (ambiguous elements + 0.5 over %zu)", what,
                     got->accuracy, wa, fabs(got->accuracy - wa), ta, c->n_valid);
    } else if (!isnan(got->accuracy)) {
        fail_msg("%s: accuracy %.9g for mse, MODEL.md wants NaN", what,
                 got->accuracy);
    }
}

static void test_forward(void **state)
{
    case_ctx *c = require_case(state);
    const refcase *rc = c->rc;
    lstmae_model *m = make_model(c);
    const refcase_tensor *in = tensor(c, "input");
    const lstmae_sequences seq = case_sequences(c, in->values);
    const size_t nz = rc->n * (size_t)rc->latent_dim;

    float *latent = scratch_nans(c, nz);
    int st = lstmae_encode(m, &seq, latent);
    if (st != LSTMAE_OK)
        fail_msg("lstmae_encode: %s", lstmae_strerror(st));
    tu_assert_close("latent (tolerance 2e-5 x max|latent|)", latent,
                    tensor(c, "latent")->values, nz, TOL_REL, 0.0);

    /* NaN-filled: padding that is not written 0 fails the comparison */
    float *recon = scratch_nans(c, in->count);
    st = lstmae_reconstruct(m, &seq, recon);
    if (st != LSTMAE_OK)
        fail_msg("lstmae_reconstruct: %s", lstmae_strerror(st));
    tu_assert_close("reconstruction (tolerance 2e-5 x max|reconstruction|; "
                    "padding must be 0)", recon,
                    tensor(c, "reconstruction")->values, in->count, TOL_REL, 0.0);
    const size_t D = (size_t)rc->input_dim, T = rc->max_len;
    for (size_t i = 0; i < rc->n; i++)
        for (size_t k = (size_t)c->lengths[i] * D; k < T * D; k++)
            if (recon[i * T * D + k] != 0.0f)
                fail_msg("reconstruction: padding element [%zu][%zu][%zu] is "
                         "%g, not 0", i, k / D, k % D,
                         (double)recon[i * T * D + k]);

    lstmae_metrics met;
    lstmae_metrics_init(&met);
    st = lstmae_evaluate(m, &seq, &met);
    if (st != LSTMAE_OK)
        fail_msg("lstmae_evaluate: %s", lstmae_strerror(st));
    check_metrics(c, "evaluate", &met);
    if (met.elements != (uint64_t)c->n_valid)
        fail_msg("evaluate: elements %llu, want D * sum(lengths) = %zu",
                 (unsigned long long)met.elements, c->n_valid);

    if (rc->version < 2)
        return;
    /* decoded: lstmae_decode of each sequence's own latent (the
       library's, as a caller would pass it) at its own length; padding
       and length-0 sequences 0 */
    float *decoded = scratch_floats(c, in->count);
    memset(decoded, 0, in->count * sizeof *decoded);
    const size_t Z = (size_t)rc->latent_dim;
    float *one = scratch_floats(c, T * D);
    for (size_t i = 0; i < rc->n; i++) {
        const size_t L = (size_t)c->lengths[i];
        if (L == 0)
            continue;
        for (size_t k = 0; k < L * D; k++)
            one[k] = NAN; /* what decode does not write fails below */
        st = lstmae_decode(m, latent + i * Z, 1, L, one);
        if (st != LSTMAE_OK)
            fail_msg("lstmae_decode(sequence %zu, length %zu): %s", i, L, lstmae_strerror(st));
        memcpy(decoded + i * T * D, one, L * D * sizeof *one);
    }
    tu_assert_close("decoded (tolerance 2e-5 x max|decoded|)", decoded,
                    tensor(c, "decoded")->values, in->count, TOL_REL, 0.0);
}

/* latent, reconstruction and metrics of `data` (with lengths, or NULL). */
static void run_forward(case_ctx *c, const lstmae_model *m, const float *data,
                        const int32_t *lengths, float **latent, float **recon,
                        lstmae_metrics *met, const char *what)
{
    const refcase *rc = c->rc;
    lstmae_sequences seq = case_sequences(c, data);
    seq.lengths = lengths;
    *latent = scratch_nans(c, rc->n * (size_t)rc->latent_dim);
    *recon = scratch_nans(c, rc->n * rc->max_len * (size_t)rc->input_dim);
    int st = lstmae_encode(m, &seq, *latent);
    if (st != LSTMAE_OK)
        fail_msg("%s: lstmae_encode: %s", what, lstmae_strerror(st));
    st = lstmae_reconstruct(m, &seq, *recon);
    if (st != LSTMAE_OK)
        fail_msg("%s: lstmae_reconstruct: %s", what, lstmae_strerror(st));
    lstmae_metrics_init(met);
    st = lstmae_evaluate(m, &seq, met);
    if (st != LSTMAE_OK)
        fail_msg("%s: lstmae_evaluate: %s", what, lstmae_strerror(st));
}

static void same_bits_double(const char *what, double a, double b)
{
    if (memcmp(&a, &b, sizeof a) != 0)
        fail_msg("%s: %.17g vs %.17g: bits differ", what, a, b);
}

static void test_padding(void **state)
{
    case_ctx *c = require_case(state);
    const refcase *rc = c->rc;
    lstmae_model *m = make_model(c);
    const refcase_tensor *in = tensor(c, "input");
    const size_t D = (size_t)rc->input_dim, T = rc->max_len;
    const size_t nz = rc->n * (size_t)rc->latent_dim;

    float *lat0, *rec0;
    lstmae_metrics met0;
    run_forward(c, m, in->values, c->lengths, &lat0, &rec0, &met0,
                "padding as in the file");

    static const char *const pattern_name[2] = {
        "NaN padding", "inf / -inf / +-FLT_MAX / 1e30 padding"};
    for (int pattern = 0; pattern < 2; pattern++) {
        float *x = scratch_floats(c, in->count);
        memcpy(x, in->values, in->count * sizeof *x);
        static const float wild[4] = {INFINITY, -INFINITY, FLT_MAX, -1e30f};
        size_t k = 0;
        for (size_t i = 0; i < rc->n; i++)
            for (size_t e = (size_t)c->lengths[i] * D; e < T * D; e++, k++)
                x[i * T * D + e] = pattern == 0 ? NAN : wild[k % 4];
        float *lat, *rec;
        lstmae_metrics met;
        run_forward(c, m, x, c->lengths, &lat, &rec, &met, pattern_name[pattern]);
        char what[160];
        snprintf(what, sizeof what, "latent with %s", pattern_name[pattern]);
        tu_assert_bits_equal(what, lat, lat0, nz);
        snprintf(what, sizeof what, "reconstruction with %s", pattern_name[pattern]);
        tu_assert_bits_equal(what, rec, rec0, in->count);
        snprintf(what, sizeof what, "loss with %s", pattern_name[pattern]);
        same_bits_double(what, met.loss, met0.loss);
        snprintf(what, sizeof what, "accuracy with %s", pattern_name[pattern]);
        same_bits_double(what, met.accuracy, met0.accuracy);
    }

    if (c->all_full) {
        float *lat, *rec;
        lstmae_metrics met;
        run_forward(c, m, in->values, NULL, &lat, &rec, &met, "lengths NULL");
        tu_assert_bits_equal("latent with lengths NULL vs all max_len", lat,
                             lat0, nz);
        tu_assert_bits_equal("reconstruction with lengths NULL vs all max_len",
                             rec, rec0, in->count);
        same_bits_double("loss with lengths NULL vs all max_len", met.loss,
                         met0.loss);
    }
}

static void fit_options(lstmae_fit_options *o, const case_ctx *c,
                        lstmae_optimizer opt, float lr, int epochs)
{
    lstmae_fit_options_init(o);
    o->epochs = epochs;
    o->batch_size = (int)c->rc->n;   /* the whole set is one batch */
    o->optimizer = opt;
    o->learning_rate = lr;
    o->shuffle = 0;
    o->num_threads = 1;
}

static void test_sgd1(void **state)
{
    case_ctx *c = require_case(state);
    lstmae_model *m = make_model(c);
    const lstmae_sequences seq = case_sequences(c, tensor(c, "input")->values);
    lstmae_fit_options o;
    fit_options(&o, c, LSTMAE_OPT_SGD, SGD_LR, 1);
    lstmae_metrics last;
    lstmae_metrics_init(&last);
    int st = lstmae_fit(m, &seq, NULL, &o, &last);
    if (st != LSTMAE_OK)
        fail_msg("lstmae_fit (SGD, lr 0.1, 1 epoch, batch n): %s",
                 lstmae_strerror(st));
    /* one batch: the epoch's metrics are the loss before the update */
    check_metrics(c, "fit's last_train (taken before the step)", &last);

    for (size_t p = 0; p < c->num_params; p++) {
        const char *name = lstmae_param_name(m, p);
        const refcase_tensor *before = tensor(c, name);
        const size_t n = before->count;
        float *after = scratch_nans(c, n);
        st = lstmae_get_param(m, name, after, n);
        if (st != LSTMAE_OK)
            fail_msg("lstmae_get_param(\"%s\"): %s", name, lstmae_strerror(st));
        char what[NAME_CAP + 96];
        snprintf(what, sizeof what, "sgd1.%s (tolerance 2e-5 x max|sgd1|)", name);
        tu_assert_close(what, after, prefixed(c, "sgd1.", name)->values, n,
                        TOL_REL, 0.0);

        /* the gradient, as the step reveals it */
        float *grad = scratch_floats(c, n);
        double pmax = 0.0;
        for (size_t i = 0; i < n; i++) {
            grad[i] = (float)(((double)before->values[i] - (double)after[i]) /
                              (double)SGD_LR);
            pmax = fmax(pmax, fmax(fabs((double)before->values[i]),
                                   fabs((double)after[i])));
        }
        const double abs_tol = TOL_GRAD_ABS_ULPS * (double)FLT_EPSILON * pmax /
                               (double)SGD_LR;
        snprintf(what, sizeof what,
                 "grad.%s from (before - after) / lr (tolerance 5e-5 x "
                 "max|grad| + 2 ulp(max|param|) / lr)", name);
        tu_assert_close(what, grad, prefixed(c, "grad.", name)->values, n,
                        TOL_GRAD_REL, abs_tol);
    }
}

/* The same check with a learning rate large enough that lr * grad dwarfs
   the parameters: the rounding of `after` is then a float32 ulp of the
   gradient itself, and (before - after) / lr is the gradient to float32
   precision, whatever its size against its parameters. lr is a power of
   two (the step and the division are exact) chosen from the reference
   gradients so that lr * max|grad| >= 2^10 * max|param| for every tensor
   (capped so that no step exceeds 2^100). API.md: one SGD step over the
   whole set is p_after = p_before - lr * grad, for any lr > 0. */
static void test_grad_big_lr(void **state)
{
    case_ctx *c = require_case(state);
    lstmae_model *m = make_model(c);
    double lr = 1.0, gmax_all = 0.0;
    for (size_t p = 0; p < c->num_params; p++) {
        const char *name = lstmae_param_name(m, p);
        const refcase_tensor *par = tensor(c, name);
        const refcase_tensor *g = prefixed(c, "grad.", name);
        double pmax = 0.0, gmax = 0.0;
        for (size_t i = 0; i < par->count; i++) {
            pmax = fmax(pmax, fabs(par->values64[i]));
            gmax = fmax(gmax, fabs(g->values64[i]));
        }
        gmax_all = fmax(gmax_all, gmax);
        while (gmax > 0.0 && lr * gmax < 1024.0 * pmax && lr < 0x1p60)
            lr *= 2.0;
    }
    while (gmax_all > 0.0 && lr * gmax_all > 0x1p100)
        lr /= 2.0;

    const lstmae_sequences seq = case_sequences(c, tensor(c, "input")->values);
    lstmae_fit_options o;
    fit_options(&o, c, LSTMAE_OPT_SGD, (float)lr, 1);
    int st = lstmae_fit(m, &seq, NULL, &o, NULL);
    if (st != LSTMAE_OK)
        fail_msg("lstmae_fit (SGD, lr %g, 1 epoch, batch n): %s", lr,
                 lstmae_strerror(st));
    for (size_t p = 0; p < c->num_params; p++) {
        const char *name = lstmae_param_name(m, p);
        const refcase_tensor *before = tensor(c, name);
        const size_t n = before->count;
        float *after = scratch_nans(c, n);
        st = lstmae_get_param(m, name, after, n);
        if (st != LSTMAE_OK)
            fail_msg("lstmae_get_param(\"%s\"): %s", name, lstmae_strerror(st));
        float *grad = scratch_floats(c, n);
        double amax = 0.0;
        for (size_t i = 0; i < n; i++) {
            grad[i] = (float)(((double)before->values[i] - (double)after[i]) / lr);
            amax = fmax(amax, fabs((double)after[i]));
        }
        const double abs_tol = TOL_GRAD_ABS_ULPS * (double)FLT_EPSILON * amax / lr;
        char what[NAME_CAP + 128];
        snprintf(what, sizeof what,
                 "grad.%s from one SGD step with lr %g (tolerance 2e-5 x "
                 "max|grad| + 2 ulp(max|after|) / lr)", name, lr);
        tu_assert_close(what, grad, prefixed(c, "grad.", name)->values, n,
                        TOL_REL, abs_tol);
    }
}

static void test_adam3(void **state)
{
    case_ctx *c = require_case(state);
    lstmae_model *m = make_model(c);
    const lstmae_sequences seq = case_sequences(c, tensor(c, "input")->values);
    lstmae_fit_options o;
    fit_options(&o, c, LSTMAE_OPT_ADAM, ADAM_LR, ADAM_STEPS);
    int st = lstmae_fit(m, &seq, NULL, &o, NULL);
    if (st != LSTMAE_OK)
        fail_msg("lstmae_fit (Adam, lr 0.01, 3 epochs, batch n): %s",
                 lstmae_strerror(st));

    for (size_t p = 0; p < c->num_params; p++) {
        const char *name = lstmae_param_name(m, p);
        const refcase_tensor *start = tensor(c, name);
        const refcase_tensor *want = prefixed(c, "adam3.", name);
        const refcase_tensor *grad = prefixed(c, "grad.", name);
        const size_t n = start->count;
        float *after = scratch_nans(c, n);
        st = lstmae_get_param(m, name, after, n);
        if (st != LSTMAE_OK)
            fail_msg("lstmae_get_param(\"%s\"): %s", name, lstmae_strerror(st));

        double gmax = 0.0, wmax = 0.0;
        for (size_t i = 0; i < n; i++) {
            gmax = fmax(gmax, fabs(grad->values64[i]));
            wmax = fmax(wmax, fabs((double)want->values[i]));
        }
        const double floor_g = ADAM_FLOOR * gmax;
        const double tol = TOL_ADAM_REL * wmax;
        const double bound = ADAM_STEPS * (double)ADAM_LR * ADAM_STEP_BOUND + tol;

        /* entries above the floor: compared to adam3 (floor entries are
           given the reference's value here and checked below) */
        float *masked = scratch_floats(c, n);
        size_t n_floor = 0;
        for (size_t i = 0; i < n; i++) {
            const int at_floor = fabs(grad->values64[i]) < floor_g;
            masked[i] = at_floor ? want->values[i] : after[i];
            n_floor += (size_t)at_floor;
        }
        char what[NAME_CAP + 160];
        snprintf(what, sizeof what,
                 "adam3.%s, entries with |grad| >= 1e-5 x max|grad| (tolerance "
                 "5e-5 x max|adam3|)", name);
        tu_assert_close(what, masked, want->values, n, TOL_ADAM_REL, 0.0);

        /* entries at float32's noise floor: moved at most 3 steps of lr */
        for (size_t i = 0; n_floor > 0 && i < n; i++) {
            if (!(fabs(grad->values64[i]) < floor_g))
                continue;
            const double moved = fabs((double)after[i] - (double)start->values[i]);
            if (!(moved <= bound))
                fail_msg("adam3.%s[%zu] (|grad| %.3g < 1e-5 x max|grad| %.3g, "
                         "noise floor): moved %.6g from %.9g to %.9g, more "
                         "than 3 x lr x %.2f + %.3g = %.6g", name, i,
                         fabs(grad->values64[i]), gmax, moved,
                         (double)start->values[i], (double)after[i],
                         ADAM_STEP_BOUND, tol, bound);
        }
    }
}

/* ---- driver ------------------------------------------------------------------ */

static void test_fail_with_message(void **state)
{
    fail_msg("%s", (const char *)*state);
}

typedef struct path_list {
    char **items;
    size_t count, cap;
} path_list;

static int path_push(path_list *l, const char *dir, const char *file)
{
    if (l->count == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        char **ni = realloc(l->items, ncap * sizeof *ni);
        if (ni == NULL)
            return -1;
        l->items = ni;
        l->cap = ncap;
    }
    size_t len = (dir ? strlen(dir) + 1 : 0) + strlen(file) + 1;
    char *s = malloc(len);
    if (s == NULL)
        return -1;
    if (dir)
        snprintf(s, len, "%s/%s", dir, file);
    else
        snprintf(s, len, "%s", file);
    l->items[l->count++] = s;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Adds the *.txt files of `arg` (a directory) or `arg` itself (a file),
   sorted by name. Returns the number added, or -1 with a message. */
static long collect(path_list *l, const char *arg, char *msg, size_t cap)
{
    struct stat st;
    if (stat(arg, &st) != 0) {
        snprintf(msg, cap, "%s: no such file or directory", arg);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (path_push(l, NULL, arg) != 0) {
            snprintf(msg, cap, "out of memory");
            return -1;
        }
        return 1;
    }
    DIR *d = opendir(arg);
    if (d == NULL) {
        snprintf(msg, cap, "%s: cannot open the directory", arg);
        return -1;
    }
    size_t first = l->count;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".txt"))
            continue;
        if (path_push(l, arg, e->d_name) != 0) {
            closedir(d);
            snprintf(msg, cap, "out of memory");
            return -1;
        }
    }
    closedir(d);
    qsort(l->items + first, l->count - first, sizeof *l->items, cmp_str);
    if (l->count == first) {
        snprintf(msg, cap, "%s: no reference case (*.txt) in this directory; "
                 "a run that tests nothing must not pass", arg);
        return -1;
    }
    return (long)(l->count - first);
}

/* Runs a group of one test that fails with `message`. */
static int run_failure(const char *group, char *message)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_fail_with_message, message),
    };
    return cmocka_run_group_tests_name(group, tests, NULL, NULL);
}

int main(int argc, char **argv)
{
    int failed = 0;
    size_t v2_ran = 0;
    path_list files = {NULL, 0, 0};
    char msg[1024];

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_CASE_FILE...\n", argv[0]);
        snprintf(msg, sizeof msg, "no directory or case file given");
        run_failure("test_reference", msg);
        return 1;
    }
    for (int a = 1; a < argc; a++)
        if (collect(&files, argv[a], msg, sizeof msg) < 0)
            failed += run_failure(argv[a], msg);

    for (size_t f = 0; f < files.count; f++) {
        case_ctx *c = calloc(1, sizeof *c);
        if (c == NULL) {
            snprintf(msg, sizeof msg, "out of memory");
            failed += run_failure(files.items[f], msg);
            continue;
        }
        c->path = files.items[f];
        case_prepare(c);
        const char *base = strrchr(c->path, '/');
        base = base ? base + 1 : c->path;
        if (c->rc != NULL && c->rc->version >= 2)
            v2_ran++;
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_prestate_setup_teardown(test_case_file, NULL, teardown_scratch, c),
            cmocka_unit_test_prestate_setup_teardown(test_param_layout, NULL, teardown_scratch, c),
            cmocka_unit_test_prestate_setup_teardown(test_forward, NULL, teardown_scratch, c),
            cmocka_unit_test_prestate_setup_teardown(test_padding, NULL, teardown_scratch, c),
            cmocka_unit_test_prestate_setup_teardown(test_sgd1, NULL, teardown_scratch, c),
            cmocka_unit_test_prestate_setup_teardown(test_grad_big_lr, NULL, teardown_scratch, c),
            cmocka_unit_test_prestate_setup_teardown(test_adam3, NULL, teardown_scratch, c),
        };
        failed += cmocka_run_group_tests_name(base, tests, NULL, NULL);
        refcase_free(c->rc);
        free(c->lengths);
        free(c);
    }
    for (size_t f = 0; f < files.count; f++)
        free(files.items[f]);
    free(files.items);
    if (v2_ran > 0)
        printf("reference version 2: %zu cases ran\n", v2_ran);
    return failed ? 1 : 0;
}

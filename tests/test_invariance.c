/*
 * test_invariance.c - results that must not change, bit for bit:
 *  - whatever the padding holds (garbage, NaN, Inf, huge): encode,
 *    reconstruct (padding written 0), decode and evaluate, and training
 *    (the parameters after fit, and its metrics);
 *  - the order of the batch (the latent, reconstruction and decoded rows
 *    permute with it; evaluate's loss keeps its bits); fit, which sums
 *    a batch's gradient in the batch's order, to float rounding;
 *  - the batch size: a batch equals its sequences one at a time, and a
 *    large set (which the library may cut into chunks) equals its pieces;
 *  - lengths NULL equals every length max_len;
 *  - an empty sequence encodes to latent.bias exactly;
 *  - decode(encode(x)) to length L equals reconstruct's first L steps
 *    (in the decoder's order; with decoder_feedback only the first
 *    decoder step, reconstruct being teacher-forced);
 *  - reverse_target only reorders the output: a model and its twin with
 *    reverse_target flipped and the same parameters decode (and, without
 *    feedback, reconstruct) the same steps in opposite time order;
 *  - evaluate's loss is the loss of reconstruct's output against the
 *    input, step by step in time order.
 *
 * On random models of several shapes: K = 1..3, Z != H, bce and mse,
 * D = 1, T = 1, lengths 0 and 1 in every set; every check once per entry
 * of the variant table `variants` (the default model, GRU, bidirectional,
 * reverse_target, decoder_init latent, decoder_feedback, cross-entropy,
 * and all of them together), each a cmocka test named after the check
 * and the variant (test_permutation_bidirectional, ...). Cross-entropy
 * needs D >= 2: its runs widen D = 1 shapes to 2. Only the public API is
 * used.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "lstmae.h"

/* ---- helpers ------------------------------------------------------------- */

/* A result computed with a different number of sequences sharing each
   matrix product (a batch vs one sequence at a time, chunks vs the whole
   set, decode vs reconstruct). The library computes every row on its own,
   so these are asserted bit-identical. Note: that holds when the BLAS sums
   a row's products in an order that does not depend on how many rows the
   product has (OpenBLAS here); see the report on BLIS. */
/* Results must not depend on how many sequences share a batch. Every row
   is computed from its own data only, but the BLAS may pick another
   kernel, with another summation order, for another matrix size (seen with
   OpenBLAS's SkylakeX and Haswell kernels and with BLIS, a few ulps), so
   this allows float rounding: 2e-6 of the largest magnitude. Reordering a
   set, by contrast, must not change a bit (test_permutation). */
static void expect_batch_invariant(const char *what, const float *got,
                                   const float *want, size_t n)
{
    tu_assert_close(what, got, want, n, 2e-6, 0.0);
}

typedef struct {
    int d, h, z, k;
    lstmae_loss loss;
    size_t n, t;
    char name[96];
} shape;

static const shape shapes[] = {
    {3, 5, 4, 1, LSTMAE_LOSS_BCE, 6, 6, "D3 H5 Z4 K1 bce T6"},
    {2, 4, 6, 2, LSTMAE_LOSS_MSE, 7, 5, "D2 H4 Z6 K2 mse T5"},
    {1, 3, 2, 3, LSTMAE_LOSS_BCE, 5, 4, "D1 H3 Z2 K3 bce T4"},
    {4, 6, 3, 2, LSTMAE_LOSS_MSE, 5, 1, "D4 H6 Z3 K2 mse T1"},
    {1, 4, 5, 1, LSTMAE_LOSS_BCE, 4, 1, "D1 H4 Z5 K1 bce T1"},
    {2, 7, 3, 3, LSTMAE_LOSS_MSE, 6, 3, "D2 H7 Z3 K3 mse T3"},
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

/* ---- the variants: every check runs once per entry ------------------------ */

typedef struct {
    const char *name;           /* the cmocka test's suffix; "" the default */
    lstmae_cell cell;
    int bidirectional;
    int reverse_target;
    lstmae_decoder_init decoder_init;
    int decoder_feedback;
    int cross_entropy;          /* 1: loss LSTMAE_LOSS_CROSS_ENTROPY (D >= 2) */
} variant;

#define LATENT LSTMAE_DECODER_INIT_LATENT
#define ZERO LSTMAE_DECODER_INIT_ZERO
static variant variants[] = {
    {"", LSTMAE_CELL_LSTM, 0, 0, ZERO, 0, 0},
    {"_gru", LSTMAE_CELL_GRU, 0, 0, ZERO, 0, 0},
    {"_bidirectional", LSTMAE_CELL_LSTM, 1, 0, ZERO, 0, 0},
    {"_bidirectional_gru", LSTMAE_CELL_GRU, 1, 0, ZERO, 0, 0},
    {"_reverse_target", LSTMAE_CELL_LSTM, 0, 1, ZERO, 0, 0},
    {"_decoder_init_latent", LSTMAE_CELL_LSTM, 0, 0, LATENT, 0, 0},
    {"_decoder_init_latent_gru", LSTMAE_CELL_GRU, 0, 0, LATENT, 0, 0},
    {"_decoder_feedback", LSTMAE_CELL_LSTM, 0, 0, ZERO, 1, 0},
    {"_feedback_reverse", LSTMAE_CELL_LSTM, 0, 1, ZERO, 1, 0},
    {"_cross_entropy", LSTMAE_CELL_LSTM, 0, 0, ZERO, 0, 1},
    {"_all_lstm", LSTMAE_CELL_LSTM, 1, 1, LATENT, 1, 0},
    {"_all_gru", LSTMAE_CELL_GRU, 1, 1, LATENT, 1, 0},
    {"_all_lstm_ce", LSTMAE_CELL_LSTM, 1, 1, LATENT, 1, 1},
    {"_all_gru_ce", LSTMAE_CELL_GRU, 1, 1, LATENT, 1, 1},
};
#undef LATENT
#undef ZERO
enum { NVARIANTS = sizeof variants / sizeof variants[0] };

/* The variant of every model random_model makes, set by variant_setup
   from the test's initial state. */
static const variant *cur = &variants[0];

static int variant_setup(void **state)
{
    cur = *state;
    return 0;
}

static int variant_teardown(void **state)
{
    (void)state;
    cur = &variants[0];
    return 0;
}

/* The shape as the current variant runs it: cross-entropy takes the place
   of the loss (D widened to 2 where it is 1), and the name says so. */
static shape shape_for(const shape *base)
{
    shape s = *base;
    if (cur->cross_entropy) {
        s.loss = LSTMAE_LOSS_CROSS_ENTROPY;
        if (s.d < 2)
            s.d = 2;
    }
    snprintf(s.name, sizeof s.name, "%.40s%.15s, variant %.28s", base->name,
             !cur->cross_entropy ? "" : s.d == base->d ? " as ce" : " as ce with D 2",
             cur->name[0] ? cur->name + 1 : "default");
    return s;
}

static size_t param_size(const lstmae_model *m, const char *name)
{
    return lstmae_param_size(m, name);
}

/* A model of the shape and the current variant with every parameter drawn
   uniform in [-1, 1]; reverse_target flipped when flip_reverse. */
static lstmae_model *random_model_ex(const shape *s, uint64_t seed, int flip_reverse)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.cell = cur->cell;
    cfg.bidirectional = cur->bidirectional;
    cfg.reverse_target = flip_reverse ? !cur->reverse_target : cur->reverse_target;
    cfg.decoder_init = cur->decoder_init;
    cfg.decoder_feedback = cur->decoder_feedback;
    cfg.input_dim = s->d;
    cfg.hidden_dim = s->h;
    cfg.latent_dim = s->z;
    cfg.num_layers = s->k;
    cfg.loss = s->loss;
    cfg.seed = seed;
    lstmae_model *m = NULL;
    tu_expect_status(s->name, lstmae_create(&cfg, &m), LSTMAE_OK);

    /* the variant asked for is the variant made: its tensors are there */
    const size_t G = cur->cell == LSTMAE_CELL_GRU ? 3 : 4;    /* gates */
    const size_t per = cur->cell == LSTMAE_CELL_GRU ? 4 : 3;  /* tensors */
    const size_t K = (size_t)s->k, H = (size_t)s->h, Z = (size_t)s->z,
                 D = (size_t)s->d;
    size_t want = K * per * (cur->bidirectional ? 2u : 1u) + K * per + 4 +
                  (cur->decoder_init == LSTMAE_DECODER_INIT_LATENT ? 2 * K : 0);
    size_t count = lstmae_param_count(m);
    assert_int_equal(count, want);
    assert_int_equal(param_size(m, "decoder.0.weight_ih"),
                     G * H * (Z + (cur->decoder_feedback ? D : 0)));
    assert_int_equal(param_size(m, "latent.weight"),
                     Z * H * (cur->bidirectional ? 2u : 1u));
    assert_int_equal(param_size(m, "encoder.0.weight_hh_reverse"),
                     cur->bidirectional ? G * H * H : 0);
    assert_int_equal(param_size(m, "bridge.0.weight"),
                     cur->decoder_init == LSTMAE_DECODER_INIT_LATENT ? H * Z : 0);
    lstmae_config got;
    lstmae_config_init(&got);
    tu_expect_status(s->name, lstmae_get_config(m, &got), LSTMAE_OK);
    assert_int_equal(got.reverse_target, cfg.reverse_target);
    assert_int_equal(got.loss, s->loss);

    uint64_t rng = seed * 7919u + 1;
    for (size_t i = 0; i < count; i++) {
        const char *name = lstmae_param_name(m, i);
        size_t size = lstmae_param_size(m, name);
        float *v = tu_xmalloc(size * sizeof *v);
        tu_fill_uniform(&rng, v, size, -1.0f, 1.0f);
        tu_expect_status(name, lstmae_set_param(m, name, v, size), LSTMAE_OK);
        free(v);
    }
    return m;
}

static lstmae_model *random_model(const shape *s, uint64_t seed)
{
    return random_model_ex(s, seed, 0);
}

/* Decoder step k of one sequence's output of `len` steps (time order):
   step k in time with a forward target, step len-1-k with reverse_target. */
static const float *decoder_step(const float *out, size_t len, size_t k, size_t d)
{
    return out + (cur->reverse_target ? len - 1 - k : k) * d;
}

/* A data set for the shape: lengths random in 0..T with sequence 0 full and
   sequence 1 empty; valid steps hold data, padding holds 0. */
typedef struct {
    size_t n, t, d, z;
    float *x;               /* n * t * d */
    int32_t *len;           /* n */
} dataset;

static void dataset_make(dataset *ds, const shape *s, size_t n, uint64_t seed)
{
    ds->n = n;
    ds->t = s->t;
    ds->d = (size_t)s->d;
    ds->z = (size_t)s->z;
    ds->x = tu_xmalloc(n * ds->t * ds->d * sizeof *ds->x);
    ds->len = tu_xmalloc(n * sizeof *ds->len);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) {
        ds->len[i] = (int32_t)(tu_rand_u64(&rng) % (ds->t + 1));
        if (i == 0)
            ds->len[i] = (int32_t)ds->t;
        if (i == 1)
            ds->len[i] = 0;
        if (i == 2)
            ds->len[i] = 1;
        for (size_t t = 0; t < ds->t; t++) {
            float *row = ds->x + (i * ds->t + t) * ds->d;
            /* cross-entropy: a one-hot step, or now and then a
               probability vector */
            size_t hot = (size_t)(tu_rand_u64(&rng) % ds->d);
            int soft = tu_rand_u64(&rng) % 4 == 0;
            float total = 0.0f;
            for (size_t j = 0; j < ds->d; j++) {
                if (t >= (size_t)ds->len[i])
                    row[j] = 0.0f;
                else if (s->loss == LSTMAE_LOSS_CROSS_ENTROPY)
                    total += row[j] = soft ? tu_rand_uniform(&rng, 0.05f, 1.0f)
                                           : (float)(j == hot);
                else if (s->loss == LSTMAE_LOSS_BCE)
                    row[j] = (tu_rand_u64(&rng) & 1) ? 1.0f
                             : tu_rand_uniform(&rng, 0.0f, 1.0f);
                else
                    row[j] = tu_rand_uniform(&rng, -2.0f, 2.0f);
            }
            if (soft && total > 0.0f)
                for (size_t j = 0; j < ds->d; j++)
                    row[j] /= total;
        }
    }
}

static void dataset_free(dataset *ds)
{
    free(ds->x);
    free(ds->len);
}

/* A copy of ds whose row i is ds's row perm[i]. */
static dataset dataset_permuted(const dataset *ds, const size_t *perm)
{
    const size_t step = ds->t * ds->d;
    dataset pd = *ds;
    pd.x = tu_xmalloc(ds->n * step * sizeof *pd.x);
    pd.len = tu_xmalloc(ds->n * sizeof *pd.len);
    for (size_t i = 0; i < ds->n; i++) {
        memcpy(pd.x + i * step, ds->x + perm[i] * step, step * sizeof *pd.x);
        pd.len[i] = ds->len[perm[i]];
    }
    return pd;
}

static lstmae_sequences dataset_view(const dataset *ds, const float *x)
{
    lstmae_sequences s;
    s.data = x;
    s.lengths = ds->len;
    s.count = ds->n;
    s.max_len = ds->t;
    return s;
}

/* Results of the three set-wide calls on one view. */
typedef struct {
    float *latent;          /* n * z */
    float *recon;           /* n * t * d */
    float *decoded;         /* n * t * d: decode(latent, n, t) */
    lstmae_metrics metrics; /* valid only when has_metrics */
    int has_metrics;
} outputs;

static void outputs_run(outputs *o, const lstmae_model *m,
                        const lstmae_sequences *s, size_t z, size_t d,
                        const char *what)
{
    size_t nz = s->count * z, nx = s->count * s->max_len * d;
    o->latent = tu_xmalloc(nz * sizeof *o->latent);
    o->recon = tu_xmalloc(nx * sizeof *o->recon);
    o->decoded = tu_xmalloc(nx * sizeof *o->decoded);
    memset(o->latent, 0xA5, nz * sizeof *o->latent);
    memset(o->recon, 0xA5, nx * sizeof *o->recon);
    memset(o->decoded, 0xA5, nx * sizeof *o->decoded);
    tu_expect_status(what, lstmae_encode(m, s, o->latent), LSTMAE_OK);
    tu_expect_status(what, lstmae_reconstruct(m, s, o->recon), LSTMAE_OK);
    tu_expect_status(what, lstmae_decode(m, o->latent, s->count, s->max_len,
                                         o->decoded), LSTMAE_OK);
    lstmae_metrics_init(&o->metrics);
    int rc = lstmae_evaluate(m, s, &o->metrics);
    o->has_metrics = rc == LSTMAE_OK;
    if (rc != LSTMAE_OK)
        tu_expect_status(what, rc, LSTMAE_ERR_INVALID_ARG);   /* all empty */
}

static void outputs_free(outputs *o)
{
    free(o->latent);
    free(o->recon);
    free(o->decoded);
}

static void expect_metrics_bits(const char *what, const lstmae_metrics *a,
                                const lstmae_metrics *b)
{
    if (memcmp(&a->loss, &b->loss, sizeof a->loss) != 0)
        fail_msg("%s: loss %.17g vs %.17g", what, a->loss, b->loss);
    if (memcmp(&a->accuracy, &b->accuracy, sizeof a->accuracy) != 0 &&
        !(isnan(a->accuracy) && isnan(b->accuracy)))
        fail_msg("%s: accuracy %.17g vs %.17g", what, a->accuracy,
                 b->accuracy);
    if (a->elements != b->elements)
        fail_msg("%s: elements %llu vs %llu", what,
                 (unsigned long long)a->elements,
                 (unsigned long long)b->elements);
}

static void expect_outputs_bits(const char *what, const outputs *got,
                                const outputs *want, size_t nz, size_t nx)
{
    char buf[160];
    snprintf(buf, sizeof buf, "%s: latent", what);
    tu_assert_bits_equal(buf, got->latent, want->latent, nz);
    snprintf(buf, sizeof buf, "%s: reconstruction", what);
    tu_assert_bits_equal(buf, got->recon, want->recon, nx);
    snprintf(buf, sizeof buf, "%s: decode", what);
    tu_assert_bits_equal(buf, got->decoded, want->decoded, nx);
    assert_int_equal(got->has_metrics, want->has_metrics);
    if (want->has_metrics) {
        snprintf(buf, sizeof buf, "%s: metrics", what);
        expect_metrics_bits(buf, &got->metrics, &want->metrics);
    }
}

/* Reconstruction padding must be written exactly 0 (+0.0). */
static void expect_zero_padding(const char *what, const dataset *ds,
                                const float *recon, const int32_t *len)
{
    for (size_t i = 0; i < ds->n; i++) {
        size_t L = len ? (size_t)len[i] : ds->t;
        for (size_t t = L; t < ds->t; t++) {
            for (size_t j = 0; j < ds->d; j++) {
                float v = recon[(i * ds->t + t) * ds->d + j];
                if (v != 0.0f || signbit(v))
                    fail_msg("%s: padding (seq %zu, step %zu, %zu) is %g, "
                             "want +0", what, i, t, j, (double)v);
            }
        }
    }
}

/* ---- padding content ------------------------------------------------------ */

static void test_padding_content(void **state)
{
    (void)state;
    for (size_t si = 0; si < NSHAPES; si++) {
        const shape sv = shape_for(&shapes[si]), *s = &sv;
        lstmae_model *m = random_model(s, 100 + si);
        dataset ds;
        dataset_make(&ds, s, s->n, 200 + si);
        const size_t nz = ds.n * ds.z, nx = ds.n * ds.t * ds.d;
        lstmae_sequences clean = dataset_view(&ds, ds.x);
        outputs ref;
        outputs_run(&ref, m, &clean, ds.z, ds.d, s->name);
        expect_zero_padding(s->name, &ds, ref.recon, ds.len);
        assert_true(ref.has_metrics);

        float *x = tu_xmalloc(nx * sizeof *x);
        uint64_t rng = 300 + si;
        for (int kind = 0; kind < 5; kind++) {
            static const char *names[] = {"garbage", "NaN", "+-Inf and NaN",
                                          "huge and subnormal", "-0 and 1e38"};
            memcpy(x, ds.x, nx * sizeof *x);
            size_t pos = 0;
            for (size_t i = 0; i < ds.n; i++) {
                for (size_t t = (size_t)ds.len[i]; t < ds.t; t++) {
                    for (size_t j = 0; j < ds.d; j++, pos++) {
                        float *v = &x[(i * ds.t + t) * ds.d + j];
                        switch (kind) {
                        case 0: *v = tu_rand_uniform(&rng, -1e6f, 1e6f); break;
                        case 1: *v = NAN; break;
                        case 2: *v = pos % 3 == 0 ? INFINITY
                                     : pos % 3 == 1 ? -INFINITY : NAN;
                            break;
                        case 3: *v = pos % 2 ? 3e38f : 1e-42f; break;
                        default: *v = pos % 2 ? -0.0f : -1e38f; break;
                        }
                    }
                }
            }
            char what[256];
            snprintf(what, sizeof what, "%s, padding %s", s->name,
                     names[kind]);
            lstmae_sequences dirty = dataset_view(&ds, x);
            outputs got;
            outputs_run(&got, m, &dirty, ds.z, ds.d, what);
            expect_outputs_bits(what, &got, &ref, nz, nx);
            expect_zero_padding(what, &ds, got.recon, ds.len);
            outputs_free(&got);
        }
        free(x);
        outputs_free(&ref);
        dataset_free(&ds);
        lstmae_free(m);
    }
}

/* ---- the order of the batch ---------------------------------------------- */

/* Also a wider model over more than one inference chunk (256 sequences),
   where a row's position in a product can change its last bits: the
   library's canonical order must hide that. */
static const shape wide = {6, 32, 8, 1, LSTMAE_LOSS_BCE, 295, 12, "D6 H32 Z8 K1 bce T12 n300"};

static void test_permutation(void **state)
{
    (void)state;
    for (size_t si = 0; si <= NSHAPES; si++) {
        const shape sv = shape_for(si < NSHAPES ? &shapes[si] : &wide), *s = &sv;
        lstmae_model *m = random_model(s, 400 + si);
        dataset ds;
        dataset_make(&ds, s, s->n + 5, 500 + si);
        const size_t step = ds.t * ds.d;
        lstmae_sequences in = dataset_view(&ds, ds.x);
        outputs ref;
        outputs_run(&ref, m, &in, ds.z, ds.d, s->name);

        /* a random permutation, drawn by Fisher-Yates */
        size_t *perm = tu_xmalloc(ds.n * sizeof *perm);
        for (size_t i = 0; i < ds.n; i++)
            perm[i] = i;
        uint64_t rng = 600 + si;
        for (size_t i = ds.n - 1; i > 0; i--) {
            size_t j = (size_t)(tu_rand_u64(&rng) % (i + 1));
            size_t tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        dataset pd = dataset_permuted(&ds, perm);
        lstmae_sequences pin = dataset_view(&pd, pd.x);
        outputs got;
        outputs_run(&got, m, &pin, ds.z, ds.d, s->name);
        for (size_t i = 0; i < ds.n; i++) {
            char what[256];
            snprintf(what, sizeof what, "%s: permuted row %zu (was %zu) latent",
                     s->name, i, perm[i]);
            tu_assert_bits_equal(what, got.latent + i * ds.z,
                                 ref.latent + perm[i] * ds.z, ds.z);
            snprintf(what, sizeof what,
                     "%s: permuted row %zu (was %zu) reconstruction", s->name,
                     i, perm[i]);
            tu_assert_bits_equal(what, got.recon + i * step,
                                 ref.recon + perm[i] * step, step);
            /* decode of the permuted latents: free-running with feedback */
            snprintf(what, sizeof what,
                     "%s: permuted row %zu (was %zu) decode", s->name, i,
                     perm[i]);
            tu_assert_bits_equal(what, got.decoded + i * step,
                                 ref.decoded + perm[i] * step, step);
        }
        /* the loss is summed in the canonical order: the same bits */
        assert_true(got.metrics.elements == ref.metrics.elements);
        assert_true(got.metrics.loss == ref.metrics.loss);
        assert_true(memcmp(&got.metrics.accuracy, &ref.metrics.accuracy,
                           sizeof ref.metrics.accuracy) == 0);
        outputs_free(&got);
        outputs_free(&ref);
        free(perm);
        dataset_free(&pd);
        dataset_free(&ds);
        lstmae_free(m);
    }
}

/* ---- inference threads (lstmae_set_num_threads) ------------------------------ */

/* With 2, 3 and 7 workers: the same outputs as one worker to float
   rounding, bit for bit the same on a second run and on a permuted set. */
static void test_threads(void **state)
{
    (void)state;
    static const int counts[] = { 2, 3, 7 };
    for (size_t si = 0; si <= NSHAPES; si++) {
        const shape sv = shape_for(si < NSHAPES ? &shapes[si] : &wide), *s = &sv;
        lstmae_model *m = random_model(s, 1400 + si);
        dataset ds;
        dataset_make(&ds, s, s->n + 9, 1500 + si);
        const size_t step = ds.t * ds.d;
        lstmae_sequences in = dataset_view(&ds, ds.x);
        outputs one;
        outputs_run(&one, m, &in, ds.z, ds.d, s->name);

        /* the set reversed */
        size_t *rev = tu_xmalloc(ds.n * sizeof *rev);
        for (size_t i = 0; i < ds.n; i++) rev[i] = ds.n - 1 - i;
        dataset rd = dataset_permuted(&ds, rev);
        free(rev);
        lstmae_sequences rin = dataset_view(&rd, rd.x);

        for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
            char what[256];
            snprintf(what, sizeof what, "%s, %d threads", s->name, counts[c]);
            tu_expect_status(what, lstmae_set_num_threads(m, counts[c]), LSTMAE_OK);
            assert_int_equal(lstmae_get_num_threads(m), counts[c]);
            outputs a, b, r;
            outputs_run(&a, m, &in, ds.z, ds.d, what);
            outputs_run(&b, m, &in, ds.z, ds.d, what);
            outputs_run(&r, m, &rin, ds.z, ds.d, what);
            tu_assert_close(what, a.latent, one.latent, ds.n * ds.z, 2e-6, 0.0);
            tu_assert_close(what, a.recon, one.recon, ds.n * step, 2e-6, 0.0);
            tu_assert_close(what, a.decoded, one.decoded, ds.n * step, 2e-6, 0.0);
            tu_assert_bits_equal(what, b.latent, a.latent, ds.n * ds.z);
            tu_assert_bits_equal(what, b.recon, a.recon, ds.n * step);
            tu_assert_bits_equal(what, b.decoded, a.decoded, ds.n * step);
            for (size_t i = 0; i < ds.n; i++) {
                size_t j = ds.n - 1 - i;
                tu_assert_bits_equal(what, r.latent + i * ds.z, a.latent + j * ds.z, ds.z);
                tu_assert_bits_equal(what, r.recon + i * step, a.recon + j * step, step);
                tu_assert_bits_equal(what, r.decoded + i * step, a.decoded + j * step, step);
            }
            assert_true(a.has_metrics == one.has_metrics);
            if (one.has_metrics) {
                assert_true(a.metrics.elements == one.metrics.elements);
                assert_true(fabs(a.metrics.loss - one.metrics.loss) <=
                            1e-6 * fabs(one.metrics.loss) + 1e-12);
                assert_true(b.metrics.loss == a.metrics.loss);
                assert_true(r.metrics.loss == a.metrics.loss);
            }
            outputs_free(&a);
            outputs_free(&b);
            outputs_free(&r);
        }
        outputs_free(&one);
        dataset_free(&rd);
        dataset_free(&ds);
        lstmae_free(m);
    }
}

/* ---- a batch equals its sequences one at a time ---------------------------- */

static void test_batch_vs_single(void **state)
{
    (void)state;
    for (size_t si = 0; si < NSHAPES; si++) {
        const shape sv = shape_for(&shapes[si]), *s = &sv;
        lstmae_model *m = random_model(s, 700 + si);
        dataset ds;
        dataset_make(&ds, s, s->n + 3, 800 + si);
        const size_t step = ds.t * ds.d;
        lstmae_sequences in = dataset_view(&ds, ds.x);
        outputs ref;
        outputs_run(&ref, m, &in, ds.z, ds.d, s->name);
        float *lat = tu_xmalloc(ds.z * sizeof *lat);
        float *rec = tu_xmalloc(step * sizeof *rec);
        for (size_t i = 0; i < ds.n; i++) {
            lstmae_sequences one;
            one.data = ds.x + i * step;
            one.lengths = ds.len + i;
            one.count = 1;
            one.max_len = ds.t;
            char what[256];
            snprintf(what, sizeof what,
                     "%s: sequence %zu (length %d) alone vs in a batch of %zu:"
                     " latent", s->name, i, (int)ds.len[i], ds.n);
            tu_expect_status(what, lstmae_encode(m, &one, lat), LSTMAE_OK);
            expect_batch_invariant(what, lat, ref.latent + i * ds.z, ds.z);
            snprintf(what, sizeof what,
                     "%s: sequence %zu (length %d) alone vs in a batch of %zu:"
                     " reconstruction", s->name, i, (int)ds.len[i], ds.n);
            tu_expect_status(what, lstmae_reconstruct(m, &one, rec), LSTMAE_OK);
            expect_batch_invariant(what, rec, ref.recon + i * step, step);
        }
        free(lat);
        free(rec);
        outputs_free(&ref);
        dataset_free(&ds);
        lstmae_free(m);
    }
}

/* ---- the empty sequence --------------------------------------------------- */

static void test_empty_sequence(void **state)
{
    (void)state;
    for (size_t si = 0; si < NSHAPES; si++) {
        const shape sv = shape_for(&shapes[si]), *s = &sv;
        lstmae_model *m = random_model(s, 900 + si);
        const size_t z = (size_t)s->z, d = (size_t)s->d;
        float *bias = tu_xmalloc(z * sizeof *bias);
        tu_expect_status("latent.bias",
                         lstmae_get_param(m, "latent.bias", bias, z), LSTMAE_OK);

        /* in a mixed batch: dataset_make makes sequence 1 empty */
        dataset ds;
        dataset_make(&ds, s, s->n, 1000 + si);
        for (size_t j = 0; j < ds.t * d; j++)
            ds.x[ds.t * d + j] = NAN;              /* its padding: NaN */
        lstmae_sequences in = dataset_view(&ds, ds.x);
        float *lat = tu_xmalloc(ds.n * z * sizeof *lat);
        tu_expect_status(s->name, lstmae_encode(m, &in, lat), LSTMAE_OK);
        tu_assert_bits_equal("empty sequence in a batch vs latent.bias",
                             lat + z, bias, z);
        free(lat);

        /* a set of empty sequences only */
        enum { NE = 3 };
        const size_t nx = NE * ds.t * d;
        float *x = tu_xmalloc(nx * sizeof *x);
        for (size_t j = 0; j < nx; j++)
            x[j] = j % 2 ? NAN : INFINITY;
        int32_t zero[NE] = {0, 0, 0};
        lstmae_sequences empty = {x, zero, NE, ds.t};
        lat = tu_xmalloc(NE * z * sizeof *lat);
        tu_expect_status(s->name, lstmae_encode(m, &empty, lat), LSTMAE_OK);
        for (size_t i = 0; i < NE; i++)
            tu_assert_bits_equal("all-empty set vs latent.bias", lat + i * z,
                                 bias, z);
        float *rec = tu_xmalloc(nx * sizeof *rec);
        memset(rec, 0xA5, nx * sizeof *rec);
        tu_expect_status(s->name, lstmae_reconstruct(m, &empty, rec),
                         LSTMAE_OK);
        for (size_t j = 0; j < nx; j++)
            if (rec[j] != 0.0f)
                fail_msg("%s: reconstruction of an empty sequence, element "
                         "%zu is %g, want 0", s->name, j, (double)rec[j]);
        free(rec);
        free(lat);
        free(x);
        free(bias);
        dataset_free(&ds);
        lstmae_free(m);
    }
}

/* ---- lengths NULL ---------------------------------------------------------- */

static void test_lengths_null(void **state)
{
    (void)state;
    for (size_t si = 0; si < NSHAPES; si++) {
        const shape sv = shape_for(&shapes[si]), *s = &sv;
        lstmae_model *m = random_model(s, 1100 + si);
        dataset ds;
        dataset_make(&ds, s, s->n, 1200 + si);
        /* fill the whole buffer: every step is valid now */
        uint64_t rng = 1300 + si;
        tu_fill_uniform(&rng, ds.x, ds.n * ds.t * ds.d, 0.0f, 1.0f);
        for (size_t i = 0; i < ds.n; i++)
            ds.len[i] = (int32_t)ds.t;
        const size_t nz = ds.n * ds.z, nx = ds.n * ds.t * ds.d;
        lstmae_sequences full = dataset_view(&ds, ds.x);
        lstmae_sequences null_len = full;
        null_len.lengths = NULL;
        outputs a, b;
        outputs_run(&a, m, &full, ds.z, ds.d, s->name);
        outputs_run(&b, m, &null_len, ds.z, ds.d, s->name);
        char what[256];
        snprintf(what, sizeof what, "%s: lengths NULL vs all max_len", s->name);
        expect_outputs_bits(what, &b, &a, nz, nx);
        assert_true(b.metrics.elements == (uint64_t)nx);
        outputs_free(&a);
        outputs_free(&b);
        dataset_free(&ds);
        lstmae_free(m);
    }
}

/* ---- decode(encode(x)) equals reconstruct ---------------------------------- */

/* Decoder steps 0..nk-1 of got (an output of got_len steps) and of want
   (want_len steps), compared as expect_batch_invariant does: the decoder
   is causal, so its first steps do not depend on the length asked for;
   with reverse_target they sit at the end of each output. */
static void expect_decoder_steps(const char *what, const float *got, size_t got_len,
                                 const float *want, size_t want_len, size_t nk,
                                 size_t d)
{
    float *g = tu_xmalloc(nk * d * sizeof *g), *w = tu_xmalloc(nk * d * sizeof *w);
    for (size_t k = 0; k < nk; k++) {
        memcpy(g + k * d, decoder_step(got, got_len, k, d), d * sizeof *g);
        memcpy(w + k * d, decoder_step(want, want_len, k, d), d * sizeof *w);
    }
    expect_batch_invariant(what, g, w, nk * d);
    free(g);
    free(w);
}

static void test_decode_vs_reconstruct(void **state)
{
    (void)state;
    for (size_t si = 0; si < NSHAPES; si++) {
        const shape sv = shape_for(&shapes[si]), *s = &sv;
        lstmae_model *m = random_model(s, 1400 + si);
        dataset ds;
        dataset_make(&ds, s, s->n + 2, 1500 + si);
        const size_t step = ds.t * ds.d;
        lstmae_sequences in = dataset_view(&ds, ds.x);
        outputs ref;
        outputs_run(&ref, m, &in, ds.z, ds.d, s->name);
        /* reconstruct is teacher-forced: with feedback, decode (free
           running) agrees on the first decoder step only, where both see
           prev_0 = 0 */
        const int fb = cur->decoder_feedback;

        /* all at once, to max_len */
        float *all = tu_xmalloc(ds.n * step * sizeof *all);
        tu_expect_status(s->name,
                         lstmae_decode(m, ref.latent, ds.n, ds.t, all), LSTMAE_OK);

        /* each sequence decoded alone, to its own length */
        float *dec = tu_xmalloc(step * sizeof *dec);
        for (size_t i = 0; i < ds.n; i++) {
            size_t L = (size_t)ds.len[i];
            if (L == 0)
                continue;
            char what[256];
            snprintf(what, sizeof what,
                     "%s: decode(latent %zu, length %zu) vs reconstruct%s",
                     s->name, i, L, fb ? " (first decoder step)" : "");
            tu_expect_status(what,
                             lstmae_decode(m, ref.latent + i * ds.z, 1, L, dec),
                             LSTMAE_OK);
            expect_decoder_steps(what, dec, L, ref.recon + i * step, L,
                                 fb ? 1 : L, ds.d);
            /* the same steps as decode's to max_len (the decoder is
               causal, free-running too) */
            snprintf(what, sizeof what,
                     "%s: decode(latent %zu, length %zu) vs decode to max_len %zu",
                     s->name, i, L, ds.t);
            expect_decoder_steps(what, dec, L, all + i * step, ds.t, L, ds.d);
            /* and the output is in time order: with reverse_target the
               decoder's first step is the sequence's last */
            snprintf(what, sizeof what,
                     "%s: decode(latent %zu, length %zu) vs reconstruct, "
                     "step %zu (the decoder's first)", s->name, i, L,
                     cur->reverse_target ? L - 1 : 0);
            size_t at = (cur->reverse_target ? L - 1 : 0) * ds.d;
            expect_batch_invariant(what, dec + at, ref.recon + i * step + at, ds.d);
        }
        free(dec);

        for (size_t i = 0; i < ds.n; i++) {
            char what[256];
            snprintf(what, sizeof what,
                     "%s: decode(all latents, max_len) row %zu vs reconstruct%s",
                     s->name, i, fb ? " (first decoder step)" : "");
            size_t L = (size_t)ds.len[i];
            if (L > 0)
                expect_decoder_steps(what, all + i * step, ds.t,
                                     ref.recon + i * step, L, fb ? 1 : L, ds.d);
        }

        /* decoding a batch equals decoding each latent alone, at any length */
        const size_t longer = ds.t + 3;
        float *batch = tu_xmalloc(ds.n * longer * ds.d * sizeof *batch);
        float *one = tu_xmalloc(longer * ds.d * sizeof *one);
        tu_expect_status(s->name,
                         lstmae_decode(m, ref.latent, ds.n, longer, batch),
                         LSTMAE_OK);
        for (size_t i = 0; i < ds.n; i++) {
            tu_expect_status(s->name,
                             lstmae_decode(m, ref.latent + i * ds.z, 1, longer,
                                           one),
                             LSTMAE_OK);
            char what[256];
            snprintf(what, sizeof what,
                     "%s: decode row %zu alone vs in a batch (length %zu)",
                     s->name, i, longer);
            expect_batch_invariant(what, one, batch + i * longer * ds.d,
                                   longer * ds.d);
            /* and its first max_len decoder steps are decode's to max_len */
            expect_decoder_steps(what, one, longer, all + i * step, ds.t, ds.t,
                                 ds.d);
        }
        free(one);
        free(batch);
        free(all);
        outputs_free(&ref);
        dataset_free(&ds);
        lstmae_free(m);
    }
}

/* ---- reverse_target reorders the output, nothing else -------------------- */

/* The model and its twin (reverse_target flipped, the same parameters:
   reverse_target changes no tensor) encode alike, bit for bit. Decode runs
   the same decoder steps from the same z (free-running too, with
   feedback), so the twin's decode is the model's in opposite time order,
   step for step; without feedback so is reconstruct (with feedback the
   teacher-forced inputs differ: x_{t-1} against x_{L-t}). A model that
   forgot to put its output back in time order, or reversed it twice,
   fails here. */
static void test_reverse_target_twin(void **state)
{
    (void)state;
    for (size_t si = 0; si < NSHAPES; si++) {
        const shape sv = shape_for(&shapes[si]), *s = &sv;
        lstmae_model *m = random_model_ex(s, 2100 + si, 0);
        lstmae_model *twin = random_model_ex(s, 2100 + si, 1);
        dataset ds;
        dataset_make(&ds, s, s->n + 2, 2200 + si);
        const size_t step = ds.t * ds.d;
        lstmae_sequences in = dataset_view(&ds, ds.x);
        outputs a, b;
        outputs_run(&a, m, &in, ds.z, ds.d, s->name);
        outputs_run(&b, twin, &in, ds.z, ds.d, s->name);
        char what[256];
        snprintf(what, sizeof what, "%s: latent, twin with reverse_target %d",
                 s->name, !cur->reverse_target);
        tu_assert_bits_equal(what, b.latent, a.latent, ds.n * ds.z);
        size_t compared = 0;
        float *one_a = tu_xmalloc(step * sizeof *one_a);
        float *one_b = tu_xmalloc(step * sizeof *one_b);
        for (size_t i = 0; i < ds.n; i++) {
            const size_t L = (size_t)ds.len[i], T = ds.t;
            for (size_t t = 0; t < T; t++) {
                /* decode to max_len: step t against the twin's T-1-t */
                snprintf(what, sizeof what,
                         "%s: row %zu decode step %zu vs the twin's step %zu",
                         s->name, i, t, T - 1 - t);
                tu_assert_bits_equal(what, a.decoded + i * step + t * ds.d,
                                     b.decoded + i * step + (T - 1 - t) * ds.d, ds.d);
            }
            if (L == 0)
                continue;
            /* decode to the sequence's own length, alone */
            tu_expect_status(s->name, lstmae_decode(m, a.latent + i * ds.z, 1, L, one_a),
                             LSTMAE_OK);
            tu_expect_status(s->name, lstmae_decode(twin, a.latent + i * ds.z, 1, L, one_b),
                             LSTMAE_OK);
            for (size_t t = 0; t < L; t++) {
                snprintf(what, sizeof what,
                         "%s: row %zu decode(length %zu) step %zu vs the twin's step %zu",
                         s->name, i, L, t, L - 1 - t);
                tu_assert_bits_equal(what, one_a + t * ds.d, one_b + (L - 1 - t) * ds.d,
                                     ds.d);
                if (cur->decoder_feedback)
                    continue;
                snprintf(what, sizeof what,
                         "%s: row %zu reconstruct step %zu vs the twin's step %zu",
                         s->name, i, t, L - 1 - t);
                tu_assert_bits_equal(what, a.recon + i * step + t * ds.d,
                                     b.recon + i * step + (L - 1 - t) * ds.d, ds.d);
                compared += t != L - 1 - t;
            }
        }
        /* a step that is its own mirror proves nothing: steps were
           compared whose mirror is another step (sequence 0 has T steps) */
        if (!cur->decoder_feedback && ds.t > 1)
            assert_true(compared >= ds.t);
        free(one_a);
        free(one_b);
        outputs_free(&a);
        outputs_free(&b);
        dataset_free(&ds);
        lstmae_free(twin);
        lstmae_free(m);
    }
}

/* ---- evaluate's loss is reconstruct's output against the input ----------- */

/* In double, from reconstruct's output (probabilities, values or
   softmax) and the input, step for step in time order: the loss and the
   accuracy evaluate reports. So the target evaluate scores each output
   step against is the input step reconstruct returns it at (reverse_target
   included). */
static void test_loss_from_reconstruct(void **state)
{
    (void)state;
    for (size_t si = 0; si < NSHAPES; si++) {
        const shape sv = shape_for(&shapes[si]), *s = &sv;
        lstmae_model *m = random_model(s, 2300 + si);
        dataset ds;
        dataset_make(&ds, s, s->n + 4, 2400 + si);
        lstmae_sequences in = dataset_view(&ds, ds.x);
        outputs o;
        outputs_run(&o, m, &in, ds.z, ds.d, s->name);
        assert_true(o.has_metrics);
        double loss = 0.0;
        uint64_t steps = 0, correct = 0, elements = 0;
        for (size_t i = 0; i < ds.n; i++) {
            for (size_t t = 0; t < (size_t)ds.len[i]; t++) {
                const float *x = ds.x + (i * ds.t + t) * ds.d;
                const float *p = o.recon + (i * ds.t + t) * ds.d;
                size_t ax = 0, ap = 0;
                for (size_t j = 0; j < ds.d; j++) {
                    double xv = x[j], pv = p[j];
                    if (s->loss == LSTMAE_LOSS_MSE) {
                        loss += (pv - xv) * (pv - xv);
                    } else if (s->loss == LSTMAE_LOSS_BCE) {
                        loss -= xv * log(pv) + (1.0 - xv) * log1p(-pv);
                        correct += (pv > 0.5) == (xv > 0.5);
                    } else {
                        if (xv != 0.0)
                            loss -= xv * log(pv);
                        if (x[j] > x[ax]) ax = j;
                        if (p[j] > p[ap]) ap = j;
                    }
                }
                if (s->loss == LSTMAE_LOSS_CROSS_ENTROPY)
                    correct += ax == ap;
                steps++;
                elements += ds.d;
            }
        }
        const double count = s->loss == LSTMAE_LOSS_CROSS_ENTROPY ? (double)steps
                                                                  : (double)elements;
        loss /= count;
        char what[256];
        snprintf(what, sizeof what, "%s: evaluate's loss %.9g vs %.9g from "
                 "reconstruct's output", s->name, o.metrics.loss, loss);
        assert_true(o.metrics.elements == elements);
        if (!(fabs(o.metrics.loss - loss) <= 1e-5 * fabs(loss) + 1e-7))
            fail_msg("%s (rel tol 1e-5)", what);
        if (s->loss == LSTMAE_LOSS_MSE) {
            assert_true(isnan(o.metrics.accuracy));
        } else {
            double acc = (double)correct / count;
            /* an output within rounding of 0.5 (or of a tie) may go
               either way: allow one element or step */
            if (!(fabs(o.metrics.accuracy - acc) <= 1.0 / count + 1e-12))
                fail_msg("%s: accuracy %.9g vs %.9g from reconstruct's output",
                         s->name, o.metrics.accuracy, acc);
        }
        outputs_free(&o);
        dataset_free(&ds);
        lstmae_free(m);
    }
}

/* ---- training: padding and order ------------------------------------------ */

/* A copy of ds.x whose padding holds NaN, +-Inf, huge and subnormal
   values, by position. */
static float *dirty_copy(const dataset *ds)
{
    const size_t nx = ds->n * ds->t * ds->d;
    float *x = tu_xmalloc(nx * sizeof *x);
    memcpy(x, ds->x, nx * sizeof *x);
    size_t pos = 0;
    for (size_t i = 0; i < ds->n; i++)
        for (size_t t = (size_t)ds->len[i]; t < ds->t; t++)
            for (size_t j = 0; j < ds->d; j++, pos++) {
                static const float pad[] = {NAN, INFINITY, -INFINITY, 3e38f,
                                            1e-42f, -1e38f};
                x[(i * ds->t + t) * ds->d + j] = pad[pos % 6];
            }
    return x;
}

static void fit_checked(const char *what, lstmae_model *m, const lstmae_sequences *train,
                        const lstmae_fit_options *o, lstmae_metrics *last)
{
    lstmae_metrics_init(last);
    tu_expect_status(what, lstmae_fit(m, train, NULL, o, last), LSTMAE_OK);
}

/* fit on a set and on the same set with garbage padding: the same
   parameters, bit for bit, and the same metrics; with 1 and 3 threads,
   Adam, shuffled batches of 3 (so batches of mixed lengths, some all
   empty, are trained on), 2 epochs. */
static void test_fit_padding(void **state)
{
    (void)state;
    for (size_t si = 0; si < NSHAPES; si++) {
        const shape sv = shape_for(&shapes[si]), *s = &sv;
        dataset ds;
        dataset_make(&ds, s, s->n + 4, 2500 + si);
        float *dirty = dirty_copy(&ds);
        lstmae_sequences clean_in = dataset_view(&ds, ds.x);
        lstmae_sequences dirty_in = dataset_view(&ds, dirty);
        static const int threads[] = {1, 3};
        for (size_t c = 0; c < 2; c++) {
            lstmae_model *a = random_model(s, 2600 + si);
            lstmae_model *b = random_model(s, 2600 + si);
            lstmae_fit_options o;
            lstmae_fit_options_init(&o);
            o.epochs = 2;
            o.batch_size = 3;
            o.learning_rate = 0.01f;
            o.num_threads = threads[c];
            char what[256];
            snprintf(what, sizeof what, "%s: fit, %d thread(s), garbage padding "
                     "vs clean", s->name, threads[c]);
            lstmae_metrics la, lb;
            fit_checked(what, a, &clean_in, &o, &la);
            fit_checked(what, b, &dirty_in, &o, &lb);
            tu_assert_same_params(what, b, a);
            expect_metrics_bits(what, &lb, &la);
            /* and it trained: every output bias moved */
            lstmae_model *c0 = random_model(s, 2600 + si);
            const size_t D = (size_t)s->d;
            float *b0 = tu_xmalloc(D * sizeof *b0), *b1 = tu_xmalloc(D * sizeof *b1);
            tu_expect_status(what, lstmae_get_param(c0, "output.bias", b0, D), LSTMAE_OK);
            tu_expect_status(what, lstmae_get_param(a, "output.bias", b1, D), LSTMAE_OK);
            for (size_t j = 0; j < D; j++)
                if (!(b1[j] != b0[j]))
                    fail_msg("%s: output.bias[%zu] stayed %g (was %g)", what,
                             j, (double)b1[j], (double)b0[j]);
            free(b0);
            free(b1);
            lstmae_free(c0);
            lstmae_free(a);
            lstmae_free(b);
        }
        free(dirty);
        dataset_free(&ds);
    }
}

/* fit on a set and on the set permuted, in one batch (shuffle off, one
   epoch, plain SGD at learning rate 1, so that the step is the gradient),
   with 1 and with 2 worker threads: the same parameters and loss, bit for
   bit (fit puts every batch in a canonical order: by length, then
   content). */
static void test_fit_permutation(void **state)
{
    (void)state;
    for (size_t si = 0; si <= NSHAPES; si++) {
        const shape sv = shape_for(si < NSHAPES ? &shapes[si] : &wide), *s = &sv;
        dataset ds;
        dataset_make(&ds, s, si < NSHAPES ? s->n + 5 : 40, 2700 + si);
        size_t *perm = tu_xmalloc(ds.n * sizeof *perm);
        for (size_t i = 0; i < ds.n; i++)
            perm[i] = i;
        uint64_t rng = 2800 + si;
        for (size_t i = ds.n - 1; i > 0; i--) {
            size_t j = (size_t)(tu_rand_u64(&rng) % (i + 1));
            size_t tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        dataset pd = dataset_permuted(&ds, perm);
        lstmae_sequences in = dataset_view(&ds, ds.x), pin = dataset_view(&pd, pd.x);
        lstmae_model *start = random_model(s, 2900 + si);
        lstmae_fit_options o;
        lstmae_fit_options_init(&o);
        o.epochs = 1;
        o.batch_size = (int)ds.n;
        o.shuffle = 0;
        o.optimizer = LSTMAE_OPT_SGD;
        o.learning_rate = 1.0f;
        for (int threads = 1; threads <= 2; threads++) {
            o.num_threads = threads;
            lstmae_model *a = random_model(s, 2900 + si);
            lstmae_model *b = random_model(s, 2900 + si);
            char what[256];
            snprintf(what, sizeof what, "%s: fit on a permuted set, %d thread(s)", s->name,
                     threads);
            lstmae_metrics la, lb;
            fit_checked(what, a, &in, &o, &la);
            fit_checked(what, b, &pin, &o, &lb);
            size_t n = 0, na = 0, nb = 0;
            float *p0 = tu_params_snapshot(start, &n);
            float *pa = tu_params_snapshot(a, &na), *pb = tu_params_snapshot(b, &nb);
            assert_int_equal(na, n);
            assert_int_equal(nb, n);
            size_t differ = 0;
            for (size_t i = 0; i < n; i++) differ += memcmp(&pa[i], &pb[i], sizeof *pa) != 0;
            /* the step moved the parameters: the check compares something */
            assert_true(memcmp(p0, pa, n * sizeof *pa) != 0);
            if (differ != 0) fail_msg("%s: %zu of %zu parameters differ", what, differ, n);
            assert_true(la.elements == lb.elements);
            if (memcmp(&la.loss, &lb.loss, sizeof la.loss) != 0)
                fail_msg("%s: loss %.17g vs %.17g", what, lb.loss, la.loss);
            free(p0);
            free(pa);
            free(pb);
            lstmae_free(a);
            lstmae_free(b);
        }
        lstmae_free(start);
        free(perm);
        dataset_free(&pd);
        dataset_free(&ds);
    }
}

/* ---- a large set equals its pieces ----------------------------------------- */

static void check_large(const shape *s, size_t n, uint64_t seed)
{
    lstmae_model *m = random_model(s, seed);
    dataset ds;
    dataset_make(&ds, s, n, seed + 1);
    const size_t step = ds.t * ds.d;
    lstmae_sequences in = dataset_view(&ds, ds.x);
    outputs whole;
    outputs_run(&whole, m, &in, ds.z, ds.d, s->name);
    assert_true(whole.has_metrics);

    float *lat = tu_xmalloc(n * ds.z * sizeof *lat);
    float *rec = tu_xmalloc(n * step * sizeof *rec);
    static const size_t piece_sizes[] = {1, 7, 64, 333, 2, 129, 1000, 31};
    double loss_sum = 0.0;
    uint64_t elements = 0, matches = 0;
    /* accuracy counts elements (bce) or steps (cross-entropy) */
    const size_t unit = s->loss == LSTMAE_LOSS_CROSS_ENTROPY ? ds.d : 1;
    size_t start = 0, pieces = 0;
    while (start < n) {
        size_t len = piece_sizes[pieces++ % 8];
        if (len > n - start)
            len = n - start;
        lstmae_sequences part;
        part.data = ds.x + start * step;
        part.lengths = ds.len + start;
        part.count = len;
        part.max_len = ds.t;
        tu_expect_status("encode piece", lstmae_encode(m, &part,
                                                       lat + start * ds.z),
                         LSTMAE_OK);
        tu_expect_status("reconstruct piece",
                         lstmae_reconstruct(m, &part, rec + start * step),
                         LSTMAE_OK);
        lstmae_metrics pm;
        lstmae_metrics_init(&pm);
        int rc = lstmae_evaluate(m, &part, &pm);
        uint64_t valid = 0;
        for (size_t i = 0; i < len; i++)
            valid += (uint64_t)part.lengths[i] * ds.d;
        if (valid == 0) {
            tu_expect_status("evaluate an all-empty piece", rc,
                             LSTMAE_ERR_INVALID_ARG);
        } else {
            tu_expect_status("evaluate piece", rc, LSTMAE_OK);
            assert_true(pm.elements == valid);
            loss_sum += pm.loss * (double)pm.elements;
            elements += pm.elements;
            if (s->loss != LSTMAE_LOSS_MSE)   /* per element; ce: per step */
                matches += (uint64_t)llround(pm.accuracy * (double)pm.elements /
                                             (double)unit);
        }
        start += len;
    }
    char what[256];
    snprintf(what, sizeof what, "%s: %zu sequences at once vs in %zu pieces",
             s->name, n, pieces);
    expect_batch_invariant(what, lat, whole.latent, n * ds.z);
    expect_batch_invariant(what, rec, whole.recon, n * step);
    assert_true(elements == whole.metrics.elements);
    /* the mean of the pieces' means, weighted: equal up to the order of
       summation (the library sums in its own order and precision) */
    double loss = loss_sum / (double)elements;
    if (!(fabs(loss - whole.metrics.loss) <= 1e-5 * fabs(whole.metrics.loss)))
        fail_msg("%s: loss %.10g whole vs %.10g from pieces (rel tol 1e-5)",
                 what, whole.metrics.loss, loss);
    if (s->loss != LSTMAE_LOSS_MSE) {
        uint64_t whole_matches = (uint64_t)llround(
            whole.metrics.accuracy * (double)whole.metrics.elements / (double)unit);
        if (whole_matches != matches)
            fail_msg("%s: %llu matching elements whole vs %llu from pieces",
                     what, (unsigned long long)whole_matches,
                     (unsigned long long)matches);
    } else {
        assert_true(isnan(whole.metrics.accuracy));
    }
    free(lat);
    free(rec);
    outputs_free(&whole);
    dataset_free(&ds);
    lstmae_free(m);
}

static void test_large_set(void **state)
{
    (void)state;
    const shape bce = {2, 5, 3, 2, LSTMAE_LOSS_BCE, 0, 6, "large D2 H5 Z3 K2 bce"};
    const shape mse = {3, 4, 6, 1, LSTMAE_LOSS_MSE, 0, 4, "large D3 H4 Z6 K1 mse"};
    const shape bv = shape_for(&bce), mv = shape_for(&mse);
    check_large(&bv, 2500, 1600);
    check_large(&mv, 1000, 1700);
}

/* Every check, once per variant: NCHECKS * NVARIANTS cmocka tests, named
   after the check and the variant's suffix. */
static const struct {
    const char *name;
    CMUnitTestFunction fn;
} checks[] = {
    {"test_padding_content", test_padding_content},
    {"test_permutation", test_permutation},
    {"test_batch_vs_single", test_batch_vs_single},
    {"test_threads", test_threads},
    {"test_empty_sequence", test_empty_sequence},
    {"test_lengths_null", test_lengths_null},
    {"test_decode_vs_reconstruct", test_decode_vs_reconstruct},
    {"test_reverse_target_twin", test_reverse_target_twin},
    {"test_loss_from_reconstruct", test_loss_from_reconstruct},
    {"test_fit_padding", test_fit_padding},
    {"test_fit_permutation", test_fit_permutation},
    {"test_large_set", test_large_set},
};
enum { NCHECKS = sizeof checks / sizeof checks[0] };

int main(void)
{
    static char names[NCHECKS * NVARIANTS][80];
    struct CMUnitTest tests[NCHECKS * NVARIANTS];
    for (size_t v = 0; v < NVARIANTS; v++) {
        for (size_t c = 0; c < NCHECKS; c++) {
            size_t i = v * NCHECKS + c;
            snprintf(names[i], sizeof names[i], "%s%s", checks[c].name,
                     variants[v].name);
            tests[i] = (struct CMUnitTest){names[i], checks[c].fn, variant_setup,
                                           variant_teardown, &variants[v]};
        }
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}

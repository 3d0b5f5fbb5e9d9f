/*
 * test_invariance.c - results that must not change, bit for bit:
 *  - whatever the padding holds (garbage, NaN, Inf): encode, reconstruct
 *    (padding written 0) and evaluate;
 *  - the order of the batch (the latent rows permute with it);
 *  - the batch size: a batch equals its sequences one at a time, and a
 *    large set (which the library may cut into chunks) equals its pieces;
 *  - lengths NULL equals every length max_len;
 *  - an empty sequence encodes to latent.bias exactly;
 *  - decode(encode(x)) to length L equals reconstruct's first L steps.
 *
 * On random models of several shapes: K = 1..3, Z != H, bce and mse,
 * D = 1, T = 1; every check once with LSTM layers and once with GRU
 * layers (the *_gru tests, cell = LSTMAE_CELL_GRU). Only the public API
 * is used.
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
    const char *name;
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

/* The cell of every model random_model makes: the *_gru tests set it to
   LSTMAE_CELL_GRU for their run (gru_setup / cell_teardown). */
static lstmae_cell cell_under_test = LSTMAE_CELL_LSTM;

static int gru_setup(void **state)
{
    (void)state;
    cell_under_test = LSTMAE_CELL_GRU;
    return 0;
}

static int cell_teardown(void **state)
{
    (void)state;
    cell_under_test = LSTMAE_CELL_LSTM;
    return 0;
}

/* A model of the shape with every parameter drawn uniform in [-1, 1]. */
static lstmae_model *random_model(const shape *s, uint64_t seed)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.cell = cell_under_test;
    cfg.input_dim = s->d;
    cfg.hidden_dim = s->h;
    cfg.latent_dim = s->z;
    cfg.num_layers = s->k;
    cfg.loss = s->loss;
    cfg.seed = seed;
    lstmae_model *m = NULL;
    tu_expect_status(s->name, lstmae_create(&cfg, &m), LSTMAE_OK);
    uint64_t rng = seed * 7919u + 1;
    size_t count = lstmae_param_count(m);
    /* the cell asked for is the cell made: 8K + 4 tensors for a GRU */
    assert_int_equal(count, (size_t)((cell_under_test == LSTMAE_CELL_GRU ? 8 : 6) * s->k + 4));
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
        for (size_t t = 0; t < ds->t; t++) {
            float *row = ds->x + (i * ds->t + t) * ds->d;
            for (size_t j = 0; j < ds->d; j++) {
                if (t >= (size_t)ds->len[i])
                    row[j] = 0.0f;
                else if (s->loss == LSTMAE_LOSS_BCE)
                    row[j] = (tu_rand_u64(&rng) & 1) ? 1.0f
                             : tu_rand_uniform(&rng, 0.0f, 1.0f);
                else
                    row[j] = tu_rand_uniform(&rng, -2.0f, 2.0f);
            }
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
    memset(o->latent, 0xA5, nz * sizeof *o->latent);
    memset(o->recon, 0xA5, nx * sizeof *o->recon);
    tu_expect_status(what, lstmae_encode(m, s, o->latent), LSTMAE_OK);
    tu_expect_status(what, lstmae_reconstruct(m, s, o->recon), LSTMAE_OK);
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
        const shape *s = &shapes[si];
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
        for (int variant = 0; variant < 5; variant++) {
            static const char *names[] = {"garbage", "NaN", "+-Inf and NaN",
                                          "huge and subnormal", "-0 and 1e38"};
            memcpy(x, ds.x, nx * sizeof *x);
            size_t pos = 0;
            for (size_t i = 0; i < ds.n; i++) {
                for (size_t t = (size_t)ds.len[i]; t < ds.t; t++) {
                    for (size_t j = 0; j < ds.d; j++, pos++) {
                        float *v = &x[(i * ds.t + t) * ds.d + j];
                        switch (variant) {
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
            char what[128];
            snprintf(what, sizeof what, "%s, padding %s", s->name,
                     names[variant]);
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
        const shape *s = si < NSHAPES ? &shapes[si] : &wide;
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
            char what[128];
            snprintf(what, sizeof what, "%s: permuted row %zu (was %zu) latent",
                     s->name, i, perm[i]);
            tu_assert_bits_equal(what, got.latent + i * ds.z,
                                 ref.latent + perm[i] * ds.z, ds.z);
            snprintf(what, sizeof what,
                     "%s: permuted row %zu (was %zu) reconstruction", s->name,
                     i, perm[i]);
            tu_assert_bits_equal(what, got.recon + i * step,
                                 ref.recon + perm[i] * step, step);
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
        const shape *s = si < NSHAPES ? &shapes[si] : &wide;
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
            char what[160];
            snprintf(what, sizeof what, "%s, %d threads", s->name, counts[c]);
            tu_expect_status(what, lstmae_set_num_threads(m, counts[c]), LSTMAE_OK);
            assert_int_equal(lstmae_get_num_threads(m), counts[c]);
            outputs a, b, r;
            outputs_run(&a, m, &in, ds.z, ds.d, what);
            outputs_run(&b, m, &in, ds.z, ds.d, what);
            outputs_run(&r, m, &rin, ds.z, ds.d, what);
            tu_assert_close(what, a.latent, one.latent, ds.n * ds.z, 2e-6, 0.0);
            tu_assert_close(what, a.recon, one.recon, ds.n * step, 2e-6, 0.0);
            tu_assert_bits_equal(what, b.latent, a.latent, ds.n * ds.z);
            tu_assert_bits_equal(what, b.recon, a.recon, ds.n * step);
            for (size_t i = 0; i < ds.n; i++) {
                size_t j = ds.n - 1 - i;
                tu_assert_bits_equal(what, r.latent + i * ds.z, a.latent + j * ds.z, ds.z);
                tu_assert_bits_equal(what, r.recon + i * step, a.recon + j * step, step);
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
        const shape *s = &shapes[si];
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
            char what[128];
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
        const shape *s = &shapes[si];
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
        const shape *s = &shapes[si];
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
        char what[128];
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

static void test_decode_vs_reconstruct(void **state)
{
    (void)state;
    for (size_t si = 0; si < NSHAPES; si++) {
        const shape *s = &shapes[si];
        lstmae_model *m = random_model(s, 1400 + si);
        dataset ds;
        dataset_make(&ds, s, s->n + 2, 1500 + si);
        const size_t step = ds.t * ds.d;
        lstmae_sequences in = dataset_view(&ds, ds.x);
        outputs ref;
        outputs_run(&ref, m, &in, ds.z, ds.d, s->name);

        /* each sequence decoded alone, to its own length */
        float *dec = tu_xmalloc(step * sizeof *dec);
        for (size_t i = 0; i < ds.n; i++) {
            size_t L = (size_t)ds.len[i];
            if (L == 0)
                continue;
            char what[128];
            snprintf(what, sizeof what,
                     "%s: decode(latent %zu, length %zu) vs reconstruct",
                     s->name, i, L);
            tu_expect_status(what,
                             lstmae_decode(m, ref.latent + i * ds.z, 1, L, dec),
                             LSTMAE_OK);
            expect_batch_invariant(what, dec, ref.recon + i * step, L * ds.d);
        }
        free(dec);

        /* all at once, to max_len: the first L_i steps are the same (the
           decoder is causal) */
        float *all = tu_xmalloc(ds.n * step * sizeof *all);
        tu_expect_status(s->name,
                         lstmae_decode(m, ref.latent, ds.n, ds.t, all), LSTMAE_OK);
        for (size_t i = 0; i < ds.n; i++) {
            char what[128];
            snprintf(what, sizeof what,
                     "%s: decode(all latents, max_len) row %zu vs reconstruct",
                     s->name, i);
            expect_batch_invariant(what, all + i * step, ref.recon + i * step,
                                   (size_t)ds.len[i] * ds.d);
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
            char what[128];
            snprintf(what, sizeof what,
                     "%s: decode row %zu alone vs in a batch (length %zu)",
                     s->name, i, longer);
            expect_batch_invariant(what, one, batch + i * longer * ds.d,
                                   longer * ds.d);
            /* and its first max_len steps are decode's to max_len */
            expect_batch_invariant(what, one, all + i * step, step);
        }
        free(one);
        free(batch);
        free(all);
        outputs_free(&ref);
        dataset_free(&ds);
        lstmae_free(m);
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
            if (s->loss == LSTMAE_LOSS_BCE)
                matches += (uint64_t)llround(pm.accuracy * (double)pm.elements);
        }
        start += len;
    }
    char what[128];
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
    if (s->loss == LSTMAE_LOSS_BCE) {
        uint64_t whole_matches = (uint64_t)llround(
            whole.metrics.accuracy * (double)whole.metrics.elements);
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
    check_large(&bce, 2500, 1600);
    check_large(&mse, 1000, 1700);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_padding_content),
        cmocka_unit_test(test_permutation),
        cmocka_unit_test(test_batch_vs_single),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_empty_sequence),
        cmocka_unit_test(test_lengths_null),
        cmocka_unit_test(test_decode_vs_reconstruct),
        cmocka_unit_test(test_large_set),
#define GRU_TEST(f) { #f "_gru", f, gru_setup, cell_teardown, NULL }
        GRU_TEST(test_padding_content),
        GRU_TEST(test_permutation),
        GRU_TEST(test_batch_vs_single),
        GRU_TEST(test_threads),
        GRU_TEST(test_empty_sequence),
        GRU_TEST(test_lengths_null),
        GRU_TEST(test_decode_vs_reconstruct),
        GRU_TEST(test_large_set),
#undef GRU_TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_fit.c - training, seen from outside:
 *  - determinism (same seed, data, options and thread count: same bits),
 *    and 5 epochs == 2 epochs then 3;
 *  - on_epoch: once per epoch, numbered 1..E, finite metrics, validation
 *    metrics iff a validation set; cancelling; last_train;
 *  - the loss goes down on a learnable problem;
 *  - clip_norm (the step's norm is lr * clip_norm), SGD momentum as PyTorch;
 *  - divergence (LSTMAE_ERR_NUMERIC, the model restored to the last
 *    completed epoch), NaN in a validation set, an all-empty train set,
 *    epochs = 0.
 *
 * Gradients are read from outside with MODEL.md's one-step SGD trick: with
 * shuffle 0, batch_size >= count and epochs 1, SGD makes p - lr * grad.
 * Only the public API is used.
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

static void params_restore(lstmae_model *m, const float *flat)
{
    size_t count = lstmae_param_count(m), off = 0;
    for (size_t i = 0; i < count; i++) {
        const char *name = lstmae_param_name(m, i);
        size_t size = lstmae_param_size(m, name);
        tu_expect_status(name, lstmae_set_param(m, name, flat + off, size),
                         LSTMAE_OK);
        off += size;
    }
}

/* A fresh model (new optimiser state) with m's config and parameters. */
static lstmae_model *model_copy(const lstmae_model *m)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    tu_expect_status("get_config", lstmae_get_config(m, &cfg), LSTMAE_OK);
    lstmae_model *c = NULL;
    tu_expect_status("create copy", lstmae_create(&cfg, &c), LSTMAE_OK);
    size_t n = 0;
    float *p = tu_params_snapshot(m, &n);
    params_restore(c, p);
    free(p);
    return c;
}

static double l2_norm(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * (double)x[i];
    return sqrt(s);
}

/* A data set: lengths random in 0..T with sequence 0 full and 1 empty. */
typedef struct {
    size_t n, t, d;
    float *x;
    int32_t *len;
    lstmae_sequences s;
} dataset;

/* kind 0: "moving ones" (step t is one-hot at t % D, zeros from step D on),
   kind 1: uniform in [lo, hi). Padding holds NaN. */
static void dataset_make(dataset *ds, size_t n, size_t t, size_t d, int kind,
                         float lo, float hi, uint64_t seed)
{
    ds->n = n;
    ds->t = t;
    ds->d = d;
    ds->x = tu_xmalloc(n * t * d * sizeof *ds->x);
    ds->len = tu_xmalloc(n * sizeof *ds->len);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) {
        size_t L = (size_t)(tu_rand_u64(&rng) % (t + 1));
        if (i == 0)
            L = t;
        if (i == 1)
            L = 0;
        ds->len[i] = (int32_t)L;
        for (size_t s = 0; s < t; s++) {
            float *row = ds->x + (i * t + s) * d;
            for (size_t j = 0; j < d; j++) {
                if (s >= L)
                    row[j] = NAN;
                else if (kind == 0)
                    row[j] = (s < d && j == s) ? 1.0f : 0.0f;
                else
                    row[j] = tu_rand_uniform(&rng, lo, hi);
            }
        }
    }
    ds->s.data = ds->x;
    ds->s.lengths = ds->len;
    ds->s.count = n;
    ds->s.max_len = t;
}

static void dataset_free(dataset *ds)
{
    free(ds->x);
    free(ds->len);
}

static uint64_t valid_elements(const dataset *ds)
{
    uint64_t e = 0;
    for (size_t i = 0; i < ds->n; i++)
        e += (uint64_t)ds->len[i] * ds->d;
    return e;
}

static lstmae_fit_options adam_options(int epochs, int batch, int threads)
{
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = epochs;
    o.batch_size = batch;
    o.learning_rate = 0.01f;
    o.num_threads = threads;
    o.shuffle = 1;
    return o;
}

/* One SGD step over the whole set: shuffle 0, one batch, one epoch. */
static lstmae_fit_options sgd_step_options(size_t count, float lr)
{
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 1;
    o.batch_size = (int)count;
    o.optimizer = LSTMAE_OPT_SGD;
    o.learning_rate = lr;
    o.shuffle = 0;
    o.num_threads = 1;
    return o;
}

/* Fits a and b alike (Adam, shuffle, a few batches) and checks they stay
   bit-identical: their optimiser state and generator were the same. */
static void expect_train_alike(lstmae_model *a, lstmae_model *b,
                               const lstmae_sequences *s, const char *what)
{
    lstmae_fit_options o = adam_options(2, 3, 1);
    int ra = lstmae_fit(a, s, NULL, &o, NULL);
    int rb = lstmae_fit(b, s, NULL, &o, NULL);
    tu_expect_status(what, ra, rb);
    tu_assert_same_params(what, a, b);
}

/* ---- on_epoch recorder --------------------------------------------------- */

enum { MAX_EPOCHS = 64 };

typedef struct {
    int calls;
    int epoch[MAX_EPOCHS];
    lstmae_metrics train[MAX_EPOCHS];
    lstmae_metrics valid[MAX_EPOCHS];
    int had_valid[MAX_EPOCHS];
    int stop_at;            /* return non-zero at this epoch; 0: never */
} recorder;

static int record_epoch(void *user, int epoch, const lstmae_metrics *train,
                        const lstmae_metrics *valid)
{
    recorder *r = user;
    if (r->calls < MAX_EPOCHS) {
        r->epoch[r->calls] = epoch;
        lstmae_metrics_init(&r->train[r->calls]);
        lstmae_metrics_init(&r->valid[r->calls]);
        if (train) {
            r->train[r->calls].loss = train->loss;
            r->train[r->calls].accuracy = train->accuracy;
            r->train[r->calls].elements = train->elements;
        } else {
            r->train[r->calls].elements = UINT64_MAX;   /* marks NULL */
        }
        r->had_valid[r->calls] = valid != NULL;
        if (valid) {
            r->valid[r->calls].loss = valid->loss;
            r->valid[r->calls].accuracy = valid->accuracy;
            r->valid[r->calls].elements = valid->elements;
        }
    }
    r->calls++;
    return r->stop_at != 0 && epoch == r->stop_at;
}

/* ---- determinism --------------------------------------------------------- */

static void test_determinism(void **state)
{
    (void)state;
    dataset ds, vs;
    dataset_make(&ds, 23, 5, 4, 1, 0.0f, 1.0f, 11);
    dataset_make(&vs, 7, 5, 4, 1, 0.0f, 1.0f, 12);
    const int threads[] = {1, 2};
    const lstmae_loss losses[] = {LSTMAE_LOSS_BCE, LSTMAE_LOSS_MSE};
    for (size_t ti = 0; ti < 2; ti++) {
        for (size_t li = 0; li < 2; li++) {
            lstmae_model *a = tu_make_model(4, 6, 3, 2, losses[li], 42);
            lstmae_model *b = tu_make_model(4, 6, 3, 2, losses[li], 42);
            lstmae_fit_options o = adam_options(3, 5, threads[ti]);
            lstmae_metrics ma, mb;
            lstmae_metrics_init(&ma);
            lstmae_metrics_init(&mb);
            tu_expect_status("fit a", lstmae_fit(a, &ds.s, &vs.s, &o, &ma),
                             LSTMAE_OK);
            tu_expect_status("fit b", lstmae_fit(b, &ds.s, &vs.s, &o, &mb),
                             LSTMAE_OK);
            char what[96];
            snprintf(what, sizeof what, "two fits, %d thread(s), %s",
                     threads[ti], li ? "mse" : "bce");
            tu_assert_same_params(what, a, b);
            assert_memory_equal(&ma.loss, &mb.loss, sizeof ma.loss);
            assert_true(ma.elements == mb.elements);

            /* and the two models still agree on everything they compute */
            float la[23 * 3], lb[23 * 3];
            tu_expect_status("encode", lstmae_encode(a, &ds.s, la), LSTMAE_OK);
            tu_expect_status("encode", lstmae_encode(b, &ds.s, lb), LSTMAE_OK);
            tu_assert_bits_equal(what, la, lb, 23 * 3);
            lstmae_free(a);
            lstmae_free(b);
        }
    }
    dataset_free(&ds);
    dataset_free(&vs);
}

/* Fitting 5 epochs equals fitting 2, then 3 (shuffle on, same threads). */
static void test_split_epochs(void **state)
{
    (void)state;
    dataset ds;
    dataset_make(&ds, 19, 6, 3, 1, 0.0f, 1.0f, 21);
    for (int threads = 1; threads <= 2; threads++) {
        for (int opt = 0; opt < 2; opt++) {
            lstmae_model *a = tu_make_model(3, 5, 4, 2, LSTMAE_LOSS_BCE, 5);
            lstmae_model *b = tu_make_model(3, 5, 4, 2, LSTMAE_LOSS_BCE, 5);
            lstmae_fit_options o = adam_options(5, 4, threads);
            if (opt == 1) {   /* SGD with momentum: the buffer carries over */
                o.optimizer = LSTMAE_OPT_SGD;
                o.learning_rate = 0.05f;
                o.momentum = 0.9f;
            }
            lstmae_metrics ma, mb;
            lstmae_metrics_init(&ma);
            lstmae_metrics_init(&mb);
            tu_expect_status("fit 5", lstmae_fit(a, &ds.s, NULL, &o, &ma),
                             LSTMAE_OK);
            o.epochs = 2;
            tu_expect_status("fit 2", lstmae_fit(b, &ds.s, NULL, &o, NULL),
                             LSTMAE_OK);
            o.epochs = 3;
            tu_expect_status("fit 3", lstmae_fit(b, &ds.s, NULL, &o, &mb),
                             LSTMAE_OK);
            char what[96];
            snprintf(what, sizeof what, "5 epochs vs 2 + 3, %s, %d thread(s)",
                     opt ? "sgd momentum" : "adam", threads);
            tu_assert_same_params(what, a, b);
            assert_memory_equal(&ma.loss, &mb.loss, sizeof ma.loss);
            lstmae_free(a);
            lstmae_free(b);
        }
    }
    dataset_free(&ds);
}

/* ---- on_epoch, last_train, cancelling ------------------------------------ */

static void test_on_epoch(void **state)
{
    (void)state;
    dataset ds, vs;
    dataset_make(&ds, 17, 5, 4, 0, 0.0f, 0.0f, 31);
    dataset_make(&vs, 6, 5, 4, 0, 0.0f, 0.0f, 32);
    const int epochs = 4;
    for (int with_valid = 0; with_valid < 2; with_valid++) {
        lstmae_model *m = tu_make_model(4, 6, 3, 1, LSTMAE_LOSS_BCE, 3);
        recorder *r = calloc(1, sizeof *r);
        assert_non_null(r);
        lstmae_fit_options o = adam_options(epochs, 5, 1);
        o.on_epoch = record_epoch;
        o.user = r;
        lstmae_metrics last;
        lstmae_metrics_init(&last);
        tu_expect_status("fit", lstmae_fit(m, &ds.s, with_valid ? &vs.s : NULL,
                                           &o, &last),
                         LSTMAE_OK);
        assert_int_equal(r->calls, epochs);
        for (int e = 0; e < epochs; e++) {
            assert_int_equal(r->epoch[e], e + 1);
            assert_true(r->train[e].elements != UINT64_MAX);
            assert_true(isfinite(r->train[e].loss) && r->train[e].loss > 0.0);
            assert_true(r->train[e].accuracy >= 0.0 &&
                        r->train[e].accuracy <= 1.0);
            assert_true(r->train[e].elements == valid_elements(&ds));
            assert_int_equal(r->had_valid[e], with_valid);
            if (with_valid) {
                assert_true(isfinite(r->valid[e].loss));
                assert_true(r->valid[e].accuracy >= 0.0 &&
                            r->valid[e].accuracy <= 1.0);
                assert_true(r->valid[e].elements == valid_elements(&vs));
            }
        }
        /* last_train is the last epoch's training metrics */
        assert_int_equal(last.struct_size, sizeof last);
        assert_memory_equal(&last.loss, &r->train[epochs - 1].loss,
                            sizeof last.loss);
        assert_memory_equal(&last.accuracy, &r->train[epochs - 1].accuracy,
                            sizeof last.accuracy);
        assert_true(last.elements == valid_elements(&ds));
        if (with_valid) {
            /* the last validation metrics are those of the final model */
            lstmae_metrics ev;
            lstmae_metrics_init(&ev);
            tu_expect_status("evaluate", lstmae_evaluate(m, &vs.s, &ev),
                             LSTMAE_OK);
            double got = r->valid[epochs - 1].loss;
            if (!(fabs(got - ev.loss) <= 1e-6 * fabs(ev.loss)))
                fail_msg("last on_epoch valid loss %.10g vs evaluate %.10g "
                         "(rel tol 1e-6)", got, ev.loss);
            assert_true(r->valid[epochs - 1].elements == ev.elements);
        }
        free(r);
        lstmae_free(m);
    }

    /* one batch per epoch, data order: epoch 1's training loss is the loss
       of the initial model (taken before the batch's update) */
    lstmae_model *m = tu_make_model(4, 6, 3, 2, LSTMAE_LOSS_MSE, 8);
    lstmae_metrics before;
    lstmae_metrics_init(&before);
    tu_expect_status("evaluate", lstmae_evaluate(m, &ds.s, &before), LSTMAE_OK);
    recorder *r = calloc(1, sizeof *r);
    assert_non_null(r);
    lstmae_fit_options o = adam_options(2, (int)ds.n, 1);
    o.shuffle = 0;
    o.on_epoch = record_epoch;
    o.user = r;
    lstmae_metrics last;
    lstmae_metrics_init(&last);
    tu_expect_status("fit", lstmae_fit(m, &ds.s, NULL, &o, &last), LSTMAE_OK);
    assert_int_equal(r->calls, 2);
    if (!(fabs(r->train[0].loss - before.loss) <= 1e-6 * before.loss))
        fail_msg("epoch 1 training loss %.10g vs evaluate before fit %.10g "
                 "(rel tol 1e-6)", r->train[0].loss, before.loss);
    assert_true(isnan(last.accuracy));                  /* mse */
    assert_true(isnan(r->train[0].accuracy));
    free(r);
    lstmae_free(m);
    dataset_free(&ds);
    dataset_free(&vs);
}

static void test_cancel(void **state)
{
    (void)state;
    dataset ds, vs;
    dataset_make(&ds, 15, 5, 3, 1, 0.0f, 1.0f, 41);
    dataset_make(&vs, 4, 5, 3, 1, 0.0f, 1.0f, 42);
    lstmae_model *a = tu_make_model(3, 5, 2, 2, LSTMAE_LOSS_BCE, 13);
    lstmae_model *b = tu_make_model(3, 5, 2, 2, LSTMAE_LOSS_BCE, 13);
    recorder *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->stop_at = 2;
    lstmae_fit_options o = adam_options(6, 4, 1);
    o.on_epoch = record_epoch;
    o.user = r;
    tu_expect_status("fit cancelled at epoch 2",
                     lstmae_fit(a, &ds.s, &vs.s, &o, NULL),
                     LSTMAE_ERR_CANCELLED);
    assert_int_equal(r->calls, 2);

    lstmae_fit_options two = adam_options(2, 4, 1);
    tu_expect_status("fit 2", lstmae_fit(b, &ds.s, &vs.s, &two, NULL),
                     LSTMAE_OK);
    tu_assert_same_params("cancelled at epoch 2 vs fitted 2 epochs", a, b);
    /* optimiser state and generator too: both go on alike */
    expect_train_alike(a, b, &ds.s, "after cancelling vs after 2 epochs");

    /* cancel at the first epoch of a later call */
    r->calls = 0;
    r->stop_at = 1;
    tu_expect_status("fit cancelled at epoch 1",
                     lstmae_fit(a, &ds.s, NULL, &o, NULL), LSTMAE_ERR_CANCELLED);
    assert_int_equal(r->calls, 1);
    two.epochs = 1;
    tu_expect_status("fit 1", lstmae_fit(b, &ds.s, NULL, &two, NULL),
                     LSTMAE_OK);
    tu_assert_same_params("cancelled at epoch 1 vs fitted 1 epoch", a, b);
    free(r);
    lstmae_free(a);
    lstmae_free(b);
    dataset_free(&ds);
    dataset_free(&vs);
}

/* on_batch: called once per batch with its index; cancelling after batch 2
   of epoch 1 (shuffle off, batches of 4) leaves the model exactly as one
   epoch over the first 8 sequences in batches of 4 leaves it. */
typedef struct batch_log { int calls, stop_at; size_t last, num; double loss; } batch_log;

static int log_batch(void *user, int epoch, size_t batch, size_t num_batches, double loss)
{
    batch_log *b = user;
    assert_int_equal(epoch, 1 + b->calls / (int)num_batches);
    assert_int_equal(batch, (size_t)(b->calls % (int)num_batches) + 1);
    b->calls++;
    b->last = batch;
    b->num = num_batches;
    b->loss = loss;
    return b->calls == b->stop_at;
}

static void test_on_batch_cancel(void **state)
{
    (void)state;
    dataset ds;
    dataset_make(&ds, 15, 5, 3, 1, 0.0f, 1.0f, 51);
    lstmae_model *a = tu_make_model(3, 5, 2, 1, LSTMAE_LOSS_MSE, 17);
    lstmae_model *b = tu_make_model(3, 5, 2, 1, LSTMAE_LOSS_MSE, 17);
    batch_log log = { 0, 0, 0, 0, 0.0 };
    lstmae_fit_options o = adam_options(2, 4, 1);
    o.shuffle = 0;
    o.on_batch = log_batch;
    o.user = &log;
    tu_expect_status("fit with on_batch", lstmae_fit(a, &ds.s, NULL, &o, NULL),
                     LSTMAE_OK);
    assert_int_equal(log.calls, 8); /* 2 epochs of ceil(15 / 4) batches */
    assert_int_equal(log.num, 4);
    assert_true(isfinite(log.loss) && log.loss > 0.0);

    lstmae_free(a);
    a = tu_make_model(3, 5, 2, 1, LSTMAE_LOSS_MSE, 17);
    log = (batch_log){ 0, 2, 0, 0, 0.0 };
    tu_expect_status("cancelled after batch 2",
                     lstmae_fit(a, &ds.s, NULL, &o, NULL),
                     LSTMAE_ERR_CANCELLED);
    assert_int_equal(log.calls, 2);
    assert_int_equal(lstmae_epochs_done(a), 0);
    lstmae_sequences first8 = ds.s;
    first8.count = 8;
    lstmae_fit_options one = adam_options(1, 4, 1);
    one.shuffle = 0;
    tu_expect_status("fit first 8", lstmae_fit(b, &first8, NULL, &one, NULL),
                     LSTMAE_OK);
    tu_assert_same_params("cancelled after 2 batches vs 8 sequences", a, b);
    lstmae_free(a);
    lstmae_free(b);
    dataset_free(&ds);
}

/* ---- learning ------------------------------------------------------------ */

static void test_loss_decreases(void **state)
{
    (void)state;
    dataset ds;
    dataset_make(&ds, 64, 6, 5, 0, 0.0f, 0.0f, 51);
    lstmae_model *m = tu_make_model(5, 16, 8, 1, LSTMAE_LOSS_BCE, 17);
    lstmae_metrics before, after;
    lstmae_metrics_init(&before);
    lstmae_metrics_init(&after);
    tu_expect_status("evaluate", lstmae_evaluate(m, &ds.s, &before), LSTMAE_OK);
    recorder *r = calloc(1, sizeof *r);
    assert_non_null(r);
    lstmae_fit_options o = adam_options(40, 8, 1);
    o.learning_rate = 0.02f;
    o.on_epoch = record_epoch;
    o.user = r;
    tu_expect_status("fit", lstmae_fit(m, &ds.s, NULL, &o, NULL), LSTMAE_OK);
    tu_expect_status("evaluate", lstmae_evaluate(m, &ds.s, &after), LSTMAE_OK);
    assert_int_equal(r->calls, 40);
    double first = r->train[0].loss, final = r->train[39].loss;
    print_message("moving ones: loss %.4f -> %.4f (evaluate %.4f -> %.4f), "
                  "accuracy %.4f -> %.4f\n", first, final, before.loss,
                  after.loss, before.accuracy, after.accuracy);
    if (!(final < 0.5 * first))
        fail_msg("training loss %.6g after 40 epochs, not below half the "
                 "first epoch's %.6g", final, first);
    if (!(after.loss < 0.5 * before.loss))
        fail_msg("evaluate loss %.6g after training, not below half of "
                 "%.6g before", after.loss, before.loss);
    assert_true(after.accuracy > before.accuracy);
    free(r);
    lstmae_free(m);
    dataset_free(&ds);
}

/* ---- clipping ------------------------------------------------------------ */

static void test_clip_norm(void **state)
{
    (void)state;
    /* mse on large values: a gradient norm far above the clip norm */
    dataset ds;
    dataset_make(&ds, 9, 4, 3, 1, 20.0f, 60.0f, 61);
    lstmae_model *base = tu_make_model(3, 5, 4, 1, LSTMAE_LOSS_MSE, 19);
    size_t n = 0;
    float *p0 = tu_params_snapshot(base, &n);
    float *p = tu_xmalloc(n * sizeof *p);
    float *g = tu_xmalloc(n * sizeof *g);
    float *want = tu_xmalloc(n * sizeof *want);
    float *delta = tu_xmalloc(n * sizeof *delta);

    /* the gradient, from one unclipped SGD step with lr 1 */
    lstmae_model *m = model_copy(base);
    lstmae_fit_options o = sgd_step_options(ds.n, 1.0f);
    tu_expect_status("sgd step", lstmae_fit(m, &ds.s, NULL, &o, NULL),
                     LSTMAE_OK);
    free(p);
    p = tu_params_snapshot(m, &n);
    for (size_t i = 0; i < n; i++)
        g[i] = (float)((double)p0[i] - (double)p[i]);
    const double gnorm = l2_norm(g, n);
    print_message("clip: gradient norm %.6g\n", gnorm);
    assert_true(gnorm > 20.0);
    lstmae_free(m);

    /* clipped to 1 with lr 0.5: the step is 0.5 * g / |g| */
    const float lr = 0.5f, clip = 1.0f;
    m = model_copy(base);
    o = sgd_step_options(ds.n, lr);
    o.clip_norm = clip;
    tu_expect_status("clipped sgd step", lstmae_fit(m, &ds.s, NULL, &o, NULL),
                     LSTMAE_OK);
    free(p);
    p = tu_params_snapshot(m, &n);
    for (size_t i = 0; i < n; i++) {
        delta[i] = (float)((double)p0[i] - (double)p[i]);
        want[i] = (float)((double)lr * clip * (double)g[i] / gnorm);
    }
    const double step = l2_norm(delta, n);
    if (!(fabs(step - (double)lr * clip) <= 1e-5 * (double)lr * clip))
        fail_msg("clipped step norm %.9g, want lr * clip_norm = %.9g "
                 "(rel tol 1e-5)", step, (double)lr * clip);
    tu_assert_close("clipped step vs lr * clip * g / |g|", delta, want, n,
                    1e-5, 0.0);
    lstmae_free(m);

    /* a clip norm above the gradient norm changes nothing, bit for bit */
    m = model_copy(base);
    lstmae_model *u = model_copy(base);
    o = sgd_step_options(ds.n, 0.01f);
    tu_expect_status("sgd step", lstmae_fit(u, &ds.s, NULL, &o, NULL),
                     LSTMAE_OK);
    o.clip_norm = (float)(gnorm * 10.0);
    tu_expect_status("sgd step, loose clip",
                     lstmae_fit(m, &ds.s, NULL, &o, NULL),
                     LSTMAE_OK);
    tu_assert_same_params("clip norm above the gradient norm vs no clipping", m,
                          u);
    /* clip_norm <= 0 is off */
    lstmae_free(m);
    m = model_copy(base);
    lstmae_free(u);
    u = model_copy(base);
    o.clip_norm = 0.0f;
    tu_expect_status("sgd step", lstmae_fit(u, &ds.s, NULL, &o, NULL),
                     LSTMAE_OK);
    o.clip_norm = -1.0f;
    tu_expect_status("sgd step, clip -1", lstmae_fit(m, &ds.s, NULL, &o, NULL),
                     LSTMAE_OK);
    tu_assert_same_params("clip_norm -1 vs 0", m, u);
    lstmae_free(m);
    lstmae_free(u);
    lstmae_free(base);
    free(p0);
    free(p);
    free(g);
    free(want);
    free(delta);
    dataset_free(&ds);
}

/* ---- SGD momentum (PyTorch: buf = m * buf + g; p -= lr * buf) -------------- */

static void test_momentum(void **state)
{
    (void)state;
    dataset ds;
    dataset_make(&ds, 10, 5, 3, 1, 0.0f, 1.0f, 71);
    const float lr = 0.1f, mom = 0.9f;
    lstmae_model *a = tu_make_model(3, 5, 4, 1, LSTMAE_LOSS_BCE, 23);
    size_t n = 0;
    float *p[4];           /* a's parameters after 0..3 momentum steps */
    p[0] = tu_params_snapshot(a, &n);
    lstmae_fit_options om = sgd_step_options(ds.n, lr);
    om.momentum = mom;
    for (int k = 1; k <= 3; k++) {
        tu_expect_status("momentum step", lstmae_fit(a, &ds.s, NULL, &om, NULL),
                         LSTMAE_OK);
        p[k] = tu_params_snapshot(a, &n);
    }
    lstmae_fit_options plain = sgd_step_options(ds.n, lr);
    float *want = tu_xmalloc(n * sizeof *want);
    for (int k = 1; k <= 3; k++) {
        /* q = p[k-1] - lr * g(p[k-1]): one plain step from a fresh copy */
        lstmae_model *c = tu_make_model(3, 5, 4, 1, LSTMAE_LOSS_BCE, 23);
        params_restore(c, p[k - 1]);
        tu_expect_status("plain step", lstmae_fit(c, &ds.s, NULL, &plain, NULL),
                         LSTMAE_OK);
        size_t nq = 0;
        float *q = tu_params_snapshot(c, &nq);
        char what[96];
        if (k == 1) {
            /* the first step: buf = g, the same as plain SGD */
            snprintf(what, sizeof what, "momentum step 1 vs plain SGD");
            tu_assert_bits_equal(what, p[1], q, n);
        } else {
            /* p[k] = p[k-1] - lr * (m * buf + g)
                    = q - m * (p[k-2] - p[k-1]),  as lr * buf = p[k-2] - p[k-1] */
            double diff = 0.0;
            for (size_t i = 0; i < n; i++) {
                double prev = (double)p[k - 2][i] - (double)p[k - 1][i];
                want[i] = (float)((double)q[i] - (double)mom * prev);
                double dd = fabs((double)want[i] - (double)q[i]);
                if (dd > diff)
                    diff = dd;
            }
            assert_true(diff > 1e-4);     /* momentum does matter here */
            snprintf(what, sizeof what, "momentum step %d vs PyTorch's rule", k);
            tu_assert_close(what, p[k], want, n, 1e-6, 1e-6);
        }
        free(q);
        lstmae_free(c);
    }
    free(want);
    for (int k = 0; k <= 3; k++)
        free(p[k]);
    lstmae_free(a);
    dataset_free(&ds);
}

/* ---- failures ------------------------------------------------------------ */

/*
 * SGD with lr 1e30 on mse over large values diverges. The diverging fit
 * must return LSTMAE_ERR_NUMERIC with the model as the last completed epoch
 * left it: equal to a fresh model fitted for exactly that many epochs
 * (found by trying 1, 2, ... epochs), parameters finite, and training on
 * from there exactly like that model.
 */
static void check_divergence(int batch, const char *label)
{
    enum { EPOCHS = 6 };
    dataset ds;
    dataset_make(&ds, 12, 4, 3, 1, 100.0f, 200.0f, 81);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = EPOCHS;
    o.batch_size = batch;
    o.optimizer = LSTMAE_OPT_SGD;
    o.learning_rate = 1e30f;
    o.shuffle = 1;
    o.num_threads = 1;

    lstmae_model *a = tu_make_model(3, 5, 4, 1, LSTMAE_LOSS_MSE, 29);
    int calls = 0;
    o.on_epoch = tu_count_calls;
    o.user = &calls;
    int rc = lstmae_fit(a, &ds.s, NULL, &o, NULL);
    char what[128];
    snprintf(what, sizeof what, "%s: fit with lr 1e30", label);
    tu_expect_status(what, rc, LSTMAE_ERR_NUMERIC);
    o.on_epoch = NULL;
    o.user = NULL;

    /* the first epoch count that fails */
    int fail_epoch = 0;
    for (int e = 1; e <= EPOCHS && !fail_epoch; e++) {
        lstmae_model *t = tu_make_model(3, 5, 4, 1, LSTMAE_LOSS_MSE, 29);
        o.epochs = e;
        rc = lstmae_fit(t, &ds.s, NULL, &o, NULL);
        if (rc == LSTMAE_ERR_NUMERIC)
            fail_epoch = e;
        else
            tu_expect_status("fit", rc, LSTMAE_OK);
        lstmae_free(t);
    }
    assert_true(fail_epoch >= 1);
    print_message("%s: diverged in epoch %d\n", label, fail_epoch);
    assert_int_equal(calls, fail_epoch - 1);   /* completed epochs only */

    lstmae_model *b = tu_make_model(3, 5, 4, 1, LSTMAE_LOSS_MSE, 29);
    if (fail_epoch > 1) {
        o.epochs = fail_epoch - 1;
        tu_expect_status("fit up to the last good epoch",
                         lstmae_fit(b, &ds.s, NULL, &o, NULL), LSTMAE_OK);
    }
    size_t n = 0;
    float *pa = tu_params_snapshot(a, &n);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(pa[i]))
            fail_msg("%s: parameter %zu is %g after the failed fit", label, i,
                     (double)pa[i]);
    free(pa);
    snprintf(what, sizeof what,
             "%s: after divergence vs fitted %d epoch(s)", label,
             fail_epoch - 1);
    tu_assert_same_params(what, a, b);

    /* optimiser state and generator restored too */
    lstmae_fit_options sane;
    lstmae_fit_options_init(&sane);
    sane.epochs = 2;
    sane.batch_size = 5;
    sane.optimizer = LSTMAE_OPT_SGD;
    sane.learning_rate = 1e-6f;
    sane.num_threads = 1;
    int ra = lstmae_fit(a, &ds.s, NULL, &sane, NULL);
    int rb = lstmae_fit(b, &ds.s, NULL, &sane, NULL);
    tu_expect_status(what, ra, rb);
    tu_assert_same_params(what, a, b);
    lstmae_free(a);
    lstmae_free(b);
    dataset_free(&ds);
}

static void test_divergence(void **state)
{
    (void)state;
    check_divergence(12, "one batch per epoch");
    check_divergence(5, "three batches per epoch");
}

static void test_valid_nan(void **state)
{
    (void)state;
    dataset ds, vs;
    dataset_make(&ds, 10, 4, 3, 1, 0.0f, 1.0f, 91);
    dataset_make(&vs, 5, 4, 3, 1, 0.0f, 1.0f, 92);
    vs.x[(0 * vs.t + vs.t - 1) * vs.d + 1] = NAN;   /* sequence 0 is full */
    lstmae_model *a = tu_make_model(3, 4, 2, 1, LSTMAE_LOSS_BCE, 37);
    lstmae_model *b = tu_make_model(3, 4, 2, 1, LSTMAE_LOSS_BCE, 37);
    /* some history first, so there is optimiser state to keep */
    lstmae_fit_options o = adam_options(1, 3, 1);
    tu_expect_status("fit a", lstmae_fit(a, &ds.s, NULL, &o, NULL), LSTMAE_OK);
    tu_expect_status("fit b", lstmae_fit(b, &ds.s, NULL, &o, NULL), LSTMAE_OK);

    int calls = 0;
    o.epochs = 3;
    o.on_epoch = tu_count_calls;
    o.user = &calls;
    lstmae_metrics last, before;
    memset(&last, 0x5A, sizeof last);
    last.struct_size = sizeof last;
    before = last;
    tu_expect_status("fit with NaN in a validation step",
                     lstmae_fit(a, &ds.s, &vs.s, &o, &last), LSTMAE_ERR_NUMERIC);
    assert_int_equal(calls, 0);
    assert_memory_equal(&last, &before, sizeof last);
    tu_assert_same_params("after the rejected fit", a, b);
    expect_train_alike(a, b, &ds.s, "after the rejected fit vs twin");

    /* the same NaN in the validation set's padding is fine */
    vs.len[0] = (int32_t)vs.t - 1;
    o.on_epoch = NULL;
    o.user = NULL;
    tu_expect_status("fit with NaN in validation padding",
                     lstmae_fit(a, &ds.s, &vs.s, &o, NULL), LSTMAE_OK);
    lstmae_free(a);
    lstmae_free(b);
    dataset_free(&ds);
    dataset_free(&vs);
}

static void test_train_all_empty(void **state)
{
    (void)state;
    dataset ds;
    dataset_make(&ds, 6, 4, 3, 1, 0.0f, 1.0f, 95);
    memset(ds.len, 0, ds.n * sizeof *ds.len);
    lstmae_model *a = tu_make_model(3, 4, 2, 1, LSTMAE_LOSS_MSE, 41);
    lstmae_model *b = tu_make_model(3, 4, 2, 1, LSTMAE_LOSS_MSE, 41);
    int calls = 0;
    lstmae_fit_options o = adam_options(2, 2, 1);
    o.on_epoch = tu_count_calls;
    o.user = &calls;
    tu_expect_status("fit on an all-empty set", lstmae_fit(a, &ds.s, NULL, &o,
                                                           NULL),
                     LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(calls, 0);
    tu_assert_same_params("after the rejected fit", a, b);
    size_t n = 0;
    float *p0 = tu_params_snapshot(b, &n);

    /* batches of empty sequences only are skipped, the others train */
    dataset_free(&ds);
    dataset_make(&ds, 8, 4, 3, 1, 0.0f, 1.0f, 96);
    for (size_t i = 0; i < 4; i++)
        ds.len[i] = 0;
    ds.len[5] = 4;             /* a full sequence, data 0.5 */
    for (size_t j = 0; j < 4 * 3; j++)
        ds.x[5 * 4 * 3 + j] = 0.5f;
    o.shuffle = 0;
    o.batch_size = 4;          /* the first batch is all empty */
    o.on_epoch = NULL;
    o.user = NULL;
    tu_expect_status("fit with an all-empty batch",
                     lstmae_fit(b, &ds.s, NULL, &o, NULL), LSTMAE_OK);
    float *pb = tu_params_snapshot(b, &n);
    assert_memory_not_equal(p0, pb, n * sizeof *pb);
    for (size_t i = 0; i < n; i++)
        assert_true(isfinite(pb[i]));
    free(p0);
    free(pb);

    /* the rejected fit left a's optimiser state and generator alone */
    lstmae_model *c = tu_make_model(3, 4, 2, 1, LSTMAE_LOSS_MSE, 41);
    expect_train_alike(a, c, &ds.s, "after the rejected fit vs a fresh twin");
    lstmae_free(a);
    lstmae_free(b);
    lstmae_free(c);
    dataset_free(&ds);
}

static void test_epochs_zero(void **state)
{
    (void)state;
    dataset ds;
    dataset_make(&ds, 7, 4, 3, 1, 0.0f, 1.0f, 97);
    lstmae_model *a = tu_make_model(3, 4, 2, 2, LSTMAE_LOSS_BCE, 43);
    lstmae_model *b = tu_make_model(3, 4, 2, 2, LSTMAE_LOSS_BCE, 43);
    int calls = 0;
    lstmae_fit_options o = adam_options(0, 3, 1);
    o.on_epoch = tu_count_calls;
    o.user = &calls;
    lstmae_metrics last, before;
    memset(&last, 0x5A, sizeof last);
    last.struct_size = sizeof last;
    before = last;
    tu_expect_status("fit 0 epochs", lstmae_fit(a, &ds.s, &ds.s, &o, &last),
                     LSTMAE_OK);
    assert_int_equal(calls, 0);
    /* no epoch completed: last_train is left alone */
    assert_memory_equal(&last, &before, sizeof last);
    tu_assert_same_params("after 0 epochs", a, b);
    expect_train_alike(a, b, &ds.s, "after 0 epochs vs twin");
    lstmae_free(a);
    lstmae_free(b);
    dataset_free(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_split_epochs),
        cmocka_unit_test(test_on_epoch),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_on_batch_cancel),
        cmocka_unit_test(test_loss_decreases),
        cmocka_unit_test(test_clip_norm),
        cmocka_unit_test(test_momentum),
        cmocka_unit_test(test_divergence),
        cmocka_unit_test(test_valid_nan),
        cmocka_unit_test(test_train_all_empty),
        cmocka_unit_test(test_epochs_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

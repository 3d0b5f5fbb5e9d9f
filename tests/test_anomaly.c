/*
 * test_anomaly.c - anomaly detection through the public API (issue 13,
 * "Evidence required"):
 *  - scores: lstmae_score of each sequence equals lstmae_evaluate of that
 *    sequence alone, for bce, mse, cross-entropy and variants; step scores
 *    are each valid step's loss recomputed from lstmae_reconstruct (so in
 *    the data's time order), 0 on padding, and average to the score; a
 *    length-0 sequence scores 0; neither padding content nor set order
 *    changes a score;
 *  - thresholds: each rule gives exactly API.md's value, computed here
 *    from the scores (QUANTILE's rank with exact integer arithmetic),
 *    length-0 sequences left out; get/set; the threshold through both
 *    save flavours (buffer and file) and a resumed fit; lstmae_detect
 *    flags exactly scores > threshold;
 *  - scaling: the statistics equal the mean and population deviation (or
 *    min and max - min) computed here in double over the first fit's valid
 *    steps; constant features, a second fit, lstmae_set_scaling, files,
 *    a model saved before its first fit; a scaled model equals an
 *    unscaled one fitted on data the caller scaled (parameters,
 *    reconstructions, scores);
 *  - detection quality on generated noisy sine waves with spikes, flat
 *    lines and noise bursts (figures printed);
 *  - bad input: NaN/Inf in a valid step, empty calibration sets, rule
 *    parameters out of range (with lstmae_check_threshold_rule's reason);
 *    a failed calibrate leaves the threshold as it was.
 * Only the public API is used.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "lstmae.h"

/* ---- helpers ------------------------------------------------------------- */

/* A padded set: n sequences of up to t steps of d features. */
typedef struct {
    size_t n, t, d;
    float *x;
    int32_t *len;
    lstmae_sequences s;
} set_t;

/* Every length t, every value NaN (callers fill the valid steps). */
static void set_alloc(set_t *s, size_t n, size_t t, size_t d)
{
    s->n = n;
    s->t = t;
    s->d = d;
    s->x = tu_xmalloc(n * t * d * sizeof *s->x);
    s->len = tu_xmalloc(n * sizeof *s->len);
    for (size_t i = 0; i < n * t * d; i++) s->x[i] = NAN;
    for (size_t i = 0; i < n; i++) s->len[i] = (int32_t)t;
    s->s = (lstmae_sequences){ s->x, s->len, n, t };
}

static void set_free(set_t *s)
{
    free(s->x);
    free(s->len);
}

static float *set_at(const set_t *s, size_t i, size_t step)
{
    return s->x + (i * s->t + step) * s->d;
}

/* Writes `v` over every padding element. */
static void set_fill_padding(set_t *s, float v)
{
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = (size_t)s->len[i]; k < s->t; k++)
            for (size_t j = 0; j < s->d; j++) set_at(s, i, k)[j] = v;
}

/* Sequence i alone, as a set of one. */
static lstmae_sequences one_seq(const set_t *s, size_t i)
{
    return (lstmae_sequences){ s->x + i * s->t * s->d, s->len + i, 1, s->t };
}

/* A standard normal deviate (Box-Muller). */
static double gauss(uint64_t *rng)
{
    double u1 = ((double)(tu_rand_u64(rng) >> 11) + 1.0) * 0x1p-53;
    double u2 = (double)(tu_rand_u64(rng) >> 11) * 0x1p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static lstmae_model *create(const lstmae_config *cfg)
{
    lstmae_model *m = NULL;
    tu_expect_status("lstmae_create", lstmae_create(cfg, &m), LSTMAE_OK);
    assert_non_null(m);
    return m;
}

static lstmae_fit_options fit_opts(int epochs, int batch, float lr)
{
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = epochs;
    o.batch_size = batch;
    o.learning_rate = lr;
    return o;
}

static void fit(lstmae_model *m, const lstmae_sequences *s, int epochs, int batch,
                float lr)
{
    lstmae_fit_options o = fit_opts(epochs, batch, lr);
    tu_expect_status("lstmae_fit", lstmae_fit(m, s, NULL, &o, NULL), LSTMAE_OK);
}

static lstmae_model *round_trip_buffer(const lstmae_model *m, unsigned flags)
{
    size_t size = lstmae_saved_size_ex(m, flags);
    assert_true(size > 0);
    void *buf = tu_xmalloc(size);
    tu_expect_status("save_buffer_ex", lstmae_save_buffer_ex(m, buf, size, flags),
                     LSTMAE_OK);
    lstmae_model *out = NULL;
    tu_expect_status("load_buffer", lstmae_load_buffer(buf, size, &out), LSTMAE_OK);
    free(buf);
    assert_non_null(out);
    return out;
}

static char tmpdir[256];

static lstmae_model *round_trip_file(const lstmae_model *m, unsigned flags)
{
    char path[320];
    snprintf(path, sizeof path, "%s/model%u.lstmae", tmpdir, flags);
    tu_expect_status("save_ex", lstmae_save_ex(m, path, flags), LSTMAE_OK);
    lstmae_model *out = NULL;
    tu_expect_status("load", lstmae_load(path, &out), LSTMAE_OK);
    assert_non_null(out);
    assert_int_equal(unlink(path), 0);
    return out;
}

/* Both save flavours, through memory and through a file. */
typedef lstmae_model *(*round_trip_fn)(const lstmae_model *, unsigned);
static const struct {
    const char *name;
    round_trip_fn fn;
    unsigned flags;
} round_trips[] = {
    { "buffer, training state", round_trip_buffer, 0 },
    { "buffer, inference only", round_trip_buffer, LSTMAE_SAVE_INFERENCE_ONLY },
    { "file, training state", round_trip_file, 0 },
    { "file, inference only", round_trip_file, LSTMAE_SAVE_INFERENCE_ONLY },
};
#define NUM_ROUND_TRIPS (sizeof round_trips / sizeof round_trips[0])

static void expect_no_threshold(const char *what, const lstmae_model *m)
{
    double t = 12345.0;
    tu_expect_status(what, lstmae_get_threshold(m, &t), LSTMAE_ERR_INVALID_ARG);
    assert_true(t == 12345.0); /* untouched */
}

static void expect_threshold(const char *what, const lstmae_model *m, double want)
{
    double t = NAN;
    tu_expect_status(what, lstmae_get_threshold(m, &t), LSTMAE_OK);
    if (memcmp(&t, &want, sizeof t) != 0)
        fail_msg("%s: threshold %.17g, want %.17g", what, t, want);
}

/* |got - want| <= rel * |want| + abs, for doubles, with a message. */
static void expect_near(const char *what, double got, double want, double rel, double abs_tol)
{
    if (!(fabs(got - want) <= rel * fabs(want) + abs_tol))
        fail_msg("%s: got %.9g, want %.9g (|diff| %.3g)", what, got, want, fabs(got - want));
}

/* max |a - b| / max |b|: the figure printed beside a comparison */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0.0, big = 0.0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - (double)b[i]));
        big = fmax(big, fabs((double)b[i]));
    }
    return big > 0.0 ? worst / big : worst;
}

static int cmp_float(const void *pa, const void *pb)
{
    float a = *(const float *)pa, b = *(const float *)pb;
    return (a > b) - (a < b);
}

/* ---- scores ---------------------------------------------------------------- */

typedef struct {
    const char *name;
    lstmae_loss loss;
    int d, layers;
    lstmae_cell cell;
    int bidirectional, reverse_target, decoder_feedback;
    lstmae_decoder_init decoder_init;
    lstmae_scaling scaling;
} variant;

static const variant variants[] = {
    { "bce", LSTMAE_LOSS_BCE, 3, 1, LSTMAE_CELL_LSTM, 0, 0, 0, LSTMAE_DECODER_INIT_ZERO,
      LSTMAE_SCALING_NONE },
    { "mse", LSTMAE_LOSS_MSE, 2, 1, LSTMAE_CELL_LSTM, 0, 0, 0, LSTMAE_DECODER_INIT_ZERO,
      LSTMAE_SCALING_NONE },
    { "cross-entropy", LSTMAE_LOSS_CROSS_ENTROPY, 4, 1, LSTMAE_CELL_LSTM, 0, 0, 0,
      LSTMAE_DECODER_INIT_ZERO, LSTMAE_SCALING_NONE },
    { "mse reverse_target", LSTMAE_LOSS_MSE, 2, 1, LSTMAE_CELL_LSTM, 0, 1, 0,
      LSTMAE_DECODER_INIT_ZERO, LSTMAE_SCALING_NONE },
    { "bce decoder_feedback", LSTMAE_LOSS_BCE, 3, 1, LSTMAE_CELL_LSTM, 0, 0, 1,
      LSTMAE_DECODER_INIT_ZERO, LSTMAE_SCALING_NONE },
    { "mse bidirectional, 2 layers", LSTMAE_LOSS_MSE, 2, 2, LSTMAE_CELL_LSTM, 1, 0, 0,
      LSTMAE_DECODER_INIT_ZERO, LSTMAE_SCALING_NONE },
    { "cross-entropy gru, every variant", LSTMAE_LOSS_CROSS_ENTROPY, 3, 2, LSTMAE_CELL_GRU, 1,
      1, 1, LSTMAE_DECODER_INIT_LATENT, LSTMAE_SCALING_NONE },
    { "mse standard scaling, reverse_target, decoder_feedback", LSTMAE_LOSS_MSE, 3, 1,
      LSTMAE_CELL_LSTM, 0, 1, 1, LSTMAE_DECODER_INIT_ZERO, LSTMAE_SCALING_STANDARD },
    { "mse minmax scaling, gru bidirectional", LSTMAE_LOSS_MSE, 2, 1, LSTMAE_CELL_GRU, 1, 0,
      0, LSTMAE_DECODER_INIT_LATENT, LSTMAE_SCALING_MINMAX },
};

static lstmae_config variant_config(const variant *v, uint64_t seed)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = v->d;
    cfg.hidden_dim = 6;
    cfg.latent_dim = 3;
    cfg.num_layers = v->layers;
    cfg.loss = v->loss;
    cfg.seed = seed;
    cfg.cell = v->cell;
    cfg.bidirectional = v->bidirectional;
    cfg.reverse_target = v->reverse_target;
    cfg.decoder_feedback = v->decoder_feedback;
    cfg.decoder_init = v->decoder_init;
    cfg.scaling = v->scaling;
    return cfg;
}

/* Data the loss takes: [0, 1] for bce, a probability vector (one-hot on
   even steps) for cross-entropy, values around 3 +- 4 for mse. Lengths
   in 0..t, sequence 0 full and sequence 1 empty; padding NaN. */
static void variant_data(set_t *s, const variant *v, size_t n, size_t t, uint64_t seed)
{
    size_t d = (size_t)v->d;
    set_alloc(s, n, t, d);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) {
        size_t L = (size_t)(tu_rand_u64(&rng) % (t + 1));
        if (i == 0) L = t;
        if (i == 1) L = 0;
        s->len[i] = (int32_t)L;
        for (size_t k = 0; k < L; k++) {
            float *row = set_at(s, i, k);
            if (v->loss == LSTMAE_LOSS_BCE) {
                tu_fill_uniform(&rng, row, d, 0.0f, 1.0f);
            } else if (v->loss == LSTMAE_LOSS_MSE) {
                tu_fill_uniform(&rng, row, d, -1.0f, 7.0f);
            } else if (k % 2 == 0) {
                for (size_t j = 0; j < d; j++) row[j] = 0.0f;
                row[tu_rand_u64(&rng) % d] = 1.0f;
            } else {
                float sum = 0.0f;
                tu_fill_uniform(&rng, row, d, 0.05f, 1.0f);
                for (size_t j = 0; j < d; j++) sum += row[j];
                for (size_t j = 0; j < d; j++) row[j] /= sum;
            }
        }
    }
}

/* Step i, k's loss from the reconstruction r (data units) of x. */
static double step_loss(lstmae_loss loss, const float *x, const float *r, const float *scale,
                        size_t d)
{
    double sum = 0.0;
    for (size_t j = 0; j < d; j++) {
        double xj = x[j], rj = r[j];
        if (loss == LSTMAE_LOSS_MSE) {
            double e = (rj - xj) / scale[j]; /* = p - (x - offset) / scale */
            sum += e * e;
        } else if (loss == LSTMAE_LOSS_BCE) {
            sum -= xj * log(rj) + (1.0 - xj) * log(1.0 - rj);
        } else {
            sum -= xj * log(rj);
        }
    }
    return loss == LSTMAE_LOSS_CROSS_ENTROPY ? sum : sum / (double)d;
}

/* Returns the largest relative difference between a score and the
   evaluate of its sequence alone. */
static double check_scores_variant(const variant *v)
{
    double worst = 0.0;
    const size_t n = 10, t = 6, d = (size_t)v->d;
    lstmae_config cfg = variant_config(v, 77);
    lstmae_model *m = create(&cfg);
    set_t s;
    variant_data(&s, v, n, t, 1000 + (uint64_t)v->d);
    fit(m, &s.s, 2, 4, 1e-2f); /* trained a little (and scaling fixed) */

    float *scores = tu_xmalloc(n * sizeof *scores);
    float *steps = tu_xmalloc(n * t * sizeof *steps);
    float *recon = tu_xmalloc(n * t * d * sizeof *recon);
    float *scale = tu_xmalloc(d * sizeof *scale);
    tu_expect_status(v->name, lstmae_score(m, &s.s, scores, steps), LSTMAE_OK);
    tu_expect_status(v->name, lstmae_reconstruct(m, &s.s, recon), LSTMAE_OK);
    tu_expect_status(v->name, lstmae_get_scaling(m, NULL, scale), LSTMAE_OK);

    float *want_steps = tu_xmalloc(n * t * sizeof *want_steps);
    for (size_t i = 0; i < n; i++) {
        size_t L = (size_t)s.len[i];
        char what[160];
        snprintf(what, sizeof what, "%s: sequence %zu (length %zu)", v->name, i, L);
        double mean = 0.0;
        for (size_t k = 0; k < t; k++) {
            float *ws = want_steps + i * t + k;
            if (k >= L) {
                *ws = 0.0f;
                if (steps[i * t + k] != 0.0f)
                    fail_msg("%s: step score %zu on padding is %g, not 0", what, k,
                             (double)steps[i * t + k]);
                continue;
            }
            *ws = (float)step_loss(v->loss, set_at(&s, i, k), recon + (i * t + k) * d, scale,
                                   d);
            mean += steps[i * t + k];
        }
        if (L == 0) {
            if (scores[i] != 0.0f)
                fail_msg("%s: a length-0 sequence scores %g, not 0", what, (double)scores[i]);
            continue;
        }
        mean /= (double)L;
        expect_near(what, mean, scores[i], 1e-5, 1e-7); /* steps average to the score */
        lstmae_metrics met;
        lstmae_metrics_init(&met);
        lstmae_sequences one = one_seq(&s, i);
        tu_expect_status(what, lstmae_evaluate(m, &one, &met), LSTMAE_OK);
        expect_near(what, scores[i], met.loss, 1e-5, 1e-7); /* score == evaluate alone */
        worst = fmax(worst, fabs(scores[i] - met.loss) / met.loss);
    }
    /* every step's loss, in time order, from the reconstruction */
    tu_assert_close(v->name, steps, want_steps, n * t, 1e-4, 1e-6);

    /* padding content never matters: the same bits with other padding */
    float *again = tu_xmalloc(n * sizeof *again);
    float *steps2 = tu_xmalloc(n * t * sizeof *steps2);
    static const float pads[] = { 1e30f, -7.0f, INFINITY };
    for (size_t p = 0; p < sizeof pads / sizeof pads[0]; p++) {
        set_fill_padding(&s, pads[p]);
        tu_expect_status(v->name, lstmae_score(m, &s.s, again, steps2), LSTMAE_OK);
        tu_assert_bits_equal("scores, other padding", again, scores, n);
        tu_assert_bits_equal("step scores, other padding", steps2, steps, n * t);
    }
    set_fill_padding(&s, NAN);

    /* nor does the order of the set: a permutation permutes the scores */
    set_t r;
    set_alloc(&r, n, t, d);
    size_t *perm = tu_xmalloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    uint64_t rng = 99;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(tu_rand_u64(&rng) % (i + 1)), tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    for (size_t i = 0; i < n; i++) {
        r.len[i] = s.len[perm[i]];
        memcpy(set_at(&r, i, 0), set_at(&s, perm[i], 0), t * d * sizeof *r.x);
    }
    tu_expect_status(v->name, lstmae_score(m, &r.s, again, steps2), LSTMAE_OK);
    for (size_t i = 0; i < n; i++) {
        tu_assert_bits_equal("scores, permuted set", again + i, scores + perm[i], 1);
        tu_assert_bits_equal("step scores, permuted set", steps2 + i * t,
                             steps + perm[i] * t, t);
    }
    /* a set of length-0 sequences only: every score 0 */
    for (size_t i = 0; i < n; i++) r.len[i] = 0;
    memset(again, TU_SENTINEL, n * sizeof *again);
    memset(steps2, TU_SENTINEL, n * t * sizeof *steps2);
    tu_expect_status("score, every sequence empty", lstmae_score(m, &r.s, again, steps2),
                     LSTMAE_OK);
    for (size_t i = 0; i < n * t; i++)
        if (steps2[i] != 0.0f || (i < n && again[i] != 0.0f))
            fail_msg("%s: every sequence empty: score or step score %zu is not 0", v->name, i);
    /* step_scores may be NULL */
    tu_expect_status(v->name, lstmae_score(m, &s.s, again, NULL), LSTMAE_OK);
    tu_assert_bits_equal("scores without step scores", again, scores, n);

    free(perm);
    set_free(&r);
    free(again);
    free(steps2);
    free(want_steps);
    free(scale);
    free(recon);
    free(steps);
    free(scores);
    set_free(&s);
    lstmae_free(m);
    return worst;
}

static void test_score_matches_evaluate(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        double worst = check_scores_variant(&variants[i]);
        printf("  scores: %s: score vs evaluate alone, largest relative difference %.2g\n",
               variants[i].name, worst);
    }
}

/* ---- thresholds ------------------------------------------------------------ */

/* A small mse model fitted briefly, and a set of n_valid non-empty
   sequences with n_empty length-0 ones spread among them. */
static lstmae_model *threshold_model(void)
{
    lstmae_model *m = tu_make_model(2, 5, 2, 1, LSTMAE_LOSS_MSE, 5);
    set_t s;
    set_alloc(&s, 16, 5, 2);
    uint64_t rng = 3;
    tu_fill_uniform(&rng, s.x, 16 * 5 * 2, -1.0f, 1.0f);
    fit(m, &s.s, 2, 8, 1e-2f);
    set_free(&s);
    return m;
}

static void threshold_set(set_t *s, size_t n_valid, size_t n_empty, uint64_t seed)
{
    size_t n = n_valid + n_empty, t = 5;
    set_alloc(s, n, t, 2);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) {
        /* the empties at 0, then every (n / n_empty)-th */
        int empty = n_empty > 0 && i % (n / n_empty) == 0 && i / (n / n_empty) < n_empty;
        s->len[i] = empty ? 0 : (int32_t)(1 + tu_rand_u64(&rng) % t);
        for (size_t k = 0; k < (size_t)s->len[i]; k++)
            tu_fill_uniform(&rng, set_at(s, i, k), 2, -2.0f, 2.0f);
    }
}

/* The non-empty sequences' scores, as lstmae_score gives them; *n_out of them. */
static float *nonempty_scores(const lstmae_model *m, const set_t *s, size_t *n_out)
{
    float *all = tu_xmalloc(s->n * sizeof *all);
    tu_expect_status("score", lstmae_score(m, &s->s, all, NULL), LSTMAE_OK);
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->len[i] > 0) all[k++] = all[i];
    *n_out = k;
    return all;
}

static void check_rules(lstmae_model *m, const set_t *s)
{
    size_t n = 0;
    float *sc = nonempty_scores(m, s, &n);
    float *sorted = tu_xmalloc(n * sizeof *sorted);
    memcpy(sorted, sc, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_float);
    assert_true(sorted[0] > 0.0f); /* so that a length-0 score would show */

    /* QUANTILE, q = per_mille / 1000: rank ceil(q n) by integer arithmetic.
       q n is a whole number for some (n = 20: 50, 100, 250, 500, 700, 1000;
       n = 100: 70, 290, 570, 990) and not for others. */
    static const unsigned per_mille[] = { 1, 50, 70, 100, 250, 290, 330, 500, 570,
                                          700, 901, 990, 999, 1000 };
    for (size_t qi = 0; qi < sizeof per_mille / sizeof per_mille[0]; qi++) {
        double q = per_mille[qi] / 1000.0;
        size_t rank = (per_mille[qi] * n + 999) / 1000;
        double want = sorted[rank - 1], got = NAN;
        char what[96];
        snprintf(what, sizeof what, "quantile q=%g n=%zu (rank %zu)", q, n, rank);
        tu_expect_status(what, lstmae_calibrate(m, &s->s, LSTMAE_THRESHOLD_QUANTILE, q, &got),
                         LSTMAE_OK);
        if (got != want)
            fail_msg("%s: threshold %.9g, want %.9g (the neighbours: rank %zu holds %.9g, "
                     "rank %zu holds %.9g)", what, got, want, rank > 1 ? rank - 1 : 1,
                     (double)sorted[rank > 1 ? rank - 2 : 0], rank < n ? rank + 1 : n,
                     (double)sorted[rank < n ? rank : n - 1]);
        expect_threshold(what, m, want);
    }
    /* a q tiny but positive: rank 1 */
    double got = NAN;
    tu_expect_status("quantile 1e-300",
                     lstmae_calibrate(m, &s->s, LSTMAE_THRESHOLD_QUANTILE, 1e-300, &got),
                     LSTMAE_OK);
    assert_true(got == (double)sorted[0]);

    /* MEAN_STD: mean + k * population std, in double */
    double mean = 0.0, sq = 0.0;
    for (size_t i = 0; i < n; i++) mean += sc[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) sq += ((double)sc[i] - mean) * ((double)sc[i] - mean);
    double std = sqrt(sq / (double)n);
    static const double ks[] = { 0.0, 1.0, 2.5, 7.0 };
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        char what[64];
        snprintf(what, sizeof what, "mean_std k=%g n=%zu", ks[ki], n);
        got = NAN;
        tu_expect_status(what,
                         lstmae_calibrate(m, &s->s, LSTMAE_THRESHOLD_MEAN_STD, ks[ki], &got),
                         LSTMAE_OK);
        /* 1e-12: rounding; the sample deviation would be off by a factor
           sqrt(n / (n - 1)) on the k std part */
        expect_near(what, got, mean + ks[ki] * std, 1e-12, 0.0);
        expect_threshold(what, m, got);
    }

    /* MAX: f times the largest */
    static const double fs[] = { 1.0, 1.5, 3.25 };
    for (size_t fi = 0; fi < sizeof fs / sizeof fs[0]; fi++) {
        char what[64];
        snprintf(what, sizeof what, "max f=%g n=%zu", fs[fi], n);
        got = NAN;
        tu_expect_status(what, lstmae_calibrate(m, &s->s, LSTMAE_THRESHOLD_MAX, fs[fi], &got),
                         LSTMAE_OK);
        double want = fs[fi] * (double)sorted[n - 1];
        if (got != want) fail_msg("%s: threshold %.17g, want %.17g", what, got, want);
        expect_threshold(what, m, want);
    }
    /* threshold may be NULL */
    tu_expect_status("calibrate, threshold NULL",
                     lstmae_calibrate(m, &s->s, LSTMAE_THRESHOLD_MAX, 1.0, NULL), LSTMAE_OK);
    expect_threshold("calibrate, threshold NULL", m, (double)sorted[n - 1]);
    free(sorted);
    free(sc);
}

static void test_threshold_rules(void **state)
{
    (void)state;
    lstmae_model *m = threshold_model();
    set_t a, b, c;
    threshold_set(&a, 20, 3, 11);  /* n = 20 with 3 empties */
    threshold_set(&b, 100, 7, 12); /* n = 100 with 7 empties */
    threshold_set(&c, 13, 0, 13);  /* no empties */
    check_rules(m, &a);
    check_rules(m, &b);
    check_rules(m, &c);
    /* lengths NULL: every sequence full */
    c.s.lengths = NULL;
    for (size_t i = 0; i < c.n; i++) c.len[i] = (int32_t)c.t;
    for (size_t i = 0; i < c.n * c.t * c.d; i++)
        if (isnan(c.x[i])) c.x[i] = 0.5f;
    double t = NAN;
    tu_expect_status("calibrate, lengths NULL",
                     lstmae_calibrate(m, &c.s, LSTMAE_THRESHOLD_QUANTILE, 1.0, &t), LSTMAE_OK);
    float *sc = tu_xmalloc(c.n * sizeof *sc);
    tu_expect_status("score, lengths NULL", lstmae_score(m, &c.s, sc, NULL), LSTMAE_OK);
    float most = sc[0];
    for (size_t i = 1; i < c.n; i++) most = sc[i] > most ? sc[i] : most;
    assert_true(t == (double)most);
    free(sc);
    set_free(&a);
    set_free(&b);
    set_free(&c);
    lstmae_free(m);
}

static void test_threshold_get_set_files(void **state)
{
    (void)state;
    lstmae_model *m = threshold_model();
    expect_no_threshold("fresh model", m);
    assert_int_equal(lstmae_get_threshold(NULL, &(double){ 0 }), LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(lstmae_get_threshold(m, NULL), LSTMAE_ERR_INVALID_ARG);

    /* no threshold survives a file as none */
    for (size_t r = 0; r < NUM_ROUND_TRIPS; r++) {
        lstmae_model *l = round_trips[r].fn(m, round_trips[r].flags);
        expect_no_threshold(round_trips[r].name, l);
        lstmae_free(l);
    }
    /* non-finite thresholds are refused, the model keeps none */
    assert_int_equal(lstmae_set_threshold(m, NAN), LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(lstmae_set_threshold(m, INFINITY), LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(lstmae_set_threshold(m, -INFINITY), LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(lstmae_set_threshold(NULL, 1.0), LSTMAE_ERR_INVALID_ARG);
    expect_no_threshold("after refused sets", m);

    /* set / get round trip, any finite double */
    static const double values[] = { 0.125, 0.0, -3.5, 1e-300, 0.1, 1.7976931348623157e308 };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        tu_expect_status("set_threshold", lstmae_set_threshold(m, values[i]), LSTMAE_OK);
        expect_threshold("set then get", m, values[i]);
    }
    assert_int_equal(lstmae_set_threshold(m, NAN), LSTMAE_ERR_INVALID_ARG);
    expect_threshold("refused set keeps the old one", m, values[5]);

    /* through both save flavours, memory and file; a calibrated one too */
    set_t s;
    threshold_set(&s, 12, 2, 21);
    double cal = NAN;
    tu_expect_status("calibrate",
                     lstmae_calibrate(m, &s.s, LSTMAE_THRESHOLD_MEAN_STD, 1.5, &cal), LSTMAE_OK);
    static const double saved[] = { 0.1, -2.75 };
    for (size_t v = 0; v < 3; v++) {
        double want = v < 2 ? saved[v] : cal;
        tu_expect_status("set_threshold", lstmae_set_threshold(m, want), LSTMAE_OK);
        for (size_t r = 0; r < NUM_ROUND_TRIPS; r++) {
            lstmae_model *l = round_trips[r].fn(m, round_trips[r].flags);
            expect_threshold(round_trips[r].name, l, want);
            /* a resumed fit keeps it (and a second trip too) */
            fit(l, &s.s, 2, 4, 1e-2f);
            expect_threshold("after a resumed fit", l, want);
            lstmae_model *l2 = round_trip_buffer(l, 0);
            expect_threshold("second trip", l2, want);
            lstmae_free(l2);
            lstmae_free(l);
        }
    }
    fit(m, &s.s, 1, 4, 1e-2f);
    expect_threshold("after a fit of the model itself", m, cal);
    set_free(&s);
    lstmae_free(m);
}

static void test_detect(void **state)
{
    (void)state;
    lstmae_model *m = threshold_model();
    set_t s;
    threshold_set(&s, 30, 4, 31);
    size_t n = s.n;
    float *scores = tu_xmalloc(n * sizeof *scores), *got = tu_xmalloc(n * sizeof *got);
    uint8_t *flags = tu_xmalloc(n);

    /* no threshold: refused, outputs untouched */
    memset(flags, TU_SENTINEL, n);
    memset(got, TU_SENTINEL, n * sizeof *got);
    tu_expect_status("detect without threshold", lstmae_detect(m, &s.s, got, flags),
                     LSTMAE_ERR_INVALID_ARG);
    tu_expect_sentinel("detect without threshold: flags", flags, n);
    tu_expect_sentinel("detect without threshold: scores", got, n * sizeof *got);

    tu_expect_status("score", lstmae_score(m, &s.s, scores, NULL), LSTMAE_OK);
    /* thresholds at each score (equal is not above), between, below all */
    size_t tries = 0, flagged_total = 0;
    for (size_t j = 0; j <= n + 2; j++) {
        double t = j < n ? (double)scores[j] : j == n ? -1.0 : j == n + 1 ? 0.0 : 1e9;
        tu_expect_status("set_threshold", lstmae_set_threshold(m, t), LSTMAE_OK);
        for (int with_scores = 0; with_scores < 2; with_scores++) {
            memset(flags, TU_SENTINEL, n);
            tu_expect_status("detect", lstmae_detect(m, &s.s, with_scores ? got : NULL, flags),
                             LSTMAE_OK);
            if (with_scores) tu_assert_bits_equal("detect's scores", got, scores, n);
            for (size_t i = 0; i < n; i++) {
                int want = (double)scores[i] > t;
                if (flags[i] != want)
                    fail_msg("threshold %.9g: sequence %zu (score %.9g) flag %u, want %d", t, i,
                             (double)scores[i], flags[i], want);
                flagged_total += flags[i];
            }
            tries++;
        }
    }
    assert_true(flagged_total > 0 && flagged_total < tries * n); /* both kinds seen */

    /* after calibrate: QUANTILE 1 flags none of the calibration set */
    tu_expect_status("calibrate",
                     lstmae_calibrate(m, &s.s, LSTMAE_THRESHOLD_QUANTILE, 1.0, NULL), LSTMAE_OK);
    tu_expect_status("detect", lstmae_detect(m, &s.s, NULL, flags), LSTMAE_OK);
    for (size_t i = 0; i < n; i++) assert_int_equal(flags[i], 0);
    tu_expect_status("calibrate",
                     lstmae_calibrate(m, &s.s, LSTMAE_THRESHOLD_QUANTILE, 0.5, NULL), LSTMAE_OK);
    double t = NAN;
    tu_expect_status("get", lstmae_get_threshold(m, &t), LSTMAE_OK);
    tu_expect_status("detect", lstmae_detect(m, &s.s, NULL, flags), LSTMAE_OK);
    size_t above = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(flags[i], (double)scores[i] > t);
        above += flags[i];
    }
    /* n_valid = 30: rank 15, so 15 of the 30 non-empty scores are above */
    assert_int_equal(above, 15);

    assert_int_equal(lstmae_detect(NULL, &s.s, NULL, flags), LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(lstmae_detect(m, &s.s, NULL, NULL), LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(lstmae_detect(m, NULL, NULL, flags), LSTMAE_ERR_INVALID_ARG);
    free(flags);
    free(got);
    free(scores);
    set_free(&s);
    lstmae_free(m);
}

/* ---- scaling ------------------------------------------------------------- */

#define SC_D 5

/* Five features of different kinds: N(5, 3), constant 2.5, U(-10, 10),
   1000 + U(0, 0.01), and 0 except a few steps. Lengths 0..t, padding NaN. */
static void scaling_data(set_t *s, size_t n, size_t t, uint64_t seed)
{
    set_alloc(s, n, t, SC_D);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) {
        s->len[i] = i == 0 ? (int32_t)t : i == 1 ? 0 : (int32_t)(tu_rand_u64(&rng) % (t + 1));
        for (size_t k = 0; k < (size_t)s->len[i]; k++) {
            float *row = set_at(s, i, k);
            row[0] = (float)(5.0 + 3.0 * gauss(&rng));
            row[1] = 2.5f;
            row[2] = tu_rand_uniform(&rng, -10.0f, 10.0f);
            row[3] = 1000.0f + tu_rand_uniform(&rng, 0.0f, 0.01f);
            row[4] = tu_rand_u64(&rng) % 7 == 0 ? tu_rand_uniform(&rng, -1.0f, 0.0f) : 0.0f;
        }
    }
}

/* The statistics in double over the valid steps. */
static void stats_double(const set_t *s, lstmae_scaling kind, double *off, double *scale)
{
    for (size_t j = 0; j < s->d; j++) {
        double sum = 0.0, lo = INFINITY, hi = -INFINITY;
        size_t cnt = 0;
        for (size_t i = 0; i < s->n; i++)
            for (size_t k = 0; k < (size_t)s->len[i]; k++) {
                double v = set_at(s, i, k)[j];
                sum += v;
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
                cnt++;
            }
        if (kind == LSTMAE_SCALING_STANDARD) {
            double mean = sum / (double)cnt, sq = 0.0;
            for (size_t i = 0; i < s->n; i++)
                for (size_t k = 0; k < (size_t)s->len[i]; k++) {
                    double e = set_at(s, i, k)[j] - mean;
                    sq += e * e;
                }
            off[j] = mean;
            scale[j] = sqrt(sq / (double)cnt);
        } else {
            off[j] = lo;
            scale[j] = hi - lo;
        }
        if (scale[j] == 0.0) scale[j] = 1.0;
    }
}

static void expect_stats(const char *what, const lstmae_model *m, const double *off,
                         const double *scale)
{
    float o[SC_D], sc[SC_D];
    tu_expect_status(what, lstmae_get_scaling(m, o, sc), LSTMAE_OK);
    for (size_t j = 0; j < SC_D; j++) {
        char w[160];
        snprintf(w, sizeof w, "%s: offset of feature %zu", what, j);
        /* float rounding of the double value (1 ulp: 1.2e-7 relative) */
        expect_near(w, o[j], off[j], 1.2e-7, 1e-30);
        snprintf(w, sizeof w, "%s: scale of feature %zu", what, j);
        expect_near(w, sc[j], scale[j], 1.2e-7, 1e-30);
    }
}

static void expect_stats_bits(const char *what, const lstmae_model *a, const lstmae_model *b)
{
    float oa[SC_D], sa[SC_D], ob[SC_D], sb[SC_D];
    tu_expect_status(what, lstmae_get_scaling(a, oa, sa), LSTMAE_OK);
    tu_expect_status(what, lstmae_get_scaling(b, ob, sb), LSTMAE_OK);
    tu_assert_bits_equal(what, oa, ob, SC_D);
    tu_assert_bits_equal(what, sa, sb, SC_D);
}

static lstmae_model *scaling_model(lstmae_scaling kind, uint64_t seed)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = SC_D;
    cfg.hidden_dim = 6;
    cfg.latent_dim = 3;
    cfg.loss = LSTMAE_LOSS_MSE;
    cfg.scaling = kind;
    cfg.seed = seed;
    return create(&cfg);
}

static void expect_identity_scaling(const char *what, const lstmae_model *m)
{
    float o[SC_D], sc[SC_D];
    memset(o, TU_SENTINEL, sizeof o);
    memset(sc, TU_SENTINEL, sizeof sc);
    tu_expect_status(what, lstmae_get_scaling(m, o, sc), LSTMAE_OK);
    for (size_t j = 0; j < SC_D; j++)
        if (o[j] != 0.0f || sc[j] != 1.0f)
            fail_msg("%s: feature %zu offset %g scale %g, want 0 and 1", what, j, (double)o[j],
                     (double)sc[j]);
}

static void test_scaling_statistics(void **state)
{
    (void)state;
    set_t a, b;
    scaling_data(&a, 40, 9, 41);
    scaling_data(&b, 30, 7, 42); /* a second training set, other statistics */
    static const lstmae_scaling kinds[] = { LSTMAE_SCALING_STANDARD, LSTMAE_SCALING_MINMAX };
    static const char *names[] = { "standard", "minmax" };
    for (size_t ki = 0; ki < 2; ki++) {
        lstmae_scaling kind = kinds[ki];
        double off[SC_D], scale[SC_D];
        stats_double(&a, kind, off, scale);
        assert_true(scale[1] == 1.0); /* the constant feature */

        lstmae_model *m = scaling_model(kind, 8);
        assert_int_equal(lstmae_scaling_ready(m), 0);
        expect_identity_scaling(names[ki], m);
        /* saved before its first fit: still not ready after loading */
        lstmae_model *early[NUM_ROUND_TRIPS];
        for (size_t r = 0; r < NUM_ROUND_TRIPS; r++) {
            early[r] = round_trips[r].fn(m, round_trips[r].flags);
            assert_int_equal(lstmae_scaling_ready(early[r]), 0);
            expect_identity_scaling(round_trips[r].name, early[r]);
        }

        fit(m, &a.s, 1, 8, 1e-2f);
        assert_int_equal(lstmae_scaling_ready(m), 1);
        expect_stats(names[ki], m, off, scale);
        float o[SC_D], sc[SC_D];
        tu_expect_status("get_scaling", lstmae_get_scaling(m, o, sc), LSTMAE_OK);
        assert_true(sc[1] == 1.0f);                   /* constant feature: scale 1 */
        assert_true(o[1] == 2.5f);                    /* its mean and its min */
        /* either pointer may be NULL */
        float o2[SC_D], sc2[SC_D];
        tu_expect_status("get_scaling, scale NULL", lstmae_get_scaling(m, o2, NULL), LSTMAE_OK);
        tu_expect_status("get_scaling, offset NULL", lstmae_get_scaling(m, NULL, sc2),
                         LSTMAE_OK);
        tu_assert_bits_equal("offset alone", o2, o, SC_D);
        tu_assert_bits_equal("scale alone", sc2, sc, SC_D);

        /* padding content does not matter: the same bits with padding 1e6 */
        set_fill_padding(&a, 1e6f);
        lstmae_model *twin = scaling_model(kind, 8);
        fit(twin, &a.s, 1, 8, 1e-2f);
        expect_stats_bits("padding 1e6 vs NaN", twin, m);
        tu_assert_same_params("padding 1e6 vs NaN", twin, m);
        lstmae_free(twin);
        set_fill_padding(&a, NAN);

        /* a second fit (other data) changes nothing */
        fit(m, &b.s, 2, 8, 1e-2f);
        expect_stats(names[ki], m, off, scale);

        /* the files keep them; a resumed fit too */
        for (size_t r = 0; r < NUM_ROUND_TRIPS; r++) {
            lstmae_model *l = round_trips[r].fn(m, round_trips[r].flags);
            assert_int_equal(lstmae_scaling_ready(l), 1);
            expect_stats_bits(round_trips[r].name, l, m);
            fit(l, &b.s, 1, 8, 1e-2f);
            expect_stats_bits("resumed fit", l, m);
            lstmae_free(l);
        }
        /* the models saved before the first fit compute them at theirs */
        for (size_t r = 0; r < NUM_ROUND_TRIPS; r++) {
            fit(early[r], &a.s, 1, 8, 1e-2f);
            assert_int_equal(lstmae_scaling_ready(early[r]), 1);
            expect_stats(round_trips[r].name, early[r], off, scale);
            lstmae_free(early[r]);
        }
        /* a refused fit computes nothing: the next one does */
        lstmae_model *z = scaling_model(kind, 8);
        lstmae_fit_options bad = fit_opts(1, 0, 1e-2f); /* batch_size 0 */
        tu_expect_status("refused fit", lstmae_fit(z, &b.s, NULL, &bad, NULL),
                         LSTMAE_ERR_INVALID_ARG);
        assert_int_equal(lstmae_scaling_ready(z), 0);
        fit(z, &a.s, 1, 8, 1e-2f);
        expect_stats("first fit after a refused one", z, off, scale);
        lstmae_free(z);
        lstmae_free(m);
    }

    /* scaling NONE: identity, never ready, set_scaling refused */
    lstmae_model *none = scaling_model(LSTMAE_SCALING_NONE, 8);
    fit(none, &a.s, 1, 8, 1e-2f);
    assert_int_equal(lstmae_scaling_ready(none), 0);
    expect_identity_scaling("none", none);
    float o[SC_D] = { 1, 2, 3, 4, 5 }, sc[SC_D] = { 1, 1, 1, 1, 1 };
    tu_expect_status("set_scaling on a NONE model", lstmae_set_scaling(none, o, sc),
                     LSTMAE_ERR_INVALID_ARG);
    expect_identity_scaling("none after a refused set", none);
    lstmae_free(none);
    set_free(&a);
    set_free(&b);
}

static void test_set_scaling(void **state)
{
    (void)state;
    set_t a;
    scaling_data(&a, 20, 6, 51);
    for (int kind = LSTMAE_SCALING_STANDARD; kind <= LSTMAE_SCALING_MINMAX; kind++) {
        lstmae_model *m = scaling_model((lstmae_scaling)kind, 9);
        const float off[SC_D] = { 1.0f, -2.0f, 0.5f, 1000.0f, 0.0f };
        const float sc[SC_D] = { 2.0f, 0.0f, 4.0f, 0.25f, 3.0f }; /* a 0 becomes 1 */
        const float sc_want[SC_D] = { 2.0f, 1.0f, 4.0f, 0.25f, 3.0f };
        float bad[SC_D] = { 1.0f, NAN, 1.0f, 1.0f, 1.0f };
        float inf[SC_D] = { 1.0f, 1.0f, INFINITY, 1.0f, 1.0f };
        /* refused: NULL, non-finite; the model unchanged */
        assert_int_equal(lstmae_set_scaling(m, NULL, sc), LSTMAE_ERR_INVALID_ARG);
        assert_int_equal(lstmae_set_scaling(m, off, NULL), LSTMAE_ERR_INVALID_ARG);
        assert_int_equal(lstmae_set_scaling(NULL, off, sc), LSTMAE_ERR_INVALID_ARG);
        assert_int_equal(lstmae_set_scaling(m, bad, sc), LSTMAE_ERR_INVALID_ARG);
        assert_int_equal(lstmae_set_scaling(m, off, inf), LSTMAE_ERR_INVALID_ARG);
        assert_int_equal(lstmae_scaling_ready(m), 0);
        expect_identity_scaling("after refused sets", m);

        tu_expect_status("set_scaling", lstmae_set_scaling(m, off, sc), LSTMAE_OK);
        assert_int_equal(lstmae_scaling_ready(m), 1);
        float o[SC_D], s[SC_D];
        tu_expect_status("get_scaling", lstmae_get_scaling(m, o, s), LSTMAE_OK);
        tu_assert_bits_equal("set offset", o, off, SC_D);
        tu_assert_bits_equal("set scale (0 -> 1)", s, sc_want, SC_D);
        /* a refused set keeps the values */
        assert_int_equal(lstmae_set_scaling(m, bad, sc), LSTMAE_ERR_INVALID_ARG);
        tu_expect_status("get_scaling", lstmae_get_scaling(m, o, s), LSTMAE_OK);
        tu_assert_bits_equal("offset after a refused set", o, off, SC_D);
        /* fit keeps them */
        fit(m, &a.s, 1, 8, 1e-2f);
        tu_expect_status("get_scaling", lstmae_get_scaling(m, o, s), LSTMAE_OK);
        tu_assert_bits_equal("offset after fit", o, off, SC_D);
        tu_assert_bits_equal("scale after fit", s, sc_want, SC_D);
        /* files keep them */
        for (size_t r = 0; r < NUM_ROUND_TRIPS; r++) {
            lstmae_model *l = round_trips[r].fn(m, round_trips[r].flags);
            expect_stats_bits(round_trips[r].name, l, m);
            lstmae_free(l);
        }
        /* and setting again after a fit replaces them */
        tu_expect_status("set_scaling again", lstmae_set_scaling(m, sc_want, sc_want), LSTMAE_OK);
        tu_expect_status("get_scaling", lstmae_get_scaling(m, o, s), LSTMAE_OK);
        tu_assert_bits_equal("offset set again", o, sc_want, SC_D);
        lstmae_free(m);
    }
    set_free(&a);
}

/* A model with scaling fitted on x equals, to float rounding, one without
   (same seed) fitted on (x - offset) / scale computed by the caller. */
static void check_equivalence(lstmae_scaling kind, const variant *v)
{
    const size_t n = 24, t = 8, d = 3;
    set_t x, xs;
    set_alloc(&x, n, t, d);
    set_alloc(&xs, n, t, d);
    uint64_t rng = 61;
    for (size_t i = 0; i < n; i++) {
        x.len[i] = xs.len[i] = i == 1 ? 0 : (int32_t)(1 + tu_rand_u64(&rng) % t);
        for (size_t k = 0; k < (size_t)x.len[i]; k++) {
            float *row = set_at(&x, i, k);
            row[0] = (float)(20.0 + 4.0 * sin(0.7 * (double)k + (double)i));
            row[1] = (float)(-3.0 + 0.2 * gauss(&rng));
            row[2] = tu_rand_uniform(&rng, 100.0f, 160.0f);
        }
    }
    lstmae_config cfg = variant_config(v, 71);
    cfg.input_dim = (int)d;
    cfg.scaling = kind;
    lstmae_model *a = create(&cfg);
    cfg.scaling = LSTMAE_SCALING_NONE;
    lstmae_model *b = create(&cfg);
    tu_assert_same_params("same seed, same start", a, b);

    lstmae_fit_options o = fit_opts(4, 6, 5e-3f);
    o.clip_norm = 5.0f;
    tu_expect_status("fit scaled model", lstmae_fit(a, &x.s, NULL, &o, NULL), LSTMAE_OK);
    float off[3], sc[3];
    tu_expect_status("get_scaling", lstmae_get_scaling(a, off, sc), LSTMAE_OK);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < (size_t)x.len[i]; k++)
            for (size_t j = 0; j < d; j++)
                set_at(&xs, i, k)[j] = (set_at(&x, i, k)[j] - off[j]) / sc[j];
    tu_expect_status("fit unscaled model", lstmae_fit(b, &xs.s, NULL, &o, NULL), LSTMAE_OK);

    char what[160];
    size_t pn = 0, qn = 0;
    float *pa = tu_params_snapshot(a, &pn), *pb = tu_params_snapshot(b, &qn);
    assert_int_equal(pn, qn);
    snprintf(what, sizeof what, "%s, %s: parameters after fit", kind == LSTMAE_SCALING_STANDARD ?
             "standard" : "minmax", v->name);
    tu_assert_close(what, pa, pb, pn, 1e-4, 1e-6);
    double d_params = rel_diff(pa, pb, pn);
    /* the parameters moved: the comparison is of trained models */
    lstmae_model *fresh = create(&cfg);
    float *p0 = tu_params_snapshot(fresh, &qn);
    double moved = 0.0;
    for (size_t i = 0; i < pn; i++) moved = fmax(moved, fabs((double)pa[i] - p0[i]));
    assert_true(moved > 1e-3);

    /* reconstructions: a's in data units, b's * scale + offset */
    float *ra = tu_xmalloc(n * t * d * sizeof *ra), *rb = tu_xmalloc(n * t * d * sizeof *rb);
    tu_expect_status("reconstruct scaled", lstmae_reconstruct(a, &x.s, ra), LSTMAE_OK);
    tu_expect_status("reconstruct unscaled", lstmae_reconstruct(b, &xs.s, rb), LSTMAE_OK);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < (size_t)x.len[i]; k++)
            for (size_t j = 0; j < d; j++) {
                float *r = rb + (i * t + k) * d + j;
                *r = *r * sc[j] + off[j];
            }
    /* per feature, as the features' magnitudes differ */
    double d_recon = 0.0;
    for (size_t j = 0; j < d; j++) {
        float *ga = tu_xmalloc(n * t * sizeof *ga), *gb = tu_xmalloc(n * t * sizeof *gb);
        size_t c = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < (size_t)x.len[i]; k++, c++) {
                ga[c] = ra[(i * t + k) * d + j];
                gb[c] = rb[(i * t + k) * d + j];
            }
        snprintf(what, sizeof what, "%s: reconstruction of feature %zu, data units", v->name, j);
        tu_assert_close(what, ga, gb, c, 1e-5, 1e-4 * sc[j]);
        d_recon = fmax(d_recon, rel_diff(ga, gb, c));
        free(ga);
        free(gb);
    }
    /* scores are in scaled units: equal too */
    float sa[24], sb[24];
    tu_expect_status("score scaled", lstmae_score(a, &x.s, sa, NULL), LSTMAE_OK);
    tu_expect_status("score unscaled", lstmae_score(b, &xs.s, sb, NULL), LSTMAE_OK);
    snprintf(what, sizeof what, "%s: scores", v->name);
    tu_assert_close(what, sa, sb, n, 1e-4, 1e-7);
    printf("  equivalence: %s, %s: relative differences: parameters %.2g, "
           "reconstructions %.2g, scores %.2g\n",
           kind == LSTMAE_SCALING_STANDARD ? "standard" : "minmax", v->name, d_params, d_recon,
           rel_diff(sa, sb, n));

    free(ra);
    free(rb);
    free(p0);
    free(pa);
    free(pb);
    lstmae_free(fresh);
    lstmae_free(a);
    lstmae_free(b);
    set_free(&x);
    set_free(&xs);
}

static void test_scaling_equivalence(void **state)
{
    (void)state;
    /* mse, plain and with variants */
    check_equivalence(LSTMAE_SCALING_STANDARD, &variants[1]);
    check_equivalence(LSTMAE_SCALING_MINMAX, &variants[1]);
    check_equivalence(LSTMAE_SCALING_STANDARD, &variants[7]);
    check_equivalence(LSTMAE_SCALING_MINMAX, &variants[8]);
    check_equivalence(LSTMAE_SCALING_STANDARD, &variants[5]);
}

/* ---- detection quality ---------------------------------------------------- */

#define DQ_T 48
#define DQ_D 2
#define DQ_EPOCHS 60

enum { ANOM_NONE, ANOM_SPIKE, ANOM_FLAT, ANOM_BURST, ANOM_KINDS };
static const char *anom_names[] = { "normal", "spike", "flat line", "noise burst" };

/* Sequence i of s: a noisy sine (feature 0) and cosine (feature 1, around
   10), period 10 to 16 steps, 36 to 48 steps long; then the anomaly. */
static void dq_sequence(set_t *s, size_t i, int kind, uint64_t *rng)
{
    size_t L = 36 + (size_t)(tu_rand_u64(rng) % 13);
    s->len[i] = (int32_t)L;
    double period = 10.0 + 6.0 * (double)(tu_rand_u64(rng) >> 11) * 0x1p-53;
    double phase = 6.283185307179586 * (double)(tu_rand_u64(rng) >> 11) * 0x1p-53;
    double amp = 0.8 + 0.4 * (double)(tu_rand_u64(rng) >> 11) * 0x1p-53;
    for (size_t k = 0; k < L; k++) {
        double a = 6.283185307179586 * (double)k / period + phase;
        float *row = set_at(s, i, k);
        row[0] = (float)(amp * sin(a) + 0.05 * gauss(rng));
        row[1] = (float)(10.0 + 3.0 * amp * cos(a) + 0.15 * gauss(rng));
    }
    if (kind == ANOM_SPIKE) {
        size_t k = 4 + (size_t)(tu_rand_u64(rng) % (L - 8));
        double sign = tu_rand_u64(rng) % 2 ? 1.0 : -1.0;
        set_at(s, i, k)[0] += (float)(sign * (1.5 + (double)(tu_rand_u64(rng) >> 11) * 0x1p-53));
    } else if (kind == ANOM_FLAT) {
        size_t w = 8 + (size_t)(tu_rand_u64(rng) % 5);
        size_t k0 = (size_t)(tu_rand_u64(rng) % (L - w));
        for (size_t k = k0 + 1; k < k0 + w; k++)
            memcpy(set_at(s, i, k), set_at(s, i, k0), DQ_D * sizeof(float));
    } else if (kind == ANOM_BURST) {
        size_t w = 10 + (size_t)(tu_rand_u64(rng) % 5);
        size_t k0 = (size_t)(tu_rand_u64(rng) % (L - w));
        for (size_t k = k0; k < k0 + w; k++) {
            set_at(s, i, k)[0] += (float)(0.3 * gauss(rng));
            set_at(s, i, k)[1] += (float)(0.9 * gauss(rng));
        }
    }
}

static void dq_normal_set(set_t *s, size_t n, uint64_t seed)
{
    set_alloc(s, n, DQ_T, DQ_D);
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) dq_sequence(s, i, ANOM_NONE, &rng);
}

static double median(const float *x, size_t n)
{
    float *c = tu_xmalloc(n * sizeof *c);
    memcpy(c, x, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_float);
    double m = n % 2 ? c[n / 2] : 0.5 * ((double)c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

static void test_detection_quality(void **state)
{
    (void)state;
    const size_t n_train = 160, n_cal = 400, n_normal = 400, n_each = 50;
    set_t train, cal, test;
    dq_normal_set(&train, n_train, 101);
    dq_normal_set(&cal, n_cal, 202);
    /* the test set: n_normal normal, then n_each of each anomaly in turn */
    size_t n_test = n_normal + 3 * n_each;
    set_alloc(&test, n_test, DQ_T, DQ_D);
    int *kind = tu_xmalloc(n_test * sizeof *kind);
    uint64_t rng = 303;
    for (size_t i = 0; i < n_test; i++) {
        kind[i] = i < n_normal ? ANOM_NONE : ANOM_SPIKE + (int)((i - n_normal) % 3);
        dq_sequence(&test, i, kind[i], &rng);
    }
    size_t count[ANOM_KINDS] = { 0 };
    for (size_t i = 0; i < n_test; i++) count[kind[i]]++;

    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = DQ_D;
    cfg.hidden_dim = 24;
    cfg.latent_dim = 8;
    cfg.loss = LSTMAE_LOSS_MSE;
    cfg.scaling = LSTMAE_SCALING_STANDARD;
    /* the two variants that make this small model learn the waves in a
       few dozen epochs (without them it sits near the mean, loss ~1) */
    cfg.reverse_target = 1;
    cfg.decoder_feedback = 1;
    cfg.seed = 7;
    lstmae_model *m = create(&cfg);
    lstmae_fit_options o = fit_opts(DQ_EPOCHS, 16, 1e-2f);
    o.clip_norm = 1.0f;
    lstmae_metrics last;
    lstmae_metrics_init(&last);
    tu_expect_status("fit", lstmae_fit(m, &train.s, NULL, &o, &last), LSTMAE_OK);

    double threshold = NAN;
    tu_expect_status("calibrate",
                     lstmae_calibrate(m, &cal.s, LSTMAE_THRESHOLD_QUANTILE, 0.99, &threshold),
                     LSTMAE_OK);
    /* the workflow's save and load between calibration and detection */
    lstmae_model *l = round_trip_buffer(m, LSTMAE_SAVE_INFERENCE_ONLY);
    expect_threshold("loaded", l, threshold);

    float *scores = tu_xmalloc(n_test * sizeof *scores);
    uint8_t *flags = tu_xmalloc(n_test);
    tu_expect_status("detect", lstmae_detect(l, &test.s, scores, flags), LSTMAE_OK);
    size_t flagged[ANOM_KINDS] = { 0 };
    float *by_kind[ANOM_KINDS];
    size_t nk[ANOM_KINDS] = { 0 };
    for (int k = 0; k < ANOM_KINDS; k++) by_kind[k] = tu_xmalloc(n_test * sizeof(float));
    for (size_t i = 0; i < n_test; i++) {
        assert_int_equal(flags[i], (double)scores[i] > threshold);
        flagged[kind[i]] += flags[i];
        by_kind[kind[i]][nk[kind[i]]++] = scores[i];
    }
    size_t anomalies = count[ANOM_SPIKE] + count[ANOM_FLAT] + count[ANOM_BURST];
    size_t detected = flagged[ANOM_SPIKE] + flagged[ANOM_FLAT] + flagged[ANOM_BURST];
    double recall = (double)detected / (double)anomalies;
    double fpr = (double)flagged[ANOM_NONE] / (double)count[ANOM_NONE];
    printf("  detection: trained %d epochs on %zu normal sequences (final train loss %.4g), "
           "threshold %.6g (QUANTILE 0.99 of %zu held-out normal scores)\n",
           DQ_EPOCHS, n_train, last.loss, threshold, n_cal);
    for (int k = 0; k < ANOM_KINDS; k++)
        printf("  detection: %-11s %3zu flagged of %3zu, median score %.4g\n", anom_names[k],
               flagged[k], count[k], median(by_kind[k], nk[k]));
    printf("  detection: recall %.3f (%zu of %zu anomalies), false-positive rate %.3f "
           "(%zu of %zu normal)\n",
           recall, detected, anomalies, fpr, flagged[ANOM_NONE], count[ANOM_NONE]);
    assert_true(recall >= 0.8);
    assert_true(fpr <= 0.05);

    for (int k = 0; k < ANOM_KINDS; k++) free(by_kind[k]);
    free(flags);
    free(scores);
    free(kind);
    lstmae_free(l);
    lstmae_free(m);
    set_free(&train);
    set_free(&cal);
    set_free(&test);
}

/* ---- bad input ------------------------------------------------------------ */

static void test_bad_values(void **state)
{
    (void)state;
    lstmae_model *m = threshold_model();
    static const float bad[] = { NAN, INFINITY, -INFINITY };
    static const char *bad_names[] = { "NaN", "+Inf", "-Inf" };
    for (size_t b = 0; b < 3; b++) {
        set_t s;
        threshold_set(&s, 9, 1, 71);
        s.len[3] = 5;
        for (size_t k = 0; k < 5; k++) set_at(&s, 3, k)[0] = set_at(&s, 3, k)[1] = 0.25f;
        set_at(&s, 3, 2)[1] = bad[b];
        size_t n = s.n;
        float *scores = tu_xmalloc(n * sizeof *scores), *steps = tu_xmalloc(n * 5 * sizeof *steps);
        uint8_t *flags = tu_xmalloc(n);
        memset(scores, TU_SENTINEL, n * sizeof *scores);
        memset(steps, TU_SENTINEL, n * 5 * sizeof *steps);
        char what[64];
        snprintf(what, sizeof what, "%s in a valid step", bad_names[b]);

        tu_expect_status(what, lstmae_score(m, &s.s, scores, steps), LSTMAE_ERR_NUMERIC);
        tu_expect_sentinel("score's scores on failure", scores, n * sizeof *scores);
        tu_expect_sentinel("score's step scores on failure", steps, n * 5 * sizeof *steps);

        /* calibrate: refused, no threshold still none; then one kept */
        tu_expect_status(what, lstmae_calibrate(m, &s.s, LSTMAE_THRESHOLD_MAX, 1.0, NULL),
                         LSTMAE_ERR_NUMERIC);
        expect_no_threshold("after a refused calibrate", m);
        tu_expect_status("set_threshold", lstmae_set_threshold(m, 0.375), LSTMAE_OK);
        double t = 99.0;
        tu_expect_status(what, lstmae_calibrate(m, &s.s, LSTMAE_THRESHOLD_QUANTILE, 0.5, &t),
                         LSTMAE_ERR_NUMERIC);
        assert_true(t == 99.0);
        expect_threshold("after a refused calibrate", m, 0.375);

        tu_expect_status(what, lstmae_detect(m, &s.s, scores, flags), LSTMAE_ERR_NUMERIC);
        tu_expect_status(what, lstmae_detect(m, &s.s, NULL, flags), LSTMAE_ERR_NUMERIC);

        /* the reason names the sequence, the step and the feature */
        char why[256];
        tu_expect_status(what, lstmae_check_sequences_why(m, &s.s, why, sizeof why),
                         LSTMAE_ERR_NUMERIC);
        printf("  %s: \"%s\"\n", what, why);
        if (!strstr(why, "sequence 3") || !strstr(why, "step 2") || !strstr(why, "feature 1"))
            fail_msg("%s: reason \"%s\" does not name sequence 3, step 2, feature 1", what, why);
        size_t bad_index = 0;
        tu_expect_status(what, lstmae_check_sequences(m, &s.s, &bad_index), LSTMAE_ERR_NUMERIC);
        assert_int_equal(bad_index, 3);

        /* the same value in padding is fine */
        set_at(&s, 3, 2)[1] = 0.25f;
        s.len[4] = 1;
        set_at(&s, 4, 3)[0] = bad[b];
        tu_expect_status("bad value in padding", lstmae_score(m, &s.s, scores, steps), LSTMAE_OK);
        tu_expect_status("bad value in padding",
                         lstmae_check_sequences_why(m, &s.s, why, sizeof why), LSTMAE_OK);
        assert_string_equal(why, "");

        lstmae_free(m); /* the next value starts without a threshold again */
        m = threshold_model();
        free(flags);
        free(steps);
        free(scores);
        set_free(&s);
    }
    lstmae_free(m);
}

static void test_bad_calibration(void **state)
{
    (void)state;
    lstmae_model *m = threshold_model();
    set_t s, empty;
    threshold_set(&s, 8, 2, 81);
    set_alloc(&empty, 4, 5, 2);
    for (size_t i = 0; i < 4; i++) empty.len[i] = 0;

    /* every failure, first on a model without a threshold, then with one */
    for (int with = 0; with < 2; with++) {
        if (with) tu_expect_status("set", lstmae_set_threshold(m, 0.625), LSTMAE_OK);
#define EXPECT_KEPT(what)                                                                 \
    do {                                                                                  \
        if (with)                                                                         \
            expect_threshold(what, m, 0.625);                                             \
        else                                                                              \
            expect_no_threshold(what, m);                                                 \
    } while (0)
        double t = 77.0;
        /* no non-empty sequence */
        tu_expect_status("calibrate, every sequence empty",
                         lstmae_calibrate(m, &empty.s, LSTMAE_THRESHOLD_QUANTILE, 0.5, &t),
                         LSTMAE_ERR_INVALID_ARG);
        EXPECT_KEPT("every sequence empty");
        tu_expect_status("calibrate, every sequence empty, max",
                         lstmae_calibrate(m, &empty.s, LSTMAE_THRESHOLD_MAX, 1.0, &t),
                         LSTMAE_ERR_INVALID_ARG);
        EXPECT_KEPT("every sequence empty, max");
        /* NULLs, count 0, a length out of range */
        assert_int_equal(lstmae_calibrate(m, NULL, LSTMAE_THRESHOLD_MAX, 1.0, &t),
                         LSTMAE_ERR_INVALID_ARG);
        assert_int_equal(lstmae_calibrate(NULL, &s.s, LSTMAE_THRESHOLD_MAX, 1.0, &t),
                         LSTMAE_ERR_INVALID_ARG);
        lstmae_sequences zero = s.s;
        zero.count = 0;
        assert_int_equal(lstmae_calibrate(m, &zero, LSTMAE_THRESHOLD_MAX, 1.0, &t),
                         LSTMAE_ERR_INVALID_ARG);
        s.len[2] = 6; /* > max_len 5 */
        assert_int_equal(lstmae_calibrate(m, &s.s, LSTMAE_THRESHOLD_MAX, 1.0, &t),
                         LSTMAE_ERR_INVALID_ARG);
        s.len[2] = -1;
        assert_int_equal(lstmae_calibrate(m, &s.s, LSTMAE_THRESHOLD_MAX, 1.0, &t),
                         LSTMAE_ERR_INVALID_ARG);
        s.len[2] = 0;
        EXPECT_KEPT("bad sets");

        /* parameters out of range, each with its reason */
        static const struct {
            lstmae_threshold_rule rule;
            double param;
            const char *says; /* the reason names the rule's parameter */
        } bad[] = {
            { LSTMAE_THRESHOLD_QUANTILE, 0.0, "q" },
            { LSTMAE_THRESHOLD_QUANTILE, -0.25, "q" },
            { LSTMAE_THRESHOLD_QUANTILE, 1.0000001, "q" },
            { LSTMAE_THRESHOLD_QUANTILE, 2.0, "q" },
            { LSTMAE_THRESHOLD_QUANTILE, NAN, "q" },
            { LSTMAE_THRESHOLD_QUANTILE, INFINITY, "q" },
            { LSTMAE_THRESHOLD_MEAN_STD, -1e-9, "k" },
            { LSTMAE_THRESHOLD_MEAN_STD, -2.0, "k" },
            { LSTMAE_THRESHOLD_MEAN_STD, NAN, "k" },
            { LSTMAE_THRESHOLD_MEAN_STD, -INFINITY, "k" },
            { LSTMAE_THRESHOLD_MAX, 0.999, "f" },
            { LSTMAE_THRESHOLD_MAX, 0.0, "f" },
            { LSTMAE_THRESHOLD_MAX, -3.0, "f" },
            { LSTMAE_THRESHOLD_MAX, NAN, "f" },
            { (lstmae_threshold_rule)3, 0.5, "rule" },
            { (lstmae_threshold_rule)-1, 0.5, "rule" },
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char what[96], why[256];
            snprintf(what, sizeof what, "rule %d param %g", (int)bad[i].rule, bad[i].param);
            t = 77.0;
            tu_expect_status(what, lstmae_calibrate(m, &s.s, bad[i].rule, bad[i].param, &t),
                             LSTMAE_ERR_INVALID_ARG);
            assert_true(t == 77.0);
            EXPECT_KEPT(what);
            memset(why, 0, sizeof why);
            tu_expect_status(what,
                             lstmae_check_threshold_rule(bad[i].rule, bad[i].param, why,
                                                         sizeof why),
                             LSTMAE_ERR_INVALID_ARG);
            if (!with) printf("  %s: \"%s\"\n", what, why);
            /* the parameter's letter as a word: "q ", "k ", "f " */
            char word[16];
            snprintf(word, sizeof word, "%s ", bad[i].says);
            if (!strstr(why, word))
                fail_msg("%s: reason \"%s\" does not name %s", what, why, bad[i].says);
            /* NULL why is fine */
            tu_expect_status(what, lstmae_check_threshold_rule(bad[i].rule, bad[i].param, NULL, 0),
                             LSTMAE_ERR_INVALID_ARG);
        }
        /* the reasons say which bound */
        char why[256];
        lstmae_check_threshold_rule(LSTMAE_THRESHOLD_QUANTILE, 1.5, why, sizeof why);
        assert_non_null(strstr(why, "(0, 1]"));
        lstmae_check_threshold_rule(LSTMAE_THRESHOLD_MEAN_STD, -1.0, why, sizeof why);
        assert_non_null(strstr(why, "negative"));
        lstmae_check_threshold_rule(LSTMAE_THRESHOLD_MAX, 0.5, why, sizeof why);
        assert_non_null(strstr(why, "below 1"));
        /* a truncated reason is terminated */
        char small[8];
        memset(small, 'x', sizeof small);
        lstmae_check_threshold_rule(LSTMAE_THRESHOLD_MAX, 0.5, small, sizeof small);
        assert_true(memchr(small, '\0', sizeof small) != NULL);

        /* the bounds themselves are accepted by the check (without
           changing anything) */
        static const struct {
            lstmae_threshold_rule rule;
            double param;
        } good[] = {
            { LSTMAE_THRESHOLD_QUANTILE, 1.0 },  { LSTMAE_THRESHOLD_QUANTILE, 1e-300 },
            { LSTMAE_THRESHOLD_MEAN_STD, 0.0 },  { LSTMAE_THRESHOLD_MEAN_STD, 1e6 },
            { LSTMAE_THRESHOLD_MAX, 1.0 },       { LSTMAE_THRESHOLD_MAX, 1e6 },
        };
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
            memset(why, 'x', sizeof why);
            tu_expect_status("a valid rule",
                             lstmae_check_threshold_rule(good[i].rule, good[i].param, why,
                                                         sizeof why),
                             LSTMAE_OK);
            assert_string_equal(why, "");
        }
        EXPECT_KEPT("after the checks");
#undef EXPECT_KEPT
    }
    set_free(&empty);
    set_free(&s);
    lstmae_free(m);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "%s/lstmae_anomaly_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score_matches_evaluate),
        cmocka_unit_test(test_threshold_rules),
        cmocka_unit_test(test_threshold_get_set_files),
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_scaling_statistics),
        cmocka_unit_test(test_set_scaling),
        cmocka_unit_test(test_scaling_equivalence),
        cmocka_unit_test(test_detection_quality),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bad_calibration),
    };
    if (getenv("TEST_ANOMALY_FILTER")) cmocka_set_test_filter(getenv("TEST_ANOMALY_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_api.c - bad input to every public call, and the API's conventions.
 *
 * For every rejected call: the documented status, every output buffer left
 * as it was (filled with a sentinel byte and checked byte by byte), the
 * model left as it was (every parameter compared bit for bit, and for fit
 * the optimiser state and generator too, by training a never-touched twin
 * alongside), and nothing printed on stdout or stderr.
 *
 * Also: strerror, version, create/free, the parameter table in MODEL.md
 * order, get/set round trips, and growable structs played by an "old
 * caller" whose structs end early.
 *
 * Only the public API is used.
 */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "lstmae.h"

/* ---- helpers ------------------------------------------------------------- */

static void fill_sentinel(void *p, size_t bytes)
{
    memset(p, TU_SENTINEL, bytes);
}

/* Redirects stdout and stderr to a temporary file; capture_end puts them
   back and fails if anything was written. Nothing that can fail an assertion
   runs in between, so cmocka's own messages are never swallowed. */
typedef struct {
    FILE *tmp;
    int saved_out, saved_err;
} capture;

static void capture_begin(capture *c)
{
    fflush(stdout);
    fflush(stderr);
    c->tmp = tmpfile();
    assert_non_null(c->tmp);
    c->saved_out = dup(STDOUT_FILENO);
    c->saved_err = dup(STDERR_FILENO);
    assert_true(c->saved_out >= 0 && c->saved_err >= 0);
    int fd = fileno(c->tmp);
    assert_true(dup2(fd, STDOUT_FILENO) >= 0);
    assert_true(dup2(fd, STDERR_FILENO) >= 0);
}

static void capture_end(capture *c, const char *what)
{
    fflush(stdout);
    fflush(stderr);
    int r1 = dup2(c->saved_out, STDOUT_FILENO);
    int r2 = dup2(c->saved_err, STDERR_FILENO);
    close(c->saved_out);
    close(c->saved_err);
    assert_true(r1 >= 0 && r2 >= 0);
    int fd = fileno(c->tmp);
    off_t size = lseek(fd, 0, SEEK_END);
    char text[161] = {0};
    if (size > 0 && lseek(fd, 0, SEEK_SET) == 0) {
        ssize_t got = read(fd, text, sizeof text - 1);
        if (got > 0)
            text[got] = '\0';
    }
    fclose(c->tmp);
    if (size != 0) {
        fail_msg("%s printed %lld bytes: \"%s\"", what, (long long)size, text);
    }
}

/* rc = call, with stdout/stderr captured and checked to stay empty. */
#define QUIET(rc, call)                                                       \
    do {                                                                      \
        capture cap_;                                                         \
        capture_begin(&cap_);                                                 \
        (rc) = (call);                                                        \
        capture_end(&cap_, #call);                                            \
    } while (0)

static void expect_params(const char *what, const lstmae_model *m,
                          const float *snap, size_t n)
{
    size_t now_n = 0;
    float *now = tu_params_snapshot(m, &now_n);
    assert_int_equal(now_n, n);
    tu_assert_bits_equal(what, now, snap, n);
    free(now);
}

/* ---- the fixture: one small model and one small data set ------------------ */

enum { FX_D = 3, FX_H = 5, FX_Z = 4, FX_K = 2, FX_N = 4, FX_T = 5 };

typedef struct {
    lstmae_model *model;
    lstmae_model *twin;     /* same config, never given bad input          */
    float *snap;            /* model's parameters at setup                */
    size_t nsnap;
    float x[FX_N * FX_T * FX_D];
    int32_t len[FX_N];
    lstmae_sequences seqs;
} fixture;

static const int32_t fx_lengths[FX_N] = {5, 3, 0, 2};

static int fx_setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    fx->model = tu_make_model(FX_D, FX_H, FX_Z, FX_K, LSTMAE_LOSS_BCE, 7);
    fx->twin = tu_make_model(FX_D, FX_H, FX_Z, FX_K, LSTMAE_LOSS_BCE, 7);
    fx->snap = tu_params_snapshot(fx->model, &fx->nsnap);
    uint64_t rng = 12345;
    tu_fill_uniform(&rng, fx->x, FX_N * FX_T * FX_D, 0.0f, 1.0f);
    memcpy(fx->len, fx_lengths, sizeof fx->len);
    fx->seqs.data = fx->x;
    fx->seqs.lengths = fx->len;
    fx->seqs.count = FX_N;
    fx->seqs.max_len = FX_T;
    *state = fx;
    return 0;
}

static int fx_teardown(void **state)
{
    fixture *fx = *state;
    lstmae_free(fx->model);
    lstmae_free(fx->twin);
    free(fx->snap);
    free(fx);
    return 0;
}

static void fx_expect_model_unchanged(const fixture *fx, const char *what)
{
    expect_params(what, fx->model, fx->snap, fx->nsnap);
}

/*
 * Variant k of a bad (or odd) sequence set derived from the fixture's.
 * xbuf/lbuf receive modified copies. Returns the status the inference calls
 * must give (INT_MIN past the last variant); *allzero_ok tells whether the
 * variant has no valid element (fit and evaluate reject those).
 */
typedef struct {
    float x[FX_N * FX_T * FX_D];
    int32_t len[FX_N];
    lstmae_sequences s;
    const char *what;
    int no_valid;           /* every sequence empty                       */
} variant;

static size_t fx_index(size_t i, size_t t, size_t d)
{
    return (i * FX_T + t) * FX_D + d;
}

static int seq_variant(const fixture *fx, int k, variant *v)
{
    memcpy(v->x, fx->x, sizeof v->x);
    memcpy(v->len, fx->len, sizeof v->len);
    v->s.data = v->x;
    v->s.lengths = v->len;
    v->s.count = FX_N;
    v->s.max_len = FX_T;
    v->no_valid = 0;
    switch (k) {
    case 0: v->what = "count 0"; v->s.count = 0; return LSTMAE_ERR_INVALID_ARG;
    case 1: v->what = "data NULL"; v->s.data = NULL; return LSTMAE_ERR_INVALID_ARG;
    case 2: v->what = "length -1"; v->len[1] = -1; return LSTMAE_ERR_INVALID_ARG;
    case 3: v->what = "length max_len+1"; v->len[2] = FX_T + 1;
        return LSTMAE_ERR_INVALID_ARG;
    case 4: v->what = "length INT32_MIN"; v->len[3] = INT32_MIN;
        return LSTMAE_ERR_INVALID_ARG;
    case 5: v->what = "length INT32_MAX"; v->len[0] = INT32_MAX;
        return LSTMAE_ERR_INVALID_ARG;
    case 6: v->what = "NaN in a valid step"; v->x[fx_index(0, 4, 2)] = NAN;
        return LSTMAE_ERR_NUMERIC;
    case 7: v->what = "+Inf in a valid step";
        v->x[fx_index(1, 0, 0)] = INFINITY; return LSTMAE_ERR_NUMERIC;
    case 8: v->what = "-Inf in the last valid step";
        v->x[fx_index(3, 1, 1)] = -INFINITY; return LSTMAE_ERR_NUMERIC;
    case 9: v->what = "NaN in a valid step, lengths NULL";
        v->s.lengths = NULL; v->x[fx_index(2, 0, 0)] = NAN;
        return LSTMAE_ERR_NUMERIC;
    default: return INT_MIN;
    }
}

/* Variants the calls must accept: padding holding NaN/Inf, empty sets. */
static int ok_variant(const fixture *fx, int k, variant *v)
{
    memcpy(v->x, fx->x, sizeof v->x);
    memcpy(v->len, fx->len, sizeof v->len);
    v->s.data = v->x;
    v->s.lengths = v->len;
    v->s.count = FX_N;
    v->s.max_len = FX_T;
    v->no_valid = 0;
    switch (k) {
    case 0:
        v->what = "NaN/Inf in padding";
        v->x[fx_index(1, 3, 0)] = NAN;
        v->x[fx_index(1, 4, 2)] = INFINITY;
        for (size_t t = 0; t < FX_T; t++)
            v->x[fx_index(2, t, 1)] = -INFINITY;   /* sequence 2 is empty */
        v->x[fx_index(3, 2, 2)] = NAN;
        return 1;
    case 1:
        v->what = "every length 0, data all NaN";
        for (size_t i = 0; i < FX_N * FX_T * FX_D; i++)
            v->x[i] = NAN;
        memset(v->len, 0, sizeof v->len);
        v->no_valid = 1;
        return 1;
    case 2:
        v->what = "max_len 0, data NULL";
        v->s.max_len = 0;
        v->s.data = NULL;
        v->s.lengths = NULL;
        v->no_valid = 1;
        return 1;
    default: return 0;
    }
}

/* ---- strerror, version, create, free ------------------------------------- */

/* lstmae_runtime_info: snprintf semantics, and it names BLAS and kernels. */
static void test_runtime_info(void **state)
{
    (void)state;
    size_t n = lstmae_runtime_info(NULL, 0);
    assert_true(n > 0);
    char *full = malloc(n + 1);
    assert_non_null(full);
    assert_int_equal(lstmae_runtime_info(full, n + 1), n);
    assert_int_equal(strlen(full), n);
    assert_non_null(strstr(full, "blas="));
    assert_non_null(strstr(full, "kernels="));
    assert_non_null(strstr(full, "step_gemm="));
    char small[8];
    memset(small, 'x', sizeof small);
    assert_int_equal(lstmae_runtime_info(small, sizeof small), n);
    assert_int_equal(small[7], '\0');
    assert_memory_equal(small, full, 7);
    print_message("%s\n", full);
    free(full);
}

static void test_strerror(void **state)
{
    (void)state;
    const int known[] = {LSTMAE_OK, LSTMAE_ERR_INVALID_ARG, LSTMAE_ERR_NOMEM,
                         LSTMAE_ERR_IO, LSTMAE_ERR_FORMAT, LSTMAE_ERR_NUMERIC,
                         LSTMAE_ERR_CANCELLED};
    const int unknown[] = {1, -7, 42, -1000, INT_MIN, INT_MAX};
    const size_t nk = sizeof known / sizeof known[0];
    const size_t nu = sizeof unknown / sizeof unknown[0];

    /* pinned values */
    assert_int_equal(LSTMAE_OK, 0);
    assert_int_equal(LSTMAE_ERR_INVALID_ARG, -1);
    assert_int_equal(LSTMAE_ERR_NOMEM, -2);
    assert_int_equal(LSTMAE_ERR_IO, -3);
    assert_int_equal(LSTMAE_ERR_FORMAT, -4);
    assert_int_equal(LSTMAE_ERR_NUMERIC, -5);
    assert_int_equal(LSTMAE_ERR_CANCELLED, -6);

    for (size_t i = 0; i < nk; i++) {
        const char *a = NULL;
        QUIET(a, lstmae_strerror(known[i]));
        assert_non_null(a);
        assert_true(strlen(a) > 0);
        for (size_t j = 0; j < i; j++) {
            const char *b = lstmae_strerror(known[j]);
            if (strcmp(a, b) == 0)
                fail_msg("statuses %d and %d share the name \"%s\"",
                         known[i], known[j], a);
        }
    }
    for (size_t i = 0; i < nu; i++) {
        const char *a = NULL;
        QUIET(a, lstmae_strerror(unknown[i]));
        assert_non_null(a);
        assert_true(strlen(a) > 0);
        for (size_t j = 0; j < nk; j++) {
            if (strcmp(a, lstmae_strerror(known[j])) == 0)
                fail_msg("unknown status %d is named like status %d (\"%s\")",
                         unknown[i], known[j], a);
        }
    }
}

static void test_version(void **state)
{
    (void)state;
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", LSTMAE_VERSION_MAJOR,
             LSTMAE_VERSION_MINOR, LSTMAE_VERSION_PATCH);
    const char *got = NULL;
    QUIET(got, lstmae_version());
    assert_non_null(got);
    assert_string_equal(got, want);
}

static void test_free_null(void **state)
{
    (void)state;
    capture cap;
    capture_begin(&cap);
    lstmae_free(NULL);
    capture_end(&cap, "lstmae_free(NULL)");
}

/* A config variant that lstmae_create must reject (INT_MIN past the end). */
static int bad_config(int k, lstmae_config *c, const char **what)
{
    lstmae_config_init(c);
    c->input_dim = 3;
    c->hidden_dim = 4;
    c->latent_dim = 2;
    switch (k) {
    case 0: *what = "struct_size 0"; c->struct_size = 0; break;
    case 1: *what = "input_dim not set (0)"; c->input_dim = 0; break;
    case 2: *what = "input_dim -1"; c->input_dim = -1; break;
    case 3: *what = "input_dim MAX+1"; c->input_dim = LSTMAE_MAX_DIM + 1; break;
    case 4: *what = "hidden_dim 0"; c->hidden_dim = 0; break;
    case 5: *what = "hidden_dim -3"; c->hidden_dim = -3; break;
    case 6: *what = "hidden_dim MAX+1"; c->hidden_dim = LSTMAE_MAX_DIM + 1; break;
    case 7: *what = "latent_dim 0"; c->latent_dim = 0; break;
    case 8: *what = "latent_dim INT_MIN"; c->latent_dim = INT_MIN; break;
    case 9: *what = "latent_dim MAX+1"; c->latent_dim = LSTMAE_MAX_DIM + 1; break;
    case 10: *what = "num_layers 0"; c->num_layers = 0; break;
    case 11: *what = "num_layers -1"; c->num_layers = -1; break;
    case 12: *what = "num_layers MAX+1"; c->num_layers = LSTMAE_MAX_LAYERS + 1;
        break;
    case 13: *what = "input_dim INT_MAX"; c->input_dim = INT_MAX; break;
    case 14: *what = "loss 3"; c->loss = (lstmae_loss)3; break;
    case 15: *what = "loss -1"; c->loss = (lstmae_loss)-1; break;
    case 16: *what = "cell 2"; c->cell = (lstmae_cell)2; break;
    case 17: *what = "cell -1"; c->cell = (lstmae_cell)-1; break;
    case 18: *what = "bidirectional 2"; c->bidirectional = 2; break;
    case 19: *what = "reverse_target -1"; c->reverse_target = -1; break;
    case 20: *what = "decoder_feedback 2"; c->decoder_feedback = 2; break;
    case 21: *what = "decoder_init 2"; c->decoder_init = (lstmae_decoder_init)2; break;
    case 22: *what = "decoder_init -1"; c->decoder_init = (lstmae_decoder_init)-1; break;
    case 23:
        *what = "cross-entropy with input_dim 1";
        c->loss = LSTMAE_LOSS_CROSS_ENTROPY;
        c->input_dim = 1;
        break;
    default: return INT_MIN;
    }
    return LSTMAE_ERR_INVALID_ARG;
}

static void test_create_bad(void **state)
{
    (void)state;
    int dummy = 0;
    lstmae_model *const marker = (lstmae_model *)(void *)&dummy;
    lstmae_model *out = marker;
    int rc = 0;

    QUIET(rc, lstmae_create(NULL, &out));
    tu_expect_status("create(NULL cfg)", rc, LSTMAE_ERR_INVALID_ARG);
    assert_null(out);

    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = 2;
    QUIET(rc, lstmae_create(&cfg, NULL));
    tu_expect_status("create(out NULL)", rc, LSTMAE_ERR_INVALID_ARG);

    const char *what = NULL;
    for (int k = 0; bad_config(k, &cfg, &what) != INT_MIN; k++) {
        out = marker;
        lstmae_config before = cfg;
        QUIET(rc, lstmae_create(&cfg, &out));
        tu_expect_status(what, rc, LSTMAE_ERR_INVALID_ARG);
        if (out != NULL)
            fail_msg("%s: *out not set to NULL on failure", what);
        assert_memory_equal(&before, &cfg, sizeof cfg);
    }

    /* the limits themselves are accepted (small shapes only: no big alloc) */
    lstmae_config_init(&cfg);
    cfg.input_dim = 1;
    cfg.hidden_dim = 1;
    cfg.latent_dim = 1;
    cfg.num_layers = LSTMAE_MAX_LAYERS;
    out = NULL;
    QUIET(rc, lstmae_create(&cfg, &out));
    tu_expect_status("create(num_layers = MAX)", rc, LSTMAE_OK);
    assert_non_null(out);
    assert_int_equal(lstmae_param_count(out), 6 * LSTMAE_MAX_LAYERS + 4);
    lstmae_free(out);
}

/* Same config, same seed: same model; another seed: another model. */
static void test_create_seed(void **state)
{
    (void)state;
    lstmae_model *a = tu_make_model(3, 5, 4, 2, LSTMAE_LOSS_MSE, 99);
    lstmae_model *b = tu_make_model(3, 5, 4, 2, LSTMAE_LOSS_MSE, 99);
    lstmae_model *c = tu_make_model(3, 5, 4, 2, LSTMAE_LOSS_MSE, 100);
    size_t na = 0, nc = 0;
    float *pa = tu_params_snapshot(a, &na);
    float *pc = tu_params_snapshot(c, &nc);
    expect_params("same seed", b, pa, na);
    assert_int_equal(na, nc);
    assert_memory_not_equal(pa, pc, na * sizeof *pa);
    for (size_t i = 0; i < na; i++)
        assert_true(isfinite(pa[i]));
    free(pa);
    free(pc);
    lstmae_free(a);
    lstmae_free(b);
    lstmae_free(c);
}

/* lstmae_set_num_threads / lstmae_get_num_threads: range, NULL, and a
   refused value leaves the setting; not saved in files. */
static void test_num_threads(void **state)
{
    (void)state;
    lstmae_model *m = tu_make_model(3, 5, 4, 1, LSTMAE_LOSS_MSE, 5);
    assert_int_equal(lstmae_get_num_threads(m), 0);
    assert_int_equal(lstmae_get_num_threads(NULL), 0);
    tu_expect_status("set 4", lstmae_set_num_threads(m, 4), LSTMAE_OK);
    assert_int_equal(lstmae_get_num_threads(m), 4);
    tu_expect_status("set -1", lstmae_set_num_threads(m, -1), LSTMAE_ERR_INVALID_ARG);
    tu_expect_status("set 1025", lstmae_set_num_threads(m, 1025), LSTMAE_ERR_INVALID_ARG);
    tu_expect_status("set NULL", lstmae_set_num_threads(NULL, 2), LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(lstmae_get_num_threads(m), 4);
    tu_expect_status("set 1024", lstmae_set_num_threads(m, 1024), LSTMAE_OK);
    /* more workers than sequences, and than 64: still one per sequence */
    float x[2 * 3 * 3] = { 0 }, z[2 * 4];
    lstmae_sequences in = { x, NULL, 2, 3 };
    tu_expect_status("encode, 1024 threads", lstmae_encode(m, &in, z), LSTMAE_OK);
    size_t size = lstmae_saved_size(m);
    void *buf = malloc(size);
    assert_non_null(buf);
    tu_expect_status("save", lstmae_save_buffer(m, buf, size), LSTMAE_OK);
    lstmae_model *back = NULL;
    tu_expect_status("load", lstmae_load_buffer(buf, size, &back), LSTMAE_OK);
    assert_int_equal(lstmae_get_num_threads(back), 0);
    free(buf);
    lstmae_free(back);
    lstmae_free(m);
}

/* ---- configuration ------------------------------------------------------- */

static void test_get_config(void **state)
{
    fixture *fx = *state;
    lstmae_config got;
    lstmae_config_init(&got);
    int rc = 0;
    QUIET(rc, lstmae_get_config(fx->model, &got));
    tu_expect_status("get_config", rc, LSTMAE_OK);
    assert_int_equal(got.struct_size, sizeof got);
    assert_int_equal(got.input_dim, FX_D);
    assert_int_equal(got.hidden_dim, FX_H);
    assert_int_equal(got.latent_dim, FX_Z);
    assert_int_equal(got.num_layers, FX_K);
    assert_int_equal(got.loss, LSTMAE_LOSS_BCE);
    assert_int_equal(got.seed, 7);
    assert_int_equal(got.cell, LSTMAE_CELL_LSTM);

    /* round trip: a model created from the returned config is the same */
    lstmae_model *again = NULL;
    tu_expect_status("create(get_config())", lstmae_create(&got, &again),
                     LSTMAE_OK);
    expect_params("model from get_config's config", again, fx->snap,
                  fx->nsnap);
    lstmae_free(again);

    /* an mse config round trips its loss */
    lstmae_model *m = tu_make_model(2, 3, 6, 3, LSTMAE_LOSS_MSE,
                                    0xFFFFFFFFFFull);
    lstmae_config_init(&got);
    tu_expect_status("get_config mse", lstmae_get_config(m, &got), LSTMAE_OK);
    assert_int_equal(got.input_dim, 2);
    assert_int_equal(got.hidden_dim, 3);
    assert_int_equal(got.latent_dim, 6);
    assert_int_equal(got.num_layers, 3);
    assert_int_equal(got.loss, LSTMAE_LOSS_MSE);
    assert_true(got.seed == 0xFFFFFFFFFFull);
    lstmae_free(m);

    /* bad input: out unchanged */
    lstmae_config cfgbuf;
    fill_sentinel(&cfgbuf, sizeof cfgbuf);
    QUIET(rc, lstmae_get_config(NULL, &cfgbuf));
    tu_expect_status("get_config(NULL model)", rc, LSTMAE_ERR_INVALID_ARG);
    tu_expect_sentinel("get_config(NULL model)", &cfgbuf, sizeof cfgbuf);

    QUIET(rc, lstmae_get_config(fx->model, NULL));
    tu_expect_status("get_config(NULL out)", rc, LSTMAE_ERR_INVALID_ARG);

    fill_sentinel(&cfgbuf, sizeof cfgbuf);
    cfgbuf.struct_size = 0;
    lstmae_config before = cfgbuf;
    QUIET(rc, lstmae_get_config(fx->model, &cfgbuf));
    tu_expect_status("get_config(struct_size 0)", rc, LSTMAE_ERR_INVALID_ARG);
    assert_memory_equal(&before, &cfgbuf, sizeof cfgbuf);
    fx_expect_model_unchanged(fx, "get_config");
}

/* An old caller's config ends before `seed`/`loss`: defaults fill in. */
static void test_old_config(void **state)
{
    (void)state;
    union {
        lstmae_config c;
        unsigned char b[sizeof(lstmae_config) + 32];
    } u;
    lstmae_config full;
    int rc = 0;

    /* ends before seed: the model equals the seed-1 model */
    lstmae_config_init(&full);
    full.input_dim = 3;
    full.hidden_dim = 5;
    full.latent_dim = 2;
    full.num_layers = 2;
    full.loss = LSTMAE_LOSS_MSE;
    full.seed = 1;
    lstmae_model *want = NULL;
    tu_expect_status("create seed 1", lstmae_create(&full, &want), LSTMAE_OK);
    size_t n = 0;
    float *pw = tu_params_snapshot(want, &n);

    const size_t pre_seed = offsetof(lstmae_config, seed);
    fill_sentinel(u.b, sizeof u.b);          /* garbage beyond the prefix */
    memcpy(u.b, &full, pre_seed);
    u.c.struct_size = pre_seed;
    lstmae_model *old = NULL;
    QUIET(rc, lstmae_create(&u.c, &old));
    tu_expect_status("create(config without seed)", rc, LSTMAE_OK);
    expect_params("old config (no seed) vs seed 1", old, pw, n);
    tu_expect_sentinel("config bytes after the prefix", u.b + pre_seed,
                       sizeof u.b - pre_seed);

    lstmae_config got;
    lstmae_config_init(&got);
    tu_expect_status("get_config", lstmae_get_config(old, &got), LSTMAE_OK);
    assert_true(got.seed == 1);
    assert_int_equal(got.loss, LSTMAE_LOSS_MSE);
    assert_int_equal(got.struct_size, sizeof got);
    lstmae_free(old);
    lstmae_free(want);
    free(pw);

    /* ends before loss: default loss bce and seed 1 */
    const size_t pre_loss = offsetof(lstmae_config, loss);
    full.loss = LSTMAE_LOSS_MSE;
    fill_sentinel(u.b, sizeof u.b);
    memcpy(u.b, &full, pre_loss);
    u.c.struct_size = pre_loss;
    QUIET(rc, lstmae_create(&u.c, &old));
    tu_expect_status("create(config without loss)", rc, LSTMAE_OK);
    lstmae_config_init(&got);
    tu_expect_status("get_config", lstmae_get_config(old, &got), LSTMAE_OK);
    assert_int_equal(got.loss, LSTMAE_LOSS_BCE);
    assert_true(got.seed == 1);
    assert_int_equal(got.input_dim, 3);
    assert_int_equal(got.hidden_dim, 5);
    assert_int_equal(got.latent_dim, 2);
    assert_int_equal(got.num_layers, 2);
    full.loss = LSTMAE_LOSS_BCE;
    tu_expect_status("create", lstmae_create(&full, &want), LSTMAE_OK);
    pw = tu_params_snapshot(want, &n);
    expect_params("old config (no loss) vs bce seed 1", old, pw, n);
    lstmae_free(old);
    lstmae_free(want);
    free(pw);

    /* a 0.1 config ends before cell: the sentinel bytes after it (not a
       valid cell) are never read, and the model is an LSTM */
    const size_t pre_cell = offsetof(lstmae_config, cell);
    full.seed = 9;
    fill_sentinel(u.b, sizeof u.b);
    memcpy(u.b, &full, pre_cell);
    u.c.struct_size = pre_cell;
    char why[128];
    tu_expect_status("check(config without cell)", lstmae_check_config(&u.c, why, sizeof why),
                     LSTMAE_OK);
    QUIET(rc, lstmae_create(&u.c, &old));
    tu_expect_status("create(config without cell)", rc, LSTMAE_OK);
    lstmae_config_init(&got);
    tu_expect_status("get_config", lstmae_get_config(old, &got), LSTMAE_OK);
    assert_int_equal(got.cell, LSTMAE_CELL_LSTM);
    assert_true(got.seed == 9);
    tu_expect_status("create", lstmae_create(&full, &want), LSTMAE_OK);
    pw = tu_params_snapshot(want, &n);
    expect_params("0.1 config (no cell) vs lstm", old, pw, n);
    lstmae_free(old);
    lstmae_free(want);
    free(pw);

    /* ends right after struct_size: input_dim (no default) is missing */
    fill_sentinel(u.b, sizeof u.b);
    memcpy(u.b, &full, sizeof(size_t));
    u.c.struct_size = sizeof(size_t);
    int dummy = 0;
    old = (lstmae_model *)(void *)&dummy;
    QUIET(rc, lstmae_create(&u.c, &old));
    tu_expect_status("create(config of struct_size only)", rc,
                     LSTMAE_ERR_INVALID_ARG);
    assert_null(old);

    /* get_config writes only the old caller's prefix */
    lstmae_model *m = tu_make_model(4, 3, 5, 1, LSTMAE_LOSS_MSE, 3);
    fill_sentinel(u.b, sizeof u.b);
    u.c.struct_size = pre_seed;
    QUIET(rc, lstmae_get_config(m, &u.c));
    tu_expect_status("get_config(old struct)", rc, LSTMAE_OK);
    assert_int_equal(u.c.struct_size, pre_seed);
    assert_int_equal(u.c.input_dim, 4);
    assert_int_equal(u.c.hidden_dim, 3);
    assert_int_equal(u.c.latent_dim, 5);
    assert_int_equal(u.c.num_layers, 1);
    assert_int_equal(u.c.loss, LSTMAE_LOSS_MSE);
    tu_expect_sentinel("get_config beyond struct_size", u.b + pre_seed,
                       sizeof u.b - pre_seed);
    lstmae_free(m);
}

/* ---- parameter table ----------------------------------------------------- */

typedef struct {
    char name[48];
    size_t size;
} param_desc;

/* MODEL.md's table for a config (an LSTM, or with gru a GRU: 3H-row
   gates and two biases per layer). Returns the number of entries. */
static size_t expected_params_cell(int d, int h, int z, int k, int gru, param_desc *out)
{
    size_t n = 0, D = (size_t)d, H = (size_t)h, Z = (size_t)z;
    size_t G = gru ? 3 * H : 4 * H;
    const char *side[2] = {"encoder", "decoder"};
    for (int s = 0; s < 2; s++) {
        if (s == 1) {
            snprintf(out[n].name, sizeof out[n].name, "latent.weight");
            out[n++].size = Z * H;
            snprintf(out[n].name, sizeof out[n].name, "latent.bias");
            out[n++].size = Z;
        }
        for (int layer = 0; layer < k; layer++) {
            size_t in = layer > 0 ? H : (s == 0 ? D : Z);
            snprintf(out[n].name, sizeof out[n].name, "%s.%d.weight_ih",
                     side[s], layer);
            out[n++].size = G * in;
            snprintf(out[n].name, sizeof out[n].name, "%s.%d.weight_hh",
                     side[s], layer);
            out[n++].size = G * H;
            if (gru) {
                snprintf(out[n].name, sizeof out[n].name, "%s.%d.bias_ih",
                         side[s], layer);
                out[n++].size = G;
                snprintf(out[n].name, sizeof out[n].name, "%s.%d.bias_hh",
                         side[s], layer);
                out[n++].size = G;
            } else {
                snprintf(out[n].name, sizeof out[n].name, "%s.%d.bias",
                         side[s], layer);
                out[n++].size = G;
            }
        }
    }
    snprintf(out[n].name, sizeof out[n].name, "output.weight");
    out[n++].size = D * H;
    snprintf(out[n].name, sizeof out[n].name, "output.bias");
    out[n++].size = D;
    return n;
}

static size_t expected_params(int d, int h, int z, int k, param_desc *out)
{
    return expected_params_cell(d, h, z, k, 0, out);
}

/* A GRU model's table: MODEL.md "Variants" (weight_ih [3H, in], weight_hh
   [3H, H], bias_ih [3H], bias_hh [3H] per layer, in that order), the
   linear layers as an LSTM's; no "bias" tensor. */
static void test_param_table_gru(void **state)
{
    (void)state;
    static const int shapes[][4] = {
        /* D, H, Z, K */
        {3, 5, 4, 1}, {2, 4, 7, 2}, {1, 6, 3, 3},
    };
    param_desc want[8 * 3 + 4];
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *sh = shapes[s];
        lstmae_config cfg;
        lstmae_config_init(&cfg);
        cfg.input_dim = sh[0];
        cfg.hidden_dim = sh[1];
        cfg.latent_dim = sh[2];
        cfg.num_layers = sh[3];
        cfg.cell = LSTMAE_CELL_GRU;
        lstmae_model *m = NULL;
        tu_expect_status("create(gru)", lstmae_create(&cfg, &m), LSTMAE_OK);
        size_t n = expected_params_cell(sh[0], sh[1], sh[2], sh[3], 1, want);
        assert_int_equal(n, (size_t)(8 * sh[3] + 4));
        assert_int_equal(lstmae_param_count(m), n);
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
            const char *name = lstmae_param_name(m, i);
            assert_non_null(name);
            if (strcmp(name, want[i].name) != 0)
                fail_msg("gru D%d H%d Z%d K%d: parameter %zu is \"%s\", want \"%s\"", sh[0],
                         sh[1], sh[2], sh[3], i, name, want[i].name);
            size_t size = lstmae_param_size(m, name);
            if (size != want[i].size)
                fail_msg("gru D%d H%d Z%d K%d: %s has %zu values, want %zu", sh[0], sh[1],
                         sh[2], sh[3], name, size, want[i].size);
            total += size;
        }
        size_t none = 1;
        QUIET(none, lstmae_param_size(m, "encoder.0.bias"));
        assert_int_equal(none, 0);
        lstmae_config got;
        lstmae_config_init(&got);
        tu_expect_status("get_config(gru)", lstmae_get_config(m, &got), LSTMAE_OK);
        assert_int_equal(got.cell, LSTMAE_CELL_GRU);
        print_message("gru D%d H%d Z%d K%d: %zu tensors, %zu values\n", sh[0], sh[1], sh[2],
                      sh[3], n, total);
        lstmae_free(m);
    }
}

static void test_param_table(void **state)
{
    (void)state;
    static const int shapes[][4] = {
        /* D, H, Z, K */
        {3, 5, 4, 1}, {2, 4, 7, 2}, {1, 6, 3, 3}, {5, 2, 2, 1}, {1, 1, 1, 3},
    };
    param_desc want[6 * 3 + 4];
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int *sh = shapes[s];
        lstmae_model *m =
            tu_make_model(sh[0], sh[1], sh[2], sh[3], LSTMAE_LOSS_BCE, 5);
        size_t n = expected_params(sh[0], sh[1], sh[2], sh[3], want);
        assert_int_equal(n, (size_t)(6 * sh[3] + 4));
        size_t count = 0;
        QUIET(count, lstmae_param_count(m));
        assert_int_equal(count, n);
        for (size_t i = 0; i < n; i++) {
            const char *name = NULL;
            QUIET(name, lstmae_param_name(m, i));
            assert_non_null(name);
            if (strcmp(name, want[i].name) != 0)
                fail_msg("D%d H%d Z%d K%d: parameter %zu is \"%s\", want "
                         "\"%s\"", sh[0], sh[1], sh[2], sh[3], i, name,
                         want[i].name);
            size_t size = 0;
            QUIET(size, lstmae_param_size(m, want[i].name));
            if (size != want[i].size)
                fail_msg("D%d H%d Z%d K%d: %s has %zu values, want %zu",
                         sh[0], sh[1], sh[2], sh[3], want[i].name, size,
                         want[i].size);
            /* the name stays valid and the same */
            assert_ptr_equal(name, lstmae_param_name(m, i));
            /* the shape: vectors for the biases, rows x cols the size */
            size_t dims[2] = {0, 0};
            int rank = lstmae_param_shape(m, want[i].name, dims);
            assert_int_equal(rank, strstr(want[i].name, "bias") ? 1 : 2);
            assert_int_equal(dims[0] * dims[1], want[i].size);
            if (rank == 1) assert_int_equal(dims[1], 1);
            if (strcmp(want[i].name, "latent.weight") == 0) {
                assert_int_equal(dims[0], (size_t)sh[2]);
                assert_int_equal(dims[1], (size_t)sh[1]);
            }
            if (strcmp(want[i].name, "output.weight") == 0) {
                assert_int_equal(dims[0], (size_t)sh[0]);
                assert_int_equal(dims[1], (size_t)sh[1]);
            }
        }
        size_t kept[2] = {7, 9};
        assert_int_equal(lstmae_param_shape(m, "no.such", kept), 0);
        assert_int_equal(kept[0], 7);
        assert_int_equal(lstmae_param_shape(NULL, "latent.bias", kept), 0);
        assert_int_equal(lstmae_param_shape(m, "latent.bias", NULL), 0);
        const char *none = (const char *)1;
        QUIET(none, lstmae_param_name(m, n));
        assert_null(none);
        QUIET(none, lstmae_param_name(m, SIZE_MAX));
        assert_null(none);

        /* unknown names */
        char layer_k[48];
        snprintf(layer_k, sizeof layer_k, "encoder.%d.bias", sh[3]);
        const char *unknown[] = {"", "latent", "latent.weight ",
                                 "LATENT.WEIGHT", "encoder.0.weight",
                                 "decoder.-1.bias", "output.bias.x",
                                 "encoder.00.bias", layer_k};
        for (size_t u = 0; u < sizeof unknown / sizeof unknown[0]; u++) {
            size_t size = 1;
            QUIET(size, lstmae_param_size(m, unknown[u]));
            if (size != 0)
                fail_msg("param_size(\"%s\") = %zu, want 0", unknown[u], size);
        }
        size_t size = 1;
        QUIET(size, lstmae_param_size(m, NULL));
        assert_int_equal(size, 0);
        size = 1;
        QUIET(size, lstmae_param_size(NULL, "latent.bias"));
        assert_int_equal(size, 0);
        lstmae_free(m);
    }
    const char *none = (const char *)1;
    QUIET(none, lstmae_param_name(NULL, 0));
    assert_null(none);
    size_t count = 1;
    QUIET(count, lstmae_param_count(NULL));
    assert_int_equal(count, 0);
}

static void test_param_roundtrip(void **state)
{
    (void)state;
    lstmae_model *m = tu_make_model(2, 3, 5, 2, LSTMAE_LOSS_MSE, 11);
    size_t n = 0;
    float *want = tu_params_snapshot(m, &n);
    uint64_t rng = 77;
    size_t count = lstmae_param_count(m), off = 0;
    for (size_t i = 0; i < count; i++) {
        const char *name = lstmae_param_name(m, i);
        size_t size = lstmae_param_size(m, name);
        float *v = want + off;
        tu_fill_uniform(&rng, v, size, -3.0f, 3.0f);
        v[0] = -0.0f;                    /* bits, not values, round trip */
        if (size > 1)
            v[size - 1] = 1e-40f;        /* a subnormal */
        int rc = 0;
        QUIET(rc, lstmae_set_param(m, name, v, size));
        tu_expect_status(name, rc, LSTMAE_OK);
        float *got = malloc(size * sizeof *got);
        assert_non_null(got);
        QUIET(rc, lstmae_get_param(m, name, got, size));
        tu_expect_status(name, rc, LSTMAE_OK);
        tu_assert_bits_equal(name, got, v, size);
        free(got);
        off += size;
    }
    /* every tensor holds what was set last, none overwrote another */
    expect_params("all parameters after setting each", m, want, n);
    free(want);
    lstmae_free(m);
}

static void test_get_param_bad(void **state)
{
    fixture *fx = *state;
    const char *name = "encoder.1.weight_hh";
    const size_t size = lstmae_param_size(fx->model, name);
    assert_int_equal(size, 4 * FX_H * FX_H);
    float buf[4 * FX_H * FX_H + 8];
    struct {
        const lstmae_model *m;
        const char *name;
        float *out;
        size_t count;
        const char *what;
    } cases[] = {
        {NULL, name, buf, size, "NULL model"},
        {fx->model, NULL, buf, size, "NULL name"},
        {fx->model, name, NULL, size, "NULL out"},
        {fx->model, "encoder.2.weight_hh", buf, size, "unknown name"},
        {fx->model, "", buf, size, "empty name"},
        {fx->model, name, buf, size - 1, "count - 1"},
        {fx->model, name, buf, size + 1, "count + 1"},
        {fx->model, name, buf, 0, "count 0"},
        {fx->model, name, buf, SIZE_MAX, "count SIZE_MAX"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fill_sentinel(buf, sizeof buf);
        int rc = 0;
        QUIET(rc, lstmae_get_param(cases[c].m, cases[c].name, cases[c].out,
                                   cases[c].count));
        tu_expect_status(cases[c].what, rc, LSTMAE_ERR_INVALID_ARG);
        tu_expect_sentinel(cases[c].what, buf, sizeof buf);
    }
    fx_expect_model_unchanged(fx, "get_param bad input");
}

static void test_set_param_bad(void **state)
{
    fixture *fx = *state;
    const char *name = "decoder.0.weight_ih";
    const size_t size = lstmae_param_size(fx->model, name);
    assert_int_equal(size, 4 * FX_H * FX_Z);
    float good[4 * FX_H * FX_Z + 4];
    uint64_t rng = 5;
    tu_fill_uniform(&rng, good, sizeof good / sizeof good[0], -1.0f, 1.0f);
    const float saved0 = good[0];
    struct {
        lstmae_model *m;
        const char *name;
        const float *v;
        size_t count;
        const char *what;
        int want;
    } cases[] = {
        {NULL, name, good, size, "NULL model", LSTMAE_ERR_INVALID_ARG},
        {fx->model, NULL, good, size, "NULL name", LSTMAE_ERR_INVALID_ARG},
        {fx->model, name, NULL, size, "NULL values", LSTMAE_ERR_INVALID_ARG},
        {fx->model, "decoder.0.weight", good, size, "unknown name",
         LSTMAE_ERR_INVALID_ARG},
        {fx->model, name, good, size - 1, "count - 1", LSTMAE_ERR_INVALID_ARG},
        {fx->model, name, good, size + 1, "count + 1", LSTMAE_ERR_INVALID_ARG},
        {fx->model, name, good, 0, "count 0", LSTMAE_ERR_INVALID_ARG},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int rc = 0;
        QUIET(rc, lstmae_set_param(cases[c].m, cases[c].name, cases[c].v,
                                   cases[c].count));
        tu_expect_status(cases[c].what, rc, cases[c].want);
        fx_expect_model_unchanged(fx, cases[c].what);
    }
    /* non-finite values, first, middle and last position */
    const float bad[] = {NAN, INFINITY, -INFINITY};
    const size_t where[] = {0, size / 2, size - 1};
    for (size_t b = 0; b < 3; b++) {
        for (size_t w = 0; w < 3; w++) {
            float v[4 * FX_H * FX_Z];
            memcpy(v, good, sizeof v);
            v[where[w]] = bad[b];
            int rc = 0;
            QUIET(rc, lstmae_set_param(fx->model, name, v, size));
            char what[64];
            snprintf(what, sizeof what, "set_param with %g at %zu",
                     (double)bad[b], where[w]);
            tu_expect_status(what, rc, LSTMAE_ERR_NUMERIC);
            fx_expect_model_unchanged(fx, what);
        }
    }
    /* every tensor rejects NaN */
    size_t count = lstmae_param_count(fx->model);
    for (size_t i = 0; i < count; i++) {
        const char *pn = lstmae_param_name(fx->model, i);
        size_t ps = lstmae_param_size(fx->model, pn);
        float *v = calloc(ps, sizeof *v);
        assert_non_null(v);
        v[ps - 1] = NAN;
        int rc = 0;
        QUIET(rc, lstmae_set_param(fx->model, pn, v, ps));
        tu_expect_status(pn, rc, LSTMAE_ERR_NUMERIC);
        free(v);
    }
    fx_expect_model_unchanged(fx, "set_param with NaN in every tensor");
    assert_true(good[0] == saved0);
}

/* ---- inference ----------------------------------------------------------- */

static void test_encode_bad(void **state)
{
    fixture *fx = *state;
    float latent[FX_N * FX_Z + 8];
    variant v;
    int rc = 0;

    fill_sentinel(latent, sizeof latent);
    QUIET(rc, lstmae_encode(NULL, &fx->seqs, latent));
    tu_expect_status("encode(NULL model)", rc, LSTMAE_ERR_INVALID_ARG);
    QUIET(rc, lstmae_encode(fx->model, NULL, latent));
    tu_expect_status("encode(NULL in)", rc, LSTMAE_ERR_INVALID_ARG);
    QUIET(rc, lstmae_encode(fx->model, &fx->seqs, NULL));
    tu_expect_status("encode(NULL latent)", rc, LSTMAE_ERR_INVALID_ARG);
    tu_expect_sentinel("encode(NULL ...)", latent, sizeof latent);

    for (int k = 0;; k++) {
        int want = seq_variant(fx, k, &v);
        if (want == INT_MIN)
            break;
        fill_sentinel(latent, sizeof latent);
        QUIET(rc, lstmae_encode(fx->model, &v.s, latent));
        tu_expect_status(v.what, rc, want);
        tu_expect_sentinel(v.what, latent, sizeof latent);
    }
    fx_expect_model_unchanged(fx, "encode bad input");

    /* accepted: non-finite padding, empty sequences, max_len 0 */
    float ref[FX_N * FX_Z];
    tu_expect_status("encode", lstmae_encode(fx->model, &fx->seqs, ref),
                     LSTMAE_OK);
    float bias[FX_Z];
    tu_expect_status("get latent.bias",
                     lstmae_get_param(fx->model, "latent.bias", bias, FX_Z),
                     LSTMAE_OK);
    for (int k = 0; ok_variant(fx, k, &v); k++) {
        fill_sentinel(latent, sizeof latent);
        QUIET(rc, lstmae_encode(fx->model, &v.s, latent));
        tu_expect_status(v.what, rc, LSTMAE_OK);
        if (k == 0) {
            tu_assert_bits_equal(v.what, latent, ref, FX_N * FX_Z);
        } else {
            for (size_t i = 0; i < FX_N; i++)
                tu_assert_bits_equal(v.what, latent + i * FX_Z, bias, FX_Z);
        }
        tu_expect_sentinel("encode beyond count*latent_dim",
                           latent + FX_N * FX_Z,
                           sizeof latent - FX_N * FX_Z * sizeof(float));
    }
    fx_expect_model_unchanged(fx, "encode");
}

static void test_reconstruct_bad(void **state)
{
    fixture *fx = *state;
    float out[FX_N * FX_T * FX_D + 8];
    variant v;
    int rc = 0;

    fill_sentinel(out, sizeof out);
    QUIET(rc, lstmae_reconstruct(NULL, &fx->seqs, out));
    tu_expect_status("reconstruct(NULL model)", rc, LSTMAE_ERR_INVALID_ARG);
    QUIET(rc, lstmae_reconstruct(fx->model, NULL, out));
    tu_expect_status("reconstruct(NULL in)", rc, LSTMAE_ERR_INVALID_ARG);
    QUIET(rc, lstmae_reconstruct(fx->model, &fx->seqs, NULL));
    tu_expect_status("reconstruct(NULL out)", rc, LSTMAE_ERR_INVALID_ARG);
    tu_expect_sentinel("reconstruct(NULL ...)", out, sizeof out);

    for (int k = 0;; k++) {
        int want = seq_variant(fx, k, &v);
        if (want == INT_MIN)
            break;
        fill_sentinel(out, sizeof out);
        QUIET(rc, lstmae_reconstruct(fx->model, &v.s, out));
        tu_expect_status(v.what, rc, want);
        tu_expect_sentinel(v.what, out, sizeof out);
    }

    const size_t total = FX_N * FX_T * FX_D;
    float ref[FX_N * FX_T * FX_D];
    tu_expect_status("reconstruct",
                     lstmae_reconstruct(fx->model, &fx->seqs, ref),
                     LSTMAE_OK);
    for (int k = 0; ok_variant(fx, k, &v); k++) {
        fill_sentinel(out, sizeof out);
        QUIET(rc, lstmae_reconstruct(fx->model, &v.s, out));
        tu_expect_status(v.what, rc, LSTMAE_OK);
        size_t written = v.s.count * v.s.max_len * FX_D;
        if (k == 0) {
            tu_assert_bits_equal(v.what, out, ref, total);
        } else {
            for (size_t i = 0; i < written; i++)
                if (out[i] != 0.0f)
                    fail_msg("%s: padding element %zu is %g, want 0", v.what,
                             i, (double)out[i]);
        }
        tu_expect_sentinel("reconstruct beyond the data's shape",
                           (const unsigned char *)out + written * sizeof(float),
                           sizeof out - written * sizeof(float));
    }
    fx_expect_model_unchanged(fx, "reconstruct");
}

static void test_decode_bad(void **state)
{
    fixture *fx = *state;
    enum { LEN = 3 };
    float latent[FX_N * FX_Z];
    float out[FX_N * LEN * FX_D + 8];
    uint64_t rng = 9;
    tu_fill_uniform(&rng, latent, FX_N * FX_Z, -1.0f, 1.0f);
    int rc = 0;
    struct {
        const lstmae_model *m;
        const float *latent;
        size_t count, length;
        float *out;
        const char *what;
    } cases[] = {
        {NULL, latent, FX_N, LEN, out, "NULL model"},
        {fx->model, NULL, FX_N, LEN, out, "NULL latent"},
        {fx->model, latent, FX_N, LEN, NULL, "NULL out"},
        {fx->model, latent, 0, LEN, out, "count 0"},
        {fx->model, latent, FX_N, 0, out, "length 0"},
        {fx->model, latent, 0, 0, out, "count 0, length 0"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fill_sentinel(out, sizeof out);
        QUIET(rc, lstmae_decode(cases[c].m, cases[c].latent, cases[c].count,
                                cases[c].length, cases[c].out));
        tu_expect_status(cases[c].what, rc, LSTMAE_ERR_INVALID_ARG);
        tu_expect_sentinel(cases[c].what, out, sizeof out);
    }
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t b = 0; b < 3; b++) {
        float lat[FX_N * FX_Z];
        memcpy(lat, latent, sizeof lat);
        lat[(b * 5 + 3) % (FX_N * FX_Z)] = bad[b];
        char what[48];
        snprintf(what, sizeof what, "decode with %g in latent", (double)bad[b]);
        fill_sentinel(out, sizeof out);
        QUIET(rc, lstmae_decode(fx->model, lat, FX_N, LEN, out));
        tu_expect_status(what, rc, LSTMAE_ERR_NUMERIC);
        tu_expect_sentinel(what, out, sizeof out);
    }
    /* accepted: writes exactly count*length*input_dim values in range */
    fill_sentinel(out, sizeof out);
    QUIET(rc, lstmae_decode(fx->model, latent, FX_N, LEN, out));
    tu_expect_status("decode", rc, LSTMAE_OK);
    for (size_t i = 0; i < FX_N * LEN * FX_D; i++)
        assert_true(out[i] >= 0.0f && out[i] <= 1.0f);   /* bce: probabilities */
    tu_expect_sentinel("decode beyond count*length*input_dim",
                       out + FX_N * LEN * FX_D, 8 * sizeof(float));
    fx_expect_model_unchanged(fx, "decode");
}

static void expect_metrics_untouched(const char *what,
                                     const lstmae_metrics *before,
                                     const lstmae_metrics *after)
{
    if (memcmp(before, after, sizeof *before) != 0)
        fail_msg("%s: metrics struct was written", what);
}

static void test_evaluate_bad(void **state)
{
    fixture *fx = *state;
    lstmae_metrics m, before;
    variant v;
    int rc = 0;

    fill_sentinel(&m, sizeof m);
    m.struct_size = sizeof m;
    before = m;
    QUIET(rc, lstmae_evaluate(NULL, &fx->seqs, &m));
    tu_expect_status("evaluate(NULL model)", rc, LSTMAE_ERR_INVALID_ARG);
    QUIET(rc, lstmae_evaluate(fx->model, NULL, &m));
    tu_expect_status("evaluate(NULL in)", rc, LSTMAE_ERR_INVALID_ARG);
    expect_metrics_untouched("evaluate(NULL ...)", &before, &m);
    QUIET(rc, lstmae_evaluate(fx->model, &fx->seqs, NULL));
    tu_expect_status("evaluate(NULL out)", rc, LSTMAE_ERR_INVALID_ARG);

    m.struct_size = 0;
    before = m;
    QUIET(rc, lstmae_evaluate(fx->model, &fx->seqs, &m));
    tu_expect_status("evaluate(struct_size 0)", rc, LSTMAE_ERR_INVALID_ARG);
    expect_metrics_untouched("evaluate(struct_size 0)", &before, &m);

    m.struct_size = sizeof m;
    before = m;
    for (int k = 0;; k++) {
        int want = seq_variant(fx, k, &v);
        if (want == INT_MIN)
            break;
        QUIET(rc, lstmae_evaluate(fx->model, &v.s, &m));
        tu_expect_status(v.what, rc, want);
        expect_metrics_untouched(v.what, &before, &m);
    }

    lstmae_metrics ref;
    lstmae_metrics_init(&ref);
    tu_expect_status("evaluate", lstmae_evaluate(fx->model, &fx->seqs, &ref),
                     LSTMAE_OK);
    assert_true(isfinite(ref.loss) && ref.loss > 0.0);
    assert_true(ref.accuracy >= 0.0 && ref.accuracy <= 1.0);
    assert_true(ref.elements == (uint64_t)FX_D * (5 + 3 + 0 + 2));
    for (int k = 0; ok_variant(fx, k, &v); k++) {
        fill_sentinel(&m, sizeof m);
        m.struct_size = sizeof m;
        before = m;
        QUIET(rc, lstmae_evaluate(fx->model, &v.s, &m));
        if (v.no_valid) {
            /* every sequence empty: the loss is undefined */
            tu_expect_status(v.what, rc, LSTMAE_ERR_INVALID_ARG);
            expect_metrics_untouched(v.what, &before, &m);
        } else {
            tu_expect_status(v.what, rc, LSTMAE_OK);
            assert_memory_equal(&m.loss, &ref.loss, sizeof m.loss);
            assert_memory_equal(&m.accuracy, &ref.accuracy, sizeof m.accuracy);
            assert_true(m.elements == ref.elements);
            assert_int_equal(m.struct_size, sizeof m);
        }
    }

    /* mse: accuracy is NaN */
    lstmae_model *mse = tu_make_model(FX_D, 3, 2, 1, LSTMAE_LOSS_MSE, 4);
    lstmae_metrics_init(&m);
    tu_expect_status("evaluate mse", lstmae_evaluate(mse, &fx->seqs, &m),
                     LSTMAE_OK);
    assert_true(isfinite(m.loss) && m.loss > 0.0);
    assert_true(isnan(m.accuracy));
    lstmae_free(mse);
    fx_expect_model_unchanged(fx, "evaluate");
}

/* An old caller's metrics end before `elements` (or before `accuracy`). */
static void test_old_metrics(void **state)
{
    fixture *fx = *state;
    lstmae_metrics full;
    lstmae_metrics_init(&full);
    tu_expect_status("evaluate", lstmae_evaluate(fx->model, &fx->seqs, &full),
                     LSTMAE_OK);
    union {
        lstmae_metrics m;
        unsigned char b[sizeof(lstmae_metrics) + 32];
    } u;
    const size_t sizes[] = {offsetof(lstmae_metrics, elements),
                            offsetof(lstmae_metrics, accuracy)};
    for (size_t s = 0; s < 2; s++) {
        fill_sentinel(u.b, sizeof u.b);
        u.m.struct_size = sizes[s];
        int rc = 0;
        QUIET(rc, lstmae_evaluate(fx->model, &fx->seqs, &u.m));
        tu_expect_status("evaluate(old metrics)", rc, LSTMAE_OK);
        assert_int_equal(u.m.struct_size, sizes[s]);
        assert_memory_equal(&u.m.loss, &full.loss, sizeof full.loss);
        if (sizes[s] > offsetof(lstmae_metrics, accuracy))
            assert_memory_equal(&u.m.accuracy, &full.accuracy,
                                sizeof full.accuracy);
        tu_expect_sentinel("evaluate beyond struct_size", u.b + sizes[s],
                           sizeof u.b - sizes[s]);
    }
}

/* ---- fit ----------------------------------------------------------------- */

/* Option variant k that fit must reject (0 past the last). */
static int bad_options(int k, lstmae_fit_options *o, const char **what)
{
    lstmae_fit_options_init(o);
    o->epochs = 1;
    o->batch_size = 2;
    o->num_threads = 1;
    switch (k) {
    case 0: *what = "options struct_size 0"; o->struct_size = 0; break;
    case 1: *what = "epochs -1"; o->epochs = -1; break;
    case 2: *what = "epochs INT_MIN"; o->epochs = INT_MIN; break;
    case 3: *what = "batch_size 0"; o->batch_size = 0; break;
    case 4: *what = "batch_size -5"; o->batch_size = -5; break;
    case 5: *what = "optimizer 2"; o->optimizer = (lstmae_optimizer)2; break;
    case 6: *what = "optimizer -1"; o->optimizer = (lstmae_optimizer)-1; break;
    case 7: *what = "learning_rate 0"; o->learning_rate = 0.0f; break;
    case 8: *what = "learning_rate -1e-3"; o->learning_rate = -1e-3f; break;
    case 9: *what = "learning_rate NaN"; o->learning_rate = NAN; break;
    case 10: *what = "sgd learning_rate 0"; o->optimizer = LSTMAE_OPT_SGD;
        o->learning_rate = 0.0f; break;
    case 11: *what = "beta1 1"; o->beta1 = 1.0f; break;
    case 12: *what = "beta1 -0.1"; o->beta1 = -0.1f; break;
    case 13: *what = "beta1 NaN"; o->beta1 = NAN; break;
    case 14: *what = "beta2 1"; o->beta2 = 1.0f; break;
    case 15: *what = "beta2 -0.1"; o->beta2 = -0.1f; break;
    case 16: *what = "beta2 NaN"; o->beta2 = NAN; break;
    case 17: *what = "epsilon 0"; o->epsilon = 0.0f; break;
    case 18: *what = "epsilon -1e-8"; o->epsilon = -1e-8f; break;
    case 19: *what = "epsilon NaN"; o->epsilon = NAN; break;
    case 20: *what = "num_threads -1"; o->num_threads = -1; break;
    case 21: *what = "sgd momentum -0.5"; o->optimizer = LSTMAE_OPT_SGD;
        o->momentum = -0.5f; break;
    case 22: *what = "sgd momentum NaN"; o->optimizer = LSTMAE_OPT_SGD;
        o->momentum = NAN; break;
    case 23: *what = "beta1 2"; o->beta1 = 2.0f; break;
    case 24: *what = "checkpoint_path empty"; o->checkpoint_path = ""; break;
    case 25: *what = "clip_norm NaN"; o->clip_norm = NAN; break;
    case 26: *what = "clip_norm +inf"; o->clip_norm = INFINITY; break;
    case 27: *what = "patience -1"; o->patience = -1; break;
    case 28: *what = "checkpoint_every 0"; o->checkpoint_every = 0; break;
    default: return 0;
    }
    return 1;
}

/* Fits model and twin alike, and checks they stay bit-identical: so a
   rejected call left the optimiser state and the generator alone too. */
static void expect_same_training(lstmae_model *model, lstmae_model *twin,
                                 const lstmae_sequences *s, const char *what)
{
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 2;
    o.batch_size = 2;
    o.num_threads = 1;
    o.learning_rate = 0.01f;
    lstmae_metrics ma, mb;
    lstmae_metrics_init(&ma);
    lstmae_metrics_init(&mb);
    tu_expect_status(what, lstmae_fit(model, s, NULL, &o, &ma), LSTMAE_OK);
    tu_expect_status(what, lstmae_fit(twin, s, NULL, &o, &mb), LSTMAE_OK);
    size_t n = 0;
    float *pt = tu_params_snapshot(twin, &n);
    expect_params(what, model, pt, n);
    free(pt);
    assert_memory_equal(&ma.loss, &mb.loss, sizeof ma.loss);
}

/* The first word of a case's description that names a field. */
static const char *field_of(const char *what)
{
    static char field[64];
    const char *p = what;
    if (strncmp(p, "sgd ", 4) == 0) p += 4;
    if (strncmp(p, "options ", 8) == 0) p += 8;
    size_t n = strcspn(p, " ");
    if (n >= sizeof field) n = sizeof field - 1;
    memcpy(field, p, n);
    field[n] = '\0';
    return field;
}

/* lstmae_check_config and lstmae_check_fit_options agree with
   lstmae_create and lstmae_fit, and name the field in their reason. */
static void test_check_reasons(void **state)
{
    (void)state;
    char why[256];
    const char *what = NULL;
    lstmae_config c;
    for (int k = 0; bad_config(k, &c, &what) != INT_MIN; k++) {
        memset(why, 'x', sizeof why);
        tu_expect_status(what, lstmae_check_config(&c, why, sizeof why),
                         LSTMAE_ERR_INVALID_ARG);
        if (why[0] == '\0' || !memchr(why, '\0', sizeof why))
            fail_msg("%s: no reason", what);
        if (k > 0 && !strstr(why, field_of(what)))
            fail_msg("%s: the reason \"%s\" does not name %s", what, why, field_of(what));
        lstmae_model *m = NULL;
        tu_expect_status(what, lstmae_create(&c, &m), LSTMAE_ERR_INVALID_ARG);
    }
    lstmae_config_init(&c);
    c.input_dim = 3;
    c.hidden_dim = 4;
    c.latent_dim = 2;
    strcpy(why, "stale");
    tu_expect_status("good config", lstmae_check_config(&c, why, sizeof why), LSTMAE_OK);
    assert_string_equal(why, "");
    tu_expect_status("NULL config", lstmae_check_config(NULL, NULL, 0),
                     LSTMAE_ERR_INVALID_ARG);
    c.hidden_dim = LSTMAE_MAX_DIM + 1;
    /* a short buffer gets a truncated, terminated reason */
    char small[8];
    memset(small, 'x', sizeof small);
    tu_expect_status("short why", lstmae_check_config(&c, small, sizeof small),
                     LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(strncmp(small, "hidden_", 7), 0);
    tu_expect_status("NULL why", lstmae_check_config(&c, NULL, 0), LSTMAE_ERR_INVALID_ARG);

    lstmae_fit_options o;
    for (int k = 0; bad_options(k, &o, &what); k++) {
        why[0] = '\0';
        tu_expect_status(what, lstmae_check_fit_options(&o, 10, why, sizeof why),
                         LSTMAE_ERR_INVALID_ARG);
        if (why[0] == '\0') fail_msg("%s: no reason", what);
        if (k > 0 && !strstr(why, field_of(what)))
            fail_msg("%s: the reason \"%s\" does not name %s", what, why, field_of(what));
    }
    tu_expect_status("default options", lstmae_check_fit_options(NULL, 10, why, sizeof why),
                     LSTMAE_OK);
    assert_string_equal(why, "");
    /* the batch limit depends on max_len, and the reason says both */
    lstmae_fit_options_init(&o);
    o.batch_size = 1073741824;
    tu_expect_status("batch 2^30, 1 step", lstmae_check_fit_options(&o, 1, why, sizeof why),
                     LSTMAE_OK);
    tu_expect_status("batch 2^30, 10 steps",
                     lstmae_check_fit_options(&o, 10, why, sizeof why),
                     LSTMAE_ERR_INVALID_ARG);
    if (!strstr(why, "batch_size 1073741824") || !strstr(why, "214748364"))
        fail_msg("batch reason: %s", why);
    o.batch_size = 64;
    tu_expect_status("max_len above the limit",
                     lstmae_check_fit_options(&o, (size_t)LSTMAE_MAX_STEPS + 1, why,
                                              sizeof why),
                     LSTMAE_ERR_INVALID_ARG);
    if (!strstr(why, "8388608") || !strstr(why, "8388607")) fail_msg("max_len reason: %s", why);
    tu_expect_status("max_len at the limit",
                     lstmae_check_fit_options(&o, LSTMAE_MAX_STEPS, why, sizeof why),
                     LSTMAE_OK);
}

static void test_fit_bad(void **state)
{
    fixture *fx = *state;
    int calls = 0, rc = 0;
    lstmae_fit_options o;
    lstmae_metrics last, before;
    fill_sentinel(&last, sizeof last);
    last.struct_size = sizeof last;
    before = last;
    variant v;

    lstmae_fit_options_init(&o);
    o.epochs = 1;
    o.batch_size = 2;
    o.num_threads = 1;
    o.on_epoch = tu_count_calls;
    o.user = &calls;

    QUIET(rc, lstmae_fit(NULL, &fx->seqs, NULL, &o, &last));
    tu_expect_status("fit(NULL model)", rc, LSTMAE_ERR_INVALID_ARG);
    QUIET(rc, lstmae_fit(fx->model, NULL, NULL, &o, &last));
    tu_expect_status("fit(NULL train)", rc, LSTMAE_ERR_INVALID_ARG);
    expect_metrics_untouched("fit(NULL ...)", &before, &last);

    /* last_train never initialised */
    lstmae_metrics zero;
    fill_sentinel(&zero, sizeof zero);
    zero.struct_size = 0;
    lstmae_metrics zero_before = zero;
    QUIET(rc, lstmae_fit(fx->model, &fx->seqs, NULL, &o, &zero));
    tu_expect_status("fit(last_train struct_size 0)", rc,
                     LSTMAE_ERR_INVALID_ARG);
    expect_metrics_untouched("fit(last_train struct_size 0)", &zero_before,
                             &zero);

    /* bad options */
    const char *what = NULL;
    lstmae_fit_options bad;
    for (int k = 0; bad_options(k, &bad, &what); k++) {
        bad.on_epoch = tu_count_calls;
        bad.user = &calls;
        QUIET(rc, lstmae_fit(fx->model, &fx->seqs, NULL, &bad, &last));
        tu_expect_status(what, rc, LSTMAE_ERR_INVALID_ARG);
        expect_metrics_untouched(what, &before, &last);
        fx_expect_model_unchanged(fx, what);
    }

    /* bad train sets */
    for (int k = 0;; k++) {
        int want = seq_variant(fx, k, &v);
        if (want == INT_MIN)
            break;
        QUIET(rc, lstmae_fit(fx->model, &v.s, NULL, &o, &last));
        tu_expect_status(v.what, rc, want);
        expect_metrics_untouched(v.what, &before, &last);
        fx_expect_model_unchanged(fx, v.what);
    }
    /* bad validation sets (train fine) */
    for (int k = 0;; k++) {
        int want = seq_variant(fx, k, &v);
        if (want == INT_MIN)
            break;
        QUIET(rc, lstmae_fit(fx->model, &fx->seqs, &v.s, &o, &last));
        char w[96];
        snprintf(w, sizeof w, "validation set: %s", v.what);
        tu_expect_status(w, rc, want);
        expect_metrics_untouched(w, &before, &last);
        fx_expect_model_unchanged(fx, w);
    }
    /* train sets without a valid element */
    for (int k = 0; ok_variant(fx, k, &v); k++) {
        if (!v.no_valid)
            continue;
        QUIET(rc, lstmae_fit(fx->model, &v.s, NULL, &o, &last));
        tu_expect_status(v.what, rc, LSTMAE_ERR_INVALID_ARG);
        expect_metrics_untouched(v.what, &before, &last);
        fx_expect_model_unchanged(fx, v.what);
    }
    assert_int_equal(calls, 0);

    /* after all that, the model trains exactly like its untouched twin */
    expect_same_training(fx->model, fx->twin, &fx->seqs,
                         "fit after rejected fits vs untouched twin");

    /* non-finite padding is fine for fit too */
    lstmae_model *a = tu_make_model(FX_D, 4, 3, 1, LSTMAE_LOSS_BCE, 21);
    lstmae_model *b = tu_make_model(FX_D, 4, 3, 1, LSTMAE_LOSS_BCE, 21);
    ok_variant(fx, 0, &v);
    o.on_epoch = NULL;
    o.epochs = 2;
    lstmae_metrics la, lb;
    lstmae_metrics_init(&la);
    lstmae_metrics_init(&lb);
    QUIET(rc, lstmae_fit(a, &v.s, &v.s, &o, &la));
    tu_expect_status("fit with NaN/Inf padding", rc, LSTMAE_OK);
    tu_expect_status("fit", lstmae_fit(b, &fx->seqs, &fx->seqs, &o, &lb),
                     LSTMAE_OK);
    size_t n = 0;
    float *pb = tu_params_snapshot(b, &n);
    expect_params("fit with NaN/Inf padding vs clean padding", a, pb, n);
    assert_memory_equal(&la.loss, &lb.loss, sizeof la.loss);
    free(pb);
    lstmae_free(a);
    lstmae_free(b);
}

/* An old caller's options end before `momentum`; its metrics before
   `elements`. */
static void test_old_fit_options(void **state)
{
    fixture *fx = *state;
    lstmae_model *a = tu_make_model(FX_D, 4, 3, 1, LSTMAE_LOSS_MSE, 31);
    lstmae_model *b = tu_make_model(FX_D, 4, 3, 1, LSTMAE_LOSS_MSE, 31);

    lstmae_fit_options full;
    lstmae_fit_options_init(&full);
    full.epochs = 3;
    full.batch_size = 2;
    full.optimizer = LSTMAE_OPT_SGD;   /* where momentum would matter */
    full.learning_rate = 0.05f;
    full.num_threads = 1;
    full.momentum = 0.0f;

    union {
        lstmae_fit_options o;
        unsigned char b[sizeof(lstmae_fit_options) + 32];
    } u;
    const size_t pre = offsetof(lstmae_fit_options, momentum);
    fill_sentinel(u.b, sizeof u.b);   /* momentum would read as -2.9e-16 */
    memcpy(u.b, &full, pre);
    u.o.struct_size = pre;

    union {
        lstmae_metrics m;
        unsigned char b[sizeof(lstmae_metrics) + 32];
    } lm;
    const size_t mpre = offsetof(lstmae_metrics, elements);
    fill_sentinel(lm.b, sizeof lm.b);
    lm.m.struct_size = mpre;

    int rc = 0;
    QUIET(rc, lstmae_fit(a, &fx->seqs, NULL, &u.o, &lm.m));
    tu_expect_status("fit(old options, old metrics)", rc, LSTMAE_OK);
    tu_expect_sentinel("fit options after the prefix", u.b + pre,
                       sizeof u.b - pre);
    tu_expect_sentinel("last_train beyond struct_size", lm.b + mpre,
                       sizeof lm.b - mpre);

    lstmae_metrics lf;
    lstmae_metrics_init(&lf);
    tu_expect_status("fit(full options)",
                     lstmae_fit(b, &fx->seqs, NULL, &full, &lf), LSTMAE_OK);
    size_t n = 0;
    float *pb = tu_params_snapshot(b, &n);
    expect_params("old options vs momentum 0", a, pb, n);
    free(pb);
    assert_int_equal(lm.m.struct_size, mpre);
    assert_memory_equal(&lm.m.loss, &lf.loss, sizeof lf.loss);
    assert_memory_equal(&lm.m.accuracy, &lf.accuracy, sizeof lf.accuracy);
    assert_true(isnan(lf.accuracy));          /* mse */
    lstmae_free(a);
    lstmae_free(b);

    /* opt NULL means the defaults */
    a = tu_make_model(FX_D, 4, 3, 1, LSTMAE_LOSS_BCE, 32);
    b = tu_make_model(FX_D, 4, 3, 1, LSTMAE_LOSS_BCE, 32);
    lstmae_fit_options_init(&full);
    QUIET(rc, lstmae_fit(a, &fx->seqs, NULL, NULL, NULL));
    tu_expect_status("fit(opt NULL)", rc, LSTMAE_OK);
    tu_expect_status("fit(defaults)",
                     lstmae_fit(b, &fx->seqs, NULL, &full, NULL),
                     LSTMAE_OK);
    pb = tu_params_snapshot(b, &n);
    expect_params("opt NULL vs lstmae_fit_options_init", a, pb, n);
    free(pb);
    lstmae_free(a);
    lstmae_free(b);
}

/* ---- shapes whose element counts overflow size_t --------------------------- */

static void test_overflow_shapes(void **state)
{
    fixture *fx = *state;
    float small[64];
    int rc = 0;
    lstmae_sequences s = fx->seqs;
    const size_t huge[][2] = {
        /* count, max_len */
        {SIZE_MAX / 2, FX_T},
        {1, SIZE_MAX / 2},
        {(SIZE_MAX / FX_D) / 2 + 1, 2},
    };
    for (size_t h = 0; h < sizeof huge / sizeof huge[0]; h++) {
        s.count = huge[h][0];
        s.max_len = huge[h][1];
        s.lengths = NULL;       /* nothing to read that could stop it */
        char what[96];
        snprintf(what, sizeof what, "count %zu max_len %zu", s.count,
                 s.max_len);
        fill_sentinel(small, sizeof small);
        QUIET(rc, lstmae_encode(fx->model, &s, small));
        tu_expect_status(what, rc, LSTMAE_ERR_INVALID_ARG);
        QUIET(rc, lstmae_reconstruct(fx->model, &s, small));
        tu_expect_status(what, rc, LSTMAE_ERR_INVALID_ARG);
        tu_expect_sentinel(what, small, sizeof small);
        lstmae_metrics m;
        lstmae_metrics_init(&m);
        lstmae_metrics mb = m;
        QUIET(rc, lstmae_evaluate(fx->model, &s, &m));
        tu_expect_status(what, rc, LSTMAE_ERR_INVALID_ARG);
        expect_metrics_untouched(what, &mb, &m);
        lstmae_fit_options o;
        lstmae_fit_options_init(&o);
        o.epochs = 1;
        o.num_threads = 1;
        QUIET(rc, lstmae_fit(fx->model, &s, NULL, &o, NULL));
        tu_expect_status(what, rc, LSTMAE_ERR_INVALID_ARG);
    }
    float lat[FX_Z] = {0};
    fill_sentinel(small, sizeof small);
    QUIET(rc, lstmae_decode(fx->model, lat, 1, SIZE_MAX / 2, small));
    tu_expect_status("decode(length SIZE_MAX/2)", rc, LSTMAE_ERR_INVALID_ARG);
    QUIET(rc, lstmae_decode(fx->model, lat, SIZE_MAX / 2, 1, small));
    tu_expect_status("decode(count SIZE_MAX/2)", rc, LSTMAE_ERR_INVALID_ARG);
    tu_expect_sentinel("decode overflow", small, sizeof small);
    fx_expect_model_unchanged(fx, "overflowing shapes");
}

/*
 * max_len 0 makes count * max_len * input_dim 0 whatever count is, but the
 * latent output still has count * latent_dim elements: a count for which
 * that overflows size_t must be rejected too. Run in a child process, so
 * that a library that goes ahead (and writes far past the buffer, or loops
 * for ages) fails this test instead of taking the whole program down.
 */
static void test_overflow_latent(void **state)
{
    fixture *fx = *state;
    const size_t count = SIZE_MAX / FX_Z + 1;     /* count * Z overflows */
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child: cmocka's handlers must not resume the test run here */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        signal(SIGILL, SIG_DFL);
        signal(SIGFPE, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        alarm(5);
        float small[64];
        fill_sentinel(small, sizeof small);
        lstmae_sequences s = {NULL, NULL, count, 0};
        int rc = lstmae_encode(fx->model, &s, small);
        const unsigned char *b = (const unsigned char *)small;
        for (size_t i = 0; i < sizeof small; i++)
            if (b[i] != TU_SENTINEL)
                _exit(99);
        _exit(rc == LSTMAE_ERR_INVALID_ARG ? 0 : 100 - rc);
    }
    int status = 0;
    assert_true(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status))
        fail_msg("encode(count %zu, max_len 0) with latent_dim %d: killed by "
                 "signal %d (%s), want LSTMAE_ERR_INVALID_ARG", count, FX_Z,
                 WTERMSIG(status),
                 WTERMSIG(status) == SIGALRM ? "still running after 5 s"
                                             : "crashed");
    assert_true(WIFEXITED(status));
    int code = WEXITSTATUS(status);
    if (code == 99)
        fail_msg("encode(count %zu, max_len 0): wrote to latent", count);
    if (code != 0)
        fail_msg("encode(count %zu, max_len 0): status %d, want %d", count,
                 100 - code, LSTMAE_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_runtime_info),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_create_bad),
        cmocka_unit_test(test_check_reasons),
        cmocka_unit_test(test_create_seed),
        cmocka_unit_test(test_num_threads),
        cmocka_unit_test_setup_teardown(test_get_config, fx_setup, fx_teardown),
        cmocka_unit_test(test_old_config),
        cmocka_unit_test(test_param_table),
        cmocka_unit_test(test_param_table_gru),
        cmocka_unit_test(test_param_roundtrip),
        cmocka_unit_test_setup_teardown(test_get_param_bad, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_set_param_bad, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_encode_bad, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_reconstruct_bad, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_decode_bad, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_evaluate_bad, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_old_metrics, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_fit_bad, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_old_fit_options, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_overflow_shapes, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(test_overflow_latent, fx_setup,
                                        fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

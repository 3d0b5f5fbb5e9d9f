/*
 * test_alloc.c - allocation-failure injection, memory estimates, and
 * lstmae_check_sequences.
 *
 * A counting allocator (lstmae_allocator) keeps live and peak bytes and
 * can fail its k-th allocation. For every public call that allocates
 * (create, fit, encode, decode, reconstruct, evaluate, save, load from a
 * file or a buffer) the call is repeated with k = 1, 2, ... until it
 * succeeds, and after each failure:
 *  - the status is LSTMAE_ERR_NOMEM and the failed allocation was reached;
 *  - the live bytes and blocks are back to what they were before the call
 *    (LeakSanitizer checks the same in the sanitizer build, valgrind in
 *    the memcheck stage);
 *  - the model is unchanged bit for bit: every parameter (lstmae_get_param)
 *    and the saved bytes with training state (optimiser moments and steps,
 *    generator, epochs done), compared with an untouched twin; outputs are
 *    untouched (sentinel bytes) and no file was written;
 *  - the model is still usable: a following call succeeds and gives the
 *    same bits as the twin (for fit: the twin fitted alike, then both one
 *    more epoch).
 * The counts (allocations per call, failures injected, leaks) are printed.
 *
 * The peak live bytes of fit, encode, decode, reconstruct and evaluate stay
 * within lstmae_fit_memory / lstmae_infer_memory (and above 90% of it).
 *
 * Only the public API is used.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "lstmae.h"

/* ---- the counting allocator ---------------------------------------------- */

/* Each block carries its size and a tag in front; the header keeps the
   alignment malloc gives (any type). */
typedef union block_header {
    max_align_t align;
    struct {
        size_t size;
        size_t tag;
    } h;
} block_header;

#define LIVE_TAG ((size_t)0x4c53544d41452121u)
#define DEAD_TAG ((size_t)0xdeadbeefdeadbeefu)

typedef struct counter {
    size_t calls;       /* alloc calls since counter_arm                 */
    size_t fail_at;     /* 1-based call to fail; 0: none                 */
    size_t live_bytes, live_blocks;
    size_t peak_bytes;  /* most live bytes since counter_arm             */
    size_t bad_frees;   /* free of a pointer it did not hand out         */
} counter;

static void *counting_alloc(void *opaque, size_t size)
{
    counter *c = opaque;
    c->calls++;
    if (c->fail_at != 0 && c->calls == c->fail_at) return NULL;
    if (size > SIZE_MAX - sizeof(block_header)) return NULL;
    block_header *b = malloc(sizeof *b + size);
    if (!b) return NULL;
    b->h.size = size;
    b->h.tag = LIVE_TAG;
    c->live_bytes += size;
    c->live_blocks++;
    if (c->live_bytes > c->peak_bytes) c->peak_bytes = c->live_bytes;
    return b + 1;
}

static void counting_free(void *opaque, void *p)
{
    counter *c = opaque;
    if (!p) {
        c->bad_frees++; /* documented: never called with NULL */
        return;
    }
    block_header *b = (block_header *)p - 1;
    if (b->h.tag != LIVE_TAG || b->h.size > c->live_bytes || c->live_blocks == 0) {
        c->bad_frees++;
        return;
    }
    b->h.tag = DEAD_TAG;
    c->live_bytes -= b->h.size;
    c->live_blocks--;
    free(b);
}

static lstmae_allocator counter_allocator(counter *c)
{
    memset(c, 0, sizeof *c);
    lstmae_allocator a = { counting_alloc, counting_free, c };
    return a;
}

/* Starts counting calls (failing the k-th, k >= 1; 0: none) and the peak. */
static void counter_arm(counter *c, size_t k)
{
    c->calls = 0;
    c->fail_at = k;
    c->peak_bytes = c->live_bytes;
}

static void counter_disarm(counter *c) { c->fail_at = 0; }

/* ---- the counts for the closing note -------------------------------------- */

static size_t g_sites;    /* allocations made by the successful calls      */
static size_t g_injected; /* failures injected                            */
static size_t g_leaks;    /* failed calls that did not free what they took */
static size_t g_calls;    /* calls put through injection                  */

/* ---- helpers ------------------------------------------------------------- */

#define MAX_K 1000 /* no call allocates this often: a loop that never ends */

static char g_dir[64]; /* a fresh temporary directory for the files */

/* Entries in g_dir, "." and ".." aside. */
static size_t dir_entries(void)
{
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static void dir_path(char *out, size_t cap, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", g_dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* The model's saved bytes with training state (saving to a buffer
   allocates nothing); free() them. */
static unsigned char *model_bytes(const lstmae_model *m, size_t *size)
{
    *size = lstmae_saved_size(m);
    assert_true(*size > 0);
    unsigned char *b = malloc(*size);
    assert_non_null(b);
    tu_expect_status("save_buffer", lstmae_save_buffer(m, b, *size), LSTMAE_OK);
    return b;
}

/* Every parameter (lstmae_get_param) and the whole saved state, training
   state included, are the same bits. */
static void expect_same_model(const char *what, const lstmae_model *a,
                              const lstmae_model *b)
{
    size_t n = lstmae_param_count(a);
    assert_int_equal(n, lstmae_param_count(b));
    for (size_t i = 0; i < n; i++) {
        const char *name = lstmae_param_name(a, i);
        size_t size = lstmae_param_size(a, name);
        assert_int_equal(size, lstmae_param_size(b, name));
        float *pa = malloc(size * sizeof *pa), *pb = malloc(size * sizeof *pb);
        assert_true(pa && pb);
        tu_expect_status("get_param", lstmae_get_param(a, name, pa, size), LSTMAE_OK);
        tu_expect_status("get_param", lstmae_get_param(b, name, pb, size), LSTMAE_OK);
        char label[160];
        snprintf(label, sizeof label, "%s: %s", what, name);
        tu_assert_bits_equal(label, pa, pb, size);
        free(pa);
        free(pb);
    }
    size_t na, nb;
    unsigned char *ba = model_bytes(a, &na), *bb = model_bytes(b, &nb);
    if (na != nb) fail_msg("%s: saved sizes %zu and %zu", what, na, nb);
    for (size_t i = 0; i < na; i++)
        if (ba[i] != bb[i])
            fail_msg("%s: saved state differs at byte %zu of %zu (training state)",
                     what, i, na);
    assert_int_equal(lstmae_epochs_done(a), lstmae_epochs_done(b));
    free(ba);
    free(bb);
}

static lstmae_config small_config(lstmae_loss loss, int layers, uint64_t seed)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = 3;
    cfg.hidden_dim = 6;
    cfg.latent_dim = 4;
    cfg.num_layers = layers;
    cfg.loss = loss;
    cfg.seed = seed;
    return cfg;
}

/* A set of `count` sequences of up to T steps of D values in [0, 1):
   random lengths 0..T (at least one step in the set), NaN padding. */
typedef struct dataset {
    float *data;
    int32_t *lengths;
    lstmae_sequences s;
} dataset;

static void dataset_make(dataset *ds, size_t count, size_t T, size_t D,
                         int var_lengths, uint64_t seed)
{
    memset(ds, 0, sizeof *ds);
    size_t values = count * T * D;
    ds->data = malloc((values > 0 ? values : 1) * sizeof *ds->data);
    ds->lengths = malloc(count * sizeof *ds->lengths);
    assert_true(ds->data && ds->lengths);
    for (size_t i = 0; i < count; i++) {
        size_t L = var_lengths ? (size_t)(tu_rand_u64(&seed) % (T + 1)) : T;
        if (i == 0) L = T;
        ds->lengths[i] = (int32_t)L;
        float *x = ds->data + i * T * D;
        tu_fill_uniform(&seed, x, L * D, 0.0f, 1.0f);
        for (size_t j = L * D; j < T * D; j++) x[j] = NAN;
    }
    ds->s.data = ds->data;
    ds->s.lengths = ds->lengths;
    ds->s.count = count;
    ds->s.max_len = T;
}

static void dataset_free(dataset *ds)
{
    free(ds->data);
    free(ds->lengths);
    memset(ds, 0, sizeof *ds);
}

/* A model through the counter, trained a little so that its optimiser
   state is not all zeros, and its twin through malloc, trained alike. */
static void make_pair(counter *c, lstmae_allocator *a, lstmae_loss loss,
                      lstmae_model **m, lstmae_model **twin, const dataset *train)
{
    lstmae_config cfg = small_config(loss, 2, 7);
    *a = counter_allocator(c);
    tu_expect_status("create_advanced", lstmae_create_advanced(&cfg, a, m), LSTMAE_OK);
    tu_expect_status("create", lstmae_create(&cfg, twin), LSTMAE_OK);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 1;
    o.batch_size = 4;
    tu_expect_status("warm-up fit", lstmae_fit(*m, &train->s, NULL, &o, NULL), LSTMAE_OK);
    tu_expect_status("warm-up fit", lstmae_fit(*twin, &train->s, NULL, &o, NULL), LSTMAE_OK);
    expect_same_model("after warm-up", *m, *twin);
}

/* ---- the injection loop --------------------------------------------------- */

typedef struct inject_case {
    const char *name;
    counter *c;
    int (*call)(void *ctx);
    void (*after_failure)(void *ctx, size_t k); /* unchanged, untouched    */
    void (*after_success)(void *ctx);           /* same result as the twin */
    int keeps_memory;   /* success leaves allocations live (create, load) */
    void *ctx;
} inject_case;

/* Runs ic->call failing its k-th allocation, k = 1, 2, ... until it
   succeeds; checks and counts as the file comment says. */
static void inject(const inject_case *ic)
{
    counter *c = ic->c;
    size_t leaks = 0, k;
    for (k = 1;; k++) {
        if (k > MAX_K) fail_msg("%s: still failing at k = %zu", ic->name, k);
        size_t live0 = c->live_bytes, blocks0 = c->live_blocks;
        counter_arm(c, k);
        int st = ic->call(ic->ctx);
        size_t calls = c->calls;
        counter_disarm(c);
        if (st == LSTMAE_OK) {
            /* every allocation before the k-th was failed once */
            if (calls != k - 1)
                fail_msg("%s: succeeded with allocation %zu failing (%zu calls)",
                         ic->name, k, calls);
            if (!ic->keeps_memory &&
                (c->live_bytes != live0 || c->live_blocks != blocks0))
                fail_msg("%s: success left %zu bytes in %zu blocks allocated",
                         ic->name, c->live_bytes - live0, c->live_blocks - blocks0);
            break;
        }
        char what[160];
        snprintf(what, sizeof what, "%s, allocation %zu failing", ic->name, k);
        tu_expect_status(what, st, LSTMAE_ERR_NOMEM);
        if (calls < k) fail_msg("%s: NOMEM after only %zu allocations", what, calls);
        if (c->live_bytes != live0 || c->live_blocks != blocks0) {
            print_message("LEAK %s: %zu bytes in %zu blocks still allocated\n", what,
                          c->live_bytes - live0, c->live_blocks - blocks0);
            leaks++;
        }
        assert_int_equal(c->bad_frees, 0);
        ic->after_failure(ic->ctx, k);
    }
    assert_int_equal(c->bad_frees, 0);
    ic->after_success(ic->ctx);
    print_message("alloc: %-52s %2zu allocations, %2zu failures injected, %zu leaks\n",
                  ic->name, k - 1, k - 1, leaks);
    g_sites += k - 1;
    g_injected += k - 1;
    g_leaks += leaks;
    g_calls++;
    if (leaks) fail_msg("%s: %zu failed calls leaked", ic->name, leaks);
}

/* ---- create -------------------------------------------------------------- */

typedef struct create_ctx {
    lstmae_config cfg;
    lstmae_allocator a;
    counter *c;
    lstmae_model *m;
} create_ctx;

static int create_call(void *p)
{
    create_ctx *x = p;
    x->m = (lstmae_model *)(uintptr_t)1; /* must become NULL on failure */
    return lstmae_create_advanced(&x->cfg, &x->a, &x->m);
}

static void create_failed(void *p, size_t k)
{
    (void)k;
    create_ctx *x = p;
    assert_null(x->m);
    assert_int_equal(x->c->live_bytes, 0);
}

static void create_succeeded(void *p)
{
    create_ctx *x = p;
    lstmae_model *ref;
    tu_expect_status("create", lstmae_create(&x->cfg, &ref), LSTMAE_OK);
    expect_same_model("create_advanced vs create", x->m, ref);
    assert_true(x->c->live_bytes > 0);
    lstmae_free(x->m);
    lstmae_free(ref);
    assert_int_equal(x->c->live_bytes, 0);
    assert_int_equal(x->c->live_blocks, 0);
}

static void test_inject_create(void **state)
{
    (void)state;
    static const int layers[] = { 1, 3 };
    for (size_t i = 0; i < 2; i++) {
        counter c;
        create_ctx x;
        x.a = counter_allocator(&c);
        x.c = &c;
        x.cfg = small_config(LSTMAE_LOSS_BCE, layers[i], 3);
        x.m = NULL;
        inject_case ic = { layers[i] == 1 ? "create_advanced (1 layer)"
                                          : "create_advanced (3 layers)",
                           &c, create_call, create_failed, create_succeeded, 1, &x };
        inject(&ic);
    }
}

/* ---- fit ----------------------------------------------------------------- */

typedef struct fit_ctx {
    counter *c;
    lstmae_model *m, *twin;
    dataset train, valid;
    int use_valid;
    lstmae_fit_options opt;
    char ckpt[256], twin_ckpt[256];
    lstmae_metrics last;
} fit_ctx;

static int fit_call(void *p)
{
    fit_ctx *x = p;
    memset(&x->last, TU_SENTINEL, sizeof x->last);
    x->last.struct_size = sizeof x->last;
    return lstmae_fit(x->m, &x->train.s, x->use_valid ? &x->valid.s : NULL, &x->opt,
                      &x->last);
}

static void fit_failed(void *p, size_t k)
{
    fit_ctx *x = p;
    char what[96];
    snprintf(what, sizeof what, "fit, allocation %zu failing", k);
    tu_expect_sentinel(what, (const char *)&x->last + sizeof(size_t),
                       sizeof x->last - sizeof(size_t));
    expect_same_model(what, x->m, x->twin);
    /* no checkpoint, no temporary file */
    assert_int_equal(dir_entries(), 0);
    /* still usable */
    lstmae_metrics me, mt;
    lstmae_metrics_init(&me);
    lstmae_metrics_init(&mt);
    tu_expect_status(what, lstmae_evaluate(x->m, &x->train.s, &me), LSTMAE_OK);
    tu_expect_status(what, lstmae_evaluate(x->twin, &x->train.s, &mt), LSTMAE_OK);
    assert_memory_equal(&me, &mt, sizeof me);
}

static void fit_succeeded(void *p)
{
    fit_ctx *x = p;
    lstmae_fit_options o = x->opt;
    if (o.checkpoint_path) o.checkpoint_path = x->twin_ckpt;
    lstmae_metrics last;
    lstmae_metrics_init(&last);
    tu_expect_status("twin fit",
                     lstmae_fit(x->twin, &x->train.s, x->use_valid ? &x->valid.s : NULL,
                                &o, &last),
                     LSTMAE_OK);
    expect_same_model("fit after injection vs twin", x->m, x->twin);
    assert_memory_equal(&last, &x->last, sizeof last);
    if (x->opt.checkpoint_path) {
        /* both checkpoints hold the same bytes */
        lstmae_model *a, *b;
        tu_expect_status("load checkpoint", lstmae_load(x->ckpt, &a), LSTMAE_OK);
        tu_expect_status("load twin checkpoint", lstmae_load(x->twin_ckpt, &b), LSTMAE_OK);
        expect_same_model("checkpoints", a, b);
        lstmae_free(a);
        lstmae_free(b);
        assert_int_equal(unlink(x->ckpt), 0);
        assert_int_equal(unlink(x->twin_ckpt), 0);
    }
    /* the training state carries on alike: one more epoch each */
    lstmae_fit_options more;
    lstmae_fit_options_init(&more);
    more.epochs = 1;
    more.batch_size = 3;
    tu_expect_status("one more epoch", lstmae_fit(x->m, &x->train.s, NULL, &more, NULL),
                     LSTMAE_OK);
    tu_expect_status("one more epoch (twin)",
                     lstmae_fit(x->twin, &x->train.s, NULL, &more, NULL), LSTMAE_OK);
    expect_same_model("one more epoch", x->m, x->twin);
}

static void run_fit_case(const char *name, lstmae_optimizer optimizer, int use_valid,
                         int patience, int checkpoint, int threads)
{
    counter c;
    lstmae_allocator a;
    fit_ctx x;
    memset(&x, 0, sizeof x);
    x.c = &c;
    dataset_make(&x.train, 11, 6, 3, 1, 101);
    dataset_make(&x.valid, 5, 8, 3, 1, 202);
    x.use_valid = use_valid;
    make_pair(&c, &a, LSTMAE_LOSS_BCE, &x.m, &x.twin, &x.train);
    dir_path(x.ckpt, sizeof x.ckpt, "fit.lstmae");
    dir_path(x.twin_ckpt, sizeof x.twin_ckpt, "twin.lstmae");
    lstmae_fit_options_init(&x.opt);
    x.opt.epochs = 3;
    x.opt.batch_size = 4;
    x.opt.optimizer = optimizer;
    x.opt.momentum = optimizer == LSTMAE_OPT_SGD ? 0.9f : 0.0f;
    x.opt.learning_rate = optimizer == LSTMAE_OPT_SGD ? 0.1f : 0.01f;
    x.opt.patience = patience;
    x.opt.checkpoint_path = checkpoint ? x.ckpt : NULL;
    x.opt.num_threads = threads;
    inject_case ic = { name, &c, fit_call, fit_failed, fit_succeeded, 0, &x };
    inject(&ic);
    lstmae_free(x.m);
    lstmae_free(x.twin);
    assert_int_equal(c.live_bytes, 0);
    assert_int_equal(c.live_blocks, 0);
    dataset_free(&x.train);
    dataset_free(&x.valid);
}

static void test_inject_fit(void **state)
{
    (void)state;
    /* every allocation site: shard workspaces, the validation plan,
       the early-stopping snapshot and the checkpoint buffer */
    run_fit_case("fit (valid, patience, checkpoint, 3 threads)", LSTMAE_OPT_ADAM,
                 1, 1, 1, 3);
    run_fit_case("fit (plain, 1 thread)", LSTMAE_OPT_ADAM, 0, 0, 0, 1);
    run_fit_case("fit (sgd momentum, valid, checkpoint, 2 threads)", LSTMAE_OPT_SGD,
                 1, 0, 1, 2);
}

/* ---- inference ----------------------------------------------------------- */

enum infer_kind { ENCODE, DECODE, RECONSTRUCT, EVALUATE };

typedef struct infer_ctx {
    enum infer_kind kind;
    counter *c;
    lstmae_model *m, *twin;
    const lstmae_sequences *in;
    float *latent;          /* [count][Z] decode's input        */
    size_t length;          /* decode's length                   */
    void *out;              /* the output under test             */
    size_t out_bytes;
    unsigned char *before;  /* the model's bytes before the call */
    size_t before_size;
} infer_ctx;

static int infer_run(infer_ctx *x, const lstmae_model *m, void *out)
{
    switch (x->kind) {
    case ENCODE: return lstmae_encode(m, x->in, out);
    case DECODE: return lstmae_decode(m, x->latent, x->in->count, x->length, out);
    case RECONSTRUCT: return lstmae_reconstruct(m, x->in, out);
    case EVALUATE: {
        lstmae_metrics *mt = out;
        mt->struct_size = sizeof *mt;
        return lstmae_evaluate(m, x->in, mt);
    }
    }
    return LSTMAE_ERR_INVALID_ARG;
}

static int infer_call(void *p)
{
    infer_ctx *x = p;
    memset(x->out, TU_SENTINEL, x->out_bytes);
    if (x->kind == EVALUATE) {
        lstmae_metrics *mt = x->out;
        mt->struct_size = sizeof *mt;
    }
    return infer_run(x, x->m, x->out);
}

/* The output: all of it, but evaluate's struct_size. */
static void *payload(infer_ctx *x, void *out, size_t *bytes)
{
    if (x->kind == EVALUATE) {
        *bytes = x->out_bytes - sizeof(size_t);
        return (char *)out + sizeof(size_t);
    }
    *bytes = x->out_bytes;
    return out;
}

static void infer_check_unchanged(infer_ctx *x, const char *what)
{
    size_t n;
    unsigned char *now = model_bytes(x->m, &n);
    assert_int_equal(n, x->before_size);
    if (memcmp(now, x->before, n) != 0) fail_msg("%s: the model changed", what);
    free(now);
}

static void infer_failed(void *p, size_t k)
{
    infer_ctx *x = p;
    char what[96];
    snprintf(what, sizeof what, "inference kind %d, allocation %zu failing", (int)x->kind, k);
    size_t bytes;
    const void *out = payload(x, x->out, &bytes);
    tu_expect_sentinel(what, out, bytes);
    infer_check_unchanged(x, what);
}

static void infer_succeeded(void *p)
{
    infer_ctx *x = p;
    infer_check_unchanged(x, "after success");
    void *want = malloc(x->out_bytes);
    assert_non_null(want);
    memset(want, TU_SENTINEL, x->out_bytes);
    tu_expect_status("twin", infer_run(x, x->twin, want), LSTMAE_OK);
    size_t bytes;
    const unsigned char *g = payload(x, x->out, &bytes);
    const unsigned char *w = payload(x, want, &bytes);
    for (size_t i = 0; i < bytes; i++)
        if (g[i] != w[i])
            fail_msg("inference kind %d: output byte %zu differs from the twin's",
                     (int)x->kind, i);
    free(want);
}

static void test_inject_infer(void **state)
{
    (void)state;
    counter c;
    lstmae_allocator a;
    dataset train, in;
    dataset_make(&train, 9, 5, 3, 1, 303);
    dataset_make(&in, 7, 6, 3, 1, 404);
    infer_ctx x;
    memset(&x, 0, sizeof x);
    x.c = &c;
    make_pair(&c, &a, LSTMAE_LOSS_BCE, &x.m, &x.twin, &train);
    x.in = &in.s;
    x.before = model_bytes(x.m, &x.before_size);
    size_t Z = 4, D = 3;
    x.latent = malloc(in.s.count * Z * sizeof *x.latent);
    assert_non_null(x.latent);
    tu_expect_status("latent", lstmae_encode(x.twin, &in.s, x.latent), LSTMAE_OK);
    x.length = 9;

    static const struct { enum infer_kind kind; const char *name, *threaded; } kinds[] = {
        { ENCODE, "encode", "encode, 3 threads" }, { DECODE, "decode", "decode, 3 threads" },
        { RECONSTRUCT, "reconstruct", "reconstruct, 3 threads" },
        { EVALUATE, "evaluate", "evaluate, 3 threads" },
    };
    for (size_t i = 0; i < 8; i++) {
        if (i == 4) {
            /* again with 3 workers: every worker's allocations */
            tu_expect_status("threads", lstmae_set_num_threads(x.m, 3), LSTMAE_OK);
            tu_expect_status("threads", lstmae_set_num_threads(x.twin, 3), LSTMAE_OK);
        }
        x.kind = kinds[i % 4].kind;
        switch (x.kind) {
        case ENCODE: x.out_bytes = in.s.count * Z * sizeof(float); break;
        case DECODE: x.out_bytes = in.s.count * x.length * D * sizeof(float); break;
        case RECONSTRUCT: x.out_bytes = in.s.count * in.s.max_len * D * sizeof(float); break;
        case EVALUATE: x.out_bytes = sizeof(lstmae_metrics); break;
        }
        x.out = malloc(x.out_bytes);
        assert_non_null(x.out);
        inject_case ic = { i < 4 ? kinds[i].name : kinds[i % 4].threaded, &c, infer_call,
                           infer_failed, infer_succeeded, 0, &x };
        inject(&ic);
        free(x.out);
        x.out = NULL;
    }
    free(x.latent);
    free(x.before);
    lstmae_free(x.m);
    lstmae_free(x.twin);
    assert_int_equal(c.live_bytes, 0);
    dataset_free(&train);
    dataset_free(&in);
}

/* ---- save ---------------------------------------------------------------- */

typedef struct save_ctx {
    counter *c;
    lstmae_model *m, *twin;
    unsigned flags;
    int to_buffer;
    char path[256];
    unsigned char *buf;
    size_t size;
} save_ctx;

static int save_call(void *p)
{
    save_ctx *x = p;
    if (x->to_buffer) {
        memset(x->buf, TU_SENTINEL, x->size);
        return lstmae_save_buffer_ex(x->m, x->buf, x->size, x->flags);
    }
    return lstmae_save_ex(x->m, x->path, x->flags);
}

static void save_failed(void *p, size_t k)
{
    save_ctx *x = p;
    char what[96];
    snprintf(what, sizeof what, "save, allocation %zu failing", k);
    if (x->to_buffer) tu_expect_sentinel(what, x->buf, x->size);
    assert_int_equal(dir_entries(), 0); /* no file, no temporary file */
    expect_same_model(what, x->m, x->twin);
}

static void save_succeeded(void *p)
{
    save_ctx *x = p;
    expect_same_model("after save", x->m, x->twin);
    size_t n = lstmae_saved_size_ex(x->twin, x->flags);
    unsigned char *want = malloc(n);
    assert_non_null(want);
    tu_expect_status("twin save_buffer", lstmae_save_buffer_ex(x->twin, want, n, x->flags),
                     LSTMAE_OK);
    if (x->to_buffer) {
        assert_int_equal(x->size, n);
        assert_memory_equal(x->buf, want, n);
    } else {
        FILE *f = fopen(x->path, "rb");
        assert_non_null(f);
        unsigned char *got = malloc(n + 1);
        assert_non_null(got);
        size_t r = fread(got, 1, n + 1, f);
        fclose(f);
        assert_int_equal(r, n);
        assert_memory_equal(got, want, n);
        free(got);
        assert_int_equal(unlink(x->path), 0);
    }
    free(want);
}

static void test_inject_save(void **state)
{
    (void)state;
    counter c;
    lstmae_allocator a;
    dataset train;
    dataset_make(&train, 9, 5, 3, 1, 505);
    save_ctx x;
    memset(&x, 0, sizeof x);
    x.c = &c;
    make_pair(&c, &a, LSTMAE_LOSS_MSE, &x.m, &x.twin, &train);
    dir_path(x.path, sizeof x.path, "saved.lstmae");
    static const struct { int to_buffer; unsigned flags; const char *name; } cases[] = {
        { 0, 0, "save (file)" },
        { 0, LSTMAE_SAVE_INFERENCE_ONLY, "save_ex (file, inference only)" },
        { 1, 0, "save_buffer" },
        { 1, LSTMAE_SAVE_INFERENCE_ONLY, "save_buffer_ex (inference only)" },
    };
    for (size_t i = 0; i < 4; i++) {
        x.to_buffer = cases[i].to_buffer;
        x.flags = cases[i].flags;
        x.size = lstmae_saved_size_ex(x.m, x.flags);
        x.buf = malloc(x.size);
        assert_non_null(x.buf);
        inject_case ic = { cases[i].name, &c, save_call, save_failed, save_succeeded, 0,
                           &x };
        inject(&ic);
        free(x.buf);
    }
    lstmae_free(x.m);
    lstmae_free(x.twin);
    assert_int_equal(c.live_bytes, 0);
    dataset_free(&train);
}

/* ---- load ---------------------------------------------------------------- */

typedef struct load_ctx {
    counter *c;
    lstmae_allocator a;
    int from_buffer;
    const char *path;
    const unsigned char *buf;
    size_t size;
    const lstmae_model *want; /* what loading gives through malloc */
    lstmae_model *m;
} load_ctx;

static int load_call(void *p)
{
    load_ctx *x = p;
    x->m = (lstmae_model *)(uintptr_t)1; /* must become NULL on failure */
    if (x->from_buffer) return lstmae_load_buffer_advanced(x->buf, x->size, &x->a, &x->m);
    return lstmae_load_advanced(x->path, &x->a, &x->m);
}

static void load_failed(void *p, size_t k)
{
    (void)k;
    load_ctx *x = p;
    assert_null(x->m);
    assert_int_equal(x->c->live_bytes, 0);
}

static void load_succeeded(void *p)
{
    load_ctx *x = p;
    expect_same_model("loaded through the counter", x->m, x->want);
    /* the loaded model allocates through the counter too */
    dataset in;
    dataset_make(&in, 4, 5, 3, 1, 606);
    float z[4 * 4];
    counter_arm(x->c, 0);
    tu_expect_status("encode with the loaded model", lstmae_encode(x->m, &in.s, z), LSTMAE_OK);
    assert_true(x->c->calls > 0);
    dataset_free(&in);
    lstmae_free(x->m);
    x->m = NULL;
    assert_int_equal(x->c->live_bytes, 0);
    assert_int_equal(x->c->live_blocks, 0);
}

static void test_inject_load(void **state)
{
    (void)state;
    counter c;
    lstmae_allocator a;
    dataset train;
    dataset_make(&train, 9, 5, 3, 1, 707);
    lstmae_model *m, *twin;
    make_pair(&c, &a, LSTMAE_LOSS_BCE, &m, &twin, &train);
    lstmae_free(m);
    assert_int_equal(c.live_bytes, 0);

    for (unsigned flags = 0; flags <= LSTMAE_SAVE_INFERENCE_ONLY; flags++) {
        size_t size = lstmae_saved_size_ex(twin, flags);
        unsigned char *buf = malloc(size);
        assert_non_null(buf);
        tu_expect_status("save_buffer", lstmae_save_buffer_ex(twin, buf, size, flags), LSTMAE_OK);
        char path[256];
        dir_path(path, sizeof path, "load.lstmae");
        tu_expect_status("save", lstmae_save_ex(twin, path, flags), LSTMAE_OK);
        lstmae_model *want;
        tu_expect_status("load_buffer", lstmae_load_buffer(buf, size, &want), LSTMAE_OK);
        if (flags == 0) expect_same_model("round trip", want, twin);

        for (int from_buffer = 0; from_buffer <= 1; from_buffer++) {
            load_ctx x = { &c, a, from_buffer, path, buf, size, want, NULL };
            const char *name = from_buffer
                ? (flags ? "load_buffer_advanced (inference only)"
                         : "load_buffer_advanced (training state)")
                : (flags ? "load_advanced (file, inference only)"
                         : "load_advanced (file, training state)");
            inject_case ic = { name, &c, load_call, load_failed, load_succeeded, 1, &x };
            inject(&ic);
        }
        lstmae_free(want);
        assert_int_equal(unlink(path), 0);
        free(buf);
    }
    lstmae_free(twin);
    dataset_free(&train);
}

/* ---- peak memory against the estimates ------------------------------------ */

static void expect_within(const char *what, size_t peak, size_t estimate)
{
    double ratio = estimate ? (double)peak / (double)estimate : 0.0;
    print_message("peak: %-58s %10zu of %10zu bytes (%.1f%%)\n", what, peak, estimate,
                  100.0 * ratio);
    if (estimate == 0) fail_msg("%s: estimate 0", what);
    if (peak > estimate) fail_msg("%s: peak %zu above the estimate %zu", what, peak, estimate);
    if (ratio < 0.9) fail_msg("%s: peak %zu below 90%% of the estimate %zu", what, peak, estimate);
}

typedef struct peak_shape {
    const char *name;
    size_t count, T;
    int hidden, layers;
    int threads;            /* lstmae_set_num_threads */
} peak_shape;

static void test_peak_infer(void **state)
{
    (void)state;
    static const peak_shape shapes[] = {
        { "7 x 6 steps", 7, 6, 6, 1, 0 },
        { "300 x 3 steps (two chunks)", 300, 3, 6, 2, 0 },
        { "90 x 1000 steps (chunks under 256)", 90, 1000, 16, 1, 0 },
        { "5 x 0 steps", 5, 0, 6, 1, 0 },
        { "7 x 6 steps, 3 threads", 7, 6, 6, 1, 3 },
        { "1100 x 3 steps, 2 threads (two chunks each)", 1100, 3, 6, 2, 2 },
        { "90 x 1000 steps, 4 threads", 90, 1000, 16, 1, 4 },
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const peak_shape *sh = &shapes[i];
        counter c;
        lstmae_allocator a = counter_allocator(&c);
        lstmae_config cfg = small_config(LSTMAE_LOSS_BCE, sh->layers, 11);
        cfg.hidden_dim = sh->hidden;
        lstmae_model *m;
        tu_expect_status("create", lstmae_create_advanced(&cfg, &a, &m), LSTMAE_OK);
        tu_expect_status("threads", lstmae_set_num_threads(m, sh->threads), LSTMAE_OK);
        dataset in;
        dataset_make(&in, sh->count, sh->T, 3, 1, 808 + i);
        size_t Z = 4, D = 3, T = sh->T, n = sh->count;
        size_t est = lstmae_infer_memory(m, n, T);
        float *z = malloc(n * Z * sizeof *z);
        size_t values = n * T * D;
        float *y = malloc((values > 0 ? values : 1) * sizeof *y);
        assert_true(z && y);
        char what[128];
        size_t live0 = c.live_bytes;

        counter_arm(&c, 0);
        tu_expect_status("encode", lstmae_encode(m, &in.s, z), LSTMAE_OK);
        snprintf(what, sizeof what, "encode %s", sh->name);
        expect_within(what, c.peak_bytes - live0, est);

        counter_arm(&c, 0);
        tu_expect_status("reconstruct", lstmae_reconstruct(m, &in.s, y), LSTMAE_OK);
        snprintf(what, sizeof what, "reconstruct %s", sh->name);
        expect_within(what, c.peak_bytes - live0, est);

        if (T > 0) {
            lstmae_metrics mt;
            lstmae_metrics_init(&mt);
            counter_arm(&c, 0);
            tu_expect_status("evaluate", lstmae_evaluate(m, &in.s, &mt), LSTMAE_OK);
            snprintf(what, sizeof what, "evaluate %s", sh->name);
            expect_within(what, c.peak_bytes - live0, est);

            counter_arm(&c, 0);
            tu_expect_status("decode", lstmae_decode(m, z, n, T, y), LSTMAE_OK);
            snprintf(what, sizeof what, "decode %s", sh->name);
            expect_within(what, c.peak_bytes - live0, est);
        }
        assert_int_equal(c.live_bytes, live0);
        free(z);
        free(y);
        dataset_free(&in);
        lstmae_free(m);
        assert_int_equal(c.live_bytes, 0);
    }
}

static void test_peak_fit(void **state)
{
    (void)state;
    typedef struct {
        const char *name;
        size_t count, T;
        int use_valid, patience, checkpoint, threads, batch;
    } fit_shape;
    static const fit_shape shapes[] = {
        { "plain, batch 4", 11, 6, 0, 0, 0, 1, 4 },
        { "valid + patience, batch 64 > count", 11, 6, 1, 2, 0, 0, 64 },
        { "valid + patience + checkpoint, 3 threads", 20, 9, 1, 1, 1, 3, 8 },
        { "checkpoint, 4 threads, batch 2", 9, 4, 0, 0, 1, 4, 2 },
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const fit_shape *sh = &shapes[i];
        counter c;
        lstmae_allocator a = counter_allocator(&c);
        lstmae_config cfg = small_config(LSTMAE_LOSS_BCE, 2, 13);
        lstmae_model *m;
        tu_expect_status("create", lstmae_create_advanced(&cfg, &a, &m), LSTMAE_OK);
        dataset train, valid;
        dataset_make(&train, sh->count, sh->T, 3, 1, 909 + i);
        dataset_make(&valid, 6, sh->T + 3, 3, 1, 919 + i);
        char ckpt[256];
        dir_path(ckpt, sizeof ckpt, "peak.lstmae");
        lstmae_fit_options o;
        lstmae_fit_options_init(&o);
        o.epochs = 2;
        o.batch_size = sh->batch;
        o.patience = sh->patience;
        o.num_threads = sh->threads;
        o.checkpoint_path = sh->checkpoint ? ckpt : NULL;
        const lstmae_sequences *v = sh->use_valid ? &valid.s : NULL;
        size_t est = lstmae_fit_memory(m, &train.s, v, &o);
        size_t live0 = c.live_bytes;
        counter_arm(&c, 0);
        tu_expect_status("fit", lstmae_fit(m, &train.s, v, &o, NULL), LSTMAE_OK);
        char what[128];
        snprintf(what, sizeof what, "fit %s", sh->name);
        expect_within(what, c.peak_bytes - live0, est);
        assert_int_equal(c.live_bytes, live0);
        if (sh->checkpoint) assert_int_equal(unlink(ckpt), 0);
        dataset_free(&train);
        dataset_free(&valid);
        lstmae_free(m);
        assert_int_equal(c.live_bytes, 0);
    }
}

/* ---- lstmae_check_sequences --------------------------------------------- */

static void test_check_sequences(void **state)
{
    (void)state;
    lstmae_config cfg = small_config(LSTMAE_LOSS_BCE, 1, 5);
    lstmae_model *m;
    tu_expect_status("create", lstmae_create(&cfg, &m), LSTMAE_OK);
    const size_t D = 3, T = 4, N = 8;
    dataset ds;
    dataset_make(&ds, N, T, D, 1, 1234);
    /* lengths 0 1 2 3 4 0 1 2; values 0.5, padding NaN */
    for (size_t i = 0; i < N; i++) {
        size_t L = i % (T + 1);
        ds.lengths[i] = (int32_t)L;
        for (size_t j = 0; j < T * D; j++) ds.data[i * T * D + j] = j < L * D ? 0.5f : NAN;
    }
    float z[8 * 4];
    const size_t KEEP = 777;
    size_t bad = KEEP;

    /* NaN padding is fine; bad_index left alone on OK */
    tu_expect_status("clean", lstmae_check_sequences(m, &ds.s, &bad), LSTMAE_OK);
    assert_int_equal(bad, KEEP);
    tu_expect_status("clean, NULL index", lstmae_check_sequences(m, &ds.s, NULL), LSTMAE_OK);

    /* the first non-finite sequence is named: Inf in 6, NaN in 3 */
    ds.data[(6 * T + 0) * D + 1] = INFINITY;
    ds.data[(3 * T + 2) * D + 2] = NAN; /* the last valid step of sequence 3 */
    tu_expect_status("nan", lstmae_check_sequences(m, &ds.s, &bad), LSTMAE_ERR_NUMERIC);
    assert_int_equal(bad, 3);
    tu_expect_status("encode agrees", lstmae_encode(m, &ds.s, z), LSTMAE_ERR_NUMERIC);
    tu_expect_status("nan, NULL index", lstmae_check_sequences(m, &ds.s, NULL),
                     LSTMAE_ERR_NUMERIC);
    ds.data[(3 * T + 2) * D + 2] = 0.5f;
    bad = KEEP;
    tu_expect_status("inf", lstmae_check_sequences(m, &ds.s, &bad), LSTMAE_ERR_NUMERIC);
    assert_int_equal(bad, 6);
    ds.data[(6 * T + 0) * D + 1] = -INFINITY;
    bad = KEEP;
    tu_expect_status("-inf", lstmae_check_sequences(m, &ds.s, &bad), LSTMAE_ERR_NUMERIC);
    assert_int_equal(bad, 6);
    ds.data[(6 * T + 0) * D + 1] = 0.5f;
    /* NaN just past a sequence's end (padding): fine */
    ds.data[(2 * T + 2) * D + 0] = NAN;
    bad = KEEP;
    tu_expect_status("nan in padding", lstmae_check_sequences(m, &ds.s, &bad), LSTMAE_OK);
    assert_int_equal(bad, KEEP);

    /* the first length out of range is named: 5 > T, then -1 */
    ds.lengths[5] = (int32_t)T + 1;
    ds.lengths[7] = -1;
    tu_expect_status("length > max_len", lstmae_check_sequences(m, &ds.s, &bad),
                     LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(bad, 5);
    tu_expect_status("encode agrees", lstmae_encode(m, &ds.s, z), LSTMAE_ERR_INVALID_ARG);
    ds.lengths[5] = 1;
    bad = KEEP;
    tu_expect_status("negative length", lstmae_check_sequences(m, &ds.s, &bad),
                     LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(bad, 7);
    ds.lengths[7] = 0;

    /* no sequence to blame: SIZE_MAX */
    lstmae_sequences empty = ds.s;
    empty.count = 0;
    bad = KEEP;
    tu_expect_status("count 0", lstmae_check_sequences(m, &empty, &bad), LSTMAE_ERR_INVALID_ARG);
    assert_true(bad == SIZE_MAX);
    bad = KEEP;
    tu_expect_status("NULL set", lstmae_check_sequences(m, NULL, &bad), LSTMAE_ERR_INVALID_ARG);
    assert_true(bad == SIZE_MAX);
    bad = KEEP;
    tu_expect_status("NULL model", lstmae_check_sequences(NULL, &ds.s, &bad),
                     LSTMAE_ERR_INVALID_ARG);
    assert_true(bad == SIZE_MAX);
    lstmae_sequences nodata = ds.s;
    nodata.data = NULL;
    bad = KEEP;
    tu_expect_status("NULL data", lstmae_check_sequences(m, &nodata, &bad),
                     LSTMAE_ERR_INVALID_ARG);
    assert_true(bad == SIZE_MAX);

    /* lengths NULL: every step valid, so a NaN anywhere counts */
    lstmae_sequences full = ds.s;
    full.lengths = NULL;
    for (size_t i = 0; i < N * T * D; i++) ds.data[i] = 0.25f;
    bad = KEEP;
    tu_expect_status("full, clean", lstmae_check_sequences(m, &full, &bad), LSTMAE_OK);
    assert_int_equal(bad, KEEP);
    ds.data[(4 * T + T - 1) * D + D - 1] = NAN; /* the very last value of 4 */
    tu_expect_status("full, nan", lstmae_check_sequences(m, &full, &bad), LSTMAE_ERR_NUMERIC);
    assert_int_equal(bad, 4);

    /* the check itself allocates nothing */
    counter c;
    lstmae_allocator a = counter_allocator(&c);
    lstmae_model *mc;
    tu_expect_status("create", lstmae_create_advanced(&cfg, &a, &mc), LSTMAE_OK);
    counter_arm(&c, 0);
    tu_expect_status("full, nan (counter)", lstmae_check_sequences(mc, &full, &bad),
                     LSTMAE_ERR_NUMERIC);
    assert_int_equal(c.calls, 0);
    lstmae_free(mc);
    assert_int_equal(c.live_bytes, 0);

    dataset_free(&ds);
    lstmae_free(m);
}

/* ---- driver -------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 40) tmp = "/tmp";
    snprintf(g_dir, sizeof g_dir, "%s/lstmae-alloc-XXXXXX", tmp);
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    print_message("alloc: TOTAL %zu calls, %zu allocation sites exercised, "
                  "%zu failures injected, %zu leaks found\n",
                  g_calls, g_sites, g_injected, g_leaks);
    return rmdir(g_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inject_create),
        cmocka_unit_test(test_inject_fit),
        cmocka_unit_test(test_inject_infer),
        cmocka_unit_test(test_inject_save),
        cmocka_unit_test(test_inject_load),
        cmocka_unit_test(test_peak_infer),
        cmocka_unit_test(test_peak_fit),
        cmocka_unit_test(test_check_sequences),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

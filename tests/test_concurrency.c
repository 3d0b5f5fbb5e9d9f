/*
 * test_concurrency.c - many threads on one shared const model.
 *
 * The header promises that any number of threads may call the functions
 * taking `const lstmae_model *` on one model at once. Here THREADS threads,
 * released together by a barrier, each run ITERATIONS rounds of encode,
 * decode, reconstruct and evaluate (and save_buffer, check_sequences,
 * get_param) on one model, over a rotation of input sets of different
 * shapes, and compare every result bit for bit with the results computed
 * single-threaded beforehand. It is done twice: for a model on the default
 * allocator, and for one on a thread-safe counting allocator, which must
 * end with every per-call allocation freed.
 *
 * CI runs it under ThreadSanitizer (.ci/hardening.sh). Worker threads do
 * not call CMocka (its assertions are not thread-safe): they record the
 * first mismatch, and the main thread fails on it after joining.
 *
 * Only the public API is used. LSTMAE_CONCURRENCY_ITERATIONS overrides the
 * number of rounds.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "lstmae.h"

#define THREADS 4
#define DEFAULT_ITERATIONS 200
#define NSETS 4

#define D 5
#define Z 6

/* ---- a thread-safe counting allocator ------------------------------------ */

typedef union block_header {
    max_align_t align;
    size_t size;
} block_header;

typedef struct counter {
    pthread_mutex_t lock;
    size_t calls, live_bytes, live_blocks;
} counter;

static void *locked_alloc(void *opaque, size_t size)
{
    counter *c = opaque;
    block_header *b = size <= SIZE_MAX - sizeof *b ? malloc(sizeof *b + size) : NULL;
    if (!b) return NULL;
    b->size = size;
    pthread_mutex_lock(&c->lock);
    c->calls++;
    c->live_bytes += size;
    c->live_blocks++;
    pthread_mutex_unlock(&c->lock);
    return b + 1;
}

static void locked_free(void *opaque, void *p)
{
    counter *c = opaque;
    block_header *b = (block_header *)p - 1;
    pthread_mutex_lock(&c->lock);
    c->live_bytes -= b->size;
    c->live_blocks--;
    pthread_mutex_unlock(&c->lock);
    free(b);
}

/* ---- inputs and single-threaded results ---------------------------------- */

typedef struct set_case {
    float *data;
    int32_t *lengths;
    lstmae_sequences s;
    size_t length;          /* decode's length                         */
    float *latent;          /* [count][Z] encode                       */
    float *decoded;         /* [count][length][D] decode(latent)       */
    float *recon;           /* [count][T][D] reconstruct               */
    lstmae_metrics metrics; /* evaluate                                */
} set_case;

static void set_make(set_case *sc, size_t count, size_t T, size_t length,
                     int var_lengths, uint64_t seed)
{
    memset(sc, 0, sizeof *sc);
    sc->data = malloc(count * T * D * sizeof *sc->data);
    sc->lengths = malloc(count * sizeof *sc->lengths);
    assert_true(sc->data && sc->lengths);
    for (size_t i = 0; i < count; i++) {
        size_t L = var_lengths ? (size_t)(tu_rand_u64(&seed) % (T + 1)) : T;
        if (i == 0) L = T;
        sc->lengths[i] = (int32_t)L;
        float *x = sc->data + i * T * D;
        tu_fill_uniform(&seed, x, L * D, 0.0f, 1.0f);
        for (size_t j = L * D; j < T * D; j++) x[j] = NAN; /* never read */
    }
    sc->s.data = sc->data;
    sc->s.lengths = var_lengths ? sc->lengths : NULL;
    sc->s.count = count;
    sc->s.max_len = T;
    sc->length = length;
    sc->latent = malloc(count * Z * sizeof *sc->latent);
    sc->decoded = malloc(count * length * D * sizeof *sc->decoded);
    sc->recon = malloc(count * T * D * sizeof *sc->recon);
    assert_true(sc->latent && sc->decoded && sc->recon);
}

static void set_reference(set_case *sc, const lstmae_model *m)
{
    assert_int_equal(lstmae_encode(m, &sc->s, sc->latent), LSTMAE_OK);
    assert_int_equal(lstmae_decode(m, sc->latent, sc->s.count, sc->length, sc->decoded),
                     LSTMAE_OK);
    assert_int_equal(lstmae_reconstruct(m, &sc->s, sc->recon), LSTMAE_OK);
    lstmae_metrics_init(&sc->metrics);
    assert_int_equal(lstmae_evaluate(m, &sc->s, &sc->metrics), LSTMAE_OK);
}

static void set_free(set_case *sc)
{
    free(sc->data);
    free(sc->lengths);
    free(sc->latent);
    free(sc->decoded);
    free(sc->recon);
}

/* ---- the workers --------------------------------------------------------- */

typedef struct shared {
    const lstmae_model *model;
    set_case *sets;
    const unsigned char *saved; /* the model's bytes */
    size_t saved_size;
    const float *param0;        /* the first parameter tensor */
    size_t param0_size;
    int iterations;
    pthread_barrier_t start;
} shared;

typedef struct worker {
    shared *sh;
    int id;
    size_t calls;               /* calls checked                    */
    char error[256];            /* the first mismatch; "" when none */
} worker;

/* Records the first problem (the worker then stops). */
static void report(worker *w, const char *what, int iteration, size_t set)
{
    if (!w->error[0])
        snprintf(w->error, sizeof w->error, "thread %d, iteration %d, set %zu: %s", w->id,
                 iteration, set, what);
}

static int same_bits(const void *a, const void *b, size_t bytes)
{
    return memcmp(a, b, bytes) == 0;
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    const lstmae_model *m = sh->model;
    size_t max_count = 0, max_t = 0, max_len = 0;
    for (size_t s = 0; s < NSETS; s++) {
        if (sh->sets[s].s.count > max_count) max_count = sh->sets[s].s.count;
        if (sh->sets[s].s.max_len > max_t) max_t = sh->sets[s].s.max_len;
        if (sh->sets[s].length > max_len) max_len = sh->sets[s].length;
    }
    float *latent = malloc(max_count * Z * sizeof *latent);
    float *decoded = malloc(max_count * max_len * D * sizeof *decoded);
    float *recon = malloc(max_count * max_t * D * sizeof *recon);
    unsigned char *saved = malloc(sh->saved_size);
    float *param0 = malloc(sh->param0_size * sizeof *param0);
    if (!latent || !decoded || !recon || !saved || !param0) {
        report(w, "out of memory in the test", -1, 0);
        pthread_barrier_wait(&sh->start);
        goto done;
    }
    pthread_barrier_wait(&sh->start);
    for (int it = 0; it < sh->iterations; it++) {
        /* each thread walks the sets in its own order */
        size_t s = ((size_t)w->id + (size_t)it) % NSETS;
        const set_case *sc = &sh->sets[s];
        size_t n = sc->s.count, T = sc->s.max_len;
        int op_first = (w->id + it) % 4;
        for (int k = 0; k < 4; k++) {
            switch ((op_first + k) % 4) {
            case 0:
                if (lstmae_encode(m, &sc->s, latent) != LSTMAE_OK)
                    { report(w, "encode failed", it, s); goto done; }
                if (!same_bits(latent, sc->latent, n * Z * sizeof *latent))
                    { report(w, "encode differs from single-threaded", it, s); goto done; }
                break;
            case 1:
                if (lstmae_decode(m, sc->latent, n, sc->length, decoded) != LSTMAE_OK)
                    { report(w, "decode failed", it, s); goto done; }
                if (!same_bits(decoded, sc->decoded, n * sc->length * D * sizeof *decoded))
                    { report(w, "decode differs from single-threaded", it, s); goto done; }
                break;
            case 2:
                if (lstmae_reconstruct(m, &sc->s, recon) != LSTMAE_OK)
                    { report(w, "reconstruct failed", it, s); goto done; }
                if (!same_bits(recon, sc->recon, n * T * D * sizeof *recon))
                    { report(w, "reconstruct differs from single-threaded", it, s); goto done; }
                break;
            default: {
                lstmae_metrics mt;
                lstmae_metrics_init(&mt);
                if (lstmae_evaluate(m, &sc->s, &mt) != LSTMAE_OK)
                    { report(w, "evaluate failed", it, s); goto done; }
                if (!same_bits(&mt, &sc->metrics, sizeof mt))
                    { report(w, "evaluate differs from single-threaded", it, s); goto done; }
                break;
            }
            }
            w->calls++;
        }
        /* the other const calls, less often */
        if (it % 8 == 0) {
            size_t bad = 12345;
            if (lstmae_check_sequences(m, &sc->s, &bad) != LSTMAE_OK || bad != 12345)
                { report(w, "check_sequences", it, s); goto done; }
            if (lstmae_save_buffer(m, saved, sh->saved_size) != LSTMAE_OK ||
                !same_bits(saved, sh->saved, sh->saved_size))
                { report(w, "save_buffer differs", it, s); goto done; }
            const char *name = lstmae_param_name(m, 0);
            if (!name ||
                lstmae_get_param(m, name, param0, sh->param0_size) != LSTMAE_OK ||
                !same_bits(param0, sh->param0, sh->param0_size * sizeof *param0))
                { report(w, "get_param differs", it, s); goto done; }
            w->calls += 3;
        }
    }
done:
    free(latent);
    free(decoded);
    free(recon);
    free(saved);
    free(param0);
    return NULL;
}

static int iterations(void)
{
    const char *e = getenv("LSTMAE_CONCURRENCY_ITERATIONS");
    if (e && *e) {
        char *end;
        long n = strtol(e, &end, 10);
        if (*end == '\0' && n > 0 && n <= 1000000) return (int)n;
    }
    return DEFAULT_ITERATIONS;
}

/* The whole check for one model. */
static void run_shared(lstmae_model *model, const char *label)
{
    /* train a little so that nothing is at its initial value */
    set_case sets[NSETS];
    set_make(&sets[0], 9, 7, 5, 1, 11);
    set_make(&sets[1], 3, 12, 12, 0, 22);   /* lengths NULL        */
    set_make(&sets[2], 24, 4, 9, 1, 33);
    set_make(&sets[3], 1, 15, 1, 1, 44);    /* a single sequence   */
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 2;
    o.batch_size = 4;
    o.learning_rate = 0.01f;
    assert_int_equal(lstmae_fit(model, &sets[2].s, NULL, &o, NULL), LSTMAE_OK);
    for (size_t s = 0; s < NSETS; s++) set_reference(&sets[s], model);

    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.model = model;
    sh.sets = sets;
    sh.iterations = iterations();
    sh.saved_size = lstmae_saved_size(model);
    unsigned char *saved = malloc(sh.saved_size);
    assert_non_null(saved);
    assert_int_equal(lstmae_save_buffer(model, saved, sh.saved_size), LSTMAE_OK);
    sh.saved = saved;
    const char *name0 = lstmae_param_name(model, 0);
    sh.param0_size = lstmae_param_size(model, name0);
    float *param0 = malloc(sh.param0_size * sizeof *param0);
    assert_non_null(param0);
    assert_int_equal(lstmae_get_param(model, name0, param0, sh.param0_size), LSTMAE_OK);
    sh.param0 = param0;
    assert_int_equal(pthread_barrier_init(&sh.start, NULL, THREADS), 0);

    worker w[THREADS];
    pthread_t tid[THREADS];
    for (int t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].sh = &sh;
        w[t].id = t;
        assert_int_equal(pthread_create(&tid[t], NULL, worker_run, &w[t]), 0);
    }
    size_t calls = 0;
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(tid[t], NULL), 0);
        calls += w[t].calls;
    }
    pthread_barrier_destroy(&sh.start);
    for (int t = 0; t < THREADS; t++)
        if (w[t].error[0]) fail_msg("%s: %s", label, w[t].error);

    /* the model is as it was */
    unsigned char *after = malloc(sh.saved_size);
    assert_non_null(after);
    assert_int_equal(lstmae_save_buffer(model, after, sh.saved_size), LSTMAE_OK);
    assert_memory_equal(after, saved, sh.saved_size);
    print_message("concurrency: %s: %d threads x %d iterations, %zu calls, "
                  "all bit-identical to single-threaded\n",
                  label, THREADS, sh.iterations, calls);
    free(after);
    free(saved);
    free(param0);
    for (size_t s = 0; s < NSETS; s++) set_free(&sets[s]);
}

static lstmae_config shared_config(void)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = D;
    cfg.hidden_dim = 16;
    cfg.latent_dim = Z;
    cfg.num_layers = 2;
    cfg.seed = 2024;
    return cfg;
}

static void test_default_allocator(void **state)
{
    (void)state;
    lstmae_config cfg = shared_config();
    lstmae_model *m;
    assert_int_equal(lstmae_create(&cfg, &m), LSTMAE_OK);
    run_shared(m, "default allocator");
    lstmae_free(m);
}

static void test_counting_allocator(void **state)
{
    (void)state;
    counter c;
    memset(&c, 0, sizeof c);
    assert_int_equal(pthread_mutex_init(&c.lock, NULL), 0);
    lstmae_allocator a = { locked_alloc, locked_free, &c };
    lstmae_config cfg = shared_config();
    lstmae_model *m;
    assert_int_equal(lstmae_create_advanced(&cfg, &a, &m), LSTMAE_OK);
    size_t model_bytes = c.live_bytes, model_blocks = c.live_blocks;
    run_shared(m, "counting allocator");
    /* every per-call workspace was given back */
    assert_int_equal(c.live_bytes, model_bytes);
    assert_int_equal(c.live_blocks, model_blocks);
    assert_true(c.calls > model_blocks);
    lstmae_free(m);
    assert_int_equal(c.live_bytes, 0);
    assert_int_equal(c.live_blocks, 0);
    pthread_mutex_destroy(&c.lock);
}

/* ---- concurrent fits on different models -------------------------------- */

/* Issue 11: fits on different models in different threads must not
   interact. 0.1 set OpenBLAS (whose thread count is process-wide) to one
   thread while a fit with num_threads > 0 ran and restored it afterwards,
   so a fit that ended restored the count under another one still running,
   whose products then ran threaded and rounded differently. Each of
   FITS threads here trains its own model (different shapes and seeds, 1 or
   2 workers), and its saved state must equal the same fit run alone, bit
   for bit. The products are large enough for OpenBLAS to thread them. */

#define FITS 12

typedef struct fit_job {
    lstmae_config cfg;
    lstmae_fit_options opt;
    set_case data;
    unsigned char *solo, *together;
    size_t bytes;
    int status;
    pthread_barrier_t *start;
} fit_job;

static int fit_into(fit_job *j, unsigned char *out)
{
    lstmae_model *m = NULL;
    int st = lstmae_create(&j->cfg, &m);
    if (st == LSTMAE_OK) st = lstmae_fit(m, &j->data.s, NULL, &j->opt, NULL);
    if (st == LSTMAE_OK) st = lstmae_save_buffer(m, out, j->bytes);
    lstmae_free(m);
    return st;
}

static void *fit_thread(void *arg)
{
    fit_job *j = arg;
    pthread_barrier_wait(j->start);
    j->status = fit_into(j, j->together);
    return NULL;
}

static void test_concurrent_fits_do_not_interact(void **state)
{
    (void)state;
    char info[512];
    lstmae_runtime_info(info, sizeof info);
    print_message("concurrent fits: %s\n", info);
    static fit_job jobs[FITS];
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, FITS), 0);
    for (int i = 0; i < FITS; i++) {
        fit_job *j = &jobs[i];
        memset(j, 0, sizeof *j);
        lstmae_config_init(&j->cfg);
        j->cfg.input_dim = D;
        j->cfg.hidden_dim = 24 + 8 * (i % 3);
        j->cfg.latent_dim = Z;
        j->cfg.num_layers = 1 + i % 2;
        j->cfg.loss = i % 2 ? LSTMAE_LOSS_MSE : LSTMAE_LOSS_BCE;
        j->cfg.seed = 100u + (uint64_t)i;
        lstmae_fit_options_init(&j->opt);
        j->opt.epochs = 3;
        j->opt.batch_size = 32;
        j->opt.learning_rate = 0.01f;
        j->opt.num_threads = 1 + i % 2;
        set_make(&j->data, 64, 24, 1, 1, 500u + (uint64_t)i);
        lstmae_model *m;
        assert_int_equal(lstmae_create(&j->cfg, &m), LSTMAE_OK);
        j->bytes = lstmae_saved_size(m);
        lstmae_free(m);
        j->solo = malloc(j->bytes);
        j->together = malloc(j->bytes);
        assert_true(j->solo && j->together);
        j->start = &start;
        /* alone: nothing else runs */
        assert_int_equal(fit_into(j, j->solo), LSTMAE_OK);
    }
    pthread_t tid[FITS];
    for (int i = 0; i < FITS; i++)
        assert_int_equal(pthread_create(&tid[i], NULL, fit_thread, &jobs[i]), 0);
    for (int i = 0; i < FITS; i++) assert_int_equal(pthread_join(tid[i], NULL), 0);
    pthread_barrier_destroy(&start);
    int differing = 0;
    for (int i = 0; i < FITS; i++) {
        assert_int_equal(jobs[i].status, LSTMAE_OK);
        if (memcmp(jobs[i].solo, jobs[i].together, jobs[i].bytes) != 0) {
            print_error("fit %d (%d worker(s)) differs from its solo run\n", i,
                        jobs[i].opt.num_threads);
            differing++;
        }
    }
    for (int i = 0; i < FITS; i++) {
        free(jobs[i].solo);
        free(jobs[i].together);
        set_free(&jobs[i].data);
    }
    print_message("concurrent fits: %d fits at once, %d differ from their solo runs\n", FITS,
                  differing);
    assert_int_equal(differing, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_allocator),
        cmocka_unit_test(test_counting_allocator),
        cmocka_unit_test(test_concurrent_fits_do_not_interact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

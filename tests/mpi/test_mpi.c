/* test_mpi.c - lstmae_fit_mpi under mpirun (tests/mpi/CMakeLists.txt runs
   it with -np 2 and -np 3). Checks the semantics of docs/distributed.md
   over a real MPI communicator:
   - equivalence: R ranks, shuffle off, rank r holding the r-th run of
     batch_size out of every batch_size * R sequences, equal one process
     fitting the whole set with batch_size * R (SGD to 1e-5, Adam to 1e-3
     of each tensor's largest value), the set not a multiple of
     batch_size * R (the last global batch leaves ranks without data);
     the ranks' parameters and metrics are bit-identical; rank 0's model
     is what every rank starts from; the epoch callback runs on rank 0
     only;
   - validation shards: each epoch's validation loss, and early stopping
     (patience), as one process's with the whole validation set;
   - input scaling (standard, minmax) from uneven shards: the whole set's;
   - uneven shards (rank 0 holds half the set, the last rank nothing),
     shuffled, two worker threads a rank (MPI_THREAD_FUNNELED): every rank
     OK and bit-identical;
   - rank 0's on_batch stops every rank after the same batch;
   - checkpoints are written by rank 0 only, and one it cannot write
     stops every rank after the same epoch (LSTMAE_ERR_IO);
   - a sub-communicator (MPI_Comm_split) trains its own group only;
   - failure propagation: a rank whose model (and data) has another
     input_dim, a NaN in a valid step on the last rank, a rank passing
     train NULL, a rank whose allocator refuses (no memory): every rank
     returns the same status within seconds, and nothing is trained.
   Plain C, not CMocka: a failed check on one rank calls MPI_Abort, which
   ends every rank at once (a CMocka failure would unwind one rank and
   leave the others waiting in a collective). Each rank prints what it
   checked with its rank; CTest's TIMEOUT catches a hang. */
#define _POSIX_C_SOURCE 200809L /* getpid */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "lstmae_mpi.h"

static int g_rank, g_size;

#define CHECK(cond, ...)                                                           \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "rank %d: %s:%d: check failed: %s: ", g_rank, __FILE__, \
                    __LINE__, #cond);                                              \
            fprintf(stderr, __VA_ARGS__);                                          \
            fputc('\n', stderr);                                                   \
            fflush(stderr);                                                        \
            MPI_Abort(MPI_COMM_WORLD, 1);                                          \
        }                                                                          \
    } while (0)

/* rank 0 says it once */
#define SAY(...)                      \
    do {                              \
        if (g_rank == 0) {            \
            printf(__VA_ARGS__);      \
            fflush(stdout);           \
        }                             \
    } while (0)

/* ---- data (the same on every rank) -------------------------------------- */

enum { N = 62, T = 7, D = 3 };

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static float uniform(uint64_t *s)
{
    return (float)((double)(splitmix(s) >> 11) / 9007199254740992.0); /* [0, 1) */
}

typedef struct dataset {
    float x[N * T * D];
    int32_t len[N];
} dataset;

/* values in [0, 1) (BCE targets), lengths 0 .. T, NaN on padding */
static void make_data(dataset *d, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < N; i++) {
        d->len[i] = (int32_t)(splitmix(&s) % (T + 1));
        for (size_t j = 0; j < T * D; j++)
            d->x[i * T * D + j] = (size_t)d->len[i] * D > j ? uniform(&s) : NAN;
    }
}

static lstmae_model *make_model(int input_dim, uint64_t seed, lstmae_loss loss)
{
    lstmae_config c;
    lstmae_config_init(&c);
    c.input_dim = input_dim;
    c.hidden_dim = 6;
    c.latent_dim = 4;
    c.num_layers = 2;
    c.loss = loss;
    c.seed = seed;
    lstmae_model *m = NULL;
    int st = lstmae_create(&c, &m);
    CHECK(st == LSTMAE_OK, "lstmae_create: %s", lstmae_strerror(st));
    return m;
}

/* This rank's shard of d: the r-th run of `batch` out of every batch * R
   (uneven: with 2 ranks, rank 0 the first 3/4; with more, rank 0 the
   first half, the rest dealt to ranks 1 .. R-2, the last rank nothing). Returns the count; x and len hold N at most. */
static size_t shard_of(const dataset *d, int R, int r, size_t batch, int uneven, float *x,
                       int32_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < N; i++) {
        size_t owner;
        if (!uneven || R == 1)
            owner = (i / batch) % (size_t)R;
        else if (R == 2)
            owner = i < 3 * N / 4 ? 0 : 1;
        else
            owner = i < N / 2 ? 0 : 1 + (i - N / 2) % (size_t)(R - 2);
        if (owner != (size_t)r) continue;
        memcpy(x + n * T * D, d->x + i * T * D, T * D * sizeof *x);
        len[n++] = d->len[i];
    }
    return n;
}

static float *params(const lstmae_model *m, size_t *n)
{
    size_t total = 0, count = lstmae_param_count(m);
    for (size_t i = 0; i < count; i++) total += lstmae_param_size(m, lstmae_param_name(m, i));
    float *p = malloc(total * sizeof *p);
    CHECK(p != NULL, "no memory");
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        const char *name = lstmae_param_name(m, i);
        size_t k = lstmae_param_size(m, name);
        CHECK(lstmae_get_param(m, name, p + at, k) == LSTMAE_OK, "get_param %s", name);
        at += k;
    }
    *n = total;
    return p;
}

/* Every rank's parameters (and metrics) equal rank 0's, bit for bit. */
static void expect_identical(MPI_Comm comm, const char *what, const lstmae_model *m,
                             const lstmae_metrics *last)
{
    size_t n = 0;
    float *mine = params(m, &n), *first = malloc(n * sizeof *first);
    CHECK(first != NULL, "no memory");
    memcpy(first, mine, n * sizeof *first);
    CHECK(MPI_Bcast(first, (int)n, MPI_FLOAT, 0, comm) == MPI_SUCCESS, "bcast");
    CHECK(memcmp(first, mine, n * sizeof *first) == 0, "%s: parameters differ from rank 0's",
          what);
    if (last) {
        lstmae_metrics l0 = *last;
        CHECK(MPI_Bcast(&l0, (int)sizeof l0, MPI_BYTE, 0, comm) == MPI_SUCCESS, "bcast");
        CHECK(memcmp(&l0, last, sizeof l0) == 0, "%s: metrics differ from rank 0's", what);
    }
    free(first);
    free(mine);
}

/* Every tensor of b within tol of a's, relative to a's largest value. */
static double expect_close(const char *what, const lstmae_model *a, const lstmae_model *b,
                           double tol)
{
    double worst_rel = 0.0;
    size_t count = lstmae_param_count(a);
    for (size_t i = 0; i < count; i++) {
        const char *name = lstmae_param_name(a, i);
        size_t n = lstmae_param_size(a, name);
        float *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
        CHECK(pa && pb, "no memory");
        CHECK(lstmae_get_param(a, name, pa, n) == LSTMAE_OK, "get_param");
        CHECK(lstmae_get_param(b, name, pb, n) == LSTMAE_OK, "get_param");
        double big = 0.0, worst = 0.0;
        for (size_t k = 0; k < n; k++) {
            if (fabs(pa[k]) > big) big = fabs(pa[k]);
            double e = fabs((double)pa[k] - pb[k]);
            if (!(e <= worst)) worst = e; /* NaN counts */
        }
        double rel = worst / (big > 0 ? big : 1.0);
        CHECK(rel <= tol, "%s: %s differs by %.3g, %.3g of its largest %.3g (tolerance %g)",
              what, name, worst, rel, big, tol);
        if (rel > worst_rel) worst_rel = rel;
        free(pa);
        free(pb);
    }
    return worst_rel;
}

static int epoch_calls;

static int count_epochs(void *user, int epoch, const lstmae_metrics *train,
                        const lstmae_metrics *valid)
{
    (void)user;
    (void)epoch;
    (void)train;
    (void)valid;
    epoch_calls++;
    return 0;
}

/* ---- equivalence with one process --------------------------------------- */

static void check_equivalence(MPI_Comm comm, const char *group, lstmae_optimizer optim,
                              double tol, lstmae_loss loss)
{
    int R = 0, r = 0;
    MPI_Comm_size(comm, &R);
    MPI_Comm_rank(comm, &r);
    static dataset d;
    make_data(&d, 77);
    size_t batch = 4;
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 3;
    o.batch_size = (int)batch;
    o.shuffle = 0;
    o.optimizer = optim;
    o.learning_rate = optim == LSTMAE_OPT_SGD ? 0.5f : 0.01f;
    o.num_threads = 1;

    /* one process, the whole set, batches of batch * R */
    lstmae_model *alone = make_model(D, 5, loss);
    lstmae_fit_options oa = o;
    oa.batch_size = (int)batch * R;
    lstmae_sequences all = { d.x, d.len, N, T };
    lstmae_metrics la;
    lstmae_metrics_init(&la);
    int st = lstmae_fit(alone, &all, NULL, &oa, &la);
    CHECK(st == LSTMAE_OK, "lstmae_fit alone: %s", lstmae_strerror(st));

    /* the group: rank 0's model is the one trained, the others start from
       other parameters */
    static float x[N * T * D];
    static int32_t len[N];
    size_t count = shard_of(&d, R, r, batch, 0, x, len);
    lstmae_model *m = make_model(D, r == 0 ? 5 : 100 + (uint64_t)r, loss);
    lstmae_sequences mine = { count ? x : NULL, len, count, T };
    lstmae_metrics last;
    lstmae_metrics_init(&last);
    o.on_epoch = count_epochs;
    epoch_calls = 0;
    st = lstmae_fit_mpi(m, comm, &mine, NULL, &o, &last);
    char what[160];
    snprintf(what, sizeof what, "%s, %d ranks, %s, %s", group, R,
             optim == LSTMAE_OPT_SGD ? "sgd" : "adam", loss == LSTMAE_LOSS_BCE ? "bce" : "mse");
    CHECK(st == LSTMAE_OK, "%s: lstmae_fit_mpi: %s", what, lstmae_strerror(st));
    CHECK(epoch_calls == (r == 0 ? 3 : 0), "%s: on_epoch ran %d times on rank %d", what,
          epoch_calls, r);
    CHECK(lstmae_epochs_done(m) == 3, "%s: epochs_done", what);
    double worst = expect_close(what, alone, m, tol);
    expect_identical(comm, what, m, &last);
    CHECK(fabs(last.loss - la.loss) <= 1e-4 * fabs(la.loss), "%s: last loss %.9g, alone %.9g",
          what, last.loss, la.loss);
    CHECK(last.elements == la.elements, "%s: elements", what);
    double worst_all = 0.0;
    MPI_Reduce(&worst, &worst_all, 1, MPI_DOUBLE, MPI_MAX, 0, comm);
    if (r == 0) {
        printf("ok: %s: every rank vs one process with batch %zu: worst %.3g of a tensor's "
               "largest (tolerance %g); ranks bit-identical\n",
               what, batch * (size_t)R, worst_all, tol);
        fflush(stdout);
    }
    lstmae_free(m);
    lstmae_free(alone);
}

/* ---- validation and early stopping ---------------------------------------- */

static double valid_loss_seen[16];
static int valid_epochs_seen;

static int record_valid(void *user, int epoch, const lstmae_metrics *train,
                        const lstmae_metrics *valid)
{
    (void)user;
    (void)train;
    if (valid && epoch >= 1 && epoch <= 16) valid_loss_seen[epoch - 1] = valid->loss;
    valid_epochs_seen = epoch;
    return 0;
}

/* Validation shards: the epoch's validation loss is the whole set's, and
   early stopping (patience) decides as one process does. */
static void check_validation(void)
{
    static dataset d, v;
    make_data(&d, 61);
    make_data(&v, 62);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 12;
    o.batch_size = 4;
    o.shuffle = 0;
    o.optimizer = LSTMAE_OPT_SGD;
    o.learning_rate = 3.0f; /* large: the validation loss rises in epoch 2 */
    o.patience = 1;
    o.on_epoch = record_valid;

    lstmae_model *alone = make_model(D, 6, LSTMAE_LOSS_MSE);
    lstmae_fit_options oa = o;
    oa.batch_size = 4 * g_size;
    lstmae_sequences all = { d.x, d.len, N, T }, vall = { v.x, v.len, N, T };
    valid_epochs_seen = 0;
    int st = lstmae_fit(alone, &all, &vall, &oa, NULL);
    CHECK(st == LSTMAE_OK, "validation alone: %s", lstmae_strerror(st));
    double want[16];
    int want_epochs = valid_epochs_seen;
    memcpy(want, valid_loss_seen, sizeof want);

    static float x[N * T * D], vx[N * T * D];
    static int32_t len[N], vlen[N];
    size_t count = shard_of(&d, g_size, g_rank, 4, 0, x, len);
    size_t vcount = shard_of(&v, g_size, g_rank, 4, 0, vx, vlen);
    lstmae_sequences mine = { count ? x : NULL, len, count, T };
    lstmae_sequences vmine = { vcount ? vx : NULL, vlen, vcount, T };
    lstmae_model *m = make_model(D, 6, LSTMAE_LOSS_MSE);
    valid_epochs_seen = 0;
    st = lstmae_fit_mpi(m, MPI_COMM_WORLD, &mine, &vmine, &o, NULL);
    CHECK(st == LSTMAE_OK, "validation: %s", lstmae_strerror(st));
    CHECK(lstmae_epochs_done(m) == lstmae_epochs_done(alone),
          "validation: %llu epochs done, alone %llu", (unsigned long long)lstmae_epochs_done(m),
          (unsigned long long)lstmae_epochs_done(alone));
    if (g_rank == 0) {
        CHECK(valid_epochs_seen == want_epochs, "validation: %d epochs, alone %d",
              valid_epochs_seen, want_epochs);
        for (int e = 0; e < want_epochs && e < 16; e++)
            CHECK(fabs(valid_loss_seen[e] - want[e]) <= 1e-4 * fabs(want[e]),
                  "validation loss of epoch %d: %.9g, alone %.9g", e + 1, valid_loss_seen[e],
                  want[e]);
    }
    expect_close("validation, early stopping", alone, m, 1e-5);
    expect_identical(MPI_COMM_WORLD, "validation, early stopping", m, NULL);
    CHECK(want_epochs < 12 && lstmae_epochs_done(m) < (uint64_t)want_epochs,
          "validation: no early stop (%d epochs run), the case checks nothing", want_epochs);
    SAY("ok: validation shards and patience %d: %d epochs run (of 12), the best (%llu) kept; "
        "each epoch's validation loss and the model as one process's\n",
        o.patience, want_epochs, (unsigned long long)lstmae_epochs_done(m));
    lstmae_free(m);
    lstmae_free(alone);
}

/* ---- input scaling ----------------------------------------------------------- */

/* The first fit's scaling statistics come from every rank's shard: those of
   the whole set (standard: to float rounding; minmax: exactly). */
static void check_scaling(lstmae_scaling kind)
{
    static dataset d;
    make_data(&d, 71);
    lstmae_config c;
    lstmae_config_init(&c);
    c.input_dim = D;
    c.hidden_dim = 5;
    c.latent_dim = 3;
    c.loss = LSTMAE_LOSS_MSE;
    c.scaling = kind;
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 1;
    o.batch_size = 4;
    lstmae_model *alone = NULL, *m = NULL;
    CHECK(lstmae_create(&c, &alone) == LSTMAE_OK && lstmae_create(&c, &m) == LSTMAE_OK,
          "create");
    lstmae_sequences all = { d.x, d.len, N, T };
    CHECK(lstmae_fit(alone, &all, NULL, &o, NULL) == LSTMAE_OK, "scaling alone");
    static float x[N * T * D];
    static int32_t len[N];
    size_t count = shard_of(&d, g_size, g_rank, 4, 1, x, len); /* uneven, one empty */
    lstmae_sequences mine = { count ? x : NULL, len, count, T };
    int st = lstmae_fit_mpi(m, MPI_COMM_WORLD, &mine, NULL, &o, NULL);
    CHECK(st == LSTMAE_OK, "scaling: %s", lstmae_strerror(st));
    float off[D], sc[D], off1[D], sc1[D];
    CHECK(lstmae_get_scaling(alone, off, sc) == LSTMAE_OK, "get_scaling");
    CHECK(lstmae_get_scaling(m, off1, sc1) == LSTMAE_OK, "get_scaling");
    double tol = kind == LSTMAE_SCALING_MINMAX ? 0.0 : 1e-5;
    for (int i = 0; i < D; i++)
        CHECK(fabs((double)off1[i] - off[i]) <= tol * fabs(off[i]) &&
                  fabs((double)sc1[i] - sc[i]) <= tol * fabs(sc[i]),
              "scaling feature %d: offset %.9g scale %.9g, alone %.9g %.9g", i, off1[i], sc1[i],
              off[i], sc[i]);
    float both[2 * D];
    memcpy(both, off1, sizeof off1);
    memcpy(both + D, sc1, sizeof sc1);
    float first[2 * D];
    memcpy(first, both, sizeof both);
    MPI_Bcast(first, 2 * D, MPI_FLOAT, 0, MPI_COMM_WORLD);
    CHECK(memcmp(first, both, sizeof both) == 0, "scaling differs from rank 0's");
    SAY("ok: %s scaling from uneven shards: the whole set's offset and scale (%s), every rank "
        "the same\n",
        kind == LSTMAE_SCALING_MINMAX ? "minmax" : "standard",
        kind == LSTMAE_SCALING_MINMAX ? "exactly" : "within 1e-5");
    lstmae_free(m);
    lstmae_free(alone);
}

/* ---- uneven, shuffled shards --------------------------------------------- */

static void check_uneven(void)
{
    static dataset d;
    make_data(&d, 91);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 2;
    o.batch_size = 5;
    o.learning_rate = 0.01f;
    o.num_threads = 2; /* workers inside each rank; MPI from the caller only */
    static float x[N * T * D];
    static int32_t len[N];
    size_t count = shard_of(&d, g_size, g_rank, 5, 1, x, len);
    lstmae_model *m = make_model(D, 9, LSTMAE_LOSS_MSE);
    lstmae_sequences mine = { count ? x : NULL, len, count, T };
    lstmae_metrics last;
    lstmae_metrics_init(&last);
    int st = lstmae_fit_mpi(m, MPI_COMM_WORLD, &mine, NULL, &o, &last);
    CHECK(st == LSTMAE_OK, "uneven: %s", lstmae_strerror(st));
    expect_identical(MPI_COMM_WORLD, "uneven shards, shuffled", m, &last);
    /* the epoch saw every valid element of the set */
    uint64_t want = 0;
    for (size_t i = 0; i < N; i++) want += (uint64_t)d.len[i] * D;
    CHECK(last.elements == want, "uneven: %llu elements, want %llu",
          (unsigned long long)last.elements, (unsigned long long)want);
    unsigned long long c = count, lo = 0, hi = 0;
    MPI_Reduce(&c, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, 0, MPI_COMM_WORLD);
    MPI_Reduce(&c, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
    SAY("ok: uneven shards (%llu to %llu sequences a rank), shuffled, 2 threads a rank, %d "
        "ranks: every rank OK, bit-identical, %llu elements an epoch\n",
        lo, hi, g_size, (unsigned long long)want);
    lstmae_free(m);
}

/* ---- failure propagation -------------------------------------------------- */

/* An allocator that refuses every request once *opaque is set. */
static void *refusing_alloc(void *opaque, size_t size)
{
    return *(const int *)opaque ? NULL : malloc(size);
}

static void plain_free(void *opaque, void *ptr)
{
    (void)opaque;
    free(ptr);
}

static void check_failure(int kind)
{
    static const char *const what[] = { "the last rank's model and data of another input_dim",
                                        "NaN in a valid step on the last rank",
                                        "the last rank passes train NULL",
                                        "the last rank runs out of memory" };
    static const int want[] = { LSTMAE_ERR_INVALID_ARG, LSTMAE_ERR_NUMERIC,
                                LSTMAE_ERR_INVALID_ARG, LSTMAE_ERR_NOMEM };
    static dataset d;
    make_data(&d, 5);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 2;
    o.batch_size = 4;
    int bad = g_rank == g_size - 1;
    int dim = kind == 0 && bad ? D + 1 : D;
    static float x[N * T * (D + 1)];
    static int32_t len[N];
    size_t count = shard_of(&d, g_size, g_rank, 4, 0, x, len);
    if (kind == 0 && bad) /* data of its model's width */
        for (size_t i = 0; i < count * T * (D + 1); i++) x[i] = 0.5f;
    if (kind == 1 && bad) {
        len[0] = T;
        x[1] = NAN;
    }
    lstmae_model *m = NULL;
    int refuse = 0;
    if (kind == 3 && bad) { /* allocations succeed until the fit */
        lstmae_config c;
        lstmae_config_init(&c);
        c.input_dim = dim;
        c.hidden_dim = 6;
        c.latent_dim = 4;
        c.num_layers = 2;
        c.loss = LSTMAE_LOSS_MSE;
        c.seed = 3;
        lstmae_allocator al = { refusing_alloc, plain_free, &refuse };
        CHECK(lstmae_create_advanced(&c, &al, &m) == LSTMAE_OK, "create_advanced");
    } else {
        m = make_model(dim, 3, LSTMAE_LOSS_MSE);
    }
    size_t n0 = 0;
    float *before = params(m, &n0);
    lstmae_sequences mine = { x, len, count, T };
    refuse = kind == 3 && bad;
    double t0 = MPI_Wtime();
    int st = lstmae_fit_mpi(m, MPI_COMM_WORLD, kind == 2 && bad ? NULL : &mine, NULL, &o, NULL);
    refuse = 0;
    double took = MPI_Wtime() - t0, slowest = 0.0;
    CHECK(st == want[kind], "%s: returned %s, want %s", what[kind], lstmae_strerror(st),
          lstmae_strerror(want[kind]));
    CHECK(took < 5.0, "%s: took %.3f s", what[kind], took);
    size_t n1 = 0;
    float *after = params(m, &n1);
    CHECK(n0 == n1 && memcmp(before, after, n0 * sizeof *before) == 0,
          "%s: the model changed", what[kind]);
    CHECK(lstmae_epochs_done(m) == 0, "%s: epochs_done", what[kind]);
    MPI_Reduce(&took, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    SAY("ok: %s: all %d ranks returned %s within %.3f s, nothing trained\n", what[kind], g_size,
        lstmae_strerror(want[kind]), slowest);
    free(before);
    free(after);
    lstmae_free(m);
}

/* Checkpoints: written by rank 0 only (each rank names its own file);
   one that cannot be written stops every rank after the same epoch with
   LSTMAE_ERR_IO, the ranks still identical. */
static void check_checkpoints(void)
{
    static dataset d;
    make_data(&d, 21);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 3;
    o.batch_size = 4;
    static float x[N * T * D];
    static int32_t len[N];
    size_t count = shard_of(&d, g_size, g_rank, 4, 0, x, len);
    lstmae_sequences mine = { count ? x : NULL, len, count, T };
    int pid = (int)getpid();
    MPI_Bcast(&pid, 1, MPI_INT, 0, MPI_COMM_WORLD);
    char path[128];
    snprintf(path, sizeof path, "/tmp/lstmae-test-mpi-%d-rank%d.lstmae", pid, g_rank);
    lstmae_model *m = make_model(D, 8, LSTMAE_LOSS_MSE);
    o.checkpoint_path = path;
    int st = lstmae_fit_mpi(m, MPI_COMM_WORLD, &mine, NULL, &o, NULL);
    CHECK(st == LSTMAE_OK, "checkpoints: %s", lstmae_strerror(st));
    FILE *f = fopen(path, "rb");
    CHECK((f != NULL) == (g_rank == 0), "checkpoints: rank %d %s %s", g_rank,
          f ? "wrote" : "did not write", path);
    if (f) {
        fclose(f);
        lstmae_model *back = NULL;
        CHECK(lstmae_load(path, &back) == LSTMAE_OK, "checkpoint load");
        CHECK(lstmae_epochs_done(back) == 3, "checkpoint epochs");
        expect_close("checkpoint", m, back, 0.0);
        lstmae_free(back);
        remove(path);
    }
    lstmae_free(m);

    /* rank 0 cannot write its checkpoint: every rank stops after epoch 1 */
    snprintf(path, sizeof path, "/nonexistent-lstmae-%d/rank%d.lstmae", pid, g_rank);
    m = make_model(D, 8, LSTMAE_LOSS_MSE);
    st = lstmae_fit_mpi(m, MPI_COMM_WORLD, &mine, NULL, &o, NULL);
    CHECK(st == LSTMAE_ERR_IO, "unwritable checkpoint: %s", lstmae_strerror(st));
    CHECK(lstmae_epochs_done(m) == 1, "unwritable checkpoint: %llu epochs done",
          (unsigned long long)lstmae_epochs_done(m));
    expect_identical(MPI_COMM_WORLD, "unwritable checkpoint", m, NULL);
    SAY("ok: checkpoints written by rank 0 only; rank 0's failed save stops all %d ranks after "
        "epoch 1 with %s, the ranks identical\n",
        g_size, lstmae_strerror(LSTMAE_ERR_IO));
    lstmae_free(m);
}

static int batch_calls;

static int stop_at_batch_3(void *user, int epoch, size_t batch, size_t num_batches,
                           double batch_loss)
{
    (void)user;
    (void)num_batches;
    (void)batch_loss;
    batch_calls++;
    return epoch == 2 && batch == 3;
}

/* on_batch runs on rank 0; its stop ends every rank after the same batch. */
static void check_stop(void)
{
    static dataset d;
    make_data(&d, 33);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 4;
    o.batch_size = 3;
    o.on_batch = stop_at_batch_3;
    static float x[N * T * D];
    static int32_t len[N];
    size_t count = shard_of(&d, g_size, g_rank, 3, 0, x, len);
    lstmae_sequences mine = { count ? x : NULL, len, count, T };
    lstmae_model *m = make_model(D, 4, LSTMAE_LOSS_MSE);
    batch_calls = 0;
    int st = lstmae_fit_mpi(m, MPI_COMM_WORLD, &mine, NULL, &o, NULL);
    CHECK(st == LSTMAE_ERR_CANCELLED, "stop: %s", lstmae_strerror(st));
    size_t steps = (N + 3 * (size_t)g_size - 1) / (3 * (size_t)g_size);
    CHECK(batch_calls == (g_rank == 0 ? (int)steps + 3 : 0), "stop: on_batch ran %d times",
          batch_calls);
    CHECK(lstmae_epochs_done(m) == 1, "stop: %llu epochs done",
          (unsigned long long)lstmae_epochs_done(m));
    expect_identical(MPI_COMM_WORLD, "stopped by rank 0's on_batch", m, NULL);
    SAY("ok: rank 0's on_batch asked to stop at epoch 2, batch 3: all %d ranks returned %s "
        "there, identical\n",
        g_size, lstmae_strerror(LSTMAE_ERR_CANCELLED));
    lstmae_free(m);
}

/* Refused locally, without communication. */
static void check_local_refusals(void)
{
    lstmae_model *m = make_model(D, 1, LSTMAE_LOSS_MSE);
    static dataset d;
    make_data(&d, 1);
    lstmae_sequences all = { d.x, d.len, N, T };
    int st = lstmae_fit_mpi(m, MPI_COMM_NULL, &all, NULL, NULL, NULL);
    CHECK(st == LSTMAE_ERR_INVALID_ARG, "MPI_COMM_NULL: %s", lstmae_strerror(st));
    lstmae_free(m);
    SAY("ok: MPI_COMM_NULL refused (%s)\n", lstmae_strerror(LSTMAE_ERR_INVALID_ARG));
}

int main(int argc, char **argv)
{
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "MPI_Init_thread failed\n");
        return 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    /* the group runs the whole set on one rank too, but these tests are
       about ranks */
    CHECK(g_size >= 2, "run under mpirun -np 2 or more (size %d)", g_size);
    SAY("test_mpi: %d ranks, %s\n", g_size, lstmae_version());

    check_local_refusals();
    check_equivalence(MPI_COMM_WORLD, "MPI_COMM_WORLD", LSTMAE_OPT_SGD, 1e-5, LSTMAE_LOSS_MSE);
    check_equivalence(MPI_COMM_WORLD, "MPI_COMM_WORLD", LSTMAE_OPT_SGD, 1e-5, LSTMAE_LOSS_BCE);
    check_equivalence(MPI_COMM_WORLD, "MPI_COMM_WORLD", LSTMAE_OPT_ADAM, 1e-3, LSTMAE_LOSS_BCE);
    check_equivalence(MPI_COMM_WORLD, "MPI_COMM_WORLD", LSTMAE_OPT_ADAM, 1e-3, LSTMAE_LOSS_MSE);
    check_uneven();
    check_validation();
    check_scaling(LSTMAE_SCALING_STANDARD);
    check_scaling(LSTMAE_SCALING_MINMAX);
    for (int k = 0; k < 4; k++) check_failure(k);
    check_checkpoints();
    check_stop();

    /* a sub-communicator: ranks 0 and 1 train together while the others
       (with 3 ranks, rank 2 alone) train apart: the messages never cross */
    MPI_Comm sub;
    CHECK(MPI_Comm_split(MPI_COMM_WORLD, g_rank < 2 ? 0 : 1, g_rank, &sub) == MPI_SUCCESS,
          "split");
    int sub_size = 0;
    MPI_Comm_size(sub, &sub_size);
    if (g_rank < 2)
        check_equivalence(sub, "ranks 0 and 1 of MPI_COMM_WORLD", LSTMAE_OPT_ADAM, 1e-3,
                          LSTMAE_LOSS_MSE);
    else
        check_equivalence(sub, "the other ranks", LSTMAE_OPT_SGD, 1e-5, LSTMAE_LOSS_MSE);
    MPI_Comm_free(&sub);
    if (g_size > 2) SAY("ok: a sub-communicator of 2 ranks beside one of %d\n", g_size - 2);

    MPI_Barrier(MPI_COMM_WORLD);
    SAY("test_mpi: all checks passed on %d ranks\n", g_size);
    MPI_Finalize();
    return 0;
}

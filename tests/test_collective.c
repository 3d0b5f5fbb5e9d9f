/* test_collective.c - lstmae_fit_collective over threads standing in for
   ranks: an all-reduce and a broadcast through shared memory and a
   barrier (summed in rank order, so every rank gets the same bits, as
   MPI's reductions give). Checks the semantics of docs/distributed.md
   without MPI (tests/mpi runs the same under mpirun):
   - equivalence: R ranks, shuffle off, rank r holding the r-th run of
     batch_size out of every batch_size * R sequences, equal one process
     fitting the whole set with batch_size * R (SGD to 1e-5, Adam to 1e-3
     of each tensor's largest value); the ranks' parameters are
     bit-identical; uneven shards too;
   - rank 0's model is what every rank starts from;
   - failure propagation: a rank with a model of another width, NaN in
     its data, or bad options makes every rank return the same status
     without training;
   - with shuffling, the ranks stay identical. */
#define _POSIX_C_SOURCE 200809L /* pthread_barrier_t */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lstmae.h>

#include "testutil.h"

enum { MAXR = 4 };

typedef struct group {
    int size;
    pthread_barrier_t bar;
    float *slot[MAXR];       /* each rank's buffer during an all-reduce */
    void *bcast;             /* rank 0's buffer during a broadcast      */
    long reductions;         /* counted by rank 0                        */
} group;

typedef struct member {
    group *g;
    int rank;
} member;

static int allreduce(void *user, float *buf, size_t n, int op)
{
    member *me = user;
    group *g = me->g;
    g->slot[me->rank] = buf;
    pthread_barrier_wait(&g->bar);
    /* every rank computes the same reduction in rank order */
    float *tmp = malloc(n * sizeof *tmp);
    if (!tmp) return 1;
    for (size_t i = 0; i < n; i++) {
        float v = g->slot[0][i];
        for (int r = 1; r < g->size; r++)
            v = op == LSTMAE_REDUCE_SUM ? v + g->slot[r][i]
                                        : (g->slot[r][i] > v ? g->slot[r][i] : v);
        tmp[i] = v;
    }
    pthread_barrier_wait(&g->bar); /* everyone has read every slot */
    memcpy(buf, tmp, n * sizeof *tmp);
    free(tmp);
    if (me->rank == 0) g->reductions++;
    pthread_barrier_wait(&g->bar);
    return 0;
}

static int broadcast(void *user, void *buf, size_t n)
{
    member *me = user;
    group *g = me->g;
    if (me->rank == 0) g->bcast = buf;
    pthread_barrier_wait(&g->bar);
    if (me->rank != 0) memcpy(buf, g->bcast, n);
    pthread_barrier_wait(&g->bar);
    return 0;
}

/* ---- data -------------------------------------------------------------- */

enum { N = 48, T = 7, D = 3 };

typedef struct dataset {
    float x[N * T * D];
    int32_t len[N];
} dataset;

static void make_data(dataset *d, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < N; i++) {
        d->len[i] = (int32_t)(tu_rand_u64(&s) % (T + 1));
        for (size_t j = 0; j < T * D; j++)
            d->x[i * T * D + j] = (size_t)d->len[i] * D > j ? tu_rand_uniform(&s, -1.0f, 1.0f)
                                                            : NAN;
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
    assert_int_equal(lstmae_create(&c, &m), LSTMAE_OK);
    return m;
}

/* ---- one rank ----------------------------------------------------------- */

typedef struct job {
    member me;
    lstmae_collective coll;
    lstmae_model *model;
    float *x;                /* this rank's shard                        */
    int32_t *len;
    size_t count;
    lstmae_sequences valid;
    int use_valid;
    lstmae_fit_options opt;
    lstmae_metrics last;
    int status;
} job;

static void *run_rank(void *arg)
{
    job *j = arg;
    lstmae_sequences s = { j->count ? j->x : NULL, j->len, j->count, T };
    lstmae_metrics_init(&j->last);
    j->status = lstmae_fit_collective(j->model, &j->coll, &s, j->use_valid ? &j->valid : NULL,
                                      &j->opt, &j->last);
    return NULL;
}

/* Rank r's shard: the r-th run of `batch` out of every batch * R (or, with
   `uneven`, sequences dealt so that rank 0 holds more). */
static size_t shard_of(const dataset *d, int R, int r, size_t batch, int uneven, float *x,
                       int32_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < N; i++) {
        size_t owner = uneven ? (i < N / 2 ? 0 : (i - N / 2) % (size_t)R)
                              : (i / batch) % (size_t)R;
        if (owner != (size_t)r) continue;
        memcpy(x + n * T * D, d->x + i * T * D, T * D * sizeof *x);
        len[n++] = d->len[i];
    }
    return n;
}

typedef struct run {
    job jobs[MAXR];
    group g;
    float x[MAXR][N * T * D];
    int32_t len[MAXR][N];
} run;

/* Runs a group of R ranks; models[r] are theirs (owned by the caller). */
static void run_group(run *rn, int R, lstmae_model **models, const dataset *d, size_t batch,
                      int uneven, const lstmae_fit_options *o)
{
    memset(&rn->g, 0, sizeof rn->g);
    rn->g.size = R;
    assert_int_equal(pthread_barrier_init(&rn->g.bar, NULL, (unsigned)R), 0);
    pthread_t th[MAXR];
    for (int r = 0; r < R; r++) {
        job *j = &rn->jobs[r];
        memset(j, 0, sizeof *j);
        j->me.g = &rn->g;
        j->me.rank = r;
        j->coll.struct_size = sizeof j->coll;
        j->coll.rank = r;
        j->coll.size = R;
        j->coll.user = &j->me;
        j->coll.allreduce = allreduce;
        j->coll.broadcast = broadcast;
        j->model = models[r];
        j->x = rn->x[r];
        j->len = rn->len[r];
        j->count = shard_of(d, R, r, batch, uneven, j->x, j->len);
        j->opt = *o;
        assert_int_equal(pthread_create(&th[r], NULL, run_rank, j), 0);
    }
    for (int r = 0; r < R; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&rn->g.bar);
}

static float *params(lstmae_model *m, size_t *n)
{
    return tu_params_snapshot(m, n);
}

/* Every tensor of b within tol of a, relative to the tensor's largest. */
static void expect_close_tensors(const char *what, lstmae_model *a, lstmae_model *b, double tol)
{
    size_t count = lstmae_param_count(a);
    for (size_t i = 0; i < count; i++) {
        const char *name = lstmae_param_name(a, i);
        size_t n = lstmae_param_size(a, name);
        float *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
        assert_true(pa && pb);
        assert_int_equal(lstmae_get_param(a, name, pa, n), LSTMAE_OK);
        assert_int_equal(lstmae_get_param(b, name, pb, n), LSTMAE_OK);
        double big = 0.0, worst = 0.0;
        for (size_t k = 0; k < n; k++) {
            if (fabs(pa[k]) > big) big = fabs(pa[k]);
            if (fabs((double)pa[k] - pb[k]) > worst) worst = fabs((double)pa[k] - pb[k]);
        }
        if (!(worst <= tol * (big > 0 ? big : 1.0)))
            fail_msg("%s: %s differs by %.3g, %.3g of its largest %.3g (tolerance %g)", what,
                     name, worst, worst / big, big, tol);
        free(pa);
        free(pb);
    }
}

static void check_equivalence(int R, lstmae_optimizer optim, double tol, lstmae_loss loss)
{
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

    /* one process, the whole set, batches of batch * R: the same global
       batches as the group's steps */
    lstmae_model *alone = make_model(D, 5, loss);
    lstmae_fit_options oa = o;
    oa.batch_size = (int)batch * R;
    lstmae_sequences all = { d.x, d.len, N, T };
    lstmae_metrics la;
    lstmae_metrics_init(&la);
    assert_int_equal(lstmae_fit(alone, &all, NULL, &oa, &la), LSTMAE_OK);

    static run rn;
    lstmae_model *models[MAXR];
    /* rank 0's model is the one trained: the others start elsewhere */
    for (int r = 0; r < R; r++) models[r] = make_model(D, r == 0 ? 5 : 100 + (uint64_t)r, loss);
    run_group(&rn, R, models, &d, batch, 0, &o);
    char what[128];
    snprintf(what, sizeof what, "%d ranks, %s, %s", R,
             optim == LSTMAE_OPT_SGD ? "sgd" : "adam", loss == LSTMAE_LOSS_BCE ? "bce" : "mse");
    for (int r = 0; r < R; r++)
        if (rn.jobs[r].status != LSTMAE_OK)
            fail_msg("%s: rank %d: %s", what, r, lstmae_strerror(rn.jobs[r].status));
    expect_close_tensors(what, alone, models[0], tol);
    size_t n0 = 0, n1 = 0;
    float *p0 = params(models[0], &n0);
    for (int r = 1; r < R; r++) {
        float *pr = params(models[r], &n1);
        assert_int_equal(n0, n1);
        if (memcmp(p0, pr, n0 * sizeof *p0) != 0)
            fail_msg("%s: rank %d's parameters differ from rank 0's", what, r);
        free(pr);
        assert_int_equal(lstmae_epochs_done(models[r]), 3);
        if (memcmp(&rn.jobs[r].last, &rn.jobs[0].last, sizeof rn.jobs[0].last) != 0)
            fail_msg("%s: rank %d's metrics differ", what, r);
    }
    if (!(fabs(rn.jobs[0].last.loss - la.loss) <= 1e-4 * fabs(la.loss)))
        fail_msg("%s: last loss %.9g, alone %.9g", what, rn.jobs[0].last.loss, la.loss);
    assert_true(rn.jobs[0].last.elements == la.elements);
    print_message("%s: rank 0 vs one process within %g; ranks bit-identical; %ld all-reduces\n",
                  what, tol, rn.g.reductions);
    free(p0);
    for (int r = 0; r < R; r++) lstmae_free(models[r]);
    lstmae_free(alone);
}

static void test_equivalence_sgd(void **state)
{
    (void)state;
    check_equivalence(2, LSTMAE_OPT_SGD, 1e-5, LSTMAE_LOSS_MSE);
    check_equivalence(3, LSTMAE_OPT_SGD, 1e-5, LSTMAE_LOSS_BCE);
}

static void test_equivalence_adam(void **state)
{
    (void)state;
    check_equivalence(2, LSTMAE_OPT_ADAM, 1e-3, LSTMAE_LOSS_BCE);
    check_equivalence(3, LSTMAE_OPT_ADAM, 1e-3, LSTMAE_LOSS_MSE);
}

/* Uneven shards and shuffling: the ranks stay bit-identical. */
static void test_uneven_shuffled(void **state)
{
    (void)state;
    static dataset d;
    make_data(&d, 91);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 2;
    o.batch_size = 5;
    o.learning_rate = 0.01f;
    static run rn;
    lstmae_model *models[3];
    for (int r = 0; r < 3; r++) models[r] = make_model(D, 9, LSTMAE_LOSS_MSE);
    run_group(&rn, 3, models, &d, 5, 1, &o);
    for (int r = 0; r < 3; r++) assert_int_equal(rn.jobs[r].status, LSTMAE_OK);
    assert_true(rn.jobs[0].count > rn.jobs[1].count);
    size_t n0 = 0, n1 = 0;
    float *p0 = params(models[0], &n0);
    for (int r = 1; r < 3; r++) {
        float *pr = params(models[r], &n1);
        assert_memory_equal(p0, pr, n0 * sizeof *p0);
        free(pr);
    }
    free(p0);
    for (int r = 0; r < 3; r++) lstmae_free(models[r]);
}

/* A bad rank: every rank returns the same status, none trains. */
static void test_failure_propagation(void **state)
{
    (void)state;
    static dataset d;
    make_data(&d, 5);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 2;
    o.batch_size = 4;
    for (int k = 0; k < 3; k++) {
        static run rn;
        lstmae_model *models[2];
        models[0] = make_model(D, 3, LSTMAE_LOSS_MSE);
        /* k 0: rank 1's model (and data) of another width */
        models[1] = make_model(k == 0 ? D + 1 : D, 3, LSTMAE_LOSS_MSE);
        size_t n0 = 0;
        float *before = params(models[0], &n0);
        lstmae_fit_options ok = o;
        if (k == 2) ok.learning_rate = -1.0f; /* applied to rank 1 below */
        memset(&rn.g, 0, sizeof rn.g);
        rn.g.size = 2;
        assert_int_equal(pthread_barrier_init(&rn.g.bar, NULL, 2), 0);
        pthread_t th[2];
        for (int r = 0; r < 2; r++) {
            job *j = &rn.jobs[r];
            memset(j, 0, sizeof *j);
            j->me.g = &rn.g;
            j->me.rank = r;
            j->coll = (lstmae_collective){ sizeof j->coll, r, 2, &j->me, allreduce, broadcast };
            j->model = models[r];
            j->x = rn.x[r];
            j->len = rn.len[r];
            j->count = shard_of(&d, 2, r, 4, 0, j->x, j->len);
            if (k == 0 && r == 1) /* data of its model's width, D + 1 */
                for (size_t i = 0; i < j->count * T * (D + 1); i++) j->x[i] = 0.5f;
            if (k == 1 && r == 1) j->x[1] = NAN, j->len[0] = T; /* NaN in a valid step */
            j->opt = (k == 2 && r == 1) ? ok : o;
            assert_int_equal(pthread_create(&th[r], NULL, run_rank, j), 0);
        }
        for (int r = 0; r < 2; r++) pthread_join(th[r], NULL);
        pthread_barrier_destroy(&rn.g.bar);
        int want = k == 1 ? LSTMAE_ERR_NUMERIC : LSTMAE_ERR_INVALID_ARG;
        static const char *const what[3] = {"rank 1 of another width", "NaN on rank 1",
                                            "bad options on rank 1"};
        for (int r = 0; r < 2; r++)
            if (rn.jobs[r].status != want)
                fail_msg("%s: rank %d returned %s, want %s", what[k], r,
                         lstmae_strerror(rn.jobs[r].status), lstmae_strerror(want));
        size_t n1 = 0;
        float *after = params(models[0], &n1);
        assert_memory_equal(before, after, n0 * sizeof *before); /* nothing trained */
        assert_int_equal(lstmae_epochs_done(models[0]), 0);
        print_message("%s: both ranks %s\n", what[k], lstmae_strerror(want));
        free(before);
        free(after);
        lstmae_free(models[0]);
        lstmae_free(models[1]);
    }
}

/* One rank alone equals lstmae_fit to float rounding (the group sums
   gradients, then divides; lstmae_fit scales first). */
static void test_single_rank(void **state)
{
    (void)state;
    static dataset d;
    make_data(&d, 12);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 2;
    o.batch_size = 8;
    o.shuffle = 0;
    lstmae_model *a = make_model(D, 4, LSTMAE_LOSS_BCE), *b = make_model(D, 4, LSTMAE_LOSS_BCE);
    lstmae_sequences all = { d.x, d.len, N, T };
    assert_int_equal(lstmae_fit(a, &all, NULL, &o, NULL), LSTMAE_OK);
    member me = { NULL, 0 };
    group g;
    memset(&g, 0, sizeof g);
    g.size = 1;
    assert_int_equal(pthread_barrier_init(&g.bar, NULL, 1), 0);
    me.g = &g;
    lstmae_collective c = { sizeof c, 0, 1, &me, allreduce, broadcast };
    assert_int_equal(lstmae_fit_collective(b, &c, &all, NULL, &o, NULL), LSTMAE_OK);
    pthread_barrier_destroy(&g.bar);
    expect_close_tensors("one rank", a, b, 1e-4);
    /* invalid groups are refused locally */
    c.rank = 1;
    assert_int_equal(lstmae_fit_collective(b, &c, &all, NULL, &o, NULL), LSTMAE_ERR_INVALID_ARG);
    assert_int_equal(lstmae_fit_collective(b, NULL, &all, NULL, &o, NULL),
                     LSTMAE_ERR_INVALID_ARG);
    lstmae_free(a);
    lstmae_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equivalence_sgd),
        cmocka_unit_test(test_equivalence_adam),
        cmocka_unit_test(test_uneven_shuffled),
        cmocka_unit_test(test_failure_propagation),
        cmocka_unit_test(test_single_rank),
    };
    return cmocka_run_group_tests_name("collective", tests, NULL, NULL);
}

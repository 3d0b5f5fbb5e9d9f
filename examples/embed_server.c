/*
 * embed_server.c - how an application embeds lstmae: one model, loaded from
 * a file, shared by worker threads that encode a stream of incoming
 * sequences in batches and look up each one's nearest neighbours among
 * stored vectors.
 *
 * The stream: sequences of 3..12 steps of 6 features, one-hot "patterns"
 * of four families (rising, falling, steady, alternating). A producer
 * thread checks every request (lstmae_check_sequences), turns away bad ones
 * (a few carry NaN on purpose) and queues the rest; THREADS workers take up
 * to BATCH requests at a time, pad them into one buffer, call lstmae_encode
 * on the shared const model and search the stored vectors.
 *
 * Usage: embed_server [MODEL [THREADS]]
 *   MODEL    a model file of input_dim 6 (from this program or `lstmae
 *            train`); without one, a small model is trained, saved to
 *            embed_server.lstmae and loaded back from there.
 *   THREADS  worker threads, default 4.
 * Exits 0 when every request was answered, the bad ones were turned away,
 * and every request that repeats a stored sequence found that sequence (or
 * an identical one) nearest, at distance 0 up to float rounding: a
 * sequence's vector depends on its own steps only, whichever batch it was
 * encoded in (the BLAS may round a few ulps differently for another batch
 * size).
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lstmae.h>

enum {
    FEATURES = 6,    /* D: the stream's features per step             */
    MAX_LEN = 12,    /* T: the longest request                        */
    FAMILIES = 4,    /* kinds of pattern in the stream                */
    STORED = 256,    /* vectors in the store                          */
    REQUESTS = 4000, /* sequences in the stream                       */
    BATCH = 32,      /* most requests one lstmae_encode call takes    */
    NEIGHBOURS = 3,  /* reported per request                          */
    QUEUE = 256,     /* requests waiting, at most                     */
    MAX_THREADS = 64
};
static const char *const family_name[FAMILIES] = {
    "rising", "falling", "steady", "alternating"};
#define DEFAULT_MODEL "embed_server.lstmae"

/* ---- the data ----------------------------------------------------------- */

/* One sequence: its steps, row-major [MAX_LEN][FEATURES]. */
typedef struct {
    float steps[MAX_LEN * FEATURES];
    int32_t length;
    int family;
} sequence;

static uint64_t next_random(uint64_t *state) /* splitmix64 */
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* A random pattern: step t is one-hot at a position that rises, falls,
   stays or alternates from a random start. */
static void make_sequence(sequence *s, uint64_t *rng)
{
    s->family = (int)(next_random(rng) % FAMILIES);
    s->length = 3 + (int32_t)(next_random(rng) % (MAX_LEN - 2));
    int start = (int)(next_random(rng) % FEATURES);
    for (int t = 0; t < MAX_LEN; t++) {
        int at = start;
        switch (s->family) {
        case 0: at = (start + t) % FEATURES; break;
        case 1: at = (start + FEATURES * MAX_LEN - t) % FEATURES; break;
        case 2: break;
        default: at = (start + 2 * (t % 2)) % FEATURES; break;
        }
        for (int j = 0; j < FEATURES; j++)
            s->steps[t * FEATURES + j] = t >= s->length ? NAN : j == at ? 1.0f : 0.0f;
    }
}

/* Whether two sequences have the same valid steps. */
static int same_steps(const sequence *a, const sequence *b)
{
    return a->length == b->length &&
           memcmp(a->steps, b->steps,
                  (size_t)a->length * FEATURES * sizeof *a->steps) == 0;
}

/* Copies n sequences into one padded set: data[n][MAX_LEN][FEATURES]. */
static lstmae_sequences pack(const sequence *const *seqs, size_t n,
                             float *data, int32_t *lengths)
{
    for (size_t i = 0; i < n; i++) {
        memcpy(data + i * MAX_LEN * FEATURES, seqs[i]->steps,
               sizeof seqs[i]->steps);
        lengths[i] = seqs[i]->length;
    }
    return (lstmae_sequences){
        .data = data, .lengths = lengths, .count = n, .max_len = MAX_LEN};
}

/* ---- the model: load it, or train, save and load a small one ------------ */

static int train_and_save(const char *path)
{
    enum { COUNT = 1024 };
    static sequence train[COUNT];
    static const sequence *ptrs[COUNT];
    static float data[COUNT * MAX_LEN * FEATURES];
    static int32_t lengths[COUNT];
    uint64_t rng = 7;
    for (size_t i = 0; i < COUNT; i++) {
        make_sequence(&train[i], &rng);
        ptrs[i] = &train[i];
    }
    lstmae_sequences set = pack(ptrs, COUNT, data, lengths);

    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = FEATURES;
    cfg.hidden_dim = 32;
    cfg.latent_dim = 8;
    lstmae_fit_options opt;
    lstmae_fit_options_init(&opt);
    opt.epochs = 30;
    opt.batch_size = 32;
    opt.learning_rate = 0.01f;

    lstmae_model *model = NULL;
    lstmae_metrics last;
    lstmae_metrics_init(&last);
    int st = lstmae_create(&cfg, &model);
    if (st == LSTMAE_OK)
        st = lstmae_fit(model, &set, NULL, &opt, &last);
    if (st == LSTMAE_OK)
        st = lstmae_save_ex(model, path, LSTMAE_SAVE_INFERENCE_ONLY);
    if (st == LSTMAE_OK)
        printf("trained a model (%d epochs, accuracy %.2f%%), saved to %s\n",
               opt.epochs, 100.0 * last.accuracy, path);
    lstmae_free(model);
    return st;
}

/* ---- the store: vectors to search --------------------------------------- */

typedef struct {
    float *vectors;  /* [STORED][latent]             */
    int family[STORED];
    size_t latent;
} store;

typedef struct {
    size_t index[NEIGHBOURS];
    float distance[NEIGHBOURS]; /* squared Euclidean, ascending */
} neighbours;

static void search(const store *db, const float *query, neighbours *out)
{
    for (int k = 0; k < NEIGHBOURS; k++) {
        out->index[k] = SIZE_MAX;
        out->distance[k] = INFINITY;
    }
    for (size_t i = 0; i < STORED; i++) {
        const float *v = db->vectors + i * db->latent;
        float d = 0.0f;
        for (size_t j = 0; j < db->latent; j++)
            d += (v[j] - query[j]) * (v[j] - query[j]);
        int k = NEIGHBOURS;
        while (k > 0 && d < out->distance[k - 1]) k--; /* insertion sort */
        if (k == NEIGHBOURS) continue;
        memmove(out->index + k + 1, out->index + k,
                (NEIGHBOURS - 1 - (size_t)k) * sizeof *out->index);
        memmove(out->distance + k + 1, out->distance + k,
                (NEIGHBOURS - 1 - (size_t)k) * sizeof *out->distance);
        out->index[k] = i;
        out->distance[k] = d;
    }
}

/* ---- the stream: a bounded queue of requests ---------------------------- */

typedef struct {
    sequence seq;
    size_t id;
    size_t copy_of;  /* a stored sequence it repeats, or SIZE_MAX */
} request;

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    const request *items[QUEUE];
    size_t head, count;
    int closed;
} queue;

static void queue_push(queue *q, const request *r)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == QUEUE)
        pthread_cond_wait(&q->not_full, &q->lock);
    q->items[(q->head + q->count++) % QUEUE] = r;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

/* Takes up to max requests, waiting for at least one; 0 when closed. */
static size_t queue_pop(queue *q, const request **out, size_t max)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed)
        pthread_cond_wait(&q->not_empty, &q->lock);
    size_t n = 0;
    while (n < max && q->count > 0) {
        out[n++] = q->items[q->head];
        q->head = (q->head + 1) % QUEUE;
        q->count--;
    }
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    return n;
}

static void queue_close(queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

/* ---- the workers --------------------------------------------------------- */

typedef struct {
    const lstmae_model *model; /* shared: only const calls on it */
    const store *db;
    queue *q;
    neighbours *results;       /* [REQUESTS], one slot per request id */
    int status;                /* the first failure, or LSTMAE_OK     */
    size_t batches, encoded;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    /* Each worker owns its buffers; the library allocates its own
       per-call workspace, so nothing is shared but the const model. */
    float data[BATCH * MAX_LEN * FEATURES];
    int32_t lengths[BATCH];
    float *latent = malloc(BATCH * w->db->latent * sizeof *latent);
    const request *batch[BATCH];
    const sequence *seqs[BATCH];
    if (!latent) {
        w->status = LSTMAE_ERR_NOMEM;
        return NULL;
    }
    size_t n;
    while ((n = queue_pop(w->q, batch, BATCH)) > 0) {
        for (size_t i = 0; i < n; i++) seqs[i] = &batch[i]->seq;
        lstmae_sequences set = pack(seqs, n, data, lengths);
        int st = lstmae_encode(w->model, &set, latent);
        if (st != LSTMAE_OK) {
            if (w->status == LSTMAE_OK) w->status = st;
            continue; /* keep draining the queue */
        }
        for (size_t i = 0; i < n; i++)
            search(w->db, latent + i * w->db->latent, &w->results[batch[i]->id]);
        w->batches++;
        w->encoded += n;
    }
    free(latent);
    return NULL;
}

static double seconds_now(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : DEFAULT_MODEL;
    int threads = argc > 2 ? atoi(argv[2]) : 4;
    if (threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "embed_server: THREADS must be 1..%d\n", MAX_THREADS);
        return 2;
    }
    if (argc <= 1 && train_and_save(path) != LSTMAE_OK) {
        fprintf(stderr, "embed_server: could not train and save %s\n", path);
        return 1;
    }

    /* 1. Load the model; the stream has FEATURES features per step. */
    lstmae_model *model = NULL;
    int st = lstmae_load(path, &model);
    if (st != LSTMAE_OK) {
        fprintf(stderr, "embed_server: %s: %s\n", path, lstmae_strerror(st));
        return 1;
    }
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    st = lstmae_get_config(model, &cfg);
    if (st != LSTMAE_OK || cfg.input_dim != FEATURES) {
        fprintf(stderr, "embed_server: %s has input_dim %d, the stream %d\n",
                path, cfg.input_dim, FEATURES);
        lstmae_free(model);
        return 1;
    }
    printf("loaded %s: input %d, hidden %d, latent %d, %d layer(s); "
           "encoding a batch of %d needs %zu bytes of workspace\n",
           path, cfg.input_dim, cfg.hidden_dim, cfg.latent_dim, cfg.num_layers,
           BATCH, lstmae_infer_memory(model, BATCH, MAX_LEN));

    /* 2. The store: STORED sequences, encoded in one call. */
    static sequence stored[STORED];
    static const sequence *stored_ptrs[STORED];
    static float stored_data[STORED * MAX_LEN * FEATURES];
    static int32_t stored_lengths[STORED];
    uint64_t rng = 2024;
    store db = {.latent = (size_t)cfg.latent_dim};
    for (size_t i = 0; i < STORED; i++) {
        make_sequence(&stored[i], &rng);
        stored_ptrs[i] = &stored[i];
        db.family[i] = stored[i].family;
    }
    db.vectors = malloc(STORED * db.latent * sizeof *db.vectors);
    static request requests[REQUESTS];
    static neighbours results[REQUESTS];
    if (!db.vectors) {
        lstmae_free(model);
        return 1;
    }
    lstmae_sequences stored_set = pack(stored_ptrs, STORED, stored_data,
                                       stored_lengths);
    st = lstmae_encode(model, &stored_set, db.vectors);
    if (st != LSTMAE_OK) {
        fprintf(stderr, "embed_server: encoding the store: %s\n",
                lstmae_strerror(st));
        free(db.vectors);
        lstmae_free(model);
        return 1;
    }

    /* 3. The stream: fresh sequences, every 10th a repeat of a stored one,
       and three damaged by a NaN in a valid step. */
    for (size_t i = 0; i < REQUESTS; i++) {
        request *r = &requests[i];
        r->id = i;
        r->copy_of = SIZE_MAX;
        if (i % 10 == 0) {
            r->copy_of = (size_t)(next_random(&rng) % STORED);
            r->seq = stored[r->copy_of];
        } else {
            make_sequence(&r->seq, &rng);
        }
        results[i].index[0] = SIZE_MAX;
    }
    const size_t damaged[] = {17, 1234, 3999};
    for (size_t k = 0; k < sizeof damaged / sizeof *damaged; k++)
        requests[damaged[k]].seq.steps[0] = NAN;

    /* 4. Workers share the model; the producer checks and queues. */
    queue q = {.lock = PTHREAD_MUTEX_INITIALIZER,
               .not_empty = PTHREAD_COND_INITIALIZER,
               .not_full = PTHREAD_COND_INITIALIZER};
    worker workers[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    int started = 0;
    for (int t = 0; t < threads; t++) {
        workers[t] = (worker){.model = model, .db = &db, .q = &q,
                              .results = results, .status = LSTMAE_OK};
        if (pthread_create(&tids[t], NULL, worker_main, &workers[t]) != 0)
            break;
        started++;
    }
    double t0 = seconds_now();
    size_t rejected = 0;
    for (size_t i = 0; started > 0 && i < REQUESTS; i++) {
        /* One request is a set of one sequence: check it before it can
           spoil a whole batch. */
        const sequence *one = &requests[i].seq;
        float data[MAX_LEN * FEATURES];
        int32_t length;
        lstmae_sequences set = pack(&one, 1, data, &length);
        size_t bad = SIZE_MAX;
        int check = lstmae_check_sequences(model, &set, &bad);
        if (check != LSTMAE_OK) {
            printf("request %zu turned away: %s\n", i, lstmae_strerror(check));
            rejected++;
            continue;
        }
        queue_push(&q, &requests[i]);
    }
    queue_close(&q);
    size_t batches = 0, encoded = 0;
    int failed = started < threads;
    for (int t = 0; t < started; t++) {
        pthread_join(tids[t], NULL);
        batches += workers[t].batches;
        encoded += workers[t].encoded;
        if (workers[t].status != LSTMAE_OK) {
            fprintf(stderr, "embed_server: worker %d: %s\n", t,
                    lstmae_strerror(workers[t].status));
            failed = 1;
        }
    }
    double elapsed = seconds_now() - t0;

    /* 5. The report. */
    size_t same_family = 0, repeats = 0, repeats_found = 0;
    for (size_t i = 0; i < REQUESTS; i++) {
        const neighbours *nb = &results[i];
        if (nb->index[0] == SIZE_MAX) continue;
        same_family += db.family[nb->index[0]] == requests[i].seq.family;
        if (requests[i].copy_of != SIZE_MAX) {
            repeats++;
            repeats_found += same_steps(&stored[nb->index[0]], &requests[i].seq) &&
                             sqrt((double)nb->distance[0]) < 1e-4;
        }
    }
    for (size_t i = 1; i <= 4; i++) {
        const neighbours *nb = &results[i];
        if (nb->index[0] == SIZE_MAX) continue;
        printf("request %zu (%s, %d steps) ->", i,
               family_name[requests[i].seq.family], (int)requests[i].seq.length);
        for (int k = 0; k < NEIGHBOURS; k++)
            printf(" #%zu %s d=%.3f", nb->index[k], family_name[db.family[nb->index[k]]],
                   sqrt((double)nb->distance[k]));
        printf("\n");
    }
    printf("%zu requests: %zu encoded in %zu batches by %d threads, %zu turned "
           "away, %.0f sequences/s\n",
           (size_t)REQUESTS, encoded, batches, started, rejected,
           (double)encoded / (elapsed > 0 ? elapsed : 1e-9));
    printf("nearest stored vector of the same family: %.1f%%\n",
           encoded ? 100.0 * (double)same_family / (double)encoded : 0.0);
    printf("repeats of stored sequences found at distance 0: %zu of %zu\n",
           repeats_found, repeats);

    free(db.vectors);
    lstmae_free(model);
    size_t expected_rejects = sizeof damaged / sizeof *damaged;
    if (failed || rejected != expected_rejects ||
        encoded != REQUESTS - expected_rejects || repeats_found != repeats) {
        fprintf(stderr, "embed_server: FAILED\n");
        return 1;
    }
    return 0;
}

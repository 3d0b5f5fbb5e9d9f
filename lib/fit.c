/* fit.c - the training loop.

   Each mini-batch is put in a canonical order (by length, then content)
   and split into S shards (S = thread count, at most the batch size;
   dealt round-robin, so the shards carry equal work); shard s runs
   forward and backward on its own
   workspace into its own gradient block, scaled by 1 / N_valid of the
   whole batch; the blocks are then summed in shard order. The result
   depends on S but not on timing, so a fixed thread count gives
   bit-identical training.

   The S - 1 worker threads are started once per fit call and wait on a
   condition variable between batches (a thread created per batch costs
   tens of microseconds, and the scheduler often starts it on the busy
   core, which at the seed model's 0.5 ms shards serialised the work). */
#include "fit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "autoenc.h"
#include "infer.h"
#include "io.h"
#include "mem.h"
#include "optim.h"
#include "scaling.h"
#include "tensor.h"
#include "workspace.h"

#define MAX_THREADS 64

typedef struct shard {
    const ae_net *net;
    ae_ws ws;
    float *grad;            /* [nparams] this shard's gradient     */
    const lstmae_sequences *data;
    const size_t *idx;      /* the shard's sequences               */
    size_t n;
    float scale;            /* 1 / N_valid of the whole batch      */
    loss_sums sums;
} shard;

/* Everything a model's training state is: restored after a failure. */
typedef struct snapshot {
    float *params, *adam_m, *adam_v, *sgd_buf;
    uint64_t adam_steps, epochs_done;
    int sgd_buf_ready;
    rng gen;
} snapshot;

static void snapshot_take(snapshot *s, const lstmae_model *m)
{
    size_t bytes = m->nparams * sizeof(float);
    memcpy(s->params, m->params, bytes);
    memcpy(s->adam_m, m->adam_m, bytes);
    memcpy(s->adam_v, m->adam_v, bytes);
    memcpy(s->sgd_buf, m->sgd_buf, bytes);
    s->adam_steps = m->adam_steps;
    s->epochs_done = m->epochs_done;
    s->sgd_buf_ready = m->sgd_buf_ready;
    s->gen = m->gen;
}

static void snapshot_restore(const snapshot *s, lstmae_model *m)
{
    size_t bytes = m->nparams * sizeof(float);
    memcpy(m->params, s->params, bytes);
    memcpy(m->adam_m, s->adam_m, bytes);
    memcpy(m->adam_v, s->adam_v, bytes);
    memcpy(m->sgd_buf, s->sgd_buf, bytes);
    m->adam_steps = s->adam_steps;
    m->epochs_done = s->epochs_done;
    m->sgd_buf_ready = s->sgd_buf_ready;
    m->gen = s->gen;
}

/* Forward and backward of one shard. */
static void shard_run(shard *sh)
{
    memset(&sh->sums, 0, sizeof sh->sums);
    if (sh->n == 0) return;
    sh->ws.in_offset = sh->net->offset;
    sh->ws.in_scale = sh->net->scale;
    workspace_load(&sh->ws, sh->data->data, sh->data->lengths, sh->data->max_len,
                   sh->net->plan->d.in_dim, sh->idx, sh->n);
    ae_encode(sh->net, &sh->ws);
    ae_decode(sh->net, &sh->ws);
    ae_loss(sh->net, &sh->ws, sh->scale, &sh->sums);
    ae_backward(sh->net, &sh->ws, sh->grad);
}

/* The worker threads of one fit call. Worker s runs shard s of every
   batch; the calling thread runs shard 0, and any shard whose thread
   could not be started. */
typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t go;      /* a new batch (gen changed), or quit     */
    pthread_cond_t done;    /* pending reached 0                      */
    unsigned long gen;      /* batches handed out                     */
    size_t pending;         /* workers still running this batch       */
    size_t started;         /* threads running: shards 1 .. started   */
    int quit;
    int ready;              /* mu, go, done initialised               */
    pthread_t threads[MAX_THREADS];
} pool;

typedef struct worker {
    pool *p;
    shard *sh;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *p = w->p;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->gen == seen && !p->quit) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        shard_run(w->sh);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Starts up to n threads for workers[0 .. n-1]; p->started says how many
   run (fewer when the system refuses one: their shards then run on the
   calling thread, with the same result). */
static void pool_start(pool *p, worker *workers, size_t n)
{
    memset(p, 0, sizeof *p);
    if (n == 0) return;
    if (pthread_mutex_init(&p->mu, NULL) != 0) return;
    if (pthread_cond_init(&p->go, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        return;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mu);
        return;
    }
    p->ready = 1;
    for (size_t i = 0; i < n; i++) {
        workers[i].p = p;
        if (pthread_create(&p->threads[i], NULL, worker_main, &workers[i]) != 0) break;
        p->started = i + 1;
    }
}

static void pool_stop(pool *p)
{
    if (!p->ready) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->started; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    p->ready = 0;
    p->started = 0;
}

/* num_threads = 0. One worker: results then never depend on the machine,
   and a threaded BLAS is not oversubscribed (OpenBLAS's pthread build
   threads its larger products itself). */
static size_t default_threads(void) { return 1; }

/* The threads of this fit call (the validation set is evaluated with as
   many workers). */
static size_t fit_threads(const lstmae_fit_options *opt)
{
    size_t threads = opt->num_threads > 0 ? (size_t)opt->num_threads : default_threads();
    return threads > MAX_THREADS ? MAX_THREADS : threads;
}

/* Sum of lengths of sequences idx[0..n-1]. */
static size_t valid_steps(const lstmae_sequences *s, const size_t *idx, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += s->lengths ? (size_t)s->lengths[idx[i]] : s->max_len;
    return total;
}

typedef struct deal_key {
    size_t len;
    uint64_t hash;         /* of the valid steps: the content          */
    size_t index;
} deal_key;

typedef struct trainer {
    const lstmae_model *m;
    size_t nshards, per_shard;
    shard shards[MAX_THREADS];
    worker workers[MAX_THREADS]; /* workers[s - 1] runs shard s       */
    pool pool;
    size_t *order;          /* [count] sequence order of this epoch */
    deal_key *deal;         /* [batch] scratch of deal_batch             */
    uint64_t *hash;         /* [count] each training sequence's content
                               hash, computed once per fit              */
    float *grad;            /* [nparams] the batch gradient = shard 0's */
    snapshot snap;          /* the state after the last completed epoch */
    snapshot best;          /* early stopping: after the best epoch      */
    void *block;            /* one allocation for grads + snapshots */
    infer_plan valid_plan;  /* evaluating the validation set        */
    int have_valid_plan;
    unsigned char *save_buf; /* checkpoints: the file's bytes       */
    size_t save_size;
    float *cbuf;            /* collective: [nparams + CBUF_EXTRA] one
                               step's all-reduce buffer              */
} trainer;

/* The all-reduce buffer of one collective step: the gradient sums, then
   these (counts split in two so that float sums stay exact). */
enum {
    CB_COUNT_HI, CB_COUNT_LO,    /* the loss's count: hi * 4096 + lo        */
    CB_ELEM_HI, CB_ELEM_LO,      /* valid elements: hi * 4096 + lo          */
    CB_LOSS, CB_CORRECT,         /* sums                                    */
    CB_CANCEL,                   /* rank 0's on_batch asked to stop         */
    CBUF_EXTRA
};

/* How a batch is split over worker threads. */
static void shard_geometry(const lstmae_fit_options *opt, size_t count,
                           size_t *nshards, size_t *per_shard)
{
    size_t batch = (size_t)opt->batch_size;
    if (batch > count) batch = count;
    if (batch == 0) batch = 1; /* count >= 1 is checked before; never 0 shards */
    size_t threads = fit_threads(opt);
    if (threads > batch) threads = batch;
    *per_shard = (batch + threads - 1) / threads;
    *nshards = (batch + *per_shard - 1) / *per_shard;
}

/* Parameter-sized blocks: shard gradients, the epoch snapshot (4 blocks),
   the best-epoch snapshot (4 more with early stopping). */
static size_t param_blocks(const lstmae_fit_options *opt, size_t nshards)
{
    return nshards + 4 + (opt->patience > 0 ? 4 : 0);
}

/* *total += a * b, checked */
static int add_bytes(size_t *total, size_t a, size_t b)
{
    if (b != 0 && a > SIZE_MAX / b) return 0;
    if (a * b > SIZE_MAX - *total) return 0;
    *total += a * b;
    return 1;
}

/* Entries of the trainer's deal scratch: the largest batch. */
static size_t deal_count(const lstmae_fit_options *opt, const lstmae_sequences *train)
{
    size_t batch = (size_t)opt->batch_size, n = train->count ? train->count : 1;
    return batch < n ? batch : n;
}

size_t fit_memory(const lstmae_model *m, const lstmae_sequences *train,
                  const lstmae_sequences *valid, const lstmae_fit_options *opt)
{
    size_t nshards, per_shard, total = 0;
    shard_geometry(opt, train->count, &nshards, &per_shard);
    size_t ws = workspace_bytes(&m->plan, per_shard, train->max_len ? train->max_len : 1, 1);
    if (ws == 0) return 0;
    if (!add_bytes(&total, param_blocks(opt, nshards) * sizeof(float), m->nparams) ||
        !add_bytes(&total, train->count ? train->count : 1, sizeof(size_t)) ||
        !add_bytes(&total, nshards, ws) ||
        !add_bytes(&total, deal_count(opt, train), sizeof(deal_key)) ||
        !add_bytes(&total, train->count ? train->count : 1, sizeof(uint64_t)))
        return 0;
    if (valid) {
        size_t v = infer_plan_bytes(m, valid->count, valid->max_len, fit_threads(opt));
        if (v == 0 || !add_bytes(&total, v, 1)) return 0;
    }
    if (opt->checkpoint_path) {
        size_t f = io_saved_size(m, IO_FLAG_TRAINING);
        if (f == 0 || !add_bytes(&total, f, 1)) return 0;
    }
    return total;
}

static void trainer_free(trainer *tr)
{
    const lstmae_allocator *a = &tr->m->alloc;
    pool_stop(&tr->pool);
    for (size_t s = 0; s < tr->nshards; s++) workspace_free(&tr->shards[s].ws);
    if (tr->have_valid_plan) infer_plan_free(&tr->valid_plan, tr->m);
    mem_free(a, tr->order);
    mem_free(a, tr->deal);
    mem_free(a, tr->hash);
    mem_free(a, tr->block);
    mem_free(a, tr->save_buf);
    mem_free(a, tr->cbuf);
}

/* Allocates everything fit needs (fit_memory bytes), so that nothing can
   fail for lack of memory once training has changed the model. */
static int trainer_init(trainer *tr, const lstmae_model *m, const ae_net *net,
                        const lstmae_sequences *train, const lstmae_sequences *valid,
                        const lstmae_fit_options *opt, int collective)
{
    memset(tr, 0, sizeof *tr);
    tr->m = m;
    const lstmae_allocator *a = &m->alloc;
    shard_geometry(opt, train->count, &tr->nshards, &tr->per_shard);
    if (tr->nshards == 0) return LSTMAE_ERR_INVALID_ARG; /* count >= 1: never */
    size_t P = m->nparams, blocks = param_blocks(opt, tr->nshards);
    if (P > SIZE_MAX / sizeof(float) / blocks) return LSTMAE_ERR_INVALID_ARG;
    size_t nshards = tr->nshards;
    tr->nshards = 0; /* workspaces planned so far, for trainer_free */
    tr->block = mem_alloc(a, blocks * P * sizeof(float));
    tr->order = mem_alloc(a, (train->count ? train->count : 1) * sizeof *tr->order);
    tr->deal = mem_alloc(a, deal_count(opt, train) * sizeof *tr->deal);
    tr->hash = mem_alloc(a, (train->count ? train->count : 1) * sizeof *tr->hash);
    if (!tr->block || !tr->order || !tr->deal || !tr->hash) {
        trainer_free(tr);
        return LSTMAE_ERR_NOMEM;
    }
    for (size_t i = 0; i < train->count; i++) {
        size_t L = train->lengths ? (size_t)train->lengths[i] : train->max_len;
        size_t D = m->plan.d.in_dim;
        tr->hash[i] = L ? workspace_hash(train->data + i * train->max_len * D, L * D) : 0;
    }
    float *b = tr->block;
    for (size_t s = 0; s < nshards; s++) {
        tr->shards[s].grad = b + s * P;
        tr->shards[s].net = net;
        tr->shards[s].data = train;
    }
    b += nshards * P;
    tr->snap.params = b;
    tr->snap.adam_m = b + P;
    tr->snap.adam_v = b + 2 * P;
    tr->snap.sgd_buf = b + 3 * P;
    if (opt->patience > 0) {
        b += 4 * P;
        tr->best.params = b;
        tr->best.adam_m = b + P;
        tr->best.adam_v = b + 2 * P;
        tr->best.sgd_buf = b + 3 * P;
    }
    tr->grad = tr->shards[0].grad;
    for (size_t s = 0; s < nshards; s++) {
        int st = workspace_plan(&tr->shards[s].ws, &m->plan, tr->per_shard,
                                train->max_len ? train->max_len : 1, 1, a);
        if (st != LSTMAE_OK) {
            trainer_free(tr);
            return st;
        }
        /* several workers: the backward products on lstmae's kernel, off
           OpenBLAS's lock; one: on the BLAS */
        tr->shards[s].ws.sc.bwpack = nshards > 1 ? tr->shards[s].ws.sc.wpack : NULL;
        tr->nshards = s + 1;
    }
    if (valid) {
        int st = infer_plan_make(&tr->valid_plan, m, valid->count, valid->max_len,
                                 fit_threads(opt));
        if (st != LSTMAE_OK) {
            trainer_free(tr);
            return st;
        }
        tr->have_valid_plan = 1;
    }
    if (opt->checkpoint_path) {
        tr->save_size = io_saved_size(m, IO_FLAG_TRAINING);
        tr->save_buf = tr->save_size ? mem_alloc(a, tr->save_size) : NULL;
        if (!tr->save_buf) {
            trainer_free(tr);
            return tr->save_size ? LSTMAE_ERR_NOMEM : LSTMAE_ERR_INVALID_ARG;
        }
    }
    if (collective) {
        tr->cbuf = mem_alloc(a, (P + CBUF_EXTRA) * sizeof *tr->cbuf);
        if (!tr->cbuf) {
            trainer_free(tr);
            return LSTMAE_ERR_NOMEM;
        }
    }
    for (size_t s = 1; s < tr->nshards; s++) tr->workers[s - 1].sh = &tr->shards[s];
    pool_start(&tr->pool, tr->workers, tr->nshards - 1);
    return LSTMAE_OK;
}

/* Metrics from loss sums over `elements` valid elements (D per step):
   means per element, or per step for cross-entropy. */
static void metrics_from(lstmae_metrics *out, const lstmae_model *m, double loss,
                         double correct, uint64_t elements)
{
    size_t D = m->plan.d.in_dim;
    double count = (double)loss_count(m->cfg.loss, elements / D, D);
    out->loss = elements ? loss / count : NAN;
    out->accuracy = m->cfg.loss != LSTMAE_LOSS_MSE && elements ? correct / count : NAN;
    out->elements = elements;
}

int fit_evaluate(const lstmae_model *m, const lstmae_sequences *in, lstmae_metrics *out)
{
    loss_sums sums;
    uint64_t elements;
    int st = infer_evaluate(m, in, &sums, &elements);
    if (st != LSTMAE_OK) return st;
    if (elements == 0) return LSTMAE_ERR_INVALID_ARG;
    metrics_from(out, m, sums.loss, sums.correct, elements);
    return LSTMAE_OK;
}

static int deal_cmp(const void *pa, const void *pb)
{
    const deal_key *a = pa, *b = pb;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    /* equal hashes: identical sequences (a 64-bit collision between
       different ones is left to chance: comparing contents here, every
       batch, cost the seed model 7% of its training time), whose order
       changes nothing */
    return (a->index > b->index) - (a->index < b->index);
}

/* Sorts k[0..n-1] by deal_cmp in place (heapsort: no allocation, which
   glibc's qsort makes for larger arrays, and this runs every batch). */
static void deal_sort(deal_key *k, size_t n)
{
    for (size_t end = n, start = n / 2;;) {
        size_t root;
        if (start > 0) {
            root = --start; /* building the heap */
        } else {
            if (end <= 1) return;
            deal_key t = k[0]; /* the largest to the end */
            k[0] = k[--end];
            k[end] = t;
            root = 0;
        }
        for (size_t child; (child = 2 * root + 1) < end; root = child) {
            if (child + 1 < end && deal_cmp(&k[child], &k[child + 1]) < 0) child++;
            if (deal_cmp(&k[root], &k[child]) >= 0) break;
            deal_key t = k[root];
            k[root] = k[child];
            k[child] = t;
        }
    }
}

/* Reorders idx[0..n-1] into the batch's canonical order, then for S
   shards: by length (longest first), then by a hash of the sequence's
   valid steps (then by index, which matters only between identical
   sequences), so that the rows of a batch, and the order its gradient is
   summed in, depend on its contents and not on the order they came in;
   dealt round-robin, so that shard s gets ranks s, s + S,
   ... and every shard about the same number of steps (contiguous shards of
   a shuffled batch differed by 10-20% on M, and every worker waits for the
   slowest). Shard s's sequences end up contiguous, shards in order. */
static void deal_batch(trainer *tr, size_t *idx, size_t n, size_t S)
{
    const lstmae_sequences *d = tr->shards[0].data;
    deal_key *k = tr->deal;
    for (size_t i = 0; i < n; i++) {
        k[i].len = d->lengths ? (size_t)d->lengths[idx[i]] : d->max_len;
        k[i].hash = tr->hash[idx[i]];
        k[i].index = idx[i];
    }
    deal_sort(k, n);
    size_t at = 0;
    for (size_t s = 0; s < S; s++)
        for (size_t r = s; r < n; r += S) idx[at++] = k[r].index;
}

/* Runs forward/backward for sequences idx[0..n-1] as one batch; leaves the
   summed gradient in tr->grad and the loss sums in *sums. */
static void train_batch(trainer *tr, size_t *idx, size_t n, float scale,
                        size_t P, loss_sums *sums)
{
    size_t S = tr->nshards, used = 0;
    deal_batch(tr, idx, n, S);
    for (size_t s = 0; s < S; s++) {
        shard *sh = &tr->shards[s];
        sh->idx = idx + used;
        sh->n = s < n ? (n - s + S - 1) / S : 0; /* ranks s, s + S, ... */
        sh->scale = scale;
        used += sh->n;
        memset(sh->grad, 0, P * sizeof(float));
    }
    pool *p = &tr->pool;
    size_t launched = p->started;
    if (launched) {
        pthread_mutex_lock(&p->mu);
        p->pending = launched;
        p->gen++;
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
    }
    shard_run(&tr->shards[0]);
    for (size_t s = launched + 1; s < tr->nshards; s++) shard_run(&tr->shards[s]);
    if (launched) {
        pthread_mutex_lock(&p->mu);
        while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    *sums = tr->shards[0].sums;
    for (size_t s = 1; s < tr->nshards; s++) {
        const float *g = tr->shards[s].grad;
        for (size_t i = 0; i < P; i++) tr->grad[i] += g[i];
        sums->loss += tr->shards[s].sums.loss;
        sums->correct += tr->shards[s].sums.correct;
    }
}

/* Clipping and the optimiser step; 0 when the gradient is not finite. */
static int apply_step(lstmae_model *m, float *grad, const lstmae_fit_options *opt)
{
    size_t P = m->nparams;
    double norm = grad_norm(grad, P);
    if (!isfinite(norm)) return 0;
    if (opt->clip_norm > 0.0f) clip_grad_norm(grad, P, norm, opt->clip_norm);
    if (opt->optimizer == LSTMAE_OPT_ADAM) {
        m->adam_steps++;
        adam_step(m->params, m->adam_m, m->adam_v, grad, P, opt->learning_rate,
                  opt->beta1, opt->beta2, opt->epsilon, m->adam_steps);
    } else {
        sgd_step(m->params, m->sgd_buf, grad, P, opt->learning_rate, opt->momentum,
                 !m->sgd_buf_ready);
        if (opt->momentum != 0.0f) m->sgd_buf_ready = 1;
    }
    return tensor_all_finite(m->params, P);
}

/* ---- collectives (lstmae_fit_collective) ----------------------------- */

int fit_agree(const lstmae_collective *c, int st)
{
    /* the most severe status over the ranks (statuses are 0 .. -6) */
    float v = (float)-st;
    if (c->allreduce(c->user, &v, 1, LSTMAE_REDUCE_MAX) != 0) return LSTMAE_ERR_IO;
    return -(int)v;
}

/* A count as two floats whose sums over the ranks stay exact. */
static void put_count(float *at, uint64_t n)
{
    uint64_t hi = n / 4096u, lo = n % 4096u;
    at[0] = (float)hi;
    at[1] = (float)lo;
}

static uint64_t get_count(const float *at)
{
    return (uint64_t)at[0] * 4096u + (uint64_t)at[1];
}

/* One collective step: this rank's batch idx[0..nb-1] (nb may be 0),
   reduced with every rank's; leaves the mean gradient in tr->grad and
   the global sums. Returns LSTMAE_OK, LSTMAE_ERR_IO, or
   LSTMAE_ERR_CANCELLED when rank 0 asked to stop after the last step. */
static int collective_step(trainer *tr, const lstmae_collective *c, size_t *idx, size_t nb,
                           const lstmae_sequences *train, int cancel, uint64_t *count,
                           uint64_t *elements, loss_sums *sums)
{
    const lstmae_model *m = tr->m;
    size_t P = m->nparams, D = m->plan.d.in_dim;
    size_t steps = nb ? valid_steps(train, idx, nb) : 0;
    float *b = tr->cbuf;
    loss_sums local = { 0.0, 0.0 };
    if (steps > 0) {
        /* gradient sums (scale 1): the mean needs the global count */
        train_batch(tr, idx, nb, 1.0f, P, &local);
        memcpy(b, tr->grad, P * sizeof *b);
    } else {
        memset(b, 0, P * sizeof *b);
    }
    float *x = b + P;
    put_count(x + CB_COUNT_HI, loss_count(m->cfg.loss, steps, D));
    put_count(x + CB_ELEM_HI, (uint64_t)steps * D);
    x[CB_LOSS] = (float)local.loss;
    x[CB_CORRECT] = (float)local.correct;
    x[CB_CANCEL] = cancel ? 1.0f : 0.0f;
    if (c->allreduce(c->user, b, P + CBUF_EXTRA, LSTMAE_REDUCE_SUM) != 0) return LSTMAE_ERR_IO;
    if (x[CB_CANCEL] > 0.0f) return LSTMAE_ERR_CANCELLED;
    *count = get_count(x + CB_COUNT_HI);
    *elements = get_count(x + CB_ELEM_HI);
    sums->loss = x[CB_LOSS];
    sums->correct = x[CB_CORRECT];
    float inv = *count ? (float)(1.0 / (double)*count) : 0.0f;
    for (size_t i = 0; i < P; i++) tr->grad[i] = b[i] * inv;
    return LSTMAE_OK;
}

int fit_run(lstmae_model *m, const lstmae_sequences *train,
            const lstmae_sequences *valid, const lstmae_fit_options *opt,
            lstmae_metrics *last, int *epochs_run, const lstmae_collective *coll)
{
    *epochs_run = 0;
    if (opt->epochs == 0) return LSTMAE_OK;
    ae_net net = model_net(m);
    trainer tr;
    int st = trainer_init(&tr, m, &net, train, valid, opt, coll != NULL);
    if (coll) {
        /* every rank, or none, goes on */
        int agreed = fit_agree(coll, st);
        if (agreed != LSTMAE_OK) {
            if (st == LSTMAE_OK) trainer_free(&tr);
            return agreed;
        }
    }
    if (st != LSTMAE_OK) return st;
    int rank0 = !coll || coll->rank == 0;
    /* The model's first fit fixes its input scaling (the shards and the
       validation plan read the statistics through net); over a group,
       from every rank's shard. */
    int scaled_here = m->offset && !m->scaling_ready;
    uint64_t epochs_before = m->epochs_done;
    size_t P = m->nparams, D = m->plan.d.in_dim, n = train->count;
    if (scaled_here) {
        /* over a group, cbuf (P + CBUF_EXTRA floats, P > 2 D: output.*
           alone has D (H + 1)) holds the 2 D + 1 sums */
        st = scaling_compute(train, m->cfg.scaling, D, m->offset, m->scale, coll, tr.cbuf);
        m->scaling_ready = 1;
        net = model_net(m);
    }

    size_t batch = (size_t)opt->batch_size;
    size_t num_batches = (n + batch - 1) / batch;
    if (coll && st == LSTMAE_OK) {
        /* an epoch has as many steps as the largest shard needs */
        float v = (float)num_batches;
        if (coll->allreduce(coll->user, &v, 1, LSTMAE_REDUCE_MAX) != 0) st = LSTMAE_ERR_IO;
        num_batches = (size_t)v;
    }
    double best_loss = INFINITY;
    int have_best = 0, since_best = 0, cancel = 0;
    for (int epoch = 1; epoch <= opt->epochs && st == LSTMAE_OK; epoch++) {
        snapshot_take(&tr.snap, m);
        for (size_t i = 0; i < n; i++) tr.order[i] = i;
        if (opt->shuffle && coll) {
            /* one draw from the shared generator (the same on every rank),
               mixed with the rank: each rank its own order */
            uint64_t mix = (uint64_t)(unsigned)coll->rank + 1u;
            rng local;
            rng_seed(&local, rng_next(&m->gen) ^ (mix * 0x9E3779B97F4A7C15ull));
            rng_shuffle(&local, tr.order, n);
        } else if (opt->shuffle) {
            rng_shuffle(&m->gen, tr.order, n);
        }

        double loss_sum = 0.0, correct = 0.0;
        uint64_t elements = 0;
        for (size_t b = 0; b < num_batches; b++) {
            size_t first = b * batch;
            size_t nb = first < n ? (n - first < batch ? n - first : batch) : 0;
            size_t *idx = tr.order + (first < n ? first : 0);
            loss_sums sums;
            uint64_t count, count_el;
            double denom;
            if (coll) {
                st = collective_step(&tr, coll, idx, nb, train, cancel, &count, &count_el,
                                     &sums);
                if (st != LSTMAE_OK) break;
                if (count == 0) continue; /* no rank had a valid step */
                denom = (double)count;
            } else {
                size_t steps = valid_steps(train, idx, nb);
                if (steps == 0) continue; /* nothing to learn from */
                count_el = (uint64_t)steps * D;
                /* the batch's mean: per element, or per step (cross-entropy) */
                denom = (double)loss_count(m->cfg.loss, steps, D);
                train_batch(&tr, idx, nb, (float)(1.0 / denom), P, &sums);
            }
            if (!isfinite(sums.loss) || !apply_step(m, tr.grad, opt)) {
                st = LSTMAE_ERR_NUMERIC;
                break;
            }
            loss_sum += sums.loss;
            correct += sums.correct;
            elements += count_el;
            if (rank0 && opt->on_batch &&
                opt->on_batch(opt->user, epoch, b + 1, num_batches, sums.loss / denom)) {
                /* alone: stop now; in a group, every rank stops at the next
                   step's all-reduce (or at the epoch's agreement) */
                if (!coll) {
                    st = LSTMAE_ERR_CANCELLED;
                    break;
                }
                cancel = 1;
            }
        }
        if (st == LSTMAE_ERR_CANCELLED) break; /* mid-epoch: keep the batches done */
        if (st != LSTMAE_OK) {
            snapshot_restore(&tr.snap, m);
            break;
        }
        m->epochs_done++;
        lstmae_metrics tm, vm;
        lstmae_metrics_init(&tm);
        lstmae_metrics_init(&vm);
        metrics_from(&tm, m, loss_sum, correct, elements);
        *last = tm;
        *epochs_run = epoch;
        loss_sums vs = { 0.0, 0.0 };
        uint64_t ve = 0;
        if (valid) infer_evaluate_planned(&tr.valid_plan, m, valid, &vs, &ve);
        if (coll) {
            float v[4] = { (float)vs.loss, (float)vs.correct, 0.0f, 0.0f };
            put_count(v + 2, ve);
            if (coll->allreduce(coll->user, v, 4, LSTMAE_REDUCE_SUM) != 0) {
                st = LSTMAE_ERR_IO;
                break;
            }
            vs.loss = v[0];
            vs.correct = v[1];
            ve = get_count(v + 2);
        }
        int have_valid = valid != NULL || (coll && ve > 0);
        if (have_valid) metrics_from(&vm, m, vs.loss, vs.correct, ve);
        if (opt->patience > 0) {
            /* early stopping on the validation loss */
            if (!have_best || vm.loss < best_loss) {
                best_loss = vm.loss;
                have_best = 1;
                since_best = 0;
                snapshot_take(&tr.best, m);
            } else {
                since_best++;
            }
        }
        if (rank0 && opt->checkpoint_path && epoch % opt->checkpoint_every == 0) {
            io_write(m, IO_FLAG_TRAINING, tr.save_buf, tr.save_size);
            st = io_write_file_atomic(opt->checkpoint_path, tr.save_buf, tr.save_size);
        }
        if (st == LSTMAE_OK && rank0 && opt->on_epoch &&
            opt->on_epoch(opt->user, epoch, &tm, have_valid ? &vm : NULL))
            st = LSTMAE_ERR_CANCELLED;
        if (coll) {
            /* the epoch's outcome, the same on every rank: a failed
               checkpoint, a stop asked for by rank 0's callbacks */
            if (st == LSTMAE_OK && cancel) st = LSTMAE_ERR_CANCELLED;
            st = fit_agree(coll, st);
        }
        if (st != LSTMAE_OK) break;
        if (opt->patience > 0 && since_best >= opt->patience) break;
    }
    /* Training ended normally or stopped early: keep the best epoch. */
    if (st == LSTMAE_OK && have_best) snapshot_restore(&tr.best, m);
    /* A fit that failed before changing the model leaves no scaling
       either: the next fit computes it (a cancelled one keeps its
       batches, and so the statistics they used). */
    if (scaled_here && st != LSTMAE_OK && st != LSTMAE_ERR_CANCELLED &&
        m->epochs_done == epochs_before) {
        m->scaling_ready = 0;
        for (size_t d = 0; d < m->plan.d.in_dim; d++) {
            m->offset[d] = 0.0f;
            m->scale[d] = 1.0f;
        }
    }
    trainer_free(&tr);
    return st;
}

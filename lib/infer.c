/* infer.c - encode, decode, reconstruct, evaluate in chunks of sequences.

   Every row of a batch is computed from its own data only, but a BLAS may
   choose its kernel by matrix size and position, so where a sequence sits
   in a chunk can change the last bits of its result. To make the order of
   the caller's set irrelevant, bit for bit, the set is first put in a
   canonical order that depends on the sequences' contents only: by
   length, longest first, then by a hash of the valid steps. A permuted set
   is then computed in exactly the same chunks and rows.

   With S workers (lstmae_set_num_threads), worker s takes the canonical
   positions s, s + S, ...: the workers get sequences of about the same
   lengths, and the assignment depends on S and the data only. */
#include "infer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoenc.h"
#include "mem.h"
#include "workspace.h"

#define MAX_WORKERS 64
#define BUDGET ((size_t)256 << 20) /* bytes of workspace, all workers */

/* The work of one call: an operation over a set. */
typedef enum infer_op { OP_ENCODE, OP_DECODE, OP_RECONSTRUCT, OP_EVALUATE, OP_SCORE } infer_op;

typedef struct infer_job {
    infer_op op;
    const lstmae_model *m;
    ae_net net;
    const float *data;       /* the set [count][T][D]; decode: latent [count][Z] */
    const int32_t *lengths;  /* or NULL: all T                               */
    size_t count, T;
    size_t length;           /* decode: steps to generate                    */
    float *out;              /* encode: [count][Z]; decode, reconstruct:
                                [count][T or length][D]; score: [count]      */
    float *step_out;         /* score: [count][T] or NULL                    */
} infer_job;

/* One worker: canonical positions first, first + S, first + 2S, ... of
   the set (S workers), in chunks of up to plan->chunk sequences. */
struct infer_worker {
    ae_ws ws;
    size_t *idx;             /* [chunk] the current chunk's sequences        */
    const infer_plan *plan;
    const infer_job *job;
    size_t first;
    loss_sums sums;          /* evaluate */
    uint64_t elements;
    pthread_t thread;
};

static size_t worker_count(size_t threads, size_t count)
{
    size_t s = threads ? threads : 1;
    if (s > MAX_WORKERS) s = MAX_WORKERS;
    if (s > count) s = count;
    return s ? s : 1;
}

/* Sequences per chunk of one worker: up to 512, fewer for long sequences
   or big models so that all workers' workspaces stay near 256 MiB, and
   fewer for large H so that one step's work stays in cache. */
static size_t chunk_size(const lstmae_model *m, size_t count, size_t steps, size_t workers)
{
    size_t per = (count + workers - 1) / workers;
    size_t one = workspace_bytes(&m->plan, 1, steps ? steps : 1, 0);
    size_t two = workspace_bytes(&m->plan, 2, steps ? steps : 1, 0);
    size_t chunk = 1;
    if (one != 0 && two > one) {
        size_t per_seq = two - one, fixed = one - per_seq, budget = BUDGET / workers;
        chunk = budget > fixed ? (budget - fixed) / per_seq : 1;
    }
    /* one step's gates (chunk x G floats, G the widest layer's) within
       256 KiB, so that a step's product and cell pass stay in L2: M (H = 128) encoded 25%
       faster in chunks of 128 than of 512; S and L did not change */
    size_t cap = ((size_t)1 << 16) / m->plan.max_width;
    if (cap < 32) cap = 32;
    if (cap > 512) cap = 512;
    if (chunk > cap) chunk = cap;
    if (chunk < 1) chunk = 1;
    return chunk < per ? chunk : per;
}

/* The sort key of one sequence in the canonical order. */
typedef struct seq_key {
    size_t len;
    uint64_t hash;
    const float *x;        /* the valid steps, len * D floats            */
    size_t size;           /* their bytes                                 */
    size_t index;
} seq_key;

static int key_cmp(const void *pa, const void *pb)
{
    const seq_key *a = pa, *b = pb;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    /* equal hashes: the contents decide (a collision must not let the
       caller's order in); only identical sequences fall to the index */
    int c = a->size ? memcmp(a->x, b->x, a->size) : 0;
    if (c != 0) return c;
    return (a->index > b->index) - (a->index < b->index);
}

/* Sorts p->keys for count sequences of data [count][T][D] (lengths NULL:
   all T) into the canonical order. */
static void canonical_order(const infer_plan *p, const float *data, const int32_t *lengths,
                            size_t count, size_t T, size_t D)
{
    for (size_t i = 0; i < count; i++) {
        size_t L = lengths ? (size_t)lengths[i] : T;
        /* data may be NULL when T is 0: no pointer arithmetic on it then */
        const float *x = L > 0 ? data + i * T * D : data;
        p->keys[i] = (seq_key){ L, workspace_hash(x, L * D), x, L * D * sizeof *x, i };
    }
    qsort(p->keys, count, sizeof *p->keys, key_cmp);
}

/* Scatters the packed rows of ws->y into out[src][T][D], in the data's
   time order: with reverse_target the decoder's step t is the data's
   step L - 1 - t. */
static void unpack_steps(const ae_ws *ws, const ae_net *net, float *out, size_t T, size_t D)
{
    const ae_plan *p = net->plan;
    for (size_t t = 0; t < ws->pk.steps; t++) {
        const float *yt = ws->y + ws->offset[t] * D;
        for (size_t r = 0; r < ws->active[t]; r++) {
            size_t s = p->reverse_target ? ws->len[r] - 1 - t : t;
            float *o = out + (ws->src[r] * T + s) * D;
            memcpy(o, yt + r * D, D * sizeof *out);
            if (net->offset) /* back to the data's units */
                for (size_t d = 0; d < D; d++) o[d] = o[d] * net->scale[d] + net->offset[d];
        }
    }
}

/* Per-sequence and per-step scores of the loaded, decoded chunk: each
   valid step's loss (mean over its D elements; cross-entropy: the
   step's), and each sequence's mean over its steps (0 for length 0). */
static void score_rows(const ae_ws *ws, const ae_net *net, float *scores, float *steps_out,
                       size_t T, size_t D)
{
    const ae_plan *p = net->plan;
    double per = p->loss == LSTMAE_LOSS_CROSS_ENTROPY ? 1.0 : (double)D;
    for (size_t r = 0; r < ws->pk.batch; r++) {
        size_t len = ws->len[r];
        double total = 0.0;
        for (size_t t = 0; t < len; t++) {
            size_t i = ws->offset[t] + r;
            loss_sums one = { 0.0, 0.0 };
            loss_forward_backward(p->loss, ws->y + i * D, ws->tgt + i * D, 1, D, 0.0f, NULL,
                                  &one);
            total += one.loss;
            if (steps_out) {
                size_t s = p->reverse_target ? len - 1 - t : t;
                steps_out[ws->src[r] * T + s] = (float)(one.loss / per);
            }
        }
        scores[ws->src[r]] = len ? (float)(total / (per * (double)len)) : 0.0f;
    }
}

/* The sizes of a plan's one block: keys, workers, then each worker's
   chunk indices and workspace. 0 on overflow. */
typedef struct plan_sizes {
    size_t workers, chunk, keys, each_idx, each_ws, total;
} plan_sizes;

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

static plan_sizes plan_sizes_of(const lstmae_model *m, size_t count, size_t steps,
                                size_t threads)
{
    plan_sizes z;
    memset(&z, 0, sizeof z);
    z.workers = worker_count(threads, count);
    z.chunk = chunk_size(m, count, steps, z.workers);
    z.each_ws = workspace_bytes(&m->plan, z.chunk, steps ? steps : 1, 0);
    if (z.each_ws == 0 || z.each_ws > SIZE_MAX / 4 || count > SIZE_MAX / sizeof(seq_key) / 2)
        return z;
    /* every region a multiple of 64 bytes, so that each starts aligned
       (the block itself has the allocator's alignment) */
    z.keys = round64(count * sizeof(seq_key));
    z.each_idx = round64(z.chunk * sizeof(size_t));
    z.each_ws = round64(z.each_ws);
    size_t workers = round64(z.workers * sizeof(infer_worker));
    if (z.each_ws > SIZE_MAX / 4 / z.workers - z.each_idx) return z;
    z.total = workers + z.keys + z.workers * (z.each_idx + z.each_ws);
    return z;
}

size_t infer_plan_bytes(const lstmae_model *m, size_t count, size_t steps, size_t threads)
{
    return plan_sizes_of(m, count, steps, threads).total;
}

/* One allocation for the whole plan: an allocator (glibc's included)
   then reuses it from call to call, where several blocks of a few MiB
   were returned to the system and faulted in again every call. */
int infer_plan_make(infer_plan *p, const lstmae_model *m, size_t count, size_t steps,
                    size_t threads)
{
    memset(p, 0, sizeof *p);
    plan_sizes z = plan_sizes_of(m, count, steps, threads);
    if (z.total == 0) return LSTMAE_ERR_INVALID_ARG;
    char *block = mem_alloc(&m->alloc, z.total);
    if (!block) return LSTMAE_ERR_NOMEM;
    p->block = block;
    p->workers = z.workers;
    p->chunk = z.chunk;
    p->w = (infer_worker *)(void *)block; /* the allocator's alignment */
    memset(p->w, 0, z.workers * sizeof *p->w);
    char *at = block + round64(z.workers * sizeof(infer_worker));
    p->keys = (seq_key *)(void *)at;
    at += z.keys;
    for (size_t s = 0; s < z.workers; s++) {
        p->w[s].idx = (size_t *)(void *)at;
        at += z.each_idx;
        workspace_place(&p->w[s].ws, &m->plan, z.chunk, steps ? steps : 1, 0, at);
        at += z.each_ws;
    }
    return LSTMAE_OK;
}

void infer_plan_free(infer_plan *p, const lstmae_model *m)
{
    mem_free(&m->alloc, p->block);
    memset(p, 0, sizeof *p);
}

/* The worker's share of the job, chunk by chunk. */
static void worker_run(infer_worker *w)
{
    const infer_job *j = w->job;
    const infer_plan *p = w->plan;
    const ae_net *net = &j->net;
    ae_ws *ws = &w->ws;
    size_t S = p->workers, D = j->m->plan.d.in_dim, Z = j->m->plan.d.latent;
    ws->in_offset = net->offset;
    ws->in_scale = net->scale;
    memset(&w->sums, 0, sizeof w->sums);
    w->elements = 0;
    for (size_t pos = w->first; pos < j->count;) {
        size_t n = 0;
        for (; n < p->chunk && pos < j->count; n++, pos += S) w->idx[n] = p->keys[pos].index;
        switch (j->op) {
        case OP_ENCODE:
            workspace_load(ws, j->data, j->lengths, j->T, D, w->idx, n);
            ae_encode(net, ws);
            for (size_t r = 0; r < n; r++)
                memcpy(j->out + ws->src[r] * Z, ws->z + r * Z, Z * sizeof *j->out);
            break;
        case OP_DECODE:
            workspace_load_uniform(ws, w->idx, n, j->length);
            for (size_t r = 0; r < n; r++)
                memcpy(ws->z + r * Z, j->data + w->idx[r] * Z, Z * sizeof *ws->z);
            ws->free_run = 1; /* with feedback, z alone: its own outputs */
            ae_decode(net, ws);
            ws->free_run = 0;
            if (!j->m->plan.feedback) loss_activate(net->loss, ws->y, ws->pk.rows, D);
            unpack_steps(ws, net, j->out, j->length, D);
            break;
        case OP_RECONSTRUCT:
            workspace_load(ws, j->data, j->lengths, j->T, D, w->idx, n);
            ae_encode(net, ws);
            ae_decode(net, ws);
            loss_activate(net->loss, ws->y, ws->pk.rows, D);
            unpack_steps(ws, net, j->out, j->T, D);
            break;
        case OP_SCORE:
            workspace_load(ws, j->data, j->lengths, j->T, D, w->idx, n);
            ae_encode(net, ws);
            ae_decode(net, ws);
            score_rows(ws, net, j->out, j->step_out, j->T, D);
            break;
        case OP_EVALUATE: {
            size_t rows = workspace_load(ws, j->data, j->lengths, j->T, D, w->idx, n);
            ae_encode(net, ws);
            ae_decode(net, ws);
            ae_loss(net, ws, 0.0f, &w->sums);
            w->elements += (uint64_t)rows * D;
            break;
        }
        }
    }
}

static void *worker_thread(void *arg)
{
    worker_run(arg);
    return NULL;
}

/* Runs the job over the plan's workers: worker 0 on this thread, the
   others on threads of their own (or here, after worker 0, when the system
   refuses a thread: the same work, so the same result). */
/* Identical sequences sit next to each other in the canonical order, but
   at different positions, where a BLAS may round differently; which of
   them the caller listed first would then decide which gets which bits.
   So each takes the outputs of the first of its group (by position). The
   sums of evaluate need nothing: they run over positions, whose contents
   the canonical order fixes. */
static void same_outputs_for_same_inputs(const infer_plan *p, const infer_job *j)
{
    size_t D = j->m->plan.d.in_dim, Z = j->m->plan.d.latent, T = j->T;
    size_t row = j->op == OP_ENCODE ? Z
                 : j->op == OP_DECODE ? j->length * D
                 : j->op == OP_RECONSTRUCT ? T * D
                 : j->op == OP_SCORE ? 1 : 0;
    if (row == 0) return;
    for (size_t a = 0, b = 1; b < j->count; b++) {
        const seq_key *ka = &p->keys[a], *kb = &p->keys[b];
        if (ka->len != kb->len || ka->hash != kb->hash ||
            (ka->size && memcmp(ka->x, kb->x, ka->size) != 0)) {
            a = b; /* a new group */
            continue;
        }
        memcpy(j->out + kb->index * row, j->out + ka->index * row, row * sizeof *j->out);
        if (j->step_out)
            memcpy(j->step_out + kb->index * T, j->step_out + ka->index * T,
                   T * sizeof *j->step_out);
    }
}

static void run_job(infer_plan *p, const infer_job *j)
{
    canonical_order(p, j->data, j->lengths, j->count, j->op == OP_DECODE ? 1 : j->T,
                    j->op == OP_DECODE ? j->m->plan.d.latent : j->m->plan.d.in_dim);
    size_t started = 0;
    for (size_t s = 0; s < p->workers; s++) {
        p->w[s].plan = p;
        p->w[s].job = j;
        p->w[s].first = s;
    }
    for (size_t s = 1; s < p->workers; s++) {
        if (pthread_create(&p->w[s].thread, NULL, worker_thread, &p->w[s]) != 0) break;
        started = s;
    }
    worker_run(&p->w[0]);
    for (size_t s = 1; s <= started; s++) pthread_join(p->w[s].thread, NULL);
    for (size_t s = started + 1; s < p->workers; s++) worker_run(&p->w[s]);
    same_outputs_for_same_inputs(p, j);
}

static infer_job make_job(infer_op op, const lstmae_model *m, const float *data,
                          const int32_t *lengths, size_t count, size_t T, float *out)
{
    infer_job j;
    memset(&j, 0, sizeof j);
    j.op = op;
    j.m = m;
    j.net = model_net(m);
    j.data = data;
    j.lengths = lengths;
    j.count = count;
    j.T = T;
    j.out = out;
    return j;
}

int infer_encode(const lstmae_model *m, const lstmae_sequences *in, float *latent)
{
    infer_plan p;
    int st = infer_plan_make(&p, m, in->count, in->max_len, (size_t)m->num_threads);
    if (st != LSTMAE_OK) return st;
    infer_job j = make_job(OP_ENCODE, m, in->data, in->lengths, in->count, in->max_len, latent);
    run_job(&p, &j);
    infer_plan_free(&p, m);
    return LSTMAE_OK;
}

int infer_decode(const lstmae_model *m, const float *latent, size_t count,
                 size_t length, float *out)
{
    infer_plan p;
    int st = infer_plan_make(&p, m, count, length, (size_t)m->num_threads);
    if (st != LSTMAE_OK) return st;
    /* the latent vectors ordered as sequences of length 1 */
    infer_job j = make_job(OP_DECODE, m, latent, NULL, count, 1, out);
    j.length = length;
    run_job(&p, &j);
    infer_plan_free(&p, m);
    return LSTMAE_OK;
}

int infer_reconstruct(const lstmae_model *m, const lstmae_sequences *in, float *out)
{
    infer_plan p;
    int st = infer_plan_make(&p, m, in->count, in->max_len, (size_t)m->num_threads);
    if (st != LSTMAE_OK) return st;
    size_t D = m->plan.d.in_dim, T = in->max_len;
    memset(out, 0, in->count * T * D * sizeof *out); /* padding steps: 0 */
    infer_job j = make_job(OP_RECONSTRUCT, m, in->data, in->lengths, in->count, T, out);
    run_job(&p, &j);
    infer_plan_free(&p, m);
    return LSTMAE_OK;
}

void infer_evaluate_planned(infer_plan *p, const lstmae_model *m,
                            const lstmae_sequences *in, loss_sums *sums,
                            uint64_t *elements)
{
    infer_job j = make_job(OP_EVALUATE, m, in->data, in->lengths, in->count, in->max_len, NULL);
    run_job(p, &j);
    /* summed in worker order: the same for the same number of workers */
    memset(sums, 0, sizeof *sums);
    *elements = 0;
    for (size_t s = 0; s < p->workers; s++) {
        sums->loss += p->w[s].sums.loss;
        sums->correct += p->w[s].sums.correct;
        *elements += p->w[s].elements;
    }
}

int infer_evaluate(const lstmae_model *m, const lstmae_sequences *in,
                   loss_sums *sums, uint64_t *elements)
{
    infer_plan p;
    int st = infer_plan_make(&p, m, in->count, in->max_len, (size_t)m->num_threads);
    if (st != LSTMAE_OK) return st;
    infer_evaluate_planned(&p, m, in, sums, elements);
    infer_plan_free(&p, m);
    return LSTMAE_OK;
}

int infer_score(const lstmae_model *m, const lstmae_sequences *in, float *scores,
                float *step_scores)
{
    infer_plan p;
    int st = infer_plan_make(&p, m, in->count, in->max_len, (size_t)m->num_threads);
    if (st != LSTMAE_OK) return st;
    size_t T = in->max_len;
    if (step_scores) memset(step_scores, 0, in->count * T * sizeof *step_scores);
    infer_job j = make_job(OP_SCORE, m, in->data, in->lengths, in->count, T, scores);
    j.step_out = step_scores;
    run_job(&p, &j);
    infer_plan_free(&p, m);
    return LSTMAE_OK;
}

/* infer.c - encode, decode, reconstruct, evaluate in chunks of sequences.

   Every row of a batch is computed from its own data only, but a BLAS may
   choose its kernel by matrix size and position, so where a sequence sits
   in a chunk can change the last bits of its result. To make the order of
   the caller's set irrelevant, bit for bit, the set is first put in a
   canonical order that depends on the sequences' contents only: by
   length, longest first, then by a hash of the valid steps. A permuted set
   is then computed in exactly the same chunks and rows. */
#include "infer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "autoenc.h"
#include "mem.h"
#include "workspace.h"

/* Sequences per chunk: up to 512, fewer for long sequences or big models
   so that a chunk's activations stay near 256 MiB. Larger chunks make the
   per-step products wider, which the BLAS runs faster. */
static size_t chunk_size(const lstmae_model *m, size_t count, size_t steps)
{
    const ae_dims *d = &m->dims;
    size_t per_step = (2 * d->layers * 6 * d->hidden + 2 * d->in_dim) * sizeof(float);
    size_t per_seq = per_step * (steps ? steps : 1);
    size_t chunk = ((size_t)256 << 20) / per_seq;
    if (chunk > 512) chunk = 512;
    if (chunk < 1) chunk = 1;
    return chunk < count ? chunk : count;
}

/* The sort key of one sequence in the canonical order. */
typedef struct seq_key {
    size_t len;
    uint64_t hash;
    size_t index;
} seq_key;

static int key_cmp(const void *pa, const void *pb)
{
    const seq_key *a = pa, *b = pb;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    if (a->hash != b->hash) return a->hash < b->hash ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* 64-bit hash of n floats' bits (FNV-1a over 32-bit words, then mixed). */
static uint64_t hash_floats(const float *x, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        uint32_t w;
        memcpy(&w, &x[i], sizeof w);
        h = (h ^ w) * 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

/* Sorts p->keys for count sequences of data [count][T][D] (lengths NULL:
   all T) into the canonical order. */
static void canonical_order(infer_plan *p, const float *data, const int32_t *lengths,
                            size_t count, size_t T, size_t D)
{
    for (size_t i = 0; i < count; i++) {
        size_t L = lengths ? (size_t)lengths[i] : T;
        p->keys[i] = (seq_key){ L, hash_floats(data + i * T * D, L * D), i };
    }
    qsort(p->keys, count, sizeof *p->keys, key_cmp);
}

/* The chunk's sequence indices: canonical positions first..first+n-1. */
static void chunk_indices(infer_plan *p, size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++) p->idx[i] = p->keys[first + i].index;
}

/* Scatters the packed rows of ws->y into out[src][T][D]. */
static void unpack_steps(const ae_ws *ws, float *out, size_t T, size_t D)
{
    for (size_t t = 0; t < ws->pk.steps; t++) {
        const float *yt = ws->y + ws->offset[t] * D;
        for (size_t r = 0; r < ws->active[t]; r++)
            memcpy(out + (ws->src[r] * T + t) * D, yt + r * D, D * sizeof *out);
    }
}

size_t infer_plan_bytes(const lstmae_model *m, size_t count, size_t steps)
{
    size_t chunk = chunk_size(m, count, steps);
    size_t ws = workspace_bytes(&m->dims, chunk, steps ? steps : 1, 0);
    if (ws == 0 || count > SIZE_MAX / sizeof(seq_key)) return 0;
    size_t idx = chunk * sizeof(size_t), keys = count * sizeof(seq_key);
    if (ws > SIZE_MAX - idx - keys) return 0;
    return ws + idx + keys;
}

int infer_plan_make(infer_plan *p, const lstmae_model *m, size_t count, size_t steps)
{
    p->chunk = chunk_size(m, count, steps);
    p->idx = mem_alloc(&m->alloc, p->chunk * sizeof *p->idx);
    p->keys = mem_alloc(&m->alloc, count * sizeof *p->keys);
    int st = p->idx && p->keys ? LSTMAE_OK : LSTMAE_ERR_NOMEM;
    if (st == LSTMAE_OK)
        st = workspace_plan(&p->ws, &m->dims, p->chunk, steps ? steps : 1, 0, &m->alloc);
    if (st != LSTMAE_OK) {
        mem_free(&m->alloc, p->idx);
        mem_free(&m->alloc, p->keys);
        p->idx = NULL;
        p->keys = NULL;
    }
    return st;
}

void infer_plan_free(infer_plan *p, const lstmae_model *m)
{
    workspace_free(&p->ws);
    mem_free(&m->alloc, p->idx);
    mem_free(&m->alloc, p->keys);
    p->idx = NULL;
    p->keys = NULL;
}

int infer_encode(const lstmae_model *m, const lstmae_sequences *in, float *latent)
{
    infer_plan p;
    int st = infer_plan_make(&p, m, in->count, in->max_len);
    if (st != LSTMAE_OK) return st;
    ae_net net = model_net(m);
    size_t Z = m->dims.latent;
    canonical_order(&p, in->data, in->lengths, in->count, in->max_len, m->dims.in_dim);
    for (size_t first = 0; first < in->count; first += p.chunk) {
        size_t n = in->count - first < p.chunk ? in->count - first : p.chunk;
        chunk_indices(&p, first, n);
        workspace_load(&p.ws, in->data, in->lengths, in->max_len, m->dims.in_dim, p.idx, n);
        ae_encode(&net, &p.ws);
        for (size_t r = 0; r < n; r++)
            memcpy(latent + p.ws.src[r] * Z, p.ws.z + r * Z, Z * sizeof *latent);
    }
    infer_plan_free(&p, m);
    return LSTMAE_OK;
}

int infer_decode(const lstmae_model *m, const float *latent, size_t count,
                 size_t length, float *out)
{
    infer_plan p;
    int st = infer_plan_make(&p, m, count, length);
    if (st != LSTMAE_OK) return st;
    ae_net net = model_net(m);
    size_t Z = m->dims.latent, D = m->dims.in_dim;
    /* canonical order of the latent vectors, as of sequences of length 1 */
    canonical_order(&p, latent, NULL, count, 1, Z);
    for (size_t first = 0; first < count; first += p.chunk) {
        size_t n = count - first < p.chunk ? count - first : p.chunk;
        chunk_indices(&p, first, n);
        workspace_load_uniform(&p.ws, p.idx, n, length);
        for (size_t r = 0; r < n; r++)
            memcpy(p.ws.z + r * Z, latent + p.idx[r] * Z, Z * sizeof *latent);
        ae_decode(&net, &p.ws);
        loss_activate(net.loss, p.ws.y, p.ws.pk.rows * D);
        unpack_steps(&p.ws, out, length, D);
    }
    infer_plan_free(&p, m);
    return LSTMAE_OK;
}

int infer_reconstruct(const lstmae_model *m, const lstmae_sequences *in, float *out)
{
    infer_plan p;
    int st = infer_plan_make(&p, m, in->count, in->max_len);
    if (st != LSTMAE_OK) return st;
    ae_net net = model_net(m);
    size_t D = m->dims.in_dim, T = in->max_len;
    memset(out, 0, in->count * T * D * sizeof *out); /* padding steps: 0 */
    canonical_order(&p, in->data, in->lengths, in->count, T, D);
    for (size_t first = 0; first < in->count; first += p.chunk) {
        size_t n = in->count - first < p.chunk ? in->count - first : p.chunk;
        chunk_indices(&p, first, n);
        workspace_load(&p.ws, in->data, in->lengths, T, D, p.idx, n);
        ae_encode(&net, &p.ws);
        ae_decode(&net, &p.ws);
        loss_activate(net.loss, p.ws.y, p.ws.pk.rows * D);
        unpack_steps(&p.ws, out, T, D);
    }
    infer_plan_free(&p, m);
    return LSTMAE_OK;
}

void infer_evaluate_planned(infer_plan *p, const lstmae_model *m,
                            const lstmae_sequences *in, loss_sums *sums,
                            uint64_t *elements)
{
    ae_net net = model_net(m);
    size_t D = m->dims.in_dim;
    uint64_t total = 0;
    memset(sums, 0, sizeof *sums);
    canonical_order(p, in->data, in->lengths, in->count, in->max_len, D);
    for (size_t first = 0; first < in->count; first += p->chunk) {
        size_t n = in->count - first < p->chunk ? in->count - first : p->chunk;
        chunk_indices(p, first, n);
        size_t rows = workspace_load(&p->ws, in->data, in->lengths, in->max_len, D, p->idx, n);
        ae_encode(&net, &p->ws);
        ae_decode(&net, &p->ws);
        ae_loss(&net, &p->ws, 0.0f, sums);
        total += (uint64_t)rows * D;
    }
    *elements = total;
}

int infer_evaluate(const lstmae_model *m, const lstmae_sequences *in,
                   loss_sums *sums, uint64_t *elements)
{
    infer_plan p;
    int st = infer_plan_make(&p, m, in->count, in->max_len);
    if (st != LSTMAE_OK) return st;
    infer_evaluate_planned(&p, m, in, sums, elements);
    infer_plan_free(&p, m);
    return LSTMAE_OK;
}

/* infer.c - encode, decode, reconstruct, evaluate in chunks of sequences.
   Every row of a batch is computed independently of the others, so the
   chunking does not change any result. */
#include "infer.h"

#include <stdint.h>
#include <string.h>

#include "autoenc.h"
#include "mem.h"
#include "workspace.h"

/* Sequences per chunk: up to 256, fewer for long sequences or big models
   so that a chunk's activations stay near 64 MiB. */
static size_t chunk_size(const lstmae_model *m, size_t count, size_t steps)
{
    const ae_dims *d = &m->dims;
    size_t per_step = (2 * d->layers * 6 * d->hidden + 2 * d->in_dim) * sizeof(float);
    size_t per_seq = per_step * (steps ? steps : 1);
    size_t chunk = ((size_t)64 << 20) / per_seq;
    if (chunk > 256) chunk = 256;
    if (chunk < 1) chunk = 1;
    return chunk < count ? chunk : count;
}

/* The identity index list first..first+n-1 in idx. */
static void iota(size_t *idx, size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++) idx[i] = first + i;
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
    size_t idx = chunk * sizeof(size_t);
    if (ws == 0 || ws > SIZE_MAX - idx) return 0;
    return ws + (idx ? idx : 1);
}

int infer_plan_make(infer_plan *p, const lstmae_model *m, size_t count, size_t steps)
{
    p->chunk = chunk_size(m, count, steps);
    p->idx = mem_alloc(&m->alloc, p->chunk * sizeof *p->idx);
    if (!p->idx) return LSTMAE_ERR_NOMEM;
    int st = workspace_plan(&p->ws, &m->dims, p->chunk, steps ? steps : 1, 0, &m->alloc);
    if (st != LSTMAE_OK) {
        mem_free(&m->alloc, p->idx);
        p->idx = NULL;
    }
    return st;
}

void infer_plan_free(infer_plan *p, const lstmae_model *m)
{
    workspace_free(&p->ws);
    mem_free(&m->alloc, p->idx);
    p->idx = NULL;
}

int infer_encode(const lstmae_model *m, const lstmae_sequences *in, float *latent)
{
    infer_plan p;
    int st = infer_plan_make(&p, m, in->count, in->max_len);
    if (st != LSTMAE_OK) return st;
    ae_net net = model_net(m);
    size_t Z = m->dims.latent;
    for (size_t first = 0; first < in->count; first += p.chunk) {
        size_t n = in->count - first < p.chunk ? in->count - first : p.chunk;
        iota(p.idx, first, n);
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
    for (size_t first = 0; first < count; first += p.chunk) {
        size_t n = count - first < p.chunk ? count - first : p.chunk;
        workspace_load_uniform(&p.ws, n, length);
        memcpy(p.ws.z, latent + first * Z, n * Z * sizeof *latent);
        ae_decode(&net, &p.ws);
        loss_activate(net.loss, p.ws.y, p.ws.pk.rows * D);
        unpack_steps(&p.ws, out + first * length * D, length, D);
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
    for (size_t first = 0; first < in->count; first += p.chunk) {
        size_t n = in->count - first < p.chunk ? in->count - first : p.chunk;
        iota(p.idx, first, n);
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
    for (size_t first = 0; first < in->count; first += p->chunk) {
        size_t n = in->count - first < p->chunk ? in->count - first : p->chunk;
        iota(p->idx, first, n);
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

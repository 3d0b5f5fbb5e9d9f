/* workspace.c - slab planning and batch packing. */
#include "workspace.h"

#include <limits.h>
#include <string.h>

#include "mem.h"
#include "tensor.h"

#define ALIGN 64 /* bytes; every slab region starts on a cache line */

/* A planned region: where a pointer goes and how many bytes it needs. */
typedef struct region { void **ptr; size_t bytes; } region;

/* a * b, or 0 with *ok cleared on overflow */
static size_t mul(size_t a, size_t b, int *ok)
{
    if (a != 0 && b > SIZE_MAX / a) { *ok = 0; return 0; }
    return a * b;
}

static size_t add(size_t a, size_t b, int *ok)
{
    if (b > SIZE_MAX - a) { *ok = 0; return 0; }
    return a + b;
}

/* Lays out every region of a workspace for this shape: their total size
   in *total (0 on overflow), and, when base is not NULL, the pointers. */
static void layout(ae_ws *ws, const ae_plan *p, size_t B, size_t T, int training,
                   char *base, size_t *total)
{
    /* Henc: the encoder's output width (the latent layer's input) */
    size_t D = p->d.in_dim, Henc = p->latent.in_dim, Z = p->latent.out_dim, NL = p->nlayers;
    size_t H = p->d.hidden, K = p->d.layers;
    int bidir = p->dirs == 2;
    /* an inference workspace shares the layers' buffers, except where a
       layer's activations are read again after the next layer ran (the
       bidirectional encoder's two directions; the free-running decoder's
       step-by-step loop) */
    int shared = !training && !bidir && !p->feedback;
    int ok = 1;
    size_t rows = mul(B, T, &ok);
    *total = 0;
    if (!ok || B == 0 || rows > INT_MAX || B > INT_MAX) return;
    size_t rD = mul(rows, D, &ok), rH = mul(rows, p->max_hidden, &ok);

    region regs[8 * LSTMAE_MAX_LAYERS + 3 * PLAN_MAX_LAYERS + 40];
    size_t nreg = 0;
#define REGION(dst, count, type) \
    (regs[nreg].ptr = (void **)(void *)&(dst), \
     regs[nreg++].bytes = mul((count), sizeof(type), &ok))
    REGION(ws->len, B, size_t);
    REGION(ws->src, B, size_t);
    REGION(ws->active, T + 1, size_t);
    REGION(ws->offset, T + 1, size_t);
    if (bidir || p->reverse_target) REGION(ws->rev, rows, size_t);
    REGION(ws->x, rD, float);
    if (p->reverse_target) REGION(ws->tgt, rD, float);
    if (!shared) {
        /* every layer's activations (backward needs them all) */
        for (size_t L = 0; L < NL; L++) {
            REGION(ws->gates[L], mul(rows, p->layer[L].width, &ok), float);
            REGION(ws->c[L], mul(rows, p->layer[L].cell->state * p->layer[L].hidden, &ok),
                   float);
            REGION(ws->h[L], mul(rows, p->layer[L].hidden, &ok), float);
        }
    } else {
        /* inference: a layer needs only the h of the layer below, so the
           layers share one gates and one c region, and h alternates
           between two (layer L writes h[L % 2] and reads h[(L - 1) % 2]) */
        REGION(ws->gates[0], mul(rows, p->max_width, &ok), float);
        REGION(ws->c[0], mul(rows, p->max_state, &ok), float);
        REGION(ws->h[0], mul(rows, p->max_hidden, &ok), float);
        if (NL > 1) REGION(ws->h[1], mul(rows, p->max_hidden, &ok), float);
    }
    if (bidir)
        for (size_t k = 0; k < K; k++) {
            if (k + 1 < K) REGION(ws->eout[k], mul(rows, 2 * H, &ok), float);
            REGION(ws->xrev[k], mul(rows, p->layer[2 * k + 1].in_dim, &ok), float);
        }
    if (p->feedback) REGION(ws->decin, mul(rows, Z + D, &ok), float);
    for (size_t k = 0; k < p->nbridges; k++) REGION(ws->h0[k], mul(B, H, &ok), float);
    REGION(ws->sc.rep, mul(B, p->max_width, &ok), float);
    /* packed weights, one matrix at a time: the largest of every layer's
       and every linear layer's; in training also those of every backward
       product */
    size_t wpack = 0, w;
    for (size_t L = 0; L < NL; L++) {
        const plan_layer *l = &p->layer[L];
        w = l->cell->wpack_floats(l->in_dim, l->hidden, training);
        if (w > wpack) wpack = w;
    }
    const plan_linear *lin[2 + LSTMAE_MAX_LAYERS];
    size_t nlin = 0;
    lin[nlin++] = &p->latent;
    lin[nlin++] = &p->output;
    for (size_t k = 0; k < p->nbridges; k++) lin[nlin++] = &p->bridge[k];
    for (size_t i = 0; i < nlin; i++) {
        size_t in = lin[i]->in_dim, out = lin[i]->out_dim;
        /* y = x W^T forward; dW += dy^T x and dx = dy W backward */
        const size_t need[3] = { tensor_project_floats(out, in),
                                 training ? tensor_matmul_tn_floats(out, in) : 0,
                                 training ? tensor_matmul_nn_floats(in, out) : 0 };
        for (int j = 0; j < 3; j++)
            if (need[j] > wpack) wpack = need[j];
    }
    if (wpack) REGION(ws->sc.wpack, wpack, float);
    REGION(ws->h_enc, mul(B, Henc, &ok), float);
    REGION(ws->z, mul(B, Z, &ok), float);
    REGION(ws->y, rD, float);
    if (training) {
        REGION(ws->dy, rD, float);
        REGION(ws->dh_a, rH, float);
        REGION(ws->dh_b, rH, float);
        REGION(ws->sc.dgates, mul(rows, p->max_width, &ok), float);
        REGION(ws->sc.hprev, rH, float);
        REGION(ws->sc.dc, mul(B, p->max_hidden, &ok), float);
        REGION(ws->dz, mul(B, Z, &ok), float);
        REGION(ws->dh_enc, mul(B, Henc, &ok), float);
        if (bidir) {
            REGION(ws->deout_a, mul(rows, 2 * H, &ok), float);
            REGION(ws->deout_b, mul(rows, 2 * H, &ok), float);
            if (K > 1) REGION(ws->dxrev, mul(rows, 2 * H, &ok), float);
        }
        if (p->feedback) REGION(ws->ddecin, mul(rows, Z + D, &ok), float);
        if (p->nbridges) REGION(ws->dh0, mul(B, H, &ok), float);
    }
#undef REGION
    size_t at = 0;
    for (size_t i = 0; i < nreg; i++) {
        if (base) *regs[i].ptr = base + at;
        at = add(at, add(regs[i].bytes, ALIGN - 1, &ok) / ALIGN * ALIGN, &ok);
    }
    if (base && shared)
        for (size_t k = 1; k < NL; k++) {
            ws->gates[k] = ws->gates[0];
            ws->c[k] = ws->c[0];
            ws->h[k] = ws->h[k % 2];
        }
    if (base && !p->reverse_target) ws->tgt = ws->x;
    /* ALIGN - 1 spare bytes to align the start of an allocator's block */
    at = add(at, ALIGN - 1, &ok);
    *total = ok ? at : 0;
}

size_t workspace_bytes(const ae_plan *p, size_t max_batch, size_t max_steps, int training)
{
    ae_ws scratch;
    size_t total;
    layout(&scratch, p, max_batch, max_steps, training, NULL, &total);
    return total;
}

void workspace_place(ae_ws *ws, const ae_plan *p, size_t max_batch, size_t max_steps,
                     int training, void *mem)
{
    memset(ws, 0, sizeof *ws);
    size_t total;
    char *base = (char *)mem + (ALIGN - (uintptr_t)mem % ALIGN) % ALIGN;
    layout(ws, p, max_batch, max_steps, training, base, &total);
    ws->max_batch = max_batch;
    ws->max_steps = max_steps;
    ws->training = training;
}

int workspace_plan(ae_ws *ws, const ae_plan *p, size_t max_batch,
                   size_t max_steps, int training, const lstmae_allocator *a)
{
    memset(ws, 0, sizeof *ws);
    size_t total = workspace_bytes(p, max_batch, max_steps, training);
    if (total == 0) return LSTMAE_ERR_INVALID_ARG;
    char *slab = mem_alloc(a, total);
    if (!slab) return LSTMAE_ERR_NOMEM;
    workspace_place(ws, p, max_batch, max_steps, training, slab);
    ws->slab = slab;
    ws->alloc = a;
    return LSTMAE_OK;
}

void workspace_free(ae_ws *ws)
{
    if (ws->slab) mem_free(ws->alloc, ws->slab);
    memset(ws, 0, sizeof *ws);
}

/* Fills active/offset/pk from ws->len (sorted, longest first). */
static size_t build_pack(ae_ws *ws, size_t n)
{
    size_t steps = n ? ws->len[0] : 0, r = n;
    ws->offset[0] = 0;
    for (size_t t = 0; t < steps; t++) {
        while (r > 0 && ws->len[r - 1] <= t) r--;
        ws->active[t] = r;
        ws->offset[t + 1] = ws->offset[t] + r;
    }
    ws->pk.batch = n;
    ws->pk.steps = steps;
    ws->pk.active = ws->active;
    ws->pk.offset = ws->offset;
    ws->pk.rows = ws->offset[steps];
    if (ws->rev)
        for (size_t t = 0; t < steps; t++)
            for (r = 0; r < ws->active[t]; r++)
                ws->rev[ws->offset[t] + r] = ws->offset[ws->len[r] - 1 - t] + r;
    return ws->pk.rows;
}

void workspace_permute_rows(float *dst, const float *src, const size_t *perm, size_t rows,
                            size_t width)
{
    for (size_t i = 0; i < rows; i++)
        memcpy(dst + i * width, src + perm[i] * width, width * sizeof *dst);
}

size_t workspace_load(ae_ws *ws, const float *data, const int32_t *lengths,
                      size_t T, size_t D, const size_t *idx, size_t n)
{
    /* Stable counting sort by length, longest first: ws->active serves as
       the count array (T + 1 entries) before the packing overwrites it. */
    size_t *count = ws->active;
    memset(count, 0, (T + 1) * sizeof *count);
    for (size_t i = 0; i < n; i++)
        count[lengths ? (size_t)lengths[idx[i]] : T]++;
    size_t pos = 0;
    for (size_t L = T + 1; L-- > 0;) {
        size_t c = count[L];
        count[L] = pos;
        pos += c;
    }
    for (size_t i = 0; i < n; i++) {
        size_t L = lengths ? (size_t)lengths[idx[i]] : T;
        size_t r = count[L]++;
        ws->len[r] = L;
        ws->src[r] = idx[i];
    }
    size_t rows = build_pack(ws, n);
    if (data) {
        /* Gather the valid steps only: padding is never read. */
        for (size_t t = 0; t < ws->pk.steps; t++) {
            float *dst = ws->x + ws->offset[t] * D;
            for (size_t r = 0; r < ws->active[t]; r++)
                memcpy(dst + r * D, data + (ws->src[r] * T + t) * D, D * sizeof *dst);
        }
        if (ws->in_offset) {
            const float *off = ws->in_offset, *sc = ws->in_scale;
            for (size_t i = 0; i < rows; i++)
                for (size_t d = 0; d < D; d++)
                    ws->x[i * D + d] = (ws->x[i * D + d] - off[d]) / sc[d];
        }
        if (ws->tgt != ws->x) workspace_permute_rows(ws->tgt, ws->x, ws->rev, rows, D);
    }
    return rows;
}

void workspace_load_uniform(ae_ws *ws, const size_t *idx, size_t n, size_t length)
{
    for (size_t r = 0; r < n; r++) {
        ws->len[r] = length;
        ws->src[r] = idx[r];
    }
    build_pack(ws, n);
}

uint64_t workspace_hash(const float *x, size_t n)
{
    /* four independent chains over 32-bit words (a chain's multiply
       waits for the last, so four run about four times as fast), each
       step a multiply and a shift that folds the high bits back down
       (floats differ mostly in their high bits, which a multiply alone
       never carries downward), then mixed together */
    uint64_t h[4] = { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull, 0x9e3779b97f4a7c15ull,
                      0xbf58476d1ce4e5b9ull };
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++) {
            uint32_t w;
            memcpy(&w, &x[i + (size_t)k], sizeof w);
            h[k] = (h[k] ^ w) * 0x9e3779b97f4a7c15ull;
            h[k] ^= h[k] >> 32;
        }
    for (; i < n; i++) {
        uint32_t w;
        memcpy(&w, &x[i], sizeof w);
        h[0] = (h[0] ^ w) * 0x9e3779b97f4a7c15ull;
        h[0] ^= h[0] >> 32;
    }
    uint64_t r = (uint64_t)n;
    for (int k = 0; k < 4; k++) {
        r = (r ^ h[k]) * 0xff51afd7ed558ccdull;
        r ^= r >> 33;
    }
    return r;
}

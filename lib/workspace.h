/* workspace.h - activation and gradient slabs for batches of one shape,
   planned once (one allocation) and reused by every batch; the time loop
   only does pointer arithmetic. Also turns a list of sequences into a
   packed batch (see cellkind.h). */
#ifndef LSTMAE_WORKSPACE_H
#define LSTMAE_WORKSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "cellkind.h"
#include "lstmae.h"
#include "plan.h"

typedef struct ae_ws {
    size_t max_batch, max_steps;  /* planned shape                      */
    int training;                 /* gradient buffers planned           */
    const float *in_offset, *in_scale; /* [D] input scaling that
                                     workspace_load applies, (x - offset)
                                     / scale; NULL: none (set by the
                                     caller, from ae_net)               */
    int free_run;                 /* decode with feedback: the decoder
                                     sees its own previous output (set
                                     by the caller before ae_decode)    */
    void *slab;                   /* the one allocation                 */
    const lstmae_allocator *alloc; /* where the slab came from          */

    /* the current batch, sorted by length (longest first) */
    size_t *len;                  /* [B] length of sorted row r          */
    size_t *src;                  /* [B] caller's index of sorted row r  */
    size_t *active;               /* [T] rows running at step t          */
    size_t *offset;               /* [T + 1] packed row of step t        */
    size_t *rev;                  /* [rows] time reversal: packed row of
                                     (t, r) -> that of (L_r - 1 - t, r);
                                     bidirectional or reverse_target only,
                                     else NULL                          */
    seq_pack pk;

    /* forward: one entry per layer of the plan (plan.h). In an
       inference workspace (training = 0) of a model without
       bidirectional or feedback, the layers share their gates and c,
       and h[L] is one of two buffers (L % 2): only the layer below is
       read. */
    float *x;                     /* [rows][D] packed input              */
    float *tgt;                   /* [rows][D] the decoder's target in
                                     its own step order: x, or with
                                     reverse_target x reversed          */
    float *gates[PLAN_MAX_LAYERS]; /* [rows][G] (G: the layer's width)  */
    float *c[PLAN_MAX_LAYERS];     /* [rows][state * H] the cell's saved
                                      state (LSTM: c)                    */
    float *h[PLAN_MAX_LAYERS];     /* [rows][H]                          */
    layer_scratch sc;             /* what every layer call uses in turn:
                                     rep [B][G]; wpack, the packed weights
                                     of the product running (also for the
                                     linear layers), or NULL when none
                                     fits (CBLAS); in training dgates
                                     [rows][G], dc [B][H], hprev [rows][H]
                                     (cellkind.h)                        */
    /* bidirectional (else NULL): level k's output [h_fwd ; h_bwd] in
       time order (k < K - 1: the next level's input), and level k's
       input reversed in time (the backward direction's input) */
    float *eout[LSTMAE_MAX_LAYERS];  /* [rows][2H]                       */
    float *xrev[LSTMAE_MAX_LAYERS];  /* [rows][level's input width]      */
    float *decin;                 /* feedback: [rows][Z + D] decoder layer
                                     0's input [z ; prev_t]             */
    float *h0[LSTMAE_MAX_LAYERS]; /* decoder_init latent: [B][H] decoder
                                     layer k's initial h                */
    float *h_enc;                 /* [B][dirs * H] encoder's final top h */
    float *z;                     /* [B][Z] latent                       */
    float *y;                     /* [rows][D] output pre-activations
                                     (free-running decode: activated)   */

    /* backward (training only) */
    float *dy;                    /* [rows][D]                           */
    float *dh_a, *dh_b;           /* [rows][H] dL/dh of a layer's output */
    float *dz;                    /* [B][Z]                              */
    float *dh_enc;                /* [B][dirs * H]                       */
    float *deout_a, *deout_b;     /* bidirectional: [rows][2H] dL/d of a
                                     level's output                     */
    float *dxrev;                 /* bidirectional, K > 1: [rows][2H] the
                                     backward direction's input gradient */
    float *ddecin;                /* feedback: [rows][Z + D]              */
    float *dh0;                   /* decoder_init latent: [B][H]          */
} ae_ws;

/* Bytes workspace_plan allocates for this shape; 0 when a size overflows
   (or a matrix dimension exceeds INT_MAX). */
size_t workspace_bytes(const ae_plan *p, size_t max_batch, size_t max_steps,
                       int training);
/* Plans and allocates (through a) a workspace for up to max_batch
   sequences of up to max_steps steps. Returns LSTMAE_OK,
   LSTMAE_ERR_INVALID_ARG when workspace_bytes is 0, LSTMAE_ERR_NOMEM.
   On failure *ws owns nothing. */
int workspace_plan(ae_ws *ws, const ae_plan *p, size_t max_batch,
                   size_t max_steps, int training, const lstmae_allocator *a);
void workspace_free(ae_ws *ws);
/* Lays a workspace out in mem, workspace_bytes(...) bytes that the caller
   owns (any alignment); workspace_free then frees nothing. Returns
   nothing: the caller checked workspace_bytes is not 0. */
void workspace_place(ae_ws *ws, const ae_plan *p, size_t max_batch, size_t max_steps,
                     int training, void *mem);

/* Loads sequences idx[0..n-1] of data [.][T][D] (lengths NULL: all T):
   sorts them by length, builds the packing (and ws->rev), and when data
   is not NULL gathers their valid steps into ws->x (padding is never
   read) and the decoder's targets into ws->tgt.
   n <= max_batch, T <= max_steps. Returns the valid steps, sum of lengths. */
size_t workspace_load(ae_ws *ws, const float *data, const int32_t *lengths,
                      size_t T, size_t D, const size_t *idx, size_t n);

/* 64-bit hash of n floats' bits (FNV-1a over 32-bit words, then mixed):
   the content key of a sequence in the canonical orders of infer.c and
   fit.c. */
uint64_t workspace_hash(const float *x, size_t n);

/* dst[i] = src[perm[i]] for rows of `width` floats (perm: ws->rev). */
void workspace_permute_rows(float *dst, const float *src, const size_t *perm, size_t rows,
                            size_t width);

/* Loads n rows that all run `length` steps; row r stands for sequence
   idx[r] (for decoding). */
void workspace_load_uniform(ae_ws *ws, const size_t *idx, size_t n, size_t length);

#endif

/* lstm.h - one LSTM layer, forward and backward through time, over
   "packed" batches.

   Packing (as PyTorch's PackedSequence): the B sequences of a batch are
   sorted by length, longest first, so the rows still running at step t are
   a prefix 0 .. n_t - 1 of the batch. Step t's rows are stored contiguously
   at packed row offset[t]; a sequence's padding steps have no row at all,
   so padding is never read and costs nothing. Gate order is PyTorch's:
   i, f, g, o, each a block of H in a row of G = 4H. */
#ifndef LSTMAE_LSTM_H
#define LSTMAE_LSTM_H

#include <stddef.h>

#include "plan.h"

typedef struct lstm_pack {
    size_t batch;         /* B                                            */
    size_t steps;         /* steps with at least one row (longest length) */
    const size_t *active; /* [steps] n_t, non-increasing                  */
    const size_t *offset; /* [steps + 1] first packed row of step t       */
    size_t rows;          /* offset[steps] = sum of lengths               */
} lstm_pack;

/* Scratch that every layer call uses in turn (regions of a workspace). */
typedef struct layer_scratch {
    float *rep;    /* [B][G] the repeated input's projection (forward), its
                      gate gradients summed over steps (backward)         */
    float *wpack;  /* lstm_wpack_floats (forward) or
                      lstm_backward_wpack_floats (backward) floats, 64-byte
                      aligned, for packed weights; NULL: CBLAS throughout */
    /* backward only */
    float *dgates; /* [rows][G] dL/da                                     */
    float *dc;     /* [B][H] the cell-state carry                         */
    float *hprev;  /* [rows][H] h_{t-1} of every step >= 1, lined up with
                      dgates for dW_hh                                    */
} layer_scratch;

/* One call of a layer, forward or backward.
   w:      the layer's tensors (plan order: w_ih [G][in_dim], w_hh [G][H],
           bias [G]); dw: their slices of a gradient block (backward)
   in:     [rows][in_dim] packed input, or with layer->repeat [B][in_dim],
           the same input at every step of row r (the decoder's z)
   gates:  [rows][G] post-activation (i, f, g, o); c, h: [rows][H]. Out in
           forward, in (as forward left them) in backward.
   dh:     backward: [rows][H] in, dL/dh from above; it also receives the
           recurrent terms while running (its content is consumed)
   din:    backward: [rows][in_dim] (or [B][in_dim] with repeat) out,
           overwritten; NULL when the input's gradient is not needed */
typedef struct layer_call {
    const plan_layer *layer;
    const lstm_pack *pk;
    const float *w[PLAN_LAYER_TENSORS];
    float *dw[PLAN_LAYER_TENSORS];
    const float *in;
    float *gates, *c, *h;
    float *dh, *din;
    layer_scratch s;
} layer_call;

/* Forward through all steps, from h = c = 0. */
void lstm_forward(const layer_call *lc);

/* Backward through time; mirrors lstm_forward. Accumulates (+=) into
   lc->dw. */
void lstm_backward(const layer_call *lc);

/* Floats of the wpack scratch a layer uses (for its input and recurrent
   weights, one at a time): 0 when none is small enough to pack. */
size_t lstm_wpack_floats(size_t in_dim, size_t hidden);
/* The same for training: lstm_backward's products after the time loop
   use the wpack scratch too (tensor_matmul_tn / _nn), so that a fit on a
   CPU with the packed kernel makes no BLAS call. */
size_t lstm_backward_wpack_floats(size_t in_dim, size_t hidden);

#endif

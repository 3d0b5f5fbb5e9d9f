/* cellkind.h - the interface every recurrent cell kind implements (one
   file per kind: lstm.c, gru.c), the call it receives, and the table of
   kinds. A layer of the plan (plan.h) names its kind; everything that
   depends on the cell (gate count, tensors, saved state, the kernels, the
   scratch they pack weights into) is asked of the kind, never spelled
   out by the caller.

   Packing (as PyTorch's PackedSequence): the B sequences of a batch are
   sorted by length, longest first, so the rows still running at step t are
   a prefix 0 .. n_t - 1 of the batch. Step t's rows are stored contiguously
   at packed row offset[t]; a sequence's padding steps have no row at all,
   so padding is never read and costs nothing. */
#ifndef LSTMAE_CELLKIND_H
#define LSTMAE_CELLKIND_H

#include <stddef.h>

#include "plan.h"

typedef struct seq_pack {
    size_t batch;         /* B                                            */
    size_t steps;         /* steps with at least one row (longest length) */
    const size_t *active; /* [steps] n_t, non-increasing                  */
    const size_t *offset; /* [steps + 1] first packed row of step t       */
    size_t rows;          /* offset[steps] = sum of lengths               */
} seq_pack;

/* Scratch that every layer call uses in turn (regions of a workspace);
   G is the layer's width (gates * H). */
typedef struct layer_scratch {
    float *rep;    /* [B][G] the repeated input's projection (forward), its
                      gate gradients summed over steps (backward); a kind
                      may use it for a step's n_t <= B rows in the time
                      loop after that (GRU: the recurrent product)        */
    float *wpack;  /* the kind's wpack_floats(in_dim, H, training) floats,
                      64-byte aligned, for packed weights; NULL: CBLAS    */
    float *bwpack; /* the scratch of the backward products after the time
                      loop (tensor_matmul_nn/_tn): wpack when a fit runs
                      several workers, whose BLAS calls would serialise
                      on OpenBLAS's lock; NULL (CBLAS) otherwise, where
                      OpenBLAS is as fast or faster (L: 5-7%)          */
    /* backward only */
    float *dgates; /* [rows][G] dL/da                                     */
    float *dc;     /* [B][H] the carry of the recurrent state (LSTM: dc;
                      GRU: the zero h_{-1} of step 0)                   */
    float *hprev;  /* [rows][H] h_{t-1} of every step >= 1 (and h0 at
                      step 0 when given), lined up with dgates for dW_hh */
} layer_scratch;

/* One call of a layer, forward or backward.
   w:      the layer's tensors, in the kind's order (weight_ih
           [G][in_dim], weight_hh [G][H], then the biases [G]); dw: their
           slices of a gradient block (backward; accumulated, +=)
   in:     [rows][in_dim] packed input, or with layer->repeat [B][in_dim],
           the same input at every step of row r (the decoder's z)
   gates:  [rows][G] what the kind keeps of its gates; state: [rows][state
           * H] its other saved values (LSTM: c); h: [rows][H]. Out in
           forward, in (as forward left them) in backward.
   dh:     backward: [rows][H] in, dL/dh from above; it also receives the
           recurrent terms while running (its content is consumed)
   din:    backward: [rows][in_dim] (or [B][in_dim] with repeat), the
           input's gradient added in (+=), like dw, so that several
           layers reading one input can each add their part; NULL when
           the input's gradient is not needed
   h0, c0: the initial state, [n_0][H] each (the rows that run step 0);
           NULL: zero. c0 is the LSTM's cell state (other kinds ignore
           it); backward supports c0 NULL only.
   dh0:    backward: [B][H] out, dL/dh0 (written; 0 for rows that run no
           step); NULL when not needed. Only with h0. */
typedef struct layer_call {
    const plan_layer *layer;
    const seq_pack *pk;
    const float *w[PLAN_LAYER_TENSORS];
    float *dw[PLAN_LAYER_TENSORS];
    const float *in;
    float *gates, *state, *h;
    float *dh, *din;
    const float *h0, *c0;
    float *dh0;
    layer_scratch s;
} layer_call;

/* The shape of a cell tensor (G = gates * H). */
typedef enum cell_shape {
    CELL_INPUT_WEIGHT,     /* [G][in_dim]                                  */
    CELL_RECURRENT_WEIGHT, /* [G][H]                                       */
    CELL_BIAS              /* [G]                                          */
} cell_shape;

typedef struct cell_kind {
    const char *name;                              /* "lstm"               */
    size_t gates;                                  /* G = gates * H        */
    size_t ntensors;
    const char *tensor_names[PLAN_LAYER_TENSORS];  /* "weight_ih", ...     */
    cell_shape tensor_shapes[PLAN_LAYER_TENSORS];
    size_t state;      /* saved floats per row besides gates and h, in H  */
    /* Forward through all steps of lc->pk from lc->h0, lc->c0. */
    void (*forward)(const layer_call *lc);
    /* Backward through time, mirroring forward. */
    void (*backward)(const layer_call *lc);
    /* Floats of layer_scratch.wpack a call uses: forward, or with
       training forward and backward; 0 when nothing is packed. */
    size_t (*wpack_floats)(size_t in_dim, size_t hidden, int training);
} cell_kind;

/* The kind of a lstmae_cell value (the index in cellkind.c's table), or
   NULL for a value with no kind. */
const cell_kind *cellkind_get(int id);

/* The input side, the same for every kind (G = lc->layer->width).
   Forward: lc->gates[rows][G] = bias + in W_ih^T for every step (with
   layer->repeat, one projection per sequence in lc->s.rep, copied to each
   of its steps). Backward, from the gate gradients dgates[rows][G] of the
   input product: dW_ih += dgates^T in and, when lc->din, din += dgates
   W_ih (with repeat, summed over the steps into lc->s.rep first). */
void cellkind_project_input(const layer_call *lc, const float *bias);
void cellkind_input_backward(const layer_call *lc, const float *dgates);

#endif

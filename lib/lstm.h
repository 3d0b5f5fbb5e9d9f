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

typedef struct lstm_pack {
    size_t batch;         /* B                                            */
    size_t steps;         /* steps with at least one row (longest length) */
    const size_t *active; /* [steps] n_t, non-increasing                  */
    const size_t *offset; /* [steps + 1] first packed row of step t       */
    size_t rows;          /* offset[steps] = sum of lengths               */
} lstm_pack;

/* Forward through all steps, from h = c = 0.
   gates: [rows][G] out, post-activation (i, f, g, o), kept for backward
   c, h:  [rows][H] out
   in:    [rows][in_dim] packed input, or with `repeat` [B][in_dim], the
          same input at every step of row r (the decoder's z)
   rep:   [B][G] scratch, used with `repeat`
   wpack: lstm_wpack_floats(in_dim, hidden) floats of scratch (64-byte
          aligned) for the packed weights, or NULL (CBLAS throughout)
   w_ih [G][in_dim], w_hh [G][H], bias [G] */
void lstm_forward(float *gates, float *c, float *h, float *rep, float *wpack,
                  const float *in, int repeat,
                  const float *w_ih, const float *w_hh, const float *bias,
                  const lstm_pack *pk, size_t in_dim, size_t hidden);

/* Backward through time; mirrors lstm_forward. Accumulates (+=) into
   dw_ih, dw_hh, dbias.
   dh:     [rows][H] in: dL/dh from above; also receives the recurrent
           terms while running (its content is consumed)
   din:    [rows][in_dim] (or [B][in_dim] with repeat) out, overwritten;
           NULL when the input's gradient is not needed
   dgates: [rows][G] scratch; dc: [B][H] scratch; rep: [B][G] scratch;
   hprev: [rows][H] scratch; wpack: as for lstm_forward */
void lstm_backward(float *dw_ih, float *dw_hh, float *dbias, float *din,
                   float *dh, float *dgates, float *dc, float *rep, float *hprev,
                   float *wpack, const float *gates, const float *c, const float *h,
                   const float *in, int repeat,
                   const float *w_ih, const float *w_hh,
                   const lstm_pack *pk, size_t in_dim, size_t hidden);

/* Floats of the wpack scratch a layer uses (for its input and recurrent
   weights, one at a time): 0 when none is small enough to pack. */
size_t lstm_wpack_floats(size_t in_dim, size_t hidden);
/* The same for training: lstm_backward's products after the time loop
   use the wpack scratch too (tensor_matmul_tn / _nn), so that a fit on a
   CPU with the packed kernel makes no BLAS call. */
size_t lstm_backward_wpack_floats(size_t in_dim, size_t hidden);

#endif

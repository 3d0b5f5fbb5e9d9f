/* lstm.c - LSTM layer forward/backward over packed batches.

   a_t = W_ih u_t + W_hh h_{t-1} + b           (G = 4H: i, f, g, o)
   i = sig(a_i), f = sig(a_f), g = tanh(a_g), o = sig(a_o)
   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)

   Masking: row r of the batch runs steps 0 .. L_r - 1 only; at step t only
   the first n_t rows exist, so a finished sequence is neither updated nor
   read again, and its last h, c are its final state. */
#include "lstm.h"

#include <string.h>

#include "cell.h"
#include "tensor.h"

void lstm_forward(float *gates, float *c, float *h, float *rep,
                  const float *in, int repeat,
                  const float *w_ih, const float *w_hh, const float *bias,
                  const lstm_pack *pk, size_t in_dim, size_t hidden)
{
    size_t H = hidden, G = 4 * hidden;
    /* Input projections of every step at once: one GEMM (or, for a
       repeated input, one per sequence, copied to each of its steps). */
    if (repeat) {
        tensor_fill_rows(rep, bias, pk->batch, G);
        tensor_matmul_nt(rep, in, w_ih, pk->batch, G, in_dim, 1.0f);
        for (size_t t = 0; t < pk->steps; t++)
            memcpy(gates + pk->offset[t] * G, rep, pk->active[t] * G * sizeof *rep);
    } else {
        tensor_fill_rows(gates, bias, pk->rows, G);
        tensor_matmul_nt(gates, in, w_ih, pk->rows, G, in_dim, 1.0f);
    }
    if (pk->steps == 0) return;
    cell_kernels cell = cell_select();
    cell.forward_first(gates, c, h, pk->active[0], H);
    for (size_t t = 1; t < pk->steps; t++) {
        size_t n = pk->active[t], cur = pk->offset[t], prev = pk->offset[t - 1];
        float *g = gates + cur * G;
        /* a_t += h_{t-1} W_hh^T for the n rows still running */
        tensor_matmul_nt(g, h + prev * H, w_hh, n, G, H, 1.0f);
        cell.forward(g, c + cur * H, h + cur * H, c + prev * H, n, H);
    }
}

void lstm_backward(float *dw_ih, float *dw_hh, float *dbias, float *din,
                   float *dh, float *dgates, float *dc, float *rep, float *hprev,
                   const float *gates, const float *c, const float *h,
                   const float *in, int repeat,
                   const float *w_ih, const float *w_hh,
                   const lstm_pack *pk, size_t in_dim, size_t hidden)
{
    size_t H = hidden, G = 4 * hidden;
    if (pk->steps == 0) { /* every sequence empty: nothing ran */
        if (repeat && din) memset(din, 0, pk->batch * in_dim * sizeof *din);
        return;
    }
    memset(dc, 0, pk->batch * H * sizeof *dc);
    cell_kernels cell = cell_select();
    for (size_t t = pk->steps - 1; t > 0; t--) {
        size_t n = pk->active[t], cur = pk->offset[t], prev = pk->offset[t - 1];
        float *dg = dgates + cur * G;
        cell.backward(dg, dc, dh + cur * H, gates + cur * G, c + cur * H,
                      c + prev * H, n, H);
        /* dh_{t-1} += da_t W_hh, for the n rows still running at t */
        tensor_matmul_nn(dh + prev * H, dg, w_hh, n, H, G, 1.0f);
        /* h_{t-1} of those rows, lined up with da_t for dW_hh below */
        memcpy(hprev + (cur - pk->offset[1]) * H, h + prev * H, n * H * sizeof *hprev);
    }
    cell.backward(dgates, dc, dh, gates, c, NULL, pk->active[0], H);

    /* dW_hh += sum_{t >= 1} da_t^T h_{t-1}: one product over all steps */
    size_t later = pk->rows - pk->offset[1];
    tensor_matmul_tn(dw_hh, dgates + pk->offset[1] * G, hprev, G, H, later, 1.0f);
    tensor_add_colsum(dbias, dgates, pk->rows, G);
    if (repeat) {
        /* The input of row r is the same at every step: sum its gate
           gradients over the steps, then one product per sequence. */
        memset(rep, 0, pk->batch * G * sizeof *rep);
        for (size_t t = 0; t < pk->steps; t++) {
            const float *dg = dgates + pk->offset[t] * G;
            for (size_t k = 0; k < pk->active[t] * G; k++) rep[k] += dg[k];
        }
        tensor_matmul_tn(dw_ih, rep, in, G, in_dim, pk->batch, 1.0f);
        if (din) tensor_matmul_nn(din, rep, w_ih, pk->batch, in_dim, G, 0.0f);
    } else {
        tensor_matmul_tn(dw_ih, dgates, in, G, in_dim, pk->rows, 1.0f);
        if (din) tensor_matmul_nn(din, dgates, w_ih, pk->rows, in_dim, G, 0.0f);
    }
}

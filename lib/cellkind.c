/* cellkind.c - the table of cell kinds. A new kind is one file that
   defines its cell_kind and one entry here. */
#include "cellkind.h"

#include <string.h>

#include "gru.h"
#include "lstm.h"
#include "tensor.h"

/* indexed by lstmae_cell: the configuration's value is the index */
static const cell_kind *const kinds[] = {
    [LSTMAE_CELL_LSTM] = &lstm_cell,
    [LSTMAE_CELL_GRU] = &gru_cell,
};

const cell_kind *cellkind_get(int id)
{
    if (id < 0 || (size_t)id >= sizeof kinds / sizeof kinds[0]) return NULL;
    return kinds[id];
}

void cellkind_project_input(const layer_call *lc, const float *bias)
{
    const seq_pack *pk = lc->pk;
    size_t G = lc->layer->width, in_dim = lc->layer->in_dim;
    const float *w_ih = lc->w[PLAN_W_IH];
    float *gates = lc->gates, *rep = lc->s.rep, *wpack = lc->s.wpack;
    /* Every step at once: one GEMM (or, for a repeated input, one per
       sequence, copied to each of its steps). */
    if (lc->layer->repeat) {
        tensor_fill_rows(rep, bias, pk->batch, G);
        tensor_project(rep, lc->in, w_ih, pk->batch, G, in_dim, wpack);
        for (size_t t = 0; t < pk->steps; t++)
            memcpy(gates + pk->offset[t] * G, rep, pk->active[t] * G * sizeof *rep);
    } else {
        tensor_fill_rows(gates, bias, pk->rows, G);
        tensor_project(gates, lc->in, w_ih, pk->rows, G, in_dim, wpack);
    }
}

void cellkind_input_backward(const layer_call *lc, const float *dgates)
{
    const seq_pack *pk = lc->pk;
    size_t G = lc->layer->width, in_dim = lc->layer->in_dim;
    const float *w_ih = lc->w[PLAN_W_IH];
    float *dw_ih = lc->dw[PLAN_W_IH], *din = lc->din, *rep = lc->s.rep;
    float *wpack = lc->s.bwpack; /* the backward products' scratch */
    if (lc->layer->repeat) {
        /* The input of row r is the same at every step: sum its gate
           gradients over the steps, then one product per sequence. */
        memset(rep, 0, pk->batch * G * sizeof *rep);
        for (size_t t = 0; t < pk->steps; t++) {
            const float *dg = dgates + pk->offset[t] * G;
            for (size_t k = 0; k < pk->active[t] * G; k++) rep[k] += dg[k];
        }
        tensor_matmul_tn(dw_ih, rep, lc->in, G, in_dim, pk->batch, 1.0f, wpack);
        if (din) tensor_matmul_nn(din, rep, w_ih, pk->batch, in_dim, G, 1.0f, wpack);
    } else {
        tensor_matmul_tn(dw_ih, dgates, lc->in, G, in_dim, pk->rows, 1.0f, wpack);
        if (din) tensor_matmul_nn(din, dgates, w_ih, pk->rows, in_dim, G, 1.0f, wpack);
    }
}

/* lstm.c - LSTM layer forward/backward over packed batches.

   a_t = W_ih u_t + W_hh h_{t-1} + b           (G = 4H: i, f, g, o)
   i = sig(a_i), f = sig(a_f), g = tanh(a_g), o = sig(a_o)
   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)

   The initial state is (h0, c0) when the call gives one, else zero.

   Masking: row r of the batch runs steps 0 .. L_r - 1 only; at step t only
   the first n_t rows exist, so a finished sequence is neither updated nor
   read again, and its last h, c are its final state. */
#include "lstm.h"

#include <string.h>

#include "cell.h"
#include "tensor.h"

static void lstm_forward(const layer_call *lc)
{
    const seq_pack *pk = lc->pk;
    size_t H = lc->layer->hidden, G = 4 * H;
    float *gates = lc->gates, *c = lc->state, *h = lc->h, *wpack = lc->s.wpack;
    cellkind_project_input(lc, lc->w[PLAN_BIAS]);
    if (pk->steps == 0) return;
    cell_kernels cell = cell_select();
    /* packed only when used (NULL: CBLAS, nothing packed) */
    tensor_step rec = tensor_step_plan(pk->steps > 1 || lc->h0 ? wpack : NULL,
                                       lc->w[PLAN_W_HH], G, H, 1);
    /* step 0 from (h0, c0), or from the zero state */
    if (lc->h0) rec.run(&rec, gates, lc->h0, pk->active[0]);
    if (lc->c0)
        cell.forward(gates, c, h, lc->c0, pk->active[0], H);
    else
        cell.forward_first(gates, c, h, pk->active[0], H);
    for (size_t t = 1; t < pk->steps; t++) {
        size_t n = pk->active[t], cur = pk->offset[t], prev = pk->offset[t - 1];
        float *g = gates + cur * G;
        /* a_t += h_{t-1} W_hh^T for the n rows still running */
        rec.run(&rec, g, h + prev * H, n);
        cell.forward(g, c + cur * H, h + cur * H, c + prev * H, n, H);
    }
}

static void lstm_backward(const layer_call *lc)
{
    const seq_pack *pk = lc->pk;
    size_t H = lc->layer->hidden, G = 4 * H, n0 = pk->active[0];
    const float *gates = lc->gates, *c = lc->state, *h = lc->h;
    float *dh = lc->dh, *dgates = lc->s.dgates, *dc = lc->s.dc;
    float *hprev = lc->s.hprev, *wpack = lc->s.wpack;
    const float *w_hh = lc->w[PLAN_W_HH];
    float *dw_hh = lc->dw[PLAN_W_HH], *dbias = lc->dw[PLAN_BIAS];
    float *dh0 = lc->h0 ? lc->dh0 : NULL;
    if (dh0) memset(dh0, 0, pk->batch * H * sizeof *dh0);
    if (pk->steps == 0) return; /* every sequence empty: nothing ran, din += 0 */
    memset(dc, 0, pk->batch * H * sizeof *dc);
    cell_kernels cell = cell_select();
    /* with h0, step 0 has a recurrent product too: its rows lead hprev */
    size_t first = lc->h0 ? 0 : pk->offset[1];
    tensor_step rec = tensor_step_plan(pk->steps > 1 || dh0 ? wpack : NULL, w_hh, H, G, 0);
    for (size_t t = pk->steps - 1; t > 0; t--) {
        size_t n = pk->active[t], cur = pk->offset[t], prev = pk->offset[t - 1];
        float *dg = dgates + cur * G;
        cell.backward(dg, dc, dh + cur * H, gates + cur * G, c + cur * H,
                      c + prev * H, n, H);
        /* dh_{t-1} += da_t W_hh, for the n rows still running at t */
        rec.run(&rec, dh + prev * H, dg, n);
        /* h_{t-1} of those rows, lined up with da_t for dW_hh below */
        memcpy(hprev + (cur - first) * H, h + prev * H, n * H * sizeof *hprev);
    }
    cell.backward(dgates, dc, dh, gates, c, NULL, n0, H);
    if (lc->h0) {
        if (dh0) rec.run(&rec, dh0, dgates, n0);
        memcpy(hprev, lc->h0, n0 * H * sizeof *hprev);
    }

    /* dW_hh += sum_t da_t^T h_{t-1}: one product over all steps */
    size_t later = pk->rows - first;
    if (later)
        tensor_matmul_tn(dw_hh, dgates + first * G, hprev, G, H, later, 1.0f, lc->s.bwpack);
    tensor_add_colsum(dbias, dgates, pk->rows, G);
    cellkind_input_backward(lc, dgates);
}

static size_t lstm_wpack_floats(size_t in_dim, size_t hidden)
{
    /* the input weights, the recurrent ones forward (x W_hh^T) and
       backward (dA W_hh), one at a time */
    size_t G = 4 * hidden, most = tensor_project_floats(G, in_dim);
    size_t fw = tensor_project_floats(G, hidden), bw = tensor_project_floats(hidden, G);
    if (fw > most) most = fw;
    return bw > most ? bw : most;
}

static size_t lstm_backward_wpack_floats(size_t in_dim, size_t hidden)
{
    /* the forward's packs, then the products after the time loop:
       dW_hh, dW_ih (tensor_matmul_tn) and d_in (tensor_matmul_nn) */
    size_t G = 4 * hidden, most = lstm_wpack_floats(in_dim, hidden);
    const size_t need[3] = { tensor_matmul_tn_floats(G, hidden),
                             tensor_matmul_tn_floats(G, in_dim),
                             tensor_matmul_nn_floats(in_dim, G) };
    for (int i = 0; i < 3; i++)
        if (need[i] > most) most = need[i];
    return most;
}

static size_t lstm_scratch_floats(size_t in_dim, size_t hidden, int training)
{
    return training ? lstm_backward_wpack_floats(in_dim, hidden)
                    : lstm_wpack_floats(in_dim, hidden);
}

const cell_kind lstm_cell = {
    .name = "lstm",
    .gates = 4,
    .ntensors = 3,
    .tensor_names = { "weight_ih", "weight_hh", "bias" },
    .tensor_shapes = { CELL_INPUT_WEIGHT, CELL_RECURRENT_WEIGHT, CELL_BIAS },
    .state = 1, /* c */
    .forward = lstm_forward,
    .backward = lstm_backward,
    .wpack_floats = lstm_scratch_floats,
};

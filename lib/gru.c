/* gru.c - GRU layer forward/backward over packed batches (PyTorch's
   nn.GRU; G = 3H, gate blocks r, z, n).

   gi_t = W_ih u_t + b_ih,   gh_t = W_hh h_{t-1} + b_hh
   r = sig(gi_r + gh_r),  z = sig(gi_z + gh_z)
   n = tanh(gi_n + r * gh_n)
   h_t = (1 - z) * n + z * h_{t-1}

   Saved for backward: gates = [r, z, n] per row, state = gh_n (one H
   per row: W_hn h_{t-1} + b_hn, which the reset gate multiplies).

   Backward, with dh = dL/dh_t (its own part plus what step t+1 sent):
   dn~ = dh (1 - z) (1 - n^2)       (through n's tanh)
   dgi = [dr~, dz~, dn~],  dgh = [dr~, dz~, r dn~],
   dr~ = dn~ gh_n r (1 - r),  dz~ = dh (h_{t-1} - n) z (1 - z)
   dh_{t-1} += z dh + dgh W_hh
   dW_hh += dgh^T h_{t-1}, db_hh += dgh; dW_ih += dgi^T u, db_ih += dgi,
   din += dgi W_ih.
   dgi and dgh differ only in the n block: the time loop keeps dgh in
   dgates and dn~ in dh (whose content is consumed anyway); after the
   products that need dgh, dn~ is copied into dgates' n block, which then
   holds dgi.

   The initial state is h0 when the call gives one, else zero.

   Masking as lstm.c: row r runs steps 0 .. L_r - 1 only; at step t only
   the first n_t rows exist. */
#include "gru.h"

#include <string.h>

#include "fastmath.h"
#include "tensor.h"

/* One step forward for n rows. g: [n][G] in gi, out [r, z, n]; gh:
   [n][G] the recurrent part, rows ghs apart (0: the same row, b_hh, at
   step 0); hn: [n][H] out, gh's n block; h: [n][H] out; hp: [n][H] h_{t-1}
   or NULL (zero). */
VECTOR_CLONES
static void gru_forward_rows(float *restrict g, const float *restrict gh, size_t ghs,
                             float *restrict hn, float *restrict h,
                             const float *restrict hp, size_t n, size_t H)
{
    size_t G = 3 * H;
    for (size_t i = 0; i < n; i++) {
        float *gr = g + i * G, *hnr = hn + i * H, *hr = h + i * H;
        const float *ghr = gh + i * ghs;
        for (size_t j = 0; j < H; j++) {
            float r = fm_sigmoid(gr[j] + ghr[j]);
            float z = fm_sigmoid(gr[H + j] + ghr[H + j]);
            float a = ghr[2 * H + j];
            float nn = fm_tanh(gr[2 * H + j] + r * a);
            gr[j] = r;
            gr[H + j] = z;
            gr[2 * H + j] = nn;
            hnr[j] = a;
            hr[j] = (1.0f - z) * nn;
        }
        if (hp) {
            const float *hpr = hp + i * H;
            for (size_t j = 0; j < H; j++) hr[j] += gr[H + j] * hpr[j];
        }
    }
}

/* dL/dh_{t-1} += z dL/dh_t for n rows (the direct path of h_t =
   ... + z h_{t-1}); g as forward left it. */
VECTOR_CLONES
static void gru_carry_rows(float *restrict dhp, const float *restrict g,
                           const float *restrict dh, size_t n, size_t H)
{
    size_t G = 3 * H;
    for (size_t i = 0; i < n; i++) {
        const float *zr = g + i * G + H, *dhr = dh + i * H;
        float *dhpr = dhp + i * H;
        for (size_t j = 0; j < H; j++) dhpr[j] += zr[j] * dhr[j];
    }
}

/* One step backward for n rows. dh: [n][H] in dL/dh_t (with every term
   from step t + 1), out dn~; dgh: [n][G] out; g, hn: as forward left
   them; hp: h_{t-1} (zeros at step 0). */
VECTOR_CLONES
static void gru_backward_rows(float *restrict dgh, float *restrict dh,
                              const float *restrict g, const float *restrict hn,
                              const float *restrict hp, size_t n, size_t H)
{
    size_t G = 3 * H;
    for (size_t i = 0; i < n; i++) {
        const float *gr = g + i * G, *hnr = hn + i * H, *hpr = hp + i * H;
        float *dgr = dgh + i * G, *dhr = dh + i * H;
        for (size_t j = 0; j < H; j++) {
            float r = gr[j], z = gr[H + j], nn = gr[2 * H + j], d = dhr[j];
            float dnt = d * (1.0f - z) * (1.0f - nn * nn);
            dgr[j] = dnt * hnr[j] * r * (1.0f - r);
            dgr[H + j] = d * (hpr[j] - nn) * z * (1.0f - z);
            dgr[2 * H + j] = dnt * r;
            dhr[j] = dnt;
        }
    }
}

static void gru_forward(const layer_call *lc)
{
    const seq_pack *pk = lc->pk;
    size_t H = lc->layer->hidden, G = 3 * H;
    const float *b_ih = lc->w[PLAN_BIAS], *b_hh = lc->w[GRU_B_HH];
    float *gates = lc->gates, *hn = lc->state, *h = lc->h, *rep = lc->s.rep;
    float *wpack = lc->s.wpack;
    cellkind_project_input(lc, b_ih);
    if (pk->steps == 0) return;
    /* rep (free again) holds gh_t = h_{t-1} W_hh^T + b_hh, n_t <= B rows */
    tensor_step rec = tensor_step_plan(pk->steps > 1 || lc->h0 ? wpack : NULL,
                                       lc->w[PLAN_W_HH], G, H, 1);
    if (lc->h0) {
        size_t n = pk->active[0];
        tensor_fill_rows(rep, b_hh, n, G);
        rec.run(&rec, rep, lc->h0, n);
        gru_forward_rows(gates, rep, G, hn, h, lc->h0, n, H);
    } else {
        /* step 0 from h = 0: the recurrent part is b_hh alone */
        gru_forward_rows(gates, b_hh, 0, hn, h, NULL, pk->active[0], H);
    }
    for (size_t t = 1; t < pk->steps; t++) {
        size_t n = pk->active[t], cur = pk->offset[t], prev = pk->offset[t - 1];
        tensor_fill_rows(rep, b_hh, n, G);
        rec.run(&rec, rep, h + prev * H, n);
        gru_forward_rows(gates + cur * G, rep, G, hn + cur * H, h + cur * H,
                         h + prev * H, n, H);
    }
}

static void gru_backward(const layer_call *lc)
{
    const seq_pack *pk = lc->pk;
    size_t H = lc->layer->hidden, G = 3 * H, n0 = pk->active[0];
    const float *gates = lc->gates, *hn = lc->state, *h = lc->h;
    float *dh = lc->dh, *dgates = lc->s.dgates, *zero = lc->s.dc;
    float *hprev = lc->s.hprev, *wpack = lc->s.wpack;
    const float *w_hh = lc->w[PLAN_W_HH];
    float *dw_hh = lc->dw[PLAN_W_HH];
    float *db_ih = lc->dw[PLAN_BIAS], *db_hh = lc->dw[GRU_B_HH];
    float *dh0 = lc->h0 ? lc->dh0 : NULL;
    if (dh0) memset(dh0, 0, pk->batch * H * sizeof *dh0);
    if (pk->steps == 0) return; /* every sequence empty: nothing ran, din += 0 */
    /* with h0, step 0 has a recurrent product too: its rows lead hprev */
    size_t first = lc->h0 ? 0 : pk->offset[1];
    tensor_step rec = tensor_step_plan(pk->steps > 1 || dh0 ? wpack : NULL, w_hh, H, G, 0);
    for (size_t t = pk->steps - 1; t > 0; t--) {
        size_t n = pk->active[t], cur = pk->offset[t], prev = pk->offset[t - 1];
        float *dg = dgates + cur * G;
        gru_carry_rows(dh + prev * H, gates + cur * G, dh + cur * H, n, H);
        gru_backward_rows(dg, dh + cur * H, gates + cur * G, hn + cur * H,
                          h + prev * H, n, H);
        /* dh_{t-1} += dgh_t W_hh, for the n rows still running at t */
        rec.run(&rec, dh + prev * H, dg, n);
        /* h_{t-1} of those rows, lined up with dgh_t for dW_hh below */
        memcpy(hprev + (cur - first) * H, h + prev * H, n * H * sizeof *hprev);
    }
    if (lc->h0) {
        if (dh0) gru_carry_rows(dh0, gates, dh, n0, H);
        gru_backward_rows(dgates, dh, gates, hn, lc->h0, n0, H);
        if (dh0) rec.run(&rec, dh0, dgates, n0);
        memcpy(hprev, lc->h0, n0 * H * sizeof *hprev);
    } else {
        /* step 0: h_{-1} = 0 (dc, which the GRU has no other use for) */
        memset(zero, 0, n0 * H * sizeof *zero);
        gru_backward_rows(dgates, dh, gates, hn, zero, n0, H);
    }

    /* dW_hh += sum_t dgh_t^T h_{t-1} (h_{-1} = h0 or 0); db_hh += dgh */
    size_t later = pk->rows - first;
    if (later)
        tensor_matmul_tn(dw_hh, dgates + first * G, hprev, G, H, later, 1.0f, lc->s.bwpack);
    tensor_add_colsum(db_hh, dgates, pk->rows, G);
    /* dgates becomes dgi: its n block is dn~, kept in dh */
    for (size_t k = 0; k < pk->rows; k++)
        memcpy(dgates + k * G + 2 * H, dh + k * H, H * sizeof *dgates);
    tensor_add_colsum(db_ih, dgates, pk->rows, G);
    cellkind_input_backward(lc, dgates);
}

static size_t gru_wpack_floats(size_t in_dim, size_t hidden, int training)
{
    /* forward: the input weights, then the recurrent ones (x W_hh^T);
       training adds the backward's recurrent pack (dA W_hh) and the
       products after the time loop: dW_hh, dW_ih (tensor_matmul_tn) and
       d_in (tensor_matmul_nn). One at a time. */
    size_t G = 3 * hidden;
    size_t need[6] = { tensor_project_floats(G, in_dim), tensor_project_floats(G, hidden),
                       0, 0, 0, 0 };
    if (training) {
        need[2] = tensor_project_floats(hidden, G);
        need[3] = tensor_matmul_tn_floats(G, hidden);
        need[4] = tensor_matmul_tn_floats(G, in_dim);
        need[5] = tensor_matmul_nn_floats(in_dim, G);
    }
    size_t most = 0;
    for (int i = 0; i < 6; i++)
        if (need[i] > most) most = need[i];
    return most;
}

const cell_kind gru_cell = {
    .name = "gru",
    .gates = 3,
    .ntensors = 4,
    .tensor_names = { "weight_ih", "weight_hh", "bias_ih", "bias_hh" },
    .tensor_shapes = { CELL_INPUT_WEIGHT, CELL_RECURRENT_WEIGHT, CELL_BIAS, CELL_BIAS },
    .state = 1, /* gh_n = W_hn h_{t-1} + b_hn */
    .forward = gru_forward,
    .backward = gru_backward,
    .wpack_floats = gru_wpack_floats,
};

/* autoenc.c - forward/backward drivers: encoder, latent, repeat, decoder,
   output, loss. See docs/design.md for the equations. */
#include "autoenc.h"

#include <string.h>

#include "lstm.h"
#include "tensor.h"

#define W(net, i) ((net)->params + (net)->table[(i)].offset)
#define DW(net, grad, i) ((grad) + (net)->table[(i)].offset)

static size_t layer_in(const ae_dims *d, size_t k, size_t first_in)
{
    return k == 0 ? first_in : d->hidden;
}

void ae_encode(const ae_net *net, ae_ws *ws)
{
    const ae_dims *d = &net->d;
    size_t K = d->layers, H = d->hidden, B = ws->pk.batch;
    const float *in = ws->x;
    for (size_t k = 0; k < K; k++) {
        lstm_forward(ws->gates[k], ws->c[k], ws->h[k], ws->rep, ws->wpack, in, 0,
                     W(net, PARAM_ENC(K, k, P_WIH)), W(net, PARAM_ENC(K, k, P_WHH)),
                     W(net, PARAM_ENC(K, k, P_BIAS)), &ws->pk,
                     layer_in(d, k, d->in_dim), H);
        in = ws->h[k];
    }
    /* h_enc: the top layer's h after each sequence's last step; the empty
       sequence keeps the zero initial state. */
    const float *top = ws->h[K - 1];
    for (size_t r = 0; r < B; r++) {
        size_t L = ws->len[r];
        if (L > 0)
            memcpy(ws->h_enc + r * H, top + (ws->offset[L - 1] + r) * H, H * sizeof(float));
        else
            memset(ws->h_enc + r * H, 0, H * sizeof(float));
    }
    /* z = h_enc W_z^T + b_z */
    tensor_fill_rows(ws->z, W(net, PARAM_LAT_B(K)), B, d->latent);
    tensor_project(ws->z, ws->h_enc, W(net, PARAM_LAT_W(K)), B, d->latent, H, ws->wpack);
}

void ae_decode(const ae_net *net, ae_ws *ws)
{
    const ae_dims *d = &net->d;
    size_t K = d->layers, H = d->hidden;
    /* Layer 0's input is z at every step: projected once per sequence. */
    const float *in = ws->z;
    for (size_t k = 0; k < K; k++) {
        lstm_forward(ws->gates[K + k], ws->c[K + k], ws->h[K + k], ws->rep, ws->wpack, in,
                     k == 0, W(net, PARAM_DEC(K, k, P_WIH)),
                     W(net, PARAM_DEC(K, k, P_WHH)), W(net, PARAM_DEC(K, k, P_BIAS)),
                     &ws->pk, layer_in(d, k, d->latent), H);
        in = ws->h[K + k];
    }
    /* y = h_dec W_o^T + b_o, every valid step in one product */
    tensor_fill_rows(ws->y, W(net, PARAM_OUT_B(K)), ws->pk.rows, d->in_dim);
    tensor_project(ws->y, in, W(net, PARAM_OUT_W(K)), ws->pk.rows, d->in_dim, H, ws->wpack);
}

void ae_loss(const ae_net *net, ae_ws *ws, float scale, loss_sums *sums)
{
    loss_forward_backward(net->loss, ws->y, ws->x, ws->pk.rows * net->d.in_dim,
                          scale, ws->training ? ws->dy : NULL, sums);
}

void ae_backward(const ae_net *net, ae_ws *ws, float *grad)
{
    const ae_dims *d = &net->d;
    size_t K = d->layers, H = d->hidden, Z = d->latent, D = d->in_dim;
    size_t B = ws->pk.batch, rows = ws->pk.rows;
    float *dh = ws->dh_a, *dbelow = ws->dh_b, *swap;

    /* output: dW_o += dy^T h_dec; db_o += sum dy; dh_dec = dy W_o */
    const float *h_top = ws->h[2 * K - 1];
    tensor_matmul_tn(DW(net, grad, PARAM_OUT_W(K)), ws->dy, h_top, D, H, rows, 1.0f,
                     ws->wpack);
    tensor_add_colsum(DW(net, grad, PARAM_OUT_B(K)), ws->dy, rows, D);
    tensor_matmul_nn(dh, ws->dy, W(net, PARAM_OUT_W(K)), rows, H, D, 0.0f, ws->wpack);

    /* decoder, top to bottom; layer 0's input gradient is dz, summed over
       the steps inside lstm_backward (the repeated input) */
    for (size_t k = K; k-- > 0;) {
        size_t L = K + k;
        const float *in = k == 0 ? ws->z : ws->h[L - 1];
        lstm_backward(DW(net, grad, PARAM_DEC(K, k, P_WIH)),
                      DW(net, grad, PARAM_DEC(K, k, P_WHH)),
                      DW(net, grad, PARAM_DEC(K, k, P_BIAS)),
                      k == 0 ? ws->dz : dbelow, dh, ws->dgates, ws->dc, ws->rep, ws->hprev,
                      ws->wpack, ws->gates[L], ws->c[L], ws->h[L], in, k == 0,
                      W(net, PARAM_DEC(K, k, P_WIH)), W(net, PARAM_DEC(K, k, P_WHH)),
                      &ws->pk, layer_in(d, k, Z), H);
        swap = dh; dh = dbelow; dbelow = swap;
    }

    /* latent: dW_z += dz^T h_enc; db_z += sum dz; dh_enc = dz W_z */
    tensor_matmul_tn(DW(net, grad, PARAM_LAT_W(K)), ws->dz, ws->h_enc, Z, H, B, 1.0f,
                     ws->wpack);
    tensor_add_colsum(DW(net, grad, PARAM_LAT_B(K)), ws->dz, B, Z);
    tensor_matmul_nn(ws->dh_enc, ws->dz, W(net, PARAM_LAT_W(K)), B, H, Z, 0.0f,
                     ws->wpack);

    /* encoder top: only each sequence's last step receives a gradient */
    memset(dh, 0, rows * H * sizeof *dh);
    for (size_t r = 0; r < B; r++) {
        size_t L = ws->len[r];
        if (L > 0)
            memcpy(dh + (ws->offset[L - 1] + r) * H, ws->dh_enc + r * H, H * sizeof *dh);
    }
    for (size_t k = K; k-- > 0;) {
        const float *in = k == 0 ? ws->x : ws->h[k - 1];
        lstm_backward(DW(net, grad, PARAM_ENC(K, k, P_WIH)),
                      DW(net, grad, PARAM_ENC(K, k, P_WHH)),
                      DW(net, grad, PARAM_ENC(K, k, P_BIAS)),
                      k == 0 ? NULL : dbelow, dh, ws->dgates, ws->dc, ws->rep, ws->hprev,
                      ws->wpack, ws->gates[k], ws->c[k], ws->h[k], in, 0,
                      W(net, PARAM_ENC(K, k, P_WIH)), W(net, PARAM_ENC(K, k, P_WHH)),
                      &ws->pk, layer_in(d, k, D), H);
        swap = dh; dh = dbelow; dbelow = swap;
    }
}

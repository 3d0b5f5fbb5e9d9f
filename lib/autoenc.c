/* autoenc.c - forward/backward drivers: encoder, latent, repeat, decoder,
   output, loss, over the layers of the plan. See docs/design.md for the
   equations. */
#include "autoenc.h"

#include <string.h>

#include "cellkind.h"
#include "tensor.h"

/* A tensor's values, and its slice of a gradient block. */
#define W(net, t) ((net)->params + (t).offset)
#define DW(grad, t) ((grad) + (t).offset)

/* The call of plan layer L over ws: its weights (and with grad their
   gradient slices), its activations, ws's packing and scratch. */
static layer_call layer_at(const ae_net *net, ae_ws *ws, float *grad, size_t L,
                           const float *in)
{
    const plan_layer *l = &net->plan->layer[L];
    layer_call lc;
    memset(&lc, 0, sizeof lc);
    lc.layer = l;
    lc.pk = &ws->pk;
    for (size_t i = 0; i < l->ntensors; i++) {
        lc.w[i] = W(net, l->t[i]);
        lc.dw[i] = grad ? DW(grad, l->t[i]) : NULL;
    }
    lc.in = in;
    lc.gates = ws->gates[L];
    lc.state = ws->c[L];
    lc.h = ws->h[L];
    lc.s = ws->sc;
    return lc;
}

/* Forward of plan layer L from `in` (packed rows, or [B][in_dim] for a
   repeated input) into ws's gates[L], c[L], h[L]. */
static void layer_forward(const ae_net *net, ae_ws *ws, size_t L, const float *in)
{
    layer_call lc = layer_at(net, ws, NULL, L, in);
    net->plan->layer[L].cell->forward(&lc);
}

/* Backward of plan layer L: dh in (consumed), din += the input's gradient
   (NULL: not needed). */
static void layer_backward(const ae_net *net, ae_ws *ws, float *grad, size_t L,
                           const float *in, float *dh, float *din)
{
    layer_call lc = layer_at(net, ws, grad, L, in);
    lc.dh = dh;
    lc.din = din;
    net->plan->layer[L].cell->backward(&lc);
}

void ae_encode(const ae_net *net, ae_ws *ws)
{
    const ae_plan *p = net->plan;
    size_t E = p->enc_layers, B = ws->pk.batch;
    const plan_linear *lat = &p->latent;
    size_t H = lat->in_dim;
    const float *in = ws->x;
    for (size_t L = 0; L < E; L++) {
        layer_forward(net, ws, L, in);
        in = ws->h[L];
    }
    /* h_enc: the top layer's h after each sequence's last step; the empty
       sequence keeps the zero initial state. */
    for (size_t r = 0; r < B; r++) {
        size_t len = ws->len[r];
        if (len > 0)
            memcpy(ws->h_enc + r * H, in + (ws->offset[len - 1] + r) * H, H * sizeof(float));
        else
            memset(ws->h_enc + r * H, 0, H * sizeof(float));
    }
    /* z = h_enc W_z^T + b_z */
    tensor_fill_rows(ws->z, W(net, lat->bias), B, lat->out_dim);
    tensor_project(ws->z, ws->h_enc, W(net, lat->weight), B, lat->out_dim, H, ws->sc.wpack);
}

void ae_decode(const ae_net *net, ae_ws *ws)
{
    const ae_plan *p = net->plan;
    const plan_linear *out = &p->output;
    /* The bottom decoder layer's input is z at every step (repeat). */
    const float *in = ws->z;
    for (size_t L = p->enc_layers; L < p->nlayers; L++) {
        layer_forward(net, ws, L, in);
        in = ws->h[L];
    }
    /* y = h_dec W_o^T + b_o, every valid step in one product */
    tensor_fill_rows(ws->y, W(net, out->bias), ws->pk.rows, out->out_dim);
    tensor_project(ws->y, in, W(net, out->weight), ws->pk.rows, out->out_dim, out->in_dim,
                   ws->sc.wpack);
}

void ae_loss(const ae_net *net, ae_ws *ws, float scale, loss_sums *sums)
{
    loss_forward_backward(net->loss, ws->y, ws->x, ws->pk.rows * net->plan->d.in_dim,
                          scale, ws->training ? ws->dy : NULL, sums);
}

void ae_backward(const ae_net *net, ae_ws *ws, float *grad)
{
    const ae_plan *p = net->plan;
    const plan_linear *out = &p->output, *lat = &p->latent;
    size_t E = p->enc_layers, B = ws->pk.batch, rows = ws->pk.rows;
    float *dh = ws->dh_a, *dbelow = ws->dh_b, *swap;

    /* output: dW_o += dy^T h_dec; db_o += sum dy; dh_dec = dy W_o */
    size_t D = out->out_dim, Hd = out->in_dim;
    tensor_matmul_tn(DW(grad, out->weight), ws->dy, ws->h[p->nlayers - 1], D, Hd, rows, 1.0f,
                     ws->sc.wpack);
    tensor_add_colsum(DW(grad, out->bias), ws->dy, rows, D);
    tensor_matmul_nn(dh, ws->dy, W(net, out->weight), rows, Hd, D, 0.0f, ws->sc.wpack);

    /* decoder, top to bottom; the bottom layer's input gradient is dz,
       summed over the steps inside the layer's backward (the repeated input) */
    for (size_t L = p->nlayers; L-- > E;) {
        int bottom = L == E;
        float *din = bottom ? ws->dz : dbelow;
        memset(din, 0, (p->layer[L].repeat ? B : rows) * p->layer[L].in_dim * sizeof *din);
        layer_backward(net, ws, grad, L, bottom ? ws->z : ws->h[L - 1], dh, din);
        swap = dh; dh = dbelow; dbelow = swap;
    }

    /* latent: dW_z += dz^T h_enc; db_z += sum dz; dh_enc = dz W_z */
    size_t Z = lat->out_dim, H = lat->in_dim;
    tensor_matmul_tn(DW(grad, lat->weight), ws->dz, ws->h_enc, Z, H, B, 1.0f, ws->sc.wpack);
    tensor_add_colsum(DW(grad, lat->bias), ws->dz, B, Z);
    tensor_matmul_nn(ws->dh_enc, ws->dz, W(net, lat->weight), B, H, Z, 0.0f, ws->sc.wpack);

    /* encoder top: only each sequence's last step receives a gradient */
    memset(dh, 0, rows * H * sizeof *dh);
    for (size_t r = 0; r < B; r++) {
        size_t len = ws->len[r];
        if (len > 0)
            memcpy(dh + (ws->offset[len - 1] + r) * H, ws->dh_enc + r * H, H * sizeof *dh);
    }
    /* encoder, top to bottom; the bottom layer's input gradient is not
       needed */
    for (size_t L = E; L-- > 0;) {
        if (L > 0) memset(dbelow, 0, rows * p->layer[L].in_dim * sizeof *dbelow);
        layer_backward(net, ws, grad, L, L == 0 ? ws->x : ws->h[L - 1], dh,
                       L == 0 ? NULL : dbelow);
        swap = dh; dh = dbelow; dbelow = swap;
    }
}

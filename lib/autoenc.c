/* autoenc.c - forward/backward drivers: encoder, latent, decoder, output,
   loss, over the layers of the plan, with the variants of MODEL.md
   ("Variants"). See docs/design.md for the equations.

   Bidirectional encoder: the backward direction of a level runs as an
   ordinary layer over the level's input reversed in time (ws->rev maps
   packed row (t, r) to (L_r - 1 - t, r); packed rows keep their shape
   under it, since row r runs the same number of steps either way), so it
   reads no padding, as PyTorch's packed sequences. Its h is in reversed
   order and is mapped back when the level's output [h_fwd ; h_bwd] is
   built, and its gradients likewise.

   Reversed target: the decoder runs in its own step order and is
   compared with ws->tgt, the target reversed the same way; callers that
   return steps map them back (infer.c). */
#include "autoenc.h"

#include <math.h>
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
   repeated input) and initial h0 (NULL: zero) into ws's gates[L], c[L],
   h[L]. */
static void layer_forward(const ae_net *net, ae_ws *ws, size_t L, const float *in,
                          const float *h0)
{
    layer_call lc = layer_at(net, ws, NULL, L, in);
    lc.h0 = h0;
    net->plan->layer[L].cell->forward(&lc);
}

/* Backward of plan layer L: dh in (consumed), din += the input's gradient
   (NULL: not needed), dh0 = dL/dh0 when h0 (NULL: zero state). */
static void layer_backward(const ae_net *net, ae_ws *ws, float *grad, size_t L,
                           const float *in, float *dh, float *din, const float *h0,
                           float *dh0)
{
    layer_call lc = layer_at(net, ws, grad, L, in);
    lc.dh = dh;
    lc.din = din;
    lc.h0 = h0;
    lc.dh0 = dh0;
    net->plan->layer[L].cell->backward(&lc);
}

/* ---- encoder --------------------------------------------------------- */

void ae_encode(const ae_net *net, ae_ws *ws)
{
    const ae_plan *p = net->plan;
    size_t K = p->d.layers, H = p->d.hidden, dirs = p->dirs;
    size_t B = ws->pk.batch, rows = ws->pk.rows;
    const plan_linear *lat = &p->latent;
    size_t Henc = lat->in_dim; /* dirs * H */
    const float *in = ws->x;
    for (size_t k = 0; k < K; k++) {
        size_t Lf = k * dirs;
        layer_forward(net, ws, Lf, in, NULL);
        if (dirs == 1) {
            in = ws->h[Lf];
            continue;
        }
        /* the backward direction, over the level's input reversed */
        workspace_permute_rows(ws->xrev[k], in, ws->rev, rows, p->layer[Lf + 1].in_dim);
        layer_forward(net, ws, Lf + 1, ws->xrev[k], NULL);
        if (k + 1 < K) {
            /* the level's output in time order: [h_fwd_t ; h_bwd_t] */
            float *o = ws->eout[k];
            const float *hf = ws->h[Lf], *hb = ws->h[Lf + 1];
            for (size_t i = 0; i < rows; i++) {
                memcpy(o + i * 2 * H, hf + i * H, H * sizeof *o);
                memcpy(o + i * 2 * H + H, hb + ws->rev[i] * H, H * sizeof *o);
            }
            in = o;
        }
    }
    /* h_enc: the top level's h after each sequence's last step (forward)
       and after its first step (backward: the last the reversed run
       takes, at the same packed row); the empty sequence keeps the zero
       initial state. */
    size_t top = (K - 1) * dirs;
    for (size_t r = 0; r < B; r++) {
        size_t len = ws->len[r];
        float *he = ws->h_enc + r * Henc;
        if (len == 0) {
            memset(he, 0, Henc * sizeof *he);
            continue;
        }
        size_t i = ws->offset[len - 1] + r;
        for (size_t dir = 0; dir < dirs; dir++)
            memcpy(he + dir * H, ws->h[top + dir] + i * H, H * sizeof *he);
    }
    /* z = h_enc W_z^T + b_z */
    tensor_fill_rows(ws->z, W(net, lat->bias), B, lat->out_dim);
    tensor_project(ws->z, ws->h_enc, W(net, lat->weight), B, lat->out_dim, Henc,
                   ws->sc.wpack);
}

/* ---- decoder --------------------------------------------------------- */

/* decoder_init latent: h0 of decoder layer k = tanh(z W_b^T + b_b). */
static void bridges_forward(const ae_net *net, ae_ws *ws)
{
    const ae_plan *p = net->plan;
    size_t B = ws->pk.batch;
    for (size_t k = 0; k < p->nbridges; k++) {
        const plan_linear *b = &p->bridge[k];
        float *h0 = ws->h0[k];
        tensor_fill_rows(h0, W(net, b->bias), B, b->out_dim);
        tensor_project(h0, ws->z, W(net, b->weight), B, b->out_dim, b->in_dim, ws->sc.wpack);
        for (size_t i = 0; i < B * b->out_dim; i++) h0[i] = tanhf(h0[i]);
    }
}

/* The bottom decoder layer's input row of (t, r) with feedback: [z_r ;
   prev], prev = 0 at step 0. */
static void put_decin(const ae_plan *p, ae_ws *ws, size_t t, size_t r, const float *prev)
{
    size_t Z = p->d.latent, D = p->d.in_dim;
    float *row = ws->decin + (ws->offset[t] + r) * (Z + D);
    memcpy(row, ws->z + r * Z, Z * sizeof *row);
    if (prev)
        memcpy(row + Z, prev, D * sizeof *row);
    else
        memset(row + Z, 0, D * sizeof *row);
}

/* y = h_dec W_o^T + b_o for n rows from packed row `first` (wpack: the
   scratch to pack W_o into, or NULL: CBLAS). */
static void output_rows(const ae_net *net, ae_ws *ws, const float *hdec, size_t first,
                        size_t n, float *wpack)
{
    const plan_linear *out = &net->plan->output;
    float *y = ws->y + first * out->out_dim;
    tensor_fill_rows(y, W(net, out->bias), n, out->out_dim);
    tensor_project(y, hdec + first * out->in_dim, W(net, out->weight), n, out->out_dim,
                   out->in_dim, wpack);
}

/* Free-running decode (feedback, decode from z alone): step by step
   through every decoder layer and the output, whose activated output is
   the next step's prev. ws->y ends up activated. The one-step calls run
   on CBLAS (no wpack): packing a layer's weights once per step would
   cost more than the step's product. */
static void decode_free(const ae_net *net, ae_ws *ws)
{
    const ae_plan *p = net->plan;
    size_t E = p->enc_layers, D = p->d.in_dim, Z = p->d.latent;
    for (size_t t = 0; t < ws->pk.steps; t++) {
        size_t n = ws->active[t], cur = ws->offset[t];
        for (size_t r = 0; r < n; r++)
            put_decin(p, ws, t, r, t ? ws->y + (ws->offset[t - 1] + r) * D : NULL);
        /* one step of n rows, from the state the last step left */
        size_t one_active = n, one_offset[2] = { 0, n };
        seq_pack one = { n, 1, &one_active, one_offset, n };
        const float *in = ws->decin + cur * (Z + D);
        for (size_t L = E; L < p->nlayers; L++) {
            const plan_layer *l = &p->layer[L];
            size_t j = L - E, S = l->cell->state * l->hidden;
            layer_call lc = layer_at(net, ws, NULL, L, in);
            lc.pk = &one;
            lc.s.wpack = NULL;
            lc.gates += cur * l->width;
            lc.state += cur * S;
            lc.h += cur * l->hidden;
            if (t == 0) {
                lc.h0 = p->nbridges ? ws->h0[j] : NULL;
            } else {
                size_t prev = ws->offset[t - 1];
                lc.h0 = ws->h[L] + prev * l->hidden;
                lc.c0 = ws->c[L] + prev * S;
            }
            l->cell->forward(&lc);
            in = lc.h;
        }
        output_rows(net, ws, ws->h[p->nlayers - 1], cur, n, NULL);
        loss_activate(net->loss, ws->y + cur * D, n, D);
    }
}

void ae_decode(const ae_net *net, ae_ws *ws)
{
    const ae_plan *p = net->plan;
    if (p->nbridges) bridges_forward(net, ws);
    if (p->feedback && ws->free_run) {
        decode_free(net, ws);
        return;
    }
    /* The bottom decoder layer's input is z at every step (repeat), or
       with feedback [z ; the previous target step] (teacher forcing). */
    const float *in = ws->z;
    if (p->feedback) {
        size_t D = p->d.in_dim;
        for (size_t t = 0; t < ws->pk.steps; t++)
            for (size_t r = 0; r < ws->active[t]; r++)
                put_decin(p, ws, t, r, t ? ws->tgt + (ws->offset[t - 1] + r) * D : NULL);
        in = ws->decin;
    }
    for (size_t L = p->enc_layers; L < p->nlayers; L++) {
        size_t j = L - p->enc_layers;
        layer_forward(net, ws, L, in, p->nbridges ? ws->h0[j] : NULL);
        in = ws->h[L];
    }
    /* every valid step in one product */
    output_rows(net, ws, in, 0, ws->pk.rows, ws->sc.wpack);
}

void ae_loss(const ae_net *net, ae_ws *ws, float scale, loss_sums *sums)
{
    loss_forward_backward(net->loss, ws->y, ws->tgt, ws->pk.rows, net->plan->d.in_dim, scale,
                          ws->training ? ws->dy : NULL, sums);
}

/* ---- backward -------------------------------------------------------- */

/* Bridge k's backward from dh0 = dL/dh0 (consumed): dW_b += da^T z,
   db_b += sum da, dz += da W_b, da = dh0 (1 - h0^2). */
static void bridge_backward(const ae_net *net, ae_ws *ws, float *grad, size_t k)
{
    const plan_linear *b = &net->plan->bridge[k];
    size_t B = ws->pk.batch, Hb = b->out_dim, Z = b->in_dim;
    float *da = ws->dh0;
    const float *h0 = ws->h0[k];
    for (size_t i = 0; i < B * Hb; i++) da[i] *= 1.0f - h0[i] * h0[i];
    tensor_matmul_tn(DW(grad, b->weight), da, ws->z, Hb, Z, B, 1.0f, ws->sc.bwpack);
    tensor_add_colsum(DW(grad, b->bias), da, B, Hb);
    tensor_matmul_nn(ws->dz, da, W(net, b->weight), B, Z, Hb, 1.0f, ws->sc.bwpack);
}

/* Decoder, top to bottom, from dh = dL/dh of the top layer (consumed);
   leaves dz = dL/dz. */
static void decoder_backward(const ae_net *net, ae_ws *ws, float *grad, float *dh,
                             float *dbelow)
{
    const ae_plan *p = net->plan;
    size_t E = p->enc_layers, B = ws->pk.batch, rows = ws->pk.rows;
    size_t Z = p->d.latent, D = p->d.in_dim;
    float *swap;
    memset(ws->dz, 0, B * Z * sizeof *ws->dz);
    for (size_t L = p->nlayers; L-- > E;) {
        const plan_layer *l = &p->layer[L];
        size_t j = L - E;
        /* the bottom layer's input gradient: dz itself for the repeated z
           (summed over the steps inside the layer), or [dz ; dprev] per
           step with feedback */
        float *din = j > 0 ? dbelow : p->feedback ? ws->ddecin : ws->dz;
        const float *in = j > 0 ? ws->h[L - 1] : p->feedback ? ws->decin : ws->z;
        if (din != ws->dz) memset(din, 0, rows * l->in_dim * sizeof *din);
        layer_backward(net, ws, grad, L, in, dh, din, p->nbridges ? ws->h0[j] : NULL,
                       p->nbridges ? ws->dh0 : NULL);
        if (p->nbridges) bridge_backward(net, ws, grad, j);
        swap = dh; dh = dbelow; dbelow = swap;
    }
    if (p->feedback) /* the z part of every step's input gradient */
        for (size_t t = 0; t < ws->pk.steps; t++)
            for (size_t r = 0; r < ws->active[t]; r++) {
                const float *g = ws->ddecin + (ws->offset[t] + r) * (Z + D);
                float *dz = ws->dz + r * Z;
                for (size_t i = 0; i < Z; i++) dz[i] += g[i];
            }
}

/* The bidirectional encoder, top level to bottom, from dh_enc. */
static void encoder_backward_bidir(const ae_net *net, ae_ws *ws, float *grad)
{
    const ae_plan *p = net->plan;
    size_t K = p->d.layers, H = p->d.hidden, B = ws->pk.batch, rows = ws->pk.rows;
    const size_t *rev = ws->rev;
    float *deout = ws->deout_a, *dbelow = ws->deout_b, *swap;
    /* the top level's output gradient: h_fwd after the last step, h_bwd
       after the first (in time order: at step 0) */
    memset(deout, 0, rows * 2 * H * sizeof *deout);
    for (size_t r = 0; r < B; r++) {
        size_t len = ws->len[r];
        if (len == 0) continue;
        const float *g = ws->dh_enc + r * 2 * H;
        memcpy(deout + (ws->offset[len - 1] + r) * 2 * H, g, H * sizeof *deout);
        memcpy(deout + (ws->offset[0] + r) * 2 * H + H, g + H, H * sizeof *deout);
    }
    for (size_t k = K; k-- > 0;) {
        size_t Lf = 2 * k;
        float *dhf = ws->dh_a, *dhb = ws->dh_b;
        /* split: the backward direction's part in its own (reversed) order */
        for (size_t i = 0; i < rows; i++) {
            memcpy(dhf + i * H, deout + i * 2 * H, H * sizeof *dhf);
            memcpy(dhb + i * H, deout + rev[i] * 2 * H + H, H * sizeof *dhb);
        }
        if (k == 0) { /* the input's gradient is not needed */
            layer_backward(net, ws, grad, Lf, ws->x, dhf, NULL, NULL, NULL);
            layer_backward(net, ws, grad, Lf + 1, ws->xrev[0], dhb, NULL, NULL, NULL);
            break;
        }
        memset(dbelow, 0, rows * 2 * H * sizeof *dbelow);
        layer_backward(net, ws, grad, Lf, ws->eout[k - 1], dhf, dbelow, NULL, NULL);
        memset(ws->dxrev, 0, rows * 2 * H * sizeof *ws->dxrev);
        layer_backward(net, ws, grad, Lf + 1, ws->xrev[k], dhb, ws->dxrev, NULL, NULL);
        for (size_t i = 0; i < rows; i++) {
            float *d = dbelow + i * 2 * H;
            const float *s = ws->dxrev + rev[i] * 2 * H;
            for (size_t j = 0; j < 2 * H; j++) d[j] += s[j];
        }
        swap = deout; deout = dbelow; dbelow = swap;
    }
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
                     ws->sc.bwpack);
    tensor_add_colsum(DW(grad, out->bias), ws->dy, rows, D);
    tensor_matmul_nn(dh, ws->dy, W(net, out->weight), rows, Hd, D, 0.0f, ws->sc.bwpack);

    decoder_backward(net, ws, grad, dh, dbelow);

    /* latent: dW_z += dz^T h_enc; db_z += sum dz; dh_enc = dz W_z */
    size_t Z = lat->out_dim, Henc = lat->in_dim;
    tensor_matmul_tn(DW(grad, lat->weight), ws->dz, ws->h_enc, Z, Henc, B, 1.0f, ws->sc.bwpack);
    tensor_add_colsum(DW(grad, lat->bias), ws->dz, B, Z);
    tensor_matmul_nn(ws->dh_enc, ws->dz, W(net, lat->weight), B, Henc, Z, 0.0f, ws->sc.bwpack);

    if (p->dirs == 2) {
        encoder_backward_bidir(net, ws, grad);
        return;
    }
    /* encoder top: only each sequence's last step receives a gradient */
    size_t H = Henc;
    dh = ws->dh_a;
    dbelow = ws->dh_b;
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
                       L == 0 ? NULL : dbelow, NULL, NULL);
        swap = dh; dh = dbelow; dbelow = swap;
    }
}

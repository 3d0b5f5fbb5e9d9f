/* autoenc.h - the autoencoder's forward and backward drivers over one
   packed batch: encoder stack, latent projection, repeated-latent decoder
   stack, output projection, loss. */
#ifndef LSTMAE_AUTOENC_H
#define LSTMAE_AUTOENC_H

#include "loss.h"
#include "lstmae.h"
#include "params.h"
#include "plan.h"
#include "workspace.h"

/* A read-only view of a model's weights. */
typedef struct ae_net {
    const ae_plan *plan;
    lstmae_loss loss;
    const param_entry *table;
    const float *params;
    /* input scaling, [D] each, or NULL: the network sees (x - offset) /
       scale (workspace_load applies it), and returns p * scale + offset
       (infer.c) */
    const float *offset, *scale;
} ae_net;

/* Encoder over ws's loaded batch: ws->z[B][Z] (sorted row order).
   z = W_z h_enc + b_z, h_enc = 0 for an empty sequence. */
void ae_encode(const ae_net *net, ae_ws *ws);

/* Decoder from ws->z over ws's packing: ws->y[rows][D], pre-activations. */
void ae_decode(const ae_net *net, ae_ws *ws);

/* Loss of ws->y against ws->x, added to *sums; with ws->training also
   dy = scale * dloss/dy. */
void ae_loss(const ae_net *net, ae_ws *ws, float scale, loss_sums *sums);

/* Backward of ae_encode + ae_decode from ws->dy; accumulates (+=) the
   gradient into grad, a block of the parameter layout. */
void ae_backward(const ae_net *net, ae_ws *ws, float *grad);

#endif

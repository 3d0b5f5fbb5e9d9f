/* plan.h - the network plan: the layers of one model, built once from its
   configuration. Every other module reads the plan (the parameter table,
   initialisation, workspace sizes, forward and backward, the file
   format); none of them works the topology out again.

   A plan is a list of recurrent layers, encoder first (bottom to top),
   then decoder (bottom to top), and the two linear layers (latent and
   output). Each layer says its role, cell kind, direction, input and
   hidden width, gate count, and where each of its tensors sits in the
   parameter block. Tensors are numbered in MODEL.md order. */
#ifndef LSTMAE_PLAN_H
#define LSTMAE_PLAN_H

#include <stddef.h>

#include "lstmae.h"

/* Sizes of one model: D, H, Z, K. */
typedef struct ae_dims {
    size_t in_dim, hidden, latent, layers;
} ae_dims;

enum {
    PLAN_MAX_LAYERS = 3 * LSTMAE_MAX_LAYERS, /* encoder (two directions)
                                                and decoder                 */
    PLAN_LAYER_TENSORS = 4                   /* the most a cell kind has    */
};

/* A layer's tensors, in its cell kind's order: weight_ih, weight_hh, then
   the kind's biases. */
enum { PLAN_W_IH = 0, PLAN_W_HH = 1, PLAN_BIAS = 2 };

typedef enum plan_role { PLAN_ENCODER, PLAN_DECODER } plan_role;
typedef enum plan_dir { PLAN_FORWARD, PLAN_REVERSE } plan_dir;
struct cell_kind; /* cellkind.h */

/* One tensor of the parameter block. */
typedef struct plan_tensor {
    size_t index;        /* in the table, MODEL.md order                 */
    size_t offset;       /* first float in the block                     */
    size_t rows, cols;   /* cols == 1 for a vector                       */
    int is_vector;
    size_t fan;          /* initialised U(-1/sqrt(fan), 1/sqrt(fan))     */
} plan_tensor;

typedef struct plan_layer {
    plan_role role;
    size_t k;            /* index within its role: {role}.{k}.*          */
    plan_dir dir;
    const struct cell_kind *cell;
    size_t in_dim;       /* width of the input at each step              */
    size_t hidden;       /* H                                            */
    size_t gates;        /* gate blocks of H (the cell kind's)           */
    size_t width;        /* gates * hidden: a row of gate values         */
    int repeat;          /* the input is the latent vector, the same at
                            every step (projected once per sequence)     */
    size_t ntensors;
    plan_tensor t[PLAN_LAYER_TENSORS];
} plan_layer;

typedef struct plan_linear {
    size_t in_dim, out_dim;
    plan_tensor weight, bias;
} plan_linear;

typedef struct ae_plan {
    ae_dims d;
    size_t nlayers;        /* recurrent layers                            */
    size_t enc_layers;     /* layer[0 .. enc_layers - 1] are the encoder:
                              level k's directions at k * dirs + dir      */
    size_t dirs;           /* encoder directions: 1, or 2 (bidirectional) */
    plan_layer layer[PLAN_MAX_LAYERS];
    plan_linear latent;    /* z = W_z h_enc + b_z (h_enc: dirs * H)       */
    size_t nbridges;       /* decoder_init latent: K, else 0              */
    plan_linear bridge[LSTMAE_MAX_LAYERS]; /* h0 of decoder layer k =
                                             tanh(W_b z + b_b)           */
    plan_linear output;    /* y = W_o h_dec + b_o                         */
    int reverse_target;    /* the decoder's step t is the data's L-1-t    */
    int feedback;          /* decoder layer 0's input is [z ; prev_t]     */
    lstmae_loss loss;
    size_t ntensors;       /* tensors in the table                        */
    size_t nparams;        /* floats in the block                         */
    size_t max_width;      /* the largest layer's gates * hidden          */
    size_t max_hidden;     /* the largest layer's hidden                  */
    size_t max_state;      /* the largest layer's saved state, state * H  */
} ae_plan;

/* Builds the plan of a checked configuration (model_check_config). */
void plan_build(const lstmae_config *cfg, ae_plan *p);

/* The name of a layer's tensor i within the layer ("weight_ih", ...). */
const char *plan_tensor_name(const plan_layer *l, size_t i);

#endif

/* model.h - the definition of the opaque lstmae_model, and its life
   cycle: configuration check, creation (table, parameter block,
   initialisation), free. The public API and the file reader both create
   models here. */
#ifndef LSTMAE_MODEL_H
#define LSTMAE_MODEL_H

#include <stdint.h>

#include "autoenc.h"
#include "lstmae.h"
#include "params.h"
#include "plan.h"
#include "rng.h"

struct lstmae_model {
    lstmae_allocator alloc; /* every allocation goes through it           */
    lstmae_config cfg;      /* the full (current-size) configuration      */
    ae_plan plan;           /* the network plan, built once from cfg
                               (plan.d holds D, H, Z, K)                  */
    size_t ntensors;        /* plan.ntensors                              */
    param_entry *table;     /* [ntensors]                                 */
    size_t nparams;         /* floats in each block below (plan.nparams)  */
    float *params;          /* parameters, MODEL.md order                 */
    /* training state, kept between lstmae_fit calls */
    float *adam_m, *adam_v; /* Adam moments                               */
    float *sgd_buf;         /* SGD momentum buffer                        */
    uint64_t adam_steps;    /* Adam's t                                   */
    int sgd_buf_ready;      /* sgd_buf holds a value (momentum started)   */
    uint64_t epochs_done;
    rng gen;                /* shuffling; seeded from cfg.seed            */
    int num_threads;        /* inference workers (lstmae_set_num_threads);
                               0 = one; not saved in model files          */
    /* input scaling (cfg.scaling != NONE): the network sees (x - offset)
       / scale; offset 0 and scale 1 until scaling_ready */
    float *offset, *scale;  /* [D] each; NULL with LSTMAE_SCALING_NONE    */
    int scaling_ready;      /* fixed: computed by the first fit, or set   */
    int has_threshold;
    double threshold;       /* lstmae_calibrate / lstmae_set_threshold    */
};

/* The configuration's limits: LSTMAE_OK, or LSTMAE_ERR_INVALID_ARG with
   a one-line reason (field, value, limit) in why[size] when why is not
   NULL. */
int model_check_config(const lstmae_config *cfg, char *why, size_t size);

/* A model for cfg (a full-size, checked here), allocated through a, with
   PyTorch's initialisation drawn from cfg->seed. Returns LSTMAE_OK,
   LSTMAE_ERR_INVALID_ARG or LSTMAE_ERR_NOMEM; on failure *out is NULL and
   nothing is left allocated. */
int model_create(const lstmae_config *cfg, const lstmae_allocator *a, lstmae_model **out);

/* Whether a and b have the same configuration: every field but
   struct_size and seed (which only draws the initial state). */
int model_same_config(const lstmae_model *a, const lstmae_model *b);

/* Copies src's parameters, optimiser state, generator (and seed),
   epochs, scaling and threshold into dst, a model of the same
   configuration (model_same_config). */
void model_copy_state(lstmae_model *dst, const lstmae_model *src);

/* Frees m and everything it owns; NULL is fine. */
void model_free(lstmae_model *m);

/* The model's weights as a network view. */
static inline ae_net model_net(const lstmae_model *m)
{
    ae_net net = { &m->plan, m->cfg.loss, m->table, m->params,
                   m->scaling_ready ? m->offset : NULL, m->scaling_ready ? m->scale : NULL };
    return net;
}

#endif

/* model.c - a model's life cycle: the configuration check, creation (the
   parameter table, one block for the parameters and the optimiser state,
   PyTorch's initialisation) and free. */
#include "model.h"

#include <stdint.h>
#include <string.h>

#include "cellkind.h"
#include "mem.h"
#include "status.h"

static int dim_ok(int v) { return v >= 1 && v <= LSTMAE_MAX_DIM; }

int model_check_config(const lstmae_config *c, char *why, size_t size)
{
    static const char *const names[3] = {"input_dim", "hidden_dim", "latent_dim"};
    const int dims[3] = {c->input_dim, c->hidden_dim, c->latent_dim};
    for (int i = 0; i < 3; i++)
        if (!dim_ok(dims[i]))
            return status_reject(why, size, "%s %d is outside 1..%d (LSTMAE_MAX_DIM)",
                                 names[i], dims[i], LSTMAE_MAX_DIM);
    if (c->num_layers < 1 || c->num_layers > LSTMAE_MAX_LAYERS)
        return status_reject(why, size,
                             "num_layers %d is outside 1..%d (LSTMAE_MAX_LAYERS)",
                             c->num_layers, LSTMAE_MAX_LAYERS);
    if (c->loss != LSTMAE_LOSS_BCE && c->loss != LSTMAE_LOSS_MSE &&
        c->loss != LSTMAE_LOSS_CROSS_ENTROPY)
        return status_reject(why, size,
                             "loss %d is not LSTMAE_LOSS_BCE (0), LSTMAE_LOSS_MSE (1) or "
                             "LSTMAE_LOSS_CROSS_ENTROPY (2)",
                             (int)c->loss);
    if (!cellkind_get((int)c->cell))
        return status_reject(why, size,
                             "cell %d is not LSTMAE_CELL_LSTM (0) or LSTMAE_CELL_GRU (1)",
                             (int)c->cell);
    static const char *const flag_names[3] = {"bidirectional", "reverse_target",
                                              "decoder_feedback"};
    const int flags[3] = {c->bidirectional, c->reverse_target, c->decoder_feedback};
    for (int i = 0; i < 3; i++)
        if (flags[i] != 0 && flags[i] != 1)
            return status_reject(why, size, "%s %d is not 0 or 1", flag_names[i], flags[i]);
    if (c->decoder_init != LSTMAE_DECODER_INIT_ZERO &&
        c->decoder_init != LSTMAE_DECODER_INIT_LATENT)
        return status_reject(why, size,
                             "decoder_init %d is not LSTMAE_DECODER_INIT_ZERO (0) or "
                             "LSTMAE_DECODER_INIT_LATENT (1)",
                             (int)c->decoder_init);
    if (c->scaling != LSTMAE_SCALING_NONE && c->scaling != LSTMAE_SCALING_STANDARD &&
        c->scaling != LSTMAE_SCALING_MINMAX)
        return status_reject(why, size,
                             "scaling %d is not LSTMAE_SCALING_NONE (0), "
                             "LSTMAE_SCALING_STANDARD (1) or LSTMAE_SCALING_MINMAX (2)",
                             (int)c->scaling);
    if (c->loss == LSTMAE_LOSS_CROSS_ENTROPY && c->input_dim < 2)
        return status_reject(why, size,
                             "cross-entropy needs input_dim >= 2 (a softmax over %d feature "
                             "is always 1)",
                             c->input_dim);
    return LSTMAE_OK;
}

int model_create(const lstmae_config *cfg, const lstmae_allocator *a, lstmae_model **out)
{
    *out = NULL;
    TRY(model_check_config(cfg, NULL, 0));
    lstmae_model *m = mem_calloc(a, 1, sizeof *m);
    if (!m) return LSTMAE_ERR_NOMEM;
    m->alloc = *a;
    m->cfg = *cfg;
    plan_build(cfg, &m->plan);
    m->ntensors = m->plan.ntensors;
    m->nparams = m->plan.nparams;
    m->table = mem_calloc(a, m->ntensors, sizeof *m->table);
    if (!m->table) {
        mem_free(a, m);
        return LSTMAE_ERR_NOMEM;
    }
    params_layout(&m->plan, m->table);
    /* parameters, Adam m and v, SGD momentum: four blocks, one allocation */
    m->params = m->nparams <= SIZE_MAX / 4 ? mem_calloc(a, 4 * m->nparams, sizeof(float)) : NULL;
    if (!m->params) {
        mem_free(a, m->table);
        mem_free(a, m);
        return LSTMAE_ERR_NOMEM;
    }
    if (cfg->scaling != LSTMAE_SCALING_NONE) {
        size_t D = (size_t)cfg->input_dim;
        m->offset = mem_calloc(a, 2 * D, sizeof(float));
        if (!m->offset) {
            mem_free(a, m->params);
            mem_free(a, m->table);
            mem_free(a, m);
            return LSTMAE_ERR_NOMEM;
        }
        m->scale = m->offset + D;
        for (size_t i = 0; i < D; i++) m->scale[i] = 1.0f;
    }
    m->adam_m = m->params + m->nparams;
    m->adam_v = m->params + 2 * m->nparams;
    m->sgd_buf = m->params + 3 * m->nparams;
    rng_seed(&m->gen, cfg->seed);
    params_init(m->table, m->ntensors, m->params, &m->gen);
    /* an LSTM's forget gates start open (bias + 1): without it, real-valued
       data sat on the mean-sequence plateau for 100+ epochs (issue 13) */
    if (cfg->cell == LSTMAE_CELL_LSTM) params_forget_bias(&m->plan, m->params, 1.0f);
    *out = m;
    return LSTMAE_OK;
}

void model_free(lstmae_model *m)
{
    if (!m) return;
    lstmae_allocator a = m->alloc;
    mem_free(&a, m->offset);
    mem_free(&a, m->params);
    mem_free(&a, m->table);
    mem_free(&a, m);
}

int model_same_config(const lstmae_model *a, const lstmae_model *b)
{
    const lstmae_config *x = &a->cfg, *y = &b->cfg;
    return x->input_dim == y->input_dim && x->hidden_dim == y->hidden_dim &&
           x->latent_dim == y->latent_dim && x->num_layers == y->num_layers &&
           x->loss == y->loss && x->cell == y->cell &&
           x->bidirectional == y->bidirectional && x->reverse_target == y->reverse_target &&
           x->decoder_init == y->decoder_init && x->decoder_feedback == y->decoder_feedback &&
           x->scaling == y->scaling;
}

void model_copy_state(lstmae_model *dst, const lstmae_model *src)
{
    /* params, Adam m and v, SGD momentum: one block of 4 P */
    memcpy(dst->params, src->params, 4 * src->nparams * sizeof(float));
    dst->adam_steps = src->adam_steps;
    dst->sgd_buf_ready = src->sgd_buf_ready;
    dst->epochs_done = src->epochs_done;
    dst->gen = src->gen;
    dst->cfg.seed = src->cfg.seed;
    if (src->offset) {
        size_t D = src->plan.d.in_dim;
        memcpy(dst->offset, src->offset, 2 * D * sizeof(float));
    }
    dst->scaling_ready = src->scaling_ready;
    dst->has_threshold = src->has_threshold;
    dst->threshold = src->threshold;
}

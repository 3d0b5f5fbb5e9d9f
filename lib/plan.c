/* plan.c - the network plan of a configuration (see plan.h). */
#include "plan.h"

#include "cellkind.h"

/* Appends a tensor of rows x cols (a vector when cols is 0) to the block. */
static plan_tensor add_tensor(ae_plan *p, size_t rows, size_t cols, size_t fan)
{
    plan_tensor t;
    t.index = p->ntensors++;
    t.offset = p->nparams;
    t.rows = rows;
    t.is_vector = cols == 0;
    t.cols = cols == 0 ? 1 : cols;
    t.fan = fan;
    p->nparams += t.rows * t.cols;
    return t;
}

static void add_layer(ae_plan *p, const cell_kind *cell, plan_role role, size_t k,
                      size_t in_dim, int repeat)
{
    plan_layer *l = &p->layer[p->nlayers++];
    l->role = role;
    l->k = k;
    l->dir = PLAN_FORWARD;
    l->cell = cell;
    l->in_dim = in_dim;
    l->hidden = p->d.hidden;
    l->gates = cell->gates;
    l->width = l->gates * l->hidden;
    l->repeat = repeat;
    /* PyTorch initialises every tensor of a recurrent layer from H */
    l->ntensors = cell->ntensors;
    for (size_t i = 0; i < cell->ntensors; i++) {
        cell_shape shape = cell->tensor_shapes[i];
        size_t cols = shape == CELL_INPUT_WEIGHT ? in_dim
                      : shape == CELL_RECURRENT_WEIGHT ? l->hidden : 0;
        l->t[i] = add_tensor(p, l->width, cols, l->hidden);
    }
    if (l->width > p->max_width) p->max_width = l->width;
    if (l->hidden > p->max_hidden) p->max_hidden = l->hidden;
    if (cell->state * l->hidden > p->max_state) p->max_state = cell->state * l->hidden;
}

static void add_linear(ae_plan *p, plan_linear *lin, size_t in_dim, size_t out_dim)
{
    lin->in_dim = in_dim;
    lin->out_dim = out_dim;
    lin->weight = add_tensor(p, out_dim, in_dim, in_dim);
    lin->bias = add_tensor(p, out_dim, 0, in_dim);
}

void plan_build(const lstmae_config *cfg, ae_plan *p)
{
    ae_dims d = { (size_t)cfg->input_dim, (size_t)cfg->hidden_dim, (size_t)cfg->latent_dim,
                  (size_t)cfg->num_layers };
    p->d = d;
    p->nlayers = p->ntensors = p->nparams = 0;
    p->max_width = p->max_hidden = p->max_state = 0;
    /* the configuration names the kind (MODEL.md, "Variants"); it was
       checked by model_check_config */
    const cell_kind *cell =
        cellkind_get(cfg->cell == LSTMAE_CELL_GRU ? CELLKIND_GRU : CELLKIND_LSTM);
    /* MODEL.md order: encoder.k.*, latent.*, decoder.k.*, output.* */
    for (size_t k = 0; k < d.layers; k++)
        add_layer(p, cell, PLAN_ENCODER, k, k == 0 ? d.in_dim : d.hidden, 0);
    p->enc_layers = p->nlayers;
    add_linear(p, &p->latent, d.hidden, d.latent);
    for (size_t k = 0; k < d.layers; k++)
        add_layer(p, cell, PLAN_DECODER, k, k == 0 ? d.latent : d.hidden, k == 0);
    add_linear(p, &p->output, d.hidden, d.in_dim);
}

const char *plan_tensor_name(const plan_layer *l, size_t i)
{
    return l->cell->tensor_names[i];
}

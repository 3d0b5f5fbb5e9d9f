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
                      plan_dir dir, size_t in_dim, int repeat)
{
    plan_layer *l = &p->layer[p->nlayers++];
    l->role = role;
    l->k = k;
    l->dir = dir;
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
    p->dirs = cfg->bidirectional ? 2 : 1;
    p->reverse_target = cfg->reverse_target;
    p->feedback = cfg->decoder_feedback;
    p->loss = cfg->loss;
    /* the configuration names the kind (MODEL.md, "Variants"); it was
       checked by model_check_config */
    const cell_kind *cell = cellkind_get((int)cfg->cell);
    /* MODEL.md order: encoder.k.* (each layer's _reverse tensors right
       after its forward ones), latent.*, bridge.k.*, decoder.k.*,
       output.* */
    size_t enc_out = p->dirs * d.hidden; /* a level's output: [h_fwd ; h_bwd] */
    for (size_t k = 0; k < d.layers; k++)
        for (size_t dir = 0; dir < p->dirs; dir++)
            add_layer(p, cell, PLAN_ENCODER, k, dir ? PLAN_REVERSE : PLAN_FORWARD,
                      k == 0 ? d.in_dim : enc_out, 0);
    p->enc_layers = p->nlayers;
    add_linear(p, &p->latent, enc_out, d.latent);
    p->nbridges = cfg->decoder_init == LSTMAE_DECODER_INIT_LATENT ? d.layers : 0;
    for (size_t k = 0; k < p->nbridges; k++) add_linear(p, &p->bridge[k], d.latent, d.hidden);
    /* decoder layer 0 sees z at every step (projected once per
       sequence), or with feedback [z ; the previous step] */
    for (size_t k = 0; k < d.layers; k++)
        add_layer(p, cell, PLAN_DECODER, k, PLAN_FORWARD,
                  k > 0 ? d.hidden : d.latent + (p->feedback ? d.in_dim : 0),
                  k == 0 && !p->feedback);
    add_linear(p, &p->output, d.hidden, d.in_dim);
}

const char *plan_tensor_name(const plan_layer *l, size_t i)
{
    return l->cell->tensor_names[i];
}

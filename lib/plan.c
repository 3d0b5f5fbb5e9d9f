/* plan.c - the network plan of a configuration (see plan.h). */
#include "plan.h"

/* The LSTM cell: gates i, f, g, o; one bias (PyTorch's b_ih + b_hh). */
static const char *const lstm_tensor_names[] = { "weight_ih", "weight_hh", "bias" };

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

static void add_layer(ae_plan *p, plan_role role, size_t k, size_t in_dim, int repeat)
{
    plan_layer *l = &p->layer[p->nlayers++];
    l->role = role;
    l->k = k;
    l->dir = PLAN_FORWARD;
    l->cell = PLAN_CELL_LSTM;
    l->in_dim = in_dim;
    l->hidden = p->d.hidden;
    l->gates = 4;
    l->width = l->gates * l->hidden;
    l->repeat = repeat;
    /* PyTorch initialises every tensor of a recurrent layer from H */
    l->ntensors = 3;
    l->t[PLAN_W_IH] = add_tensor(p, l->width, in_dim, l->hidden);
    l->t[PLAN_W_HH] = add_tensor(p, l->width, l->hidden, l->hidden);
    l->t[PLAN_BIAS] = add_tensor(p, l->width, 0, l->hidden);
    if (l->width > p->max_width) p->max_width = l->width;
    if (l->hidden > p->max_hidden) p->max_hidden = l->hidden;
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
    p->nlayers = p->ntensors = p->nparams = p->max_width = p->max_hidden = 0;
    /* MODEL.md order: encoder.k.*, latent.*, decoder.k.*, output.* */
    for (size_t k = 0; k < d.layers; k++)
        add_layer(p, PLAN_ENCODER, k, k == 0 ? d.in_dim : d.hidden, 0);
    p->enc_layers = p->nlayers;
    add_linear(p, &p->latent, d.hidden, d.latent);
    for (size_t k = 0; k < d.layers; k++)
        add_layer(p, PLAN_DECODER, k, k == 0 ? d.latent : d.hidden, k == 0);
    add_linear(p, &p->output, d.hidden, d.in_dim);
}

const char *plan_tensor_name(const plan_layer *l, size_t i)
{
    (void)l; /* one cell kind so far */
    return lstm_tensor_names[i];
}

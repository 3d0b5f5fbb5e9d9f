/* params.c - the name/shape/offset table and initialisation. */
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void set_entry(param_entry *table, const plan_tensor *t, const char *name)
{
    param_entry *e = &table[t->index];
    /* Names are short and bounded (K <= LSTMAE_MAX_LAYERS): no truncation. */
    (void)snprintf(e->name, sizeof e->name, "%s", name);
    e->rows = t->rows;
    e->cols = t->cols;
    e->is_vector = t->is_vector;
    e->offset = t->offset;
    e->size = t->rows * t->cols;
    e->fan = t->fan;
}

void params_layout(const ae_plan *p, param_entry *table)
{
    char name[48];
    for (size_t i = 0; i < p->nlayers; i++) {
        const plan_layer *l = &p->layer[i];
        for (size_t j = 0; j < l->ntensors; j++) {
            (void)snprintf(name, sizeof name, "%s.%zu.%s%s",
                           l->role == PLAN_ENCODER ? "encoder" : "decoder", l->k,
                           plan_tensor_name(l, j), l->dir == PLAN_REVERSE ? "_reverse" : "");
            set_entry(table, &l->t[j], name);
        }
    }
    set_entry(table, &p->latent.weight, "latent.weight");
    set_entry(table, &p->latent.bias, "latent.bias");
    for (size_t k = 0; k < p->nbridges; k++) {
        (void)snprintf(name, sizeof name, "bridge.%zu.weight", k);
        set_entry(table, &p->bridge[k].weight, name);
        (void)snprintf(name, sizeof name, "bridge.%zu.bias", k);
        set_entry(table, &p->bridge[k].bias, name);
    }
    set_entry(table, &p->output.weight, "output.weight");
    set_entry(table, &p->output.bias, "output.bias");
}

long params_find(const param_entry *table, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(table[i].name, name) == 0) return (long)i;
    return -1;
}

void params_init(const param_entry *table, size_t count, float *block, rng *r)
{
    for (size_t i = 0; i < count; i++) {
        const param_entry *e = &table[i];
        float bound = (float)(1.0 / sqrt((double)e->fan));
        for (size_t j = 0; j < e->size; j++)
            block[e->offset + j] = rng_uniform(r, -bound, bound);
    }
}

void params_forget_bias(const ae_plan *p, float *block, float value)
{
    for (size_t L = 0; L < p->nlayers; L++) {
        const plan_layer *l = &p->layer[L];
        const plan_tensor *b = &l->t[PLAN_BIAS];
        for (size_t j = l->hidden; j < 2 * l->hidden; j++) block[b->offset + j] += value;
    }
}

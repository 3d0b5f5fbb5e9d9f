/* params.c - the name/shape/offset table and initialisation. */
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void set_entry(param_entry *e, const char *name, size_t rows,
                      size_t cols, int is_vector, size_t *offset)
{
    /* Names are short and bounded (K <= LSTMAE_MAX_LAYERS): no truncation. */
    (void)snprintf(e->name, sizeof e->name, "%s", name);
    e->rows = rows;
    e->cols = cols;
    e->is_vector = is_vector;
    e->offset = *offset;
    e->size = rows * cols;
    *offset += e->size;
}

static void set_lstm(param_entry *t, const char *part, size_t k, size_t in,
                     size_t hidden, size_t *offset)
{
    char name[48];
    (void)snprintf(name, sizeof name, "%s.%zu.weight_ih", part, k);
    set_entry(&t[P_WIH], name, 4 * hidden, in, 0, offset);
    (void)snprintf(name, sizeof name, "%s.%zu.weight_hh", part, k);
    set_entry(&t[P_WHH], name, 4 * hidden, hidden, 0, offset);
    (void)snprintf(name, sizeof name, "%s.%zu.bias", part, k);
    set_entry(&t[P_BIAS], name, 4 * hidden, 1, 1, offset);
}

void params_layout(const ae_dims *d, param_entry *table, size_t *total)
{
    size_t K = d->layers, off = 0;
    for (size_t k = 0; k < K; k++)
        set_lstm(&table[PARAM_ENC(K, k, 0)], "encoder", k,
                 k == 0 ? d->in_dim : d->hidden, d->hidden, &off);
    set_entry(&table[PARAM_LAT_W(K)], "latent.weight", d->latent, d->hidden, 0, &off);
    set_entry(&table[PARAM_LAT_B(K)], "latent.bias", d->latent, 1, 1, &off);
    for (size_t k = 0; k < K; k++)
        set_lstm(&table[PARAM_DEC(K, k, 0)], "decoder", k,
                 k == 0 ? d->latent : d->hidden, d->hidden, &off);
    set_entry(&table[PARAM_OUT_W(K)], "output.weight", d->in_dim, d->hidden, 0, &off);
    set_entry(&table[PARAM_OUT_B(K)], "output.bias", d->in_dim, 1, 1, &off);
    *total = off;
}

long params_find(const param_entry *table, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(table[i].name, name) == 0) return (long)i;
    return -1;
}

void params_init(const param_entry *table, size_t count, float *block, rng *r)
{
    size_t K = (count - 4) / 6;
    for (size_t i = 0; i < count; i++) {
        const param_entry *e = &table[i];
        size_t fan;
        if (i == PARAM_LAT_W(K) || i == PARAM_LAT_B(K) ||
            i == PARAM_OUT_W(K) || i == PARAM_OUT_B(K))
            fan = table[i == PARAM_LAT_B(K) ? PARAM_LAT_W(K)
                        : i == PARAM_OUT_B(K) ? PARAM_OUT_W(K) : i].cols;
        else
            fan = table[PARAM_ENC(K, 0, P_WHH)].cols; /* hidden */
        float bound = (float)(1.0 / sqrt((double)fan));
        for (size_t j = 0; j < e->size; j++)
            block[e->offset + j] = rng_uniform(r, -bound, bound);
    }
}

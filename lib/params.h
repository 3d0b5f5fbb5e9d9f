/* params.h - the parameter table: every named tensor of MODEL.md as a
   {name, shape, offset, size} slice of one contiguous float block, as the
   plan (plan.h) lays them out. Gradients and optimiser moments are blocks
   of the same layout. */
#ifndef LSTMAE_PARAMS_H
#define LSTMAE_PARAMS_H

#include <stddef.h>

#include "plan.h"
#include "rng.h"

typedef struct param_entry {
    char name[48];
    size_t rows, cols;   /* cols == 1 for vectors; rank 1 when is_vector */
    int is_vector;
    size_t offset, size; /* in floats, within the block */
    size_t fan;          /* initialised U(-1/sqrt(fan), 1/sqrt(fan))     */
} param_entry;

/* Fills table[p->ntensors] from the plan. */
void params_layout(const ae_plan *p, param_entry *table);

/* Index of the tensor called `name`, or -1. */
long params_find(const param_entry *table, size_t count, const char *name);

/* PyTorch's default initialisation: recurrent tensors U(-1/sqrt(H),
   1/sqrt(H)), linear layers U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn in
   table order. */
void params_init(const param_entry *table, size_t count, float *block, rng *r);

/* Adds value to the forget-gate block (rows H .. 2H - 1, gates i, f, g,
   o) of every recurrent layer's bias, both directions: for an LSTM plan
   only (Jozefowicz et al. 2015; Keras' unit_forget_bias). */
void params_forget_bias(const ae_plan *p, float *block, float value);

#endif

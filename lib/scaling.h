/* scaling.h - the input scaling's statistics (lstmae_config.scaling). */
#ifndef LSTMAE_SCALING_H
#define LSTMAE_SCALING_H

#include <stddef.h>

#include "lstmae.h"

/* Per feature over the valid steps of s (D features): standard: offset =
   mean, scale = standard deviation (1/N); minmax: offset = min, scale =
   max - min. Sums in double; a scale of 0 becomes 1, as does a set with
   no valid step (offset 0). s was checked (finite valid steps). */
void scaling_compute(const lstmae_sequences *s, lstmae_scaling kind, size_t D, float *offset,
                     float *scale);

#endif

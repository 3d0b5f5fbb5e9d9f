/* scaling.h - the input scaling's statistics (lstmae_config.scaling). */
#ifndef LSTMAE_SCALING_H
#define LSTMAE_SCALING_H

#include <stddef.h>

#include "lstmae.h"

/* Per feature over the valid steps of s (D features): standard: offset =
   mean, scale = standard deviation (1/N, two passes); minmax: offset =
   min, scale = max - min. A scale of 0 becomes 1, as does a set with no
   valid step (offset 0). s was checked (finite valid steps).
   c NULL: s alone, sums in double. Otherwise over every rank's shard of
   the group (s may be empty): each pass's sums go through one
   all-reduce of buf, 2 D + 1 floats. Returns LSTMAE_OK, or LSTMAE_ERR_IO
   when an all-reduce fails. */
int scaling_compute(const lstmae_sequences *s, lstmae_scaling kind, size_t D, float *offset,
                    float *scale, const lstmae_collective *c, float *buf);

#endif

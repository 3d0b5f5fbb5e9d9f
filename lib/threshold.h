/* threshold.h - a threshold from the scores of normal data
   (lstmae_calibrate's rules). */
#ifndef LSTMAE_THRESHOLD_H
#define LSTMAE_THRESHOLD_H

#include <stddef.h>

#include "lstmae.h"

/* LSTMAE_OK, or LSTMAE_ERR_INVALID_ARG with a one-line reason in
   why[size] (when why is not NULL): an unknown rule, or q outside (0, 1],
   k < 0, f < 1, or a parameter that is not finite. */
int threshold_check(lstmae_threshold_rule rule, double param, char *why, size_t size);

/* The threshold of n >= 1 scores by a checked rule. Sorts scores in
   place (QUANTILE). QUANTILE: the ceil(q n)-th smallest; MEAN_STD: mean
   + k * population standard deviation (sums in double, two passes);
   MAX: f * the largest. */
double threshold_compute(lstmae_threshold_rule rule, double param, float *scores, size_t n);

#endif

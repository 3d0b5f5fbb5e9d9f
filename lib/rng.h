/* rng.h - the per-model random generator (xoshiro256**, seeded by
   splitmix64). No global state: each model owns one. */
#ifndef LSTMAE_RNG_H
#define LSTMAE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct rng { uint64_t s[4]; } rng;

void rng_seed(rng *r, uint64_t seed);
/* splitmix64: advances *x and returns the next value (seeding, names). */
uint64_t rng_splitmix64(uint64_t *x);
uint64_t rng_next(rng *r);
/* Uniform float in [lo, hi). */
float rng_uniform(rng *r, float lo, float hi);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
size_t rng_below(rng *r, size_t n);
/* Fisher-Yates shuffle of idx[n]. */
void rng_shuffle(rng *r, size_t *idx, size_t n);

#endif

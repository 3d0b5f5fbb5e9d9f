/* infer.h - inference over whole sets with a const model: encode, decode,
   reconstruct, evaluate. Each call plans its own workspace, so any number
   of threads may share one model. Arguments are validated by api.c. */
#ifndef LSTMAE_INFER_H
#define LSTMAE_INFER_H

#include "lstmae.h"
#include "model.h"

int infer_encode(const lstmae_model *m, const lstmae_sequences *in, float *latent);
int infer_decode(const lstmae_model *m, const float *latent, size_t count,
                 size_t length, float *out);
int infer_reconstruct(const lstmae_model *m, const lstmae_sequences *in, float *out);
/* Sums over the set; sums->loss / elements is the mean loss. */
int infer_evaluate(const lstmae_model *m, const lstmae_sequences *in,
                   loss_sums *sums, uint64_t *elements);

#endif

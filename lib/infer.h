/* infer.h - inference over whole sets with a const model: encode, decode,
   reconstruct, evaluate. Each call plans its own workspace, so any number
   of threads may share one model. Arguments are validated by api.c. */
#ifndef LSTMAE_INFER_H
#define LSTMAE_INFER_H

#include "lstmae.h"
#include "model.h"
#include "workspace.h"

/* A workspace for a set processed in chunks of sequences. */
typedef struct infer_plan {
    ae_ws ws;
    size_t *idx;           /* [chunk] the current chunk's sequences     */
    struct seq_key *keys;  /* [count] the set in canonical order        */
    size_t chunk;          /* sequences per chunk                       */
} infer_plan;

/* Bytes infer_plan_make allocates for count sequences of `steps` steps
   (0 on overflow). */
size_t infer_plan_bytes(const lstmae_model *m, size_t count, size_t steps);
int infer_plan_make(infer_plan *p, const lstmae_model *m, size_t count, size_t steps);
void infer_plan_free(infer_plan *p, const lstmae_model *m);
/* infer_evaluate on a plan made for at least in->count, in->max_len. */
void infer_evaluate_planned(infer_plan *p, const lstmae_model *m,
                            const lstmae_sequences *in, loss_sums *sums,
                            uint64_t *elements);

int infer_encode(const lstmae_model *m, const lstmae_sequences *in, float *latent);
int infer_decode(const lstmae_model *m, const float *latent, size_t count,
                 size_t length, float *out);
int infer_reconstruct(const lstmae_model *m, const lstmae_sequences *in, float *out);
/* Sums over the set; sums->loss / elements is the mean loss. */
int infer_evaluate(const lstmae_model *m, const lstmae_sequences *in,
                   loss_sums *sums, uint64_t *elements);

#endif

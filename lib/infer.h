/* infer.h - inference over whole sets with a const model: encode, decode,
   reconstruct, evaluate, on model->num_threads workers. Each call plans
   its own workspaces, so any number of threads may share one model.
   Arguments are validated by api.c. */
#ifndef LSTMAE_INFER_H
#define LSTMAE_INFER_H

#include "lstmae.h"
#include "model.h"
#include "workspace.h"

/* Workspaces for a set processed in chunks by up to 64 workers (the
   calling thread and threads started per call). The set is put in a
   canonical order; worker s takes its positions s, s + S, s + 2S, ... */
typedef struct infer_worker infer_worker;
typedef struct infer_plan {
    size_t workers;        /* S, >= 1                                   */
    size_t chunk;          /* sequences per chunk of one worker         */
    struct seq_key *keys;  /* [count] the set in canonical order        */
    infer_worker *w;       /* [workers]                                 */
    void *block;           /* the one allocation holding all of it      */
} infer_plan;

/* Bytes infer_plan_make allocates for count sequences of `steps` steps
   with `threads` workers (0: one; capped at 64 and at count); 0 on
   overflow. */
size_t infer_plan_bytes(const lstmae_model *m, size_t count, size_t steps, size_t threads);
int infer_plan_make(infer_plan *p, const lstmae_model *m, size_t count, size_t steps,
                    size_t threads);
void infer_plan_free(infer_plan *p, const lstmae_model *m);
/* infer_evaluate on a plan made for at least in->count, in->max_len. */
void infer_evaluate_planned(infer_plan *p, const lstmae_model *m,
                            const lstmae_sequences *in, loss_sums *sums,
                            uint64_t *elements);

int infer_encode(const lstmae_model *m, const lstmae_sequences *in, float *latent);
int infer_decode(const lstmae_model *m, const float *latent, size_t count,
                 size_t length, float *out);
int infer_reconstruct(const lstmae_model *m, const lstmae_sequences *in, float *out);
/* scores[count] and, when not NULL, step_scores[count][max_len] (0 on
   padding): see lstmae_score. */
int infer_score(const lstmae_model *m, const lstmae_sequences *in, float *scores,
                float *step_scores);
/* Sums over the set; sums->loss / elements is the mean loss. */
int infer_evaluate(const lstmae_model *m, const lstmae_sequences *in,
                   loss_sums *sums, uint64_t *elements);

#endif

/* fit.h - training: epochs, batching, shuffling, sharding over threads,
   callbacks, rollback. Arguments are validated by api.c. */
#ifndef LSTMAE_FIT_H
#define LSTMAE_FIT_H

#include "lstmae.h"
#include "model.h"

/* opt is a full-size, validated copy; last (full size) receives the last
   completed epoch's training metrics, *epochs_run how many completed.
   coll: NULL alone, or the group of lstmae_fit_collective (every rank
   calls this with its own shard; the statuses agree). */
int fit_run(lstmae_model *m, const lstmae_sequences *train,
            const lstmae_sequences *valid, const lstmae_fit_options *opt,
            lstmae_metrics *last, int *epochs_run, const lstmae_collective *coll);

/* The most severe of the ranks' statuses, the same on every rank
   (LSTMAE_ERR_IO when the reduction fails). */
int fit_agree(const lstmae_collective *c, int st);

/* Bytes fit_run allocates (all at its start); 0 on overflow. */
size_t fit_memory(const lstmae_model *m, const lstmae_sequences *train,
                  const lstmae_sequences *valid, const lstmae_fit_options *opt);

/* Metrics of a set as the public struct (full size). */
int fit_evaluate(const lstmae_model *m, const lstmae_sequences *in,
                 lstmae_metrics *out);

#endif

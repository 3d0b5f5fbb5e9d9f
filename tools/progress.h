/*
 * progress.h - training progress on standard error: on a terminal one line
 * rewritten in place after every batch (a bar, the epoch, the batch, the
 * running loss, the speed and the time left) and after every epoch (the
 * epoch's training and validation loss); otherwise one plain line per
 * epoch.
 */
#ifndef LSTMAE_PROGRESS_H
#define LSTMAE_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

#include <lstmae.h>

typedef struct progress {
    FILE *out;
    int tty, quiet, open;   /* open: a TTY line is waiting for '\n'   */
    uint64_t done_before;   /* epochs the model had before this run   */
    int epochs;             /* epochs asked for in this run           */
    size_t sequences;       /* training sequences per epoch           */
    double start, last;     /* cli_now() at start, at the last epoch  */
    double drawn;           /* cli_now() when a batch line was drawn  */
    char valid[32];         /* the last epoch's validation loss, or "" */
} progress;

void progress_start(progress *p, FILE *out, int quiet, uint64_t done_before,
                    int epochs, size_t sequences);

/* After batch `batch` of `num_batches` of epoch `epoch` (both 1-based, the
   epoch within this run): `seen` sequences of the epoch done so far, and
   the mean batch loss of the epoch so far. Only a terminal shows it, at
   most 10 times a second (and for the first batch). */
void progress_batch(progress *p, int epoch, size_t batch, size_t num_batches,
                    size_t seen, double running_loss);

/* After epoch `epoch` (1-based within this run). best: marks the line. */
void progress_epoch(progress *p, int epoch, const lstmae_metrics *train,
                    const lstmae_metrics *valid, int best);

/* Ends an open TTY line. */
void progress_finish(progress *p);

#endif /* LSTMAE_PROGRESS_H */

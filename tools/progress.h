/*
 * progress.h - training progress on standard error: on a terminal one line
 * rewritten in place after every epoch (a bar, the epoch, the losses, the
 * speed and the time left); otherwise one plain line per epoch.
 *
 * lstmae_fit reports once per epoch (on_epoch), so that is how often the
 * line moves.
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
} progress;

void progress_start(progress *p, FILE *out, int quiet, uint64_t done_before,
                    int epochs, size_t sequences);

/* After epoch `epoch` (1-based within this run). best: marks the line. */
void progress_epoch(progress *p, int epoch, const lstmae_metrics *train,
                    const lstmae_metrics *valid, int best);

/* Ends an open TTY line. */
void progress_finish(progress *p);

#endif /* LSTMAE_PROGRESS_H */

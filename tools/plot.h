/*
 * plot.h - a standalone SVG line chart of the loss per epoch.
 */
#ifndef LSTMAE_PLOT_H
#define LSTMAE_PLOT_H

#include <stddef.h>
#include <stdint.h>

typedef struct plot_data {
    const char *title;
    const double *train;    /* [n] training loss per epoch              */
    const double *valid;    /* [n] validation loss, or NULL             */
    size_t n;               /* epochs plotted, 0 allowed                */
    uint64_t first_epoch;   /* number of the first plotted epoch (>= 1) */
    uint64_t best_epoch;    /* marked with a vertical line; 0: none     */
} plot_data;

/* Writes the chart to path atomically (a linear axis, or a logarithmic
   one when the losses span more than a factor of 30). Returns an exit
   code after printing any error. */
int plot_write_svg(const char *path, const plot_data *d);

#endif /* LSTMAE_PLOT_H */

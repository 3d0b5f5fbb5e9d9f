/* loss.h - reconstruction losses over valid elements, from the output
   layer's pre-activations y (logits for bce). */
#ifndef LSTMAE_LOSS_H
#define LSTMAE_LOSS_H

#include <stddef.h>

#include "lstmae.h"

typedef struct loss_sums {
    double loss;       /* sum of per-element losses  */
    double correct;    /* bce: elements with (p > 0.5) == (x > 0.5) */
} loss_sums;

/* Adds the sums over n elements of y against targets x to *sums; when dy
   is not NULL writes dy = scale * dloss/dy (scale = 1 / N_valid).
   bce: l = max(y, 0) - y x + log(1 + exp(-|y|)),  dl/dy = sigmoid(y) - x
   mse: l = (y - x)^2,                             dl/dy = 2 (y - x)     */
void loss_forward_backward(lstmae_loss kind, const float *y, const float *x,
                           size_t n, float scale, float *dy, loss_sums *sums);

/* Output activation in place: sigmoid for bce, identity for mse. */
void loss_activate(lstmae_loss kind, float *y, size_t n);

#endif

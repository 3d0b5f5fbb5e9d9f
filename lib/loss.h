/* loss.h - reconstruction losses over valid elements, from the output
   layer's pre-activations y (logits for bce). */
#ifndef LSTMAE_LOSS_H
#define LSTMAE_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "lstmae.h"

typedef struct loss_sums {
    double loss;       /* sum of per-element (ce: per-step) losses   */
    double correct;    /* bce: elements with (p > 0.5) == (x > 0.5);
                          ce: steps with argmax y == argmax x        */
} loss_sums;

/* Adds the sums over `rows` steps of D values of y against targets x to
   *sums; when dy is not NULL writes dy = scale * dloss/dy (scale = 1 /
   loss_count).
   bce: l = max(y, 0) - y x + log(1 + exp(-|y|)),  dl/dy = sigmoid(y) - x
   mse: l = (y - x)^2,                             dl/dy = 2 (y - x)
   ce (per step): l = -sum_d x_d log softmax(y)_d,
                                       dl/dy = softmax(y) sum_d x_d - x */
void loss_forward_backward(lstmae_loss kind, const float *y, const float *x, size_t rows,
                           size_t D, float scale, float *dy, loss_sums *sums);

/* Output activation in place over rows of D: sigmoid for bce, identity
   for mse, softmax per row for cross-entropy. */
void loss_activate(lstmae_loss kind, float *y, size_t rows, size_t D);

/* What a mean loss divides by: steps * D valid elements, or for
   cross-entropy the valid steps. */
uint64_t loss_count(lstmae_loss kind, uint64_t steps, size_t D);

#endif

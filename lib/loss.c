/* loss.c - bce (stable, from logits) and mse; accuracy for bce. */
#include "loss.h"

#include <math.h>

/* sigmoid without overflow for large |y| */
static inline float stable_sigmoid(float y)
{
    if (y >= 0.0f) return 1.0f / (1.0f + expf(-y));
    float e = expf(y);
    return e / (1.0f + e);
}

void loss_forward_backward(lstmae_loss kind, const float *y, const float *x,
                           size_t n, float scale, float *dy, loss_sums *sums)
{
    double total = 0.0, correct = 0.0;
    if (kind == LSTMAE_LOSS_BCE) {
        for (size_t i = 0; i < n; i++) {
            float p = stable_sigmoid(y[i]);
            /* max(y, 0) - y x + log(1 + exp(-|y|)), in double */
            double yd = y[i], xd = x[i];
            total += (yd > 0.0 ? yd : 0.0) - yd * xd + log1p(exp(-fabs(yd)));
            correct += ((p > 0.5f) == (x[i] > 0.5f)) ? 1.0 : 0.0;
            if (dy) dy[i] = scale * (p - x[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float e = y[i] - x[i];
            total += (double)e * (double)e;
            if (dy) dy[i] = scale * 2.0f * e;
        }
    }
    sums->loss += total;
    sums->correct += correct;
}

void loss_activate(lstmae_loss kind, float *y, size_t n)
{
    if (kind != LSTMAE_LOSS_BCE) return;
    for (size_t i = 0; i < n; i++) y[i] = stable_sigmoid(y[i]);
}

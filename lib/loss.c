/* loss.c - bce (stable, from logits) and mse; accuracy for bce.

   bce works in blocks: a loop the compiler vectorises computes, per
   element, e = exp(-|y|) (fastmath.h), p = sigmoid(y) from it (1 / (1 + e)
   or e / (1 + e): no overflow, full relative precision), the gradient,
   the log(1 + e) term and the hit, each within a few float ulps
   (tests/test_fastmath.c); then a short scalar loop adds the block's
   terms in double, in order. (libm's log1p and exp, per element, were an
   eighth of the seed model's training time.) */
#include "loss.h"

#include <math.h>

#include "fastmath.h"

#define BLOCK 256

/* One block of bce: dy (never NULL here), the log(1 + exp(-|y|)) terms
   and the hits (1 where (p > 0.5) == (x > 0.5)). */
VECTOR_CLONES
static void bce_block(const float *restrict y, const float *restrict x, size_t n,
                      float scale, float *restrict dy, float *restrict soft,
                      float *restrict hit)
{
    for (size_t i = 0; i < n; i++) {
        float e = fm_expf(-fabsf(y[i]));
        float p = fm_sigmoid_e(y[i], e); /* NaN stays NaN */
        soft[i] = fm_log1p_unit(e);
        hit[i] = (p > 0.5f) == (x[i] > 0.5f) ? 1.0f : 0.0f;
        dy[i] = scale * (p - x[i]);
    }
}

VECTOR_CLONES
static void sigmoid_inplace(float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = fm_sigmoid(y[i]);
}

void loss_forward_backward(lstmae_loss kind, const float *y, const float *x,
                           size_t n, float scale, float *dy, loss_sums *sums)
{
    double total = 0.0, correct = 0.0;
    if (kind == LSTMAE_LOSS_BCE) {
        float soft[BLOCK], hit[BLOCK], scratch[BLOCK] = { 0 }; /* scratch: dy when NULL */
        for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
            size_t m = n - i0 < BLOCK ? n - i0 : BLOCK;
            bce_block(y + i0, x + i0, m, scale, dy ? dy + i0 : scratch, soft, hit);
            /* max(y, 0) - y x + log(1 + exp(-|y|)), summed in double */
            for (size_t i = 0; i < m; i++) {
                double yd = y[i0 + i], xd = x[i0 + i];
                total += (yd > 0.0 ? yd : 0.0) - yd * xd + (double)soft[i];
                correct += hit[i];
            }
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
    sigmoid_inplace(y, n);
}

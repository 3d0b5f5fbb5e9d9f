/* loss.c - bce (stable, from logits), mse and cross-entropy (softmax
   over each step's features); accuracy for bce and cross-entropy.

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

/* Index of the largest of v[0..n-1], the first on ties. */
static size_t argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* Cross-entropy of `rows` steps of D logits against targets x (one-hot or
   probabilities): per step -sum_d x_d log softmax(y)_d = sum_d x_d (lse -
   y_d), lse = log sum exp y, in double; dy = scale (p sum_d x_d - x);
   correct counts the steps whose argmax y is argmax x. */
static void cross_entropy(const float *y, const float *x, size_t rows, size_t D, float scale,
                          float *dy, double *total, double *correct)
{
    for (size_t r = 0; r < rows; r++) {
        const float *yr = y + r * D, *xr = x + r * D;
        size_t top = argmax(yr, D);
        /* sum of exp(y - max): the max's own term is 1 */
        double m = yr[top], sum = 1.0, xsum = 0.0, xy = 0.0;
        for (size_t d = 0; d < D; d++) {
            if (d != top) sum += exp((double)yr[d] - m);
            xsum += xr[d];
            xy += (double)xr[d] * (double)yr[d];
        }
        double lse = m + log(sum);
        *total += lse * xsum - xy;
        *correct += argmax(yr, D) == argmax(xr, D) ? 1.0 : 0.0;
        if (dy)
            for (size_t d = 0; d < D; d++) {
                double pd = exp((double)yr[d] - lse);
                dy[r * D + d] = scale * (float)(pd * xsum - (double)xr[d]);
            }
    }
}

void loss_forward_backward(lstmae_loss kind, const float *y, const float *x, size_t rows,
                           size_t D, float scale, float *dy, loss_sums *sums)
{
    double total = 0.0, correct = 0.0;
    size_t n = rows * D;
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
    } else if (kind == LSTMAE_LOSS_CROSS_ENTROPY) {
        cross_entropy(y, x, rows, D, scale, dy, &total, &correct);
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

void loss_activate(lstmae_loss kind, float *y, size_t rows, size_t D)
{
    if (kind == LSTMAE_LOSS_BCE) {
        sigmoid_inplace(y, rows * D);
    } else if (kind == LSTMAE_LOSS_CROSS_ENTROPY) {
        for (size_t r = 0; r < rows; r++) {
            float *yr = y + r * D;
            size_t top = argmax(yr, D);
            float m = yr[top];
            double sum = 1.0; /* the max's own term */
            for (size_t d = 0; d < D; d++)
                if (d != top) sum += exp((double)yr[d] - (double)m);
            double lse = (double)m + log(sum);
            for (size_t d = 0; d < D; d++) yr[d] = (float)exp((double)yr[d] - lse);
        }
    }
}

/* The loss's denominator: valid elements, or valid steps for
   cross-entropy (a mean per step). */
uint64_t loss_count(lstmae_loss kind, uint64_t steps, size_t D)
{
    return kind == LSTMAE_LOSS_CROSS_ENTROPY ? steps : steps * (uint64_t)D;
}

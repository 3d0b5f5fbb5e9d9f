/* scaling.c - the input scaling's statistics (see scaling.h). */
#include "scaling.h"

#include <math.h>

/* Feature d over s's valid steps: the sum, the extremes and the count
   (pass 1), or the squared deviations from off (pass 2). */
typedef struct feature_sums {
    double sum, lo, hi, sq;
    size_t n;
} feature_sums;

static feature_sums feature(const lstmae_sequences *s, size_t D, size_t d, double off)
{
    feature_sums f = { 0.0, INFINITY, -INFINITY, 0.0, 0 };
    size_t T = s->max_len;
    for (size_t i = 0; i < s->count; i++) {
        size_t L = s->lengths ? (size_t)s->lengths[i] : T;
        for (size_t t = 0; t < L; t++) {
            double v = s->data[(i * T + t) * D + d];
            f.sum += v;
            f.sq += (v - off) * (v - off);
            if (v < f.lo) f.lo = v;
            if (v > f.hi) f.hi = v;
        }
        f.n += L;
    }
    return f;
}

static void finish(float *offset, float *scale)
{
    if (!isfinite(*offset)) *offset = 0.0f;
    if (!(*scale != 0.0f) || !isfinite(*scale)) *scale = 1.0f;
}

int scaling_compute(const lstmae_sequences *s, lstmae_scaling kind, size_t D, float *offset,
                    float *scale, const lstmae_collective *c, float *buf)
{
    int minmax = kind == LSTMAE_SCALING_MINMAX;
    /* pass 1: sums (standard) or extremes (minmax; the minimum negated,
       so that one MAX reduces both), and the count */
    for (size_t d = 0; d < D; d++) {
        feature_sums f = feature(s, D, d, 0.0);
        double n = (double)f.n;
        if (c) {
            buf[d] = (float)(minmax ? f.hi : f.sum);
            buf[D + d] = minmax ? (float)-f.lo : 0.0f;
            buf[2 * D] = (float)n;
            continue;
        }
        if (minmax) {
            offset[d] = (float)f.lo;
            scale[d] = (float)(f.hi - f.lo);
        } else {
            /* alone, pass 2 right away, around the mean in double */
            double mean = f.n ? f.sum / n : 0.0;
            offset[d] = (float)mean;
            scale[d] = f.n ? (float)sqrt(feature(s, D, d, mean).sq / n) : 1.0f;
        }
    }
    if (c) {
        if (c->allreduce(c->user, buf, 2 * D + 1,
                         minmax ? LSTMAE_REDUCE_MAX : LSTMAE_REDUCE_SUM) != 0)
            return LSTMAE_ERR_IO;
        double n = buf[2 * D];
        for (size_t d = 0; d < D; d++) {
            offset[d] = minmax ? -buf[D + d] : n > 0 ? (float)(buf[d] / n) : 0.0f;
            scale[d] = minmax ? buf[d] - offset[d] : 1.0f;
        }
    }
    if (minmax) {
        for (size_t d = 0; d < D; d++) finish(&offset[d], &scale[d]);
        return LSTMAE_OK;
    }
    if (c) {
        /* pass 2 (standard): squared deviations from the global mean */
        double n = buf[2 * D]; /* pass 1's global count, before buf is reused */
        for (size_t d = 0; d < D; d++) buf[d] = (float)feature(s, D, d, offset[d]).sq;
        if (c->allreduce(c->user, buf, D, LSTMAE_REDUCE_SUM) != 0) return LSTMAE_ERR_IO;
        for (size_t d = 0; d < D; d++) scale[d] = n > 0 ? (float)sqrt(buf[d] / n) : 1.0f;
    }
    for (size_t d = 0; d < D; d++) finish(&offset[d], &scale[d]);
    return LSTMAE_OK;
}

/* scaling.c - the input scaling's statistics (see scaling.h). */
#include "scaling.h"

#include <math.h>

void scaling_compute(const lstmae_sequences *s, lstmae_scaling kind, size_t D, float *offset,
                     float *scale)
{
    size_t T = s->max_len;
    for (size_t d = 0; d < D; d++) {
        double sum = 0.0, lo = INFINITY, hi = -INFINITY;
        size_t n = 0;
        for (size_t i = 0; i < s->count; i++) {
            size_t L = s->lengths ? (size_t)s->lengths[i] : T;
            for (size_t t = 0; t < L; t++) {
                double v = s->data[(i * T + t) * D + d];
                sum += v;
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
            n += L;
        }
        double off = 0.0, sc = 1.0;
        if (n > 0 && kind == LSTMAE_SCALING_STANDARD) {
            off = sum / (double)n;
            double sq = 0.0; /* two passes: no cancellation */
            for (size_t i = 0; i < s->count; i++) {
                size_t L = s->lengths ? (size_t)s->lengths[i] : T;
                for (size_t t = 0; t < L; t++) {
                    double e = s->data[(i * T + t) * D + d] - off;
                    sq += e * e;
                }
            }
            sc = sqrt(sq / (double)n);
        } else if (n > 0 && kind == LSTMAE_SCALING_MINMAX) {
            off = lo;
            sc = hi - lo;
        }
        offset[d] = (float)off;
        scale[d] = (float)sc;
        if (scale[d] == 0.0f) scale[d] = 1.0f;
    }
}

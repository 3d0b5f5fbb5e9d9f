/* optim.c - SGD (with optional momentum), Adam, gradient-norm clipping. */
#include "optim.h"

#include <math.h>

void sgd_step(float *p, float *buf, const float *g, size_t n, float lr,
              float momentum, int first)
{
    if (momentum == 0.0f) {
        for (size_t i = 0; i < n; i++) p[i] -= lr * g[i];
        return;
    }
    if (first) {
        for (size_t i = 0; i < n; i++) buf[i] = g[i];
    } else {
        for (size_t i = 0; i < n; i++) buf[i] = momentum * buf[i] + g[i];
    }
    for (size_t i = 0; i < n; i++) p[i] -= lr * buf[i];
}

void adam_step(float *p, float *m, float *v, const float *g, size_t n,
               float lr, float beta1, float beta2, float eps, uint64_t t)
{
    /* Bias corrections in double, as PyTorch computes them in Python. */
    double bc1 = 1.0 - pow((double)beta1, (double)t);
    double bc2 = 1.0 - pow((double)beta2, (double)t);
    float step_size = (float)((double)lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float one_b1 = 1.0f - beta1, one_b2 = 1.0f - beta2;
    for (size_t i = 0; i < n; i++) {
        m[i] = m[i] * beta1 + g[i] * one_b1;
        v[i] = v[i] * beta2 + g[i] * g[i] * one_b2;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

double grad_norm(const float *g, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)g[i] * (double)g[i];
    return sqrt(s);
}

void clip_grad_norm(float *g, size_t n, double norm, float max_norm)
{
    double coef = (double)max_norm / (norm + 1e-6);
    if (coef >= 1.0) return;
    float c = (float)coef;
    for (size_t i = 0; i < n; i++) g[i] *= c;
}

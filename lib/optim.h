/* optim.h - optimisers over flat parameter blocks (PyTorch semantics).
   They know nothing of the model: p, g, m, v are arrays of n floats. */
#ifndef LSTMAE_OPTIM_H
#define LSTMAE_OPTIM_H

#include <stddef.h>
#include <stdint.h>

/* p -= lr * g, or with momentum mu > 0 (torch.optim.SGD, no dampening):
   buf = first ? g : mu * buf + g;  p -= lr * buf. */
void sgd_step(float *p, float *buf, const float *g, size_t n, float lr,
              float momentum, int first);

/* torch.optim.Adam step number t >= 1:
   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). */
void adam_step(float *p, float *m, float *v, const float *g, size_t n,
               float lr, float beta1, float beta2, float eps, uint64_t t);

/* Global L2 norm of g, accumulated in double. */
double grad_norm(const float *g, size_t n);

/* torch.nn.utils.clip_grad_norm_: given the norm of g, scales g by
   max_norm / (norm + 1e-6) when that is below 1. */
void clip_grad_norm(float *g, size_t n, double norm, float max_norm);

#endif

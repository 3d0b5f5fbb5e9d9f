/* params.h - the parameter table: every named tensor of MODEL.md as a
   {name, shape, offset, size} slice of one contiguous float block.
   Gradients and optimiser moments are blocks of the same layout. */
#ifndef LSTMAE_PARAMS_H
#define LSTMAE_PARAMS_H

#include <stddef.h>

#include "rng.h"

/* Sizes of one model: D, H, Z, K. */
typedef struct ae_dims {
    size_t in_dim, hidden, latent, layers;
} ae_dims;

typedef struct param_entry {
    char name[48];
    size_t rows, cols;   /* cols == 1 for vectors; rank 1 when is_vector */
    int is_vector;
    size_t offset, size; /* in floats, within the block */
} param_entry;

/* Tensor indices in MODEL.md order, for K layers:
   encoder.k.{weight_ih, weight_hh, bias} at 3k + 0..2, latent.{weight,
   bias} at 3K, 3K + 1, decoder.k.* at 3K + 2 + 3k + 0..2, output.{weight,
   bias} at 6K + 2, 6K + 3. */
enum { P_WIH = 0, P_WHH = 1, P_BIAS = 2 };
#define PARAM_ENC(K, k, w) (3 * (k) + (w))
#define PARAM_LAT_W(K)     (3 * (K))
#define PARAM_LAT_B(K)     (3 * (K) + 1)
#define PARAM_DEC(K, k, w) (3 * (K) + 2 + 3 * (k) + (w))
#define PARAM_OUT_W(K)     (6 * (K) + 2)
#define PARAM_OUT_B(K)     (6 * (K) + 3)

static inline size_t params_tensor_count(size_t layers) { return 6 * layers + 4; }

/* Fills table[params_tensor_count(K)] and *total (floats in the block).
   Dimensions must already be within the public limits. */
void params_layout(const ae_dims *d, param_entry *table, size_t *total);

/* Index of the tensor called `name`, or -1. */
long params_find(const param_entry *table, size_t count, const char *name);

/* PyTorch's default initialisation: LSTM tensors U(-1/sqrt(H), 1/sqrt(H)),
   linear layers U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn in table order. */
void params_init(const param_entry *table, size_t count, float *block, rng *r);

#endif

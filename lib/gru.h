/* gru.h - the GRU cell kind (cellkind.h): one layer forward and backward
   through time over packed batches, as PyTorch's nn.GRU. Gate blocks r,
   z, n, each of H in a row of G = 3H; two biases, both trained, bias_ih
   and bias_hh (b_hn sits inside the reset product, so they do not fold
   into one). Tensors: weight_ih [3H][in], weight_hh [3H][H], bias_ih
   [3H], bias_hh [3H]. */
#ifndef LSTMAE_GRU_H
#define LSTMAE_GRU_H

#include "cellkind.h"

/* The GRU's fourth tensor, bias_hh (PLAN_BIAS is its bias_ih). */
enum { GRU_B_HH = 3 };

/* The GRU cell kind: forward and backward over a layer_call, the wpack
   scratch they use. */
extern const cell_kind gru_cell;

#endif

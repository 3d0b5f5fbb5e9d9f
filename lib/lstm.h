/* lstm.h - the LSTM cell kind (cellkind.h): one layer forward and
   backward through time over packed batches. Gate order is PyTorch's:
   i, f, g, o, each a block of H in a row of G = 4H; one bias (PyTorch's
   b_ih + b_hh). */
#ifndef LSTMAE_LSTM_H
#define LSTMAE_LSTM_H

#include "cellkind.h"

/* The LSTM cell kind: forward and backward over a layer_call, the wpack
   scratch they use. */
extern const cell_kind lstm_cell;

#endif

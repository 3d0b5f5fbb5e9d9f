/* cellkind.c - the table of cell kinds. A new kind is one file that
   defines its cell_kind and one entry here. */
#include "cellkind.h"

#include "gru.h"
#include "lstm.h"

static const cell_kind *const kinds[] = {
    [CELLKIND_LSTM] = &lstm_cell,
    [CELLKIND_GRU] = &gru_cell,
};

const cell_kind *cellkind_get(int id)
{
    if (id < 0 || (size_t)id >= sizeof kinds / sizeof kinds[0]) return NULL;
    return kinds[id];
}

/* mem.h - allocation through a model's allocator (lstmae_allocator):
   every byte the library allocates goes through here. */
#ifndef LSTMAE_MEM_H
#define LSTMAE_MEM_H

#include <stddef.h>

#include "lstmae.h"

/* malloc/free. */
const lstmae_allocator *mem_default(void);
/* size bytes (at least 1), or NULL. */
void *mem_alloc(const lstmae_allocator *a, size_t size);
/* count * size zeroed bytes, or NULL (also on overflow). */
void *mem_calloc(const lstmae_allocator *a, size_t count, size_t size);
/* NULL is fine. */
void mem_free(const lstmae_allocator *a, void *p);

#endif

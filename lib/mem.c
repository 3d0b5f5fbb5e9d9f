/* mem.c - the default allocator and the helpers over any allocator. */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *std_alloc(void *opaque, size_t size)
{
    (void)opaque;
    return malloc(size);
}

static void std_free(void *opaque, void *p)
{
    (void)opaque;
    free(p);
}

static const lstmae_allocator default_allocator = { std_alloc, std_free, NULL };

const lstmae_allocator *mem_default(void) { return &default_allocator; }

void *mem_alloc(const lstmae_allocator *a, size_t size)
{
    return a->alloc(a->opaque, size ? size : 1);
}

void *mem_calloc(const lstmae_allocator *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size) return NULL;
    void *p = mem_alloc(a, count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

void mem_free(const lstmae_allocator *a, void *p)
{
    if (p) a->free(a->opaque, p);
}

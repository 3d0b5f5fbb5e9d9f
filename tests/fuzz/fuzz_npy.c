/* fuzz_npy.c - libFuzzer harness for the tool's .npy reader (tools/npy.c):
   npy_parse must never crash, leak or read out of bounds, whatever the
   bytes; an array it accepts must be consistent with the file (its data,
   count x itemsize bytes, end exactly at the end of the buffer), convert
   without trouble, and, taken as sequences, have a shape whose every size
   is bounded by the file's (npy_sequence_shape). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cli.h"
#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    npy_array a;
    if (npy_parse("fuzz.npy", data, size, &a) != CLI_OK)
        return 0;
    if (a.itemsize == 0 || a.itemsize > 8 || a.ndim > NPY_MAX_DIMS ||
        a.count > size / a.itemsize ||
        a.data + a.count * a.itemsize != data + size)
        abort();
    size_t product = 1;
    for (size_t i = 0; i < a.ndim; i++)
        product *= a.shape[i]; /* npy_parse checked it does not overflow */
    if (product != a.count)
        abort();
    if (a.kind == 'f') {
        float *v = malloc(a.count ? a.count * sizeof *v : 1);
        if (v == NULL)
            abort();
        npy_to_float(&a, v);
        free(v);
    } else if (a.kind == 'i' || a.kind == 'u') {
        int64_t *v = malloc(a.count ? a.count * sizeof *v : 1);
        if (v == NULL)
            abort();
        size_t big = npy_to_int64(&a, v);
        if (big > a.count || (big < a.count && a.kind != 'u'))
            abort();
        free(v);
    } else {
        abort();
    }
    size_t n = 0, steps = 0, dim = 0;
    if (npy_sequence_shape("fuzz.npy", &a, &n, &steps, &dim) == CLI_OK) {
        /* what seqset_load allocates: n * steps * dim floats, n lengths */
        if (n == 0 || steps == 0 || dim == 0 || n > INT32_MAX ||
            steps > INT32_MAX || n * steps * dim != a.count ||
            n > size / a.itemsize)
            abort();
    } else if (n != 0 || steps != 0 || dim != 0) {
        abort();
    }
    return 0;
}

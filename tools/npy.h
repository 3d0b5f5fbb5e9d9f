/*
 * npy.h - NumPy .npy files: a strict reader (format versions 1, 2 and 3;
 * C order; float and integer dtypes of either byte order) and a writer
 * (version 1.0, little-endian float32 or int32).
 *
 * The format: the magic "\x93NUMPY", a major and a minor version byte, the
 * header length (u16 little-endian in version 1, u32 in versions 2 and 3),
 * then the header, a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 10, 8), }
 * padded with spaces and ended by '\n', then the data.
 */
#ifndef LSTMAE_NPY_H
#define LSTMAE_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NPY_MAX_DIMS 32

typedef struct npy_array {
    int major, minor;          /* format version                          */
    char descr[32];            /* as in the file, e.g. "<f4"              */
    char kind;                 /* 'f' float, 'i' signed, 'u' unsigned     */
    size_t itemsize;           /* bytes per element                       */
    int big_endian;
    size_t ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count;              /* elements: the product of shape          */
    const unsigned char *data; /* count * itemsize bytes, in the buffer   */
} npy_array;

/* Parses the .npy file held in buf[size]. Returns CLI_OK, or CLI_BAD after
   a message naming `path` and the problem: not a .npy file, unsupported
   version, bad header (with its position), fortran_order True, an
   unsupported dtype (anything but float32/float64 and the integer types),
   truncated data or bytes after the data. *out points into buf. */
int npy_parse(const char *path, const unsigned char *buf, size_t size,
              npy_array *out);

/* The [n, T, D] shape of an array of sequences ([n, T]: D = 1). CLI_OK, or
   CLI_BAD after a message naming `path` and the shape: not 2-D or 3-D, a
   dimension of 0, more than INT32_MAX sequences or steps. With CLI_OK,
   n * T * D == a->count >= 1, so that every size derived from the shape is
   bounded by the file's. */
int npy_sequence_shape(const char *path, const npy_array *a, size_t *n,
                       size_t *steps, size_t *dim);

/* Converts a float array (kind 'f') to float32, out[a->count]. */
void npy_to_float(const npy_array *a, float *out);

/* Converts an integer array (kind 'i' or 'u') to int64, out[a->count].
   Returns the index of the first value above INT64_MAX (only an unsigned
   64-bit array can hold one), or a->count when there is none. */
size_t npy_to_int64(const npy_array *a, int64_t *out);

/* "float32", "int64", ... for messages. */
const char *npy_type_name(const npy_array *a);

/* Writes a version 1.0 header for a C-order array of dtype `descr` ("<f4"
   or "<i4") and the given shape. Returns 0, or -1 on a stdio error. */
int npy_write_header(FILE *f, const char *descr, const size_t *shape,
                     size_t ndim);

/* Writes values as little-endian float32 / int32. 0, or -1. */
int npy_write_f32(FILE *f, const float *values, size_t n);
int npy_write_i32(FILE *f, const int32_t *values, size_t n);

#endif /* LSTMAE_NPY_H */

/* io.h - the model file format (docs/file-format.md): serialise a model to
   bytes and back, with checks that make any byte string safe to load. */
#ifndef LSTMAE_IO_H
#define LSTMAE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "lstmae.h"

#define IO_FORMAT_VERSION 1u
#define IO_FLAG_TRAINING 1u /* the file holds the training state */

/* Bytes of the serialised model (0 if it would overflow size_t). */
size_t io_saved_size(const lstmae_model *m, unsigned flags);
/* Serialises into buf[size], size == io_saved_size(m, flags). */
void io_write(const lstmae_model *m, unsigned flags, unsigned char *buf, size_t size);
/* Parses buf[size] into a new model: LSTMAE_OK, LSTMAE_ERR_FORMAT or
   LSTMAE_ERR_NOMEM; *out is NULL on failure. */
int io_read(const unsigned char *buf, size_t size, const lstmae_allocator *a,
            lstmae_model **out);
/* Writes bytes to path atomically (temporary file in the same directory,
   fsync, rename), allocating nothing. LSTMAE_OK or LSTMAE_ERR_IO (also for
   a path over 4080 bytes); on failure
   the old file at path is intact and no temporary file is left. */
int io_write_file_atomic(const char *path, const unsigned char *buf, size_t size);
/* Reads a whole regular file into a buffer from a: LSTMAE_OK,
   LSTMAE_ERR_IO (missing, unreadable, not a regular file),
   LSTMAE_ERR_NOMEM. */
int io_read_file(const char *path, const lstmae_allocator *a, unsigned char **buf,
                 size_t *size);
/* CRC-32C (Castagnoli) of buf[n]. */
uint32_t io_crc32c(const unsigned char *buf, size_t n);

#endif

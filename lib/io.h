/* io.h - the model file format (docs/file-format.md): serialise a model to
   bytes and back, with checks that make any byte string safe to load. */
#ifndef LSTMAE_IO_H
#define LSTMAE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "lstmae.h"

#define IO_FORMAT_VERSION 2u /* what saves write; versions 1 and 2 load */
#define IO_FLAG_TRAINING 1u /* the file holds the training state */

/* Version 2's configuration records (docs/file-format.md, "Configuration
   records"): u16 tag, u16 flags, u32 payload length, payload. A reader
   rejects an unknown tag whose flags have IO_RECORD_REQUIRED and skips an
   unknown one without it. Tags 1-6 are always written, 7 (cell) only when
   it is not the default; 8-13 are reserved with the payloads the format
   page gives (absent means the default). */
#define IO_RECORD_REQUIRED 1u
enum {
    IO_TAG_INPUT_DIM = 1,        /* u32                                   */
    IO_TAG_HIDDEN_DIM = 2,       /* u32                                   */
    IO_TAG_LATENT_DIM = 3,       /* u32                                   */
    IO_TAG_NUM_LAYERS = 4,       /* u32                                   */
    IO_TAG_LOSS = 5,             /* u32, the lstmae_loss value            */
    IO_TAG_SEED = 6,             /* u64                                   */
    IO_TAG_CELL = 7,             /* u32 lstmae_cell; absent: lstm         */
    IO_TAG_BIDIRECTIONAL = 8,    /* u32 0 or 1; absent: 0                 */
    IO_TAG_REVERSE_TARGET = 9,   /* u32 0 or 1; absent: 0                 */
    IO_TAG_DECODER_INIT = 10,    /* u32 lstmae_decoder_init; absent: zero */
    IO_TAG_DECODER_FEEDBACK = 11, /* u32 0 or 1; absent: 0                */
    IO_TAG_SCALING = 12,         /* u32 lstmae_scaling, u32 ready (0 or 1),
                                    D offsets, D scales (binary32)        */
    IO_TAG_THRESHOLD = 13,       /* binary64, optional                    */
    IO_TAG_EPOCHS = 14,          /* u64 epochs trained, optional          */
    IO_TAG_LAST = IO_TAG_EPOCHS  /* the highest tag this reader knows     */
};

/* Bytes of the serialised model (0 if it would overflow size_t). */
size_t io_saved_size(const lstmae_model *m, unsigned flags);
/* Serialises into buf[size], size == io_saved_size(m, flags). */
void io_write(const lstmae_model *m, unsigned flags, unsigned char *buf, size_t size);
/* Parses buf[size] into a new model: LSTMAE_OK, LSTMAE_ERR_FORMAT or
   LSTMAE_ERR_NOMEM; *out is NULL on failure. */
int io_read(const unsigned char *buf, size_t size, const lstmae_allocator *a,
            lstmae_model **out);
/* The largest Adam step or epoch counter a file may hold (2^53, exact in
   a double): a larger one is LSTMAE_ERR_FORMAT, so that the next step can
   never wrap. No real run comes near it. */
#define IO_MAX_COUNTER ((uint64_t)1 << 53)

/* Writes bytes to path, allocating nothing (docs/file-format.md, "Writing
   a file"). A symbolic link is followed (the link stays); an existing
   regular file, or a new one, is replaced atomically: a temporary file
   beside it (created O_EXCL with mode 0666, so the kernel applies the
   umask, which is never changed; an existing file's owner and permission
   bits are kept), fsync, rename. An existing device or FIFO is written in
   place, without blocking on a FIFO that has no reader (ENXIO). LSTMAE_OK
   or LSTMAE_ERR_IO with errno set to the reason (also ENAMETOOLONG when the
   path, links followed, has 4085 bytes or more; EISDIR for a directory); on failure the old file
   at path is intact and no temporary file is left. */
int io_write_file_atomic(const char *path, const unsigned char *buf, size_t size);
/* Reads a whole model file into a buffer from a. Opens without blocking
   and refuses what is not a regular file (a FIFO, a device: errno EINVAL;
   a directory: EISDIR) before reading a byte; checks the magic, the version
   (1 or 2), the flags and the file-size field against the file's size
   before allocating. LSTMAE_OK,
   LSTMAE_ERR_IO (errno says why), LSTMAE_ERR_FORMAT (not a model file)
   or LSTMAE_ERR_NOMEM. */
int io_read_file(const char *path, const lstmae_allocator *a, unsigned char **buf,
                 size_t *size);
/* CRC-32C (Castagnoli) of buf[n]. */
uint32_t io_crc32c(const unsigned char *buf, size_t n);

#endif

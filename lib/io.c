/* io.c - the model file format, versions 1 and 2 (docs/file-format.md):
   saves write version 2 (the configuration as tagged records); version-1
   files still load.
   Little-endian everywhere, by explicit byte conversion; IEEE-754 binary32
   values; CRC-32C over everything before the trailer. */
#define _POSIX_C_SOURCE 200809L

#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mem.h"
#include "model.h"
#include "params.h"
#include "plan.h"
#include "rng.h"

static const unsigned char MAGIC[8] = { 0x89, 'L', 'S', 'T', 'M', 'A', 'E', '\n' };

enum {
    HEADER_BYTES = 8 + 4 + 4 + 8,         /* magic, version, flags, size   */
    CONFIG_BYTES = 6 * 4 + 8,             /* v1: D H Z K loss reserved, seed */
    SECTION_HEAD_BYTES = 4 + 4,           /* v2: records' length, reserved */
    RECORD_HEAD_BYTES = 2 + 2 + 4,        /* v2: tag, flags, payload length */
    /* v2 written: tags 1-6 always, then a u32 record per non-default
       variant (tag 7, cell) */
    RECORDS_BYTES = 5 * (RECORD_HEAD_BYTES + 4) + RECORD_HEAD_BYTES + 8,
    U32_RECORD_BYTES = RECORD_HEAD_BYTES + 4,
    TABLE_HEAD_BYTES = 4 + 4,             /* tensor count, reserved        */
    STATE_HEAD_BYTES = 8 + 8 + 4 + 4 + 32 /* steps, epochs, ready, rsv, rng */
};

static const uint32_t CRC32C_TABLE[256] = {
    0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu, 0x35f1141cu,
    0x26a1e7e8u, 0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu,
    0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u, 0x5e133c24u, 0x105ec76fu, 0xe235446cu,
    0xf165b798u, 0x030e349bu, 0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u,
    0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u, 0x5d1d08bfu, 0xaf768bbcu,
    0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u, 0x33ed7d2au,
    0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u, 0xaa64d611u, 0x580f5512u,
    0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau,
    0x30e349b1u, 0xc288cab2u, 0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu,
    0x1642ae59u, 0xe4292d5au, 0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
    0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u, 0x417b1dbcu, 0xb3109ebfu,
    0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u, 0x67dafa54u, 0x95b17957u,
    0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u, 0x0c38d26cu, 0xfe53516fu,
    0xed03a29bu, 0x1f682198u, 0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
    0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu,
    0x3ac7f2ebu, 0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u,
    0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u, 0xa65c047du, 0x5437877eu,
    0x4767748au, 0xb50cf789u, 0xeb1fcbadu, 0x197448aeu, 0x0a24bb5au, 0xf84f3859u,
    0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u, 0x7198540du, 0x83f3d70eu,
    0x90a324fau, 0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
    0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu, 0xceb018deu,
    0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu,
    0x456cac67u, 0xb7072f64u, 0xa457dc90u, 0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u,
    0xe9141340u, 0x1b7f9043u, 0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu,
    0x92a8fc17u, 0x60c37f14u, 0x73938ce0u, 0x81f80fe3u, 0x55326b08u, 0xa759e80bu,
    0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu, 0x0b21572cu,
    0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u, 0xa24bb5a6u, 0x502036a5u,
    0x4370c551u, 0xb11b4652u, 0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
    0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u,
    0x0e330a81u, 0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
    0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u, 0x38cc2a06u, 0xcaa7a905u,
    0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u, 0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu,
    0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u, 0x0417b1dbu, 0xf67c32d8u,
    0xe52cc12cu, 0x1747422fu, 0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu,
    0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
    0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u,
    0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u, 0x9e902e7bu, 0x6cfbad78u,
    0x7fab5e8cu, 0x8dc0dd8fu, 0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu,
    0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u, 0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u,
    0x88d28022u, 0x7ab90321u, 0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
    0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au, 0xc69f7b69u,
    0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
    0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u
};

uint32_t io_crc32c(const unsigned char *buf, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        crc = CRC32C_TABLE[(crc ^ buf[i]) & 0xFFu] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

/* ---- little-endian cursor ------------------------------------------------ */

typedef struct cursor {
    unsigned char *w;       /* writing */
    const unsigned char *r; /* reading */
    size_t at, size;
    int bad;                /* a read ran past the end */
} cursor;

static void put_u8s(cursor *c, const void *p, size_t n)
{
    memcpy(c->w + c->at, p, n);
    c->at += n;
}

static void put_u16(cursor *c, uint32_t v)
{
    unsigned char b[2] = { (unsigned char)(v & 0xFFu), (unsigned char)((v >> 8) & 0xFFu) };
    put_u8s(c, b, 2);
}

static void put_u32(cursor *c, uint32_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)((v >> (8 * i)) & 0xFFu);
    put_u8s(c, b, 4);
}

static void put_u64(cursor *c, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((v >> (8 * i)) & 0xFFu);
    put_u8s(c, b, 8);
}

static void put_f32s(cursor *c, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        put_u32(c, u);
    }
}

static const unsigned char *take(cursor *c, size_t n)
{
    if (c->bad || n > c->size - c->at) {
        c->bad = 1;
        return NULL;
    }
    const unsigned char *p = c->r + c->at;
    c->at += n;
    return p;
}

static uint32_t get_u16(cursor *c)
{
    const unsigned char *p = take(c, 2);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : 0;
}

static uint32_t get_u32(cursor *c)
{
    const unsigned char *p = take(c, 4);
    if (!p) return 0;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(cursor *c)
{
    uint64_t lo = get_u32(c);
    uint64_t hi = get_u32(c);
    return lo | hi << 32;
}

/* Reads n floats; 0 if any is not finite (a saved model never holds one). */
static int get_f32s(cursor *c, float *x, size_t n)
{
    int finite = 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t u = get_u32(c);
        memcpy(&x[i], &u, 4);
        if (!isfinite(x[i])) finite = 0;
    }
    return finite && !c->bad;
}

/* ---- sizes --------------------------------------------------------------- */

static int add_size(size_t *total, size_t a, size_t b)
{
    /* *total += a * b, checked */
    if (b != 0 && a > SIZE_MAX / b) return 0;
    if (a * b > SIZE_MAX - *total) return 0;
    *total += a * b;
    return 1;
}

/* File size implied by a parameter table and config bytes (CONFIG_BYTES
   in version 1, the record section in version 2); 0 on overflow. */
static size_t file_size(const param_entry *t, size_t ntensors, size_t nparams,
                        unsigned flags, size_t config_bytes)
{
    size_t total = HEADER_BYTES + TABLE_HEAD_BYTES + 4 /* crc */;
    if (!add_size(&total, config_bytes, 1)) return 0;
    for (size_t i = 0; i < ntensors; i++) {
        size_t name = strlen(t[i].name);
        size_t entry = 2 + name + 2 + (size_t)4 * (t[i].is_vector ? 1u : 2u);
        if (!add_size(&total, entry, 1) || !add_size(&total, t[i].size, 4)) return 0;
    }
    if (flags & IO_FLAG_TRAINING) {
        if (!add_size(&total, STATE_HEAD_BYTES, 1) || !add_size(&total, nparams, 12))
            return 0;
    }
    return total;
}

/* The variants' u32 records, tags 7-11 (IO_TAG_CELL ..
   IO_TAG_DECODER_FEEDBACK), in tag order; each is 0 by default. */
enum { VARIANTS = IO_TAG_DECODER_FEEDBACK - IO_TAG_CELL + 1 };

static void variant_values(const lstmae_config *cfg, uint32_t v[VARIANTS])
{
    v[0] = (uint32_t)cfg->cell;
    v[1] = (uint32_t)cfg->bidirectional;
    v[2] = (uint32_t)cfg->reverse_target;
    v[3] = (uint32_t)cfg->decoder_init;
    v[4] = (uint32_t)cfg->decoder_feedback;
}

/* The record section's length as io_write writes it for this model and
   flags: records holding a default are left out; the epochs trained
   (tag 14) are written in every file without the training state (which
   holds them), so that a file's size never changes as a model trains. */
static size_t records_bytes(const lstmae_model *m, unsigned flags)
{
    uint32_t v[VARIANTS];
    variant_values(&m->cfg, v);
    size_t bytes = RECORDS_BYTES;
    for (int i = 0; i < VARIANTS; i++)
        if (v[i] != 0) bytes += U32_RECORD_BYTES;
    if (m->cfg.scaling != LSTMAE_SCALING_NONE)
        bytes += RECORD_HEAD_BYTES + 8 + 8 * m->plan.d.in_dim;
    if (m->has_threshold) bytes += RECORD_HEAD_BYTES + 8;
    if (!(flags & IO_FLAG_TRAINING)) bytes += RECORD_HEAD_BYTES + 8;
    return bytes;
}

size_t io_saved_size(const lstmae_model *m, unsigned flags)
{
    return file_size(m->table, m->ntensors, m->nparams, flags,
                     SECTION_HEAD_BYTES + records_bytes(m, flags));
}

/* ---- writing ------------------------------------------------------------- */

void io_write(const lstmae_model *m, unsigned flags, unsigned char *buf, size_t size)
{
    cursor c = { buf, NULL, 0, size, 0 };
    put_u8s(&c, MAGIC, sizeof MAGIC);
    put_u32(&c, IO_FORMAT_VERSION);
    put_u32(&c, flags);
    put_u64(&c, (uint64_t)size);
    put_u32(&c, (uint32_t)records_bytes(m, flags));
    put_u32(&c, 0);
    const uint32_t u32s[5][2] = {
        { IO_TAG_INPUT_DIM, (uint32_t)m->cfg.input_dim },
        { IO_TAG_HIDDEN_DIM, (uint32_t)m->cfg.hidden_dim },
        { IO_TAG_LATENT_DIM, (uint32_t)m->cfg.latent_dim },
        { IO_TAG_NUM_LAYERS, (uint32_t)m->cfg.num_layers },
        { IO_TAG_LOSS, (uint32_t)m->cfg.loss },
    };
    for (int i = 0; i < 5; i++) {
        put_u16(&c, u32s[i][0]);
        put_u16(&c, IO_RECORD_REQUIRED);
        put_u32(&c, 4);
        put_u32(&c, u32s[i][1]);
    }
    put_u16(&c, IO_TAG_SEED);
    put_u16(&c, IO_RECORD_REQUIRED);
    put_u32(&c, 8);
    put_u64(&c, m->cfg.seed);
    uint32_t variants[VARIANTS];
    variant_values(&m->cfg, variants);
    for (int i = 0; i < VARIANTS; i++) {
        if (variants[i] == 0) continue; /* the default: left out */
        put_u16(&c, (uint32_t)(IO_TAG_CELL + i));
        put_u16(&c, IO_RECORD_REQUIRED);
        put_u32(&c, 4);
        put_u32(&c, variants[i]);
    }
    if (m->cfg.scaling != LSTMAE_SCALING_NONE) {
        size_t D = m->plan.d.in_dim;
        put_u16(&c, IO_TAG_SCALING);
        put_u16(&c, IO_RECORD_REQUIRED);
        put_u32(&c, (uint32_t)(8 + 8 * D));
        put_u32(&c, (uint32_t)m->cfg.scaling);
        put_u32(&c, m->scaling_ready ? 1u : 0u);
        put_f32s(&c, m->offset, D);
        put_f32s(&c, m->scale, D);
    }
    if (m->has_threshold) { /* information only: optional */
        uint64_t bits;
        memcpy(&bits, &m->threshold, sizeof bits);
        put_u16(&c, IO_TAG_THRESHOLD);
        put_u16(&c, 0);
        put_u32(&c, 8);
        put_u64(&c, bits);
    }
    if (!(flags & IO_FLAG_TRAINING)) {
        put_u16(&c, IO_TAG_EPOCHS);
        put_u16(&c, 0);
        put_u32(&c, 8);
        put_u64(&c, m->epochs_done);
    }
    put_u32(&c, (uint32_t)m->ntensors);
    put_u32(&c, 0);
    for (size_t i = 0; i < m->ntensors; i++) {
        const param_entry *e = &m->table[i];
        size_t len = strlen(e->name);
        put_u16(&c, (uint32_t)len);
        put_u8s(&c, e->name, len);
        put_u16(&c, e->is_vector ? 1u : 2u);
        put_u32(&c, (uint32_t)e->rows);
        if (!e->is_vector) put_u32(&c, (uint32_t)e->cols);
        put_f32s(&c, m->params + e->offset, e->size);
    }
    if (flags & IO_FLAG_TRAINING) {
        put_u64(&c, m->adam_steps);
        put_u64(&c, m->epochs_done);
        put_u32(&c, m->sgd_buf_ready ? 1u : 0u);
        put_u32(&c, 0);
        for (int i = 0; i < 4; i++) put_u64(&c, m->gen.s[i]);
        put_f32s(&c, m->adam_m, m->nparams);
        put_f32s(&c, m->adam_v, m->nparams);
        put_f32s(&c, m->sgd_buf, m->nparams);
    }
    put_u32(&c, io_crc32c(buf, c.at));
}

/* ---- reading ------------------------------------------------------------- */

/* Version 1's fixed configuration: D H Z K loss reserved seed. */
static int read_config_v1(cursor *c, uint32_t v[5], uint64_t *seed)
{
    uint32_t reserved;
    for (int i = 0; i < 5; i++) v[i] = get_u32(c);
    reserved = get_u32(c);
    *seed = get_u64(c);
    /* version 1 knows bce (0) and mse (1) only, whatever later losses exist */
    if (c->bad || reserved != 0 || v[4] > 1) return LSTMAE_ERR_FORMAT;
    return LSTMAE_OK;
}

/* What a version-2 file stores beyond the configuration, applied to the
   model once it exists. */
typedef struct io_extras {
    const unsigned char *scaling; /* tag 12's D offsets and D scales, or NULL */
    uint32_t scaling_ready;
    int has_threshold;
    double threshold;
    uint64_t epochs;              /* tag 14; 0 when absent                    */
} io_extras;

/* Version 2's record section: u32 length, u32 reserved, then records of
   u16 tag, u16 flags, u32 payload length, payload, filling exactly the
   length. Each known tag at most once, every one of tags 1-6 present, the
   payload length the tag's; an unknown tag is skipped unless required.
   v[0..4]: tags 1-5; v[5..9]: tags 7-11 (the variants), v[10]: tag 12's
   scaling kind, left as they are (the defaults) when absent; *ex: tags
   12-14's values. *config_bytes: the section's size, for the file-size
   check. */
static int read_config_v2(cursor *c, uint32_t v[6 + VARIANTS], uint64_t *seed,
                          io_extras *ex, size_t *config_bytes)
{
    uint32_t len = get_u32(c);
    if (get_u32(c) != 0 || c->bad) return LSTMAE_ERR_FORMAT;
    /* the section lies before the checksum */
    if (c->size - c->at < 4 || len > c->size - c->at - 4) return LSTMAE_ERR_FORMAT;
    size_t end = c->at + len, scaling_len = 0;
    unsigned seen = 0;
    while (c->at < end) {
        if (end - c->at < RECORD_HEAD_BYTES) return LSTMAE_ERR_FORMAT;
        uint32_t tag = get_u16(c), rflags = get_u16(c), plen = get_u32(c);
        if ((rflags & ~IO_RECORD_REQUIRED) != 0 || plen > end - c->at || tag == 0)
            return LSTMAE_ERR_FORMAT;
        if (tag > IO_TAG_LAST) { /* not known to this reader */
            if (rflags & IO_RECORD_REQUIRED) return LSTMAE_ERR_FORMAT;
            take(c, plen);
            continue;
        }
        unsigned bit = 1u << tag;
        if (seen & bit) return LSTMAE_ERR_FORMAT;
        seen |= bit;
        if (tag == IO_TAG_SCALING) {
            /* u32 kind, u32 ready, then D offsets and D scales: D is
               checked once every record is read */
            if (plen < 8) return LSTMAE_ERR_FORMAT;
            v[5 + VARIANTS] = get_u32(c);
            ex->scaling_ready = get_u32(c);
            scaling_len = plen - 8;
            ex->scaling = take(c, scaling_len);
            continue;
        }
        int wide = tag == IO_TAG_SEED || tag == IO_TAG_THRESHOLD || tag == IO_TAG_EPOCHS;
        if (plen != (wide ? 8u : 4u)) return LSTMAE_ERR_FORMAT;
        if (tag == IO_TAG_SEED) {
            *seed = get_u64(c);
        } else if (tag == IO_TAG_THRESHOLD) {
            uint64_t bits = get_u64(c);
            memcpy(&ex->threshold, &bits, sizeof bits);
            if (!isfinite(ex->threshold)) return LSTMAE_ERR_FORMAT;
            ex->has_threshold = 1;
        } else if (tag == IO_TAG_EPOCHS) {
            ex->epochs = get_u64(c);
            if (ex->epochs > IO_MAX_COUNTER) return LSTMAE_ERR_FORMAT;
        } else if (tag >= IO_TAG_CELL) {
            v[5 + tag - IO_TAG_CELL] = get_u32(c);
        } else {
            v[tag - IO_TAG_INPUT_DIM] = get_u32(c);
        }
    }
    if (c->bad || (seen & 0x7Eu) != 0x7Eu /* tags 1-6 */) return LSTMAE_ERR_FORMAT;
    if (ex->scaling && (ex->scaling_ready > 1 || scaling_len != (size_t)8 * v[0]))
        return LSTMAE_ERR_FORMAT;
    *config_bytes = SECTION_HEAD_BYTES + (size_t)len;
    return LSTMAE_OK;
}

/* Everything up to and including the config, checked before any
   allocation; fills cfg and the config's size in the file. */
static int read_head(cursor *c, lstmae_config *cfg, unsigned *flags, io_extras *ex,
                     size_t *config_bytes)
{
    const unsigned char *magic = take(c, sizeof MAGIC);
    if (!magic || memcmp(magic, MAGIC, sizeof MAGIC) != 0) return LSTMAE_ERR_FORMAT;
    uint32_t version = get_u32(c);
    uint32_t fl = get_u32(c);
    uint64_t size = get_u64(c);
    if (c->bad || version < 1 || version > IO_FORMAT_VERSION || (fl & ~IO_FLAG_TRAINING) != 0 ||
        size != (uint64_t)c->size)
        return LSTMAE_ERR_FORMAT;
    /* The checksum covers everything; checking it first means a damaged
       file never reaches the parser below. */
    if (c->size < HEADER_BYTES + 4) return LSTMAE_ERR_FORMAT;
    const unsigned char *end = c->r + c->size - 4;
    uint32_t stored = (uint32_t)end[0] | (uint32_t)end[1] << 8 | (uint32_t)end[2] << 16 |
                      (uint32_t)end[3] << 24;
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION /* fuzzing: reach the parser */
    if (io_crc32c(c->r, c->size - 4) != stored) return LSTMAE_ERR_FORMAT;
#else
    (void)stored;
#endif

    uint32_t v[6 + VARIANTS] = { 0 }; /* the variants' defaults are 0 */
    memset(ex, 0, sizeof *ex);
    uint64_t seed = 0;
    int st;
    if (version == 1) {
        st = read_config_v1(c, v, &seed);
        *config_bytes = CONFIG_BYTES;
    } else {
        st = read_config_v2(c, v, &seed, ex, config_bytes);
    }
    if (st != LSTMAE_OK) return st;
    for (int i = 0; i < 6 + VARIANTS; i++)
        if (v[i] > INT_MAX) return LSTMAE_ERR_FORMAT;
    lstmae_config_init(cfg);
    cfg->input_dim = (int)v[0];
    cfg->hidden_dim = (int)v[1];
    cfg->latent_dim = (int)v[2];
    cfg->num_layers = (int)v[3];
    cfg->loss = (lstmae_loss)v[4]; /* the file stores the enum's value */
    cfg->seed = seed;
    /* unknown values fail the check below */
    cfg->cell = (lstmae_cell)v[5];
    cfg->bidirectional = (int)v[6];
    cfg->reverse_target = (int)v[7];
    cfg->decoder_init = (lstmae_decoder_init)v[8];
    cfg->decoder_feedback = (int)v[9];
    cfg->scaling = (lstmae_scaling)v[10];
    /* the one check of model.c, the same as lstmae_create's */
    if (model_check_config(cfg, NULL, 0) != LSTMAE_OK) return LSTMAE_ERR_FORMAT;
    *flags = fl;
    return LSTMAE_OK;
}

/* The table and values, checked against the model's own table. */
static int read_body(cursor *c, lstmae_model *m, unsigned flags)
{
    if (get_u32(c) != m->ntensors || get_u32(c) != 0) return LSTMAE_ERR_FORMAT;
    for (size_t i = 0; i < m->ntensors; i++) {
        const param_entry *e = &m->table[i];
        size_t len = get_u16(c);
        const unsigned char *name = take(c, len);
        if (!name || len != strlen(e->name) || memcmp(name, e->name, len) != 0)
            return LSTMAE_ERR_FORMAT;
        uint32_t rank = get_u16(c);
        if (rank != (e->is_vector ? 1u : 2u) || get_u32(c) != e->rows) return LSTMAE_ERR_FORMAT;
        if (!e->is_vector && get_u32(c) != e->cols) return LSTMAE_ERR_FORMAT;
        if (!get_f32s(c, m->params + e->offset, e->size)) return LSTMAE_ERR_FORMAT;
    }
    if (flags & IO_FLAG_TRAINING) {
        m->adam_steps = get_u64(c);
        m->epochs_done = get_u64(c);
        /* counters no run can reach: the next step must not wrap */
        if (m->adam_steps > IO_MAX_COUNTER || m->epochs_done > IO_MAX_COUNTER)
            return LSTMAE_ERR_FORMAT;
        uint32_t ready = get_u32(c);
        if (ready > 1 || get_u32(c) != 0) return LSTMAE_ERR_FORMAT;
        m->sgd_buf_ready = (int)ready;
        for (int i = 0; i < 4; i++) m->gen.s[i] = get_u64(c);
        if (!get_f32s(c, m->adam_m, m->nparams) || !get_f32s(c, m->adam_v, m->nparams) ||
            !get_f32s(c, m->sgd_buf, m->nparams))
            return LSTMAE_ERR_FORMAT;
    }
    take(c, 4); /* the checksum, verified in read_head */
    if (c->bad || c->at != c->size) return LSTMAE_ERR_FORMAT;
    return LSTMAE_OK;
}

/* Tags 12-14 into the model: the scaling statistics (finite, scales
   not 0), the threshold, the epochs trained (the training state's count
   wins where the file has both). */
static int apply_extras(lstmae_model *m, const io_extras *ex)
{
    if (ex->scaling && m->offset) {
        size_t D = m->plan.d.in_dim;
        cursor c = { NULL, ex->scaling, 0, 8 * D, 0 };
        if (!get_f32s(&c, m->offset, D) || !get_f32s(&c, m->scale, D)) return LSTMAE_ERR_FORMAT;
        for (size_t d = 0; d < D; d++)
            if (m->scale[d] == 0.0f) return LSTMAE_ERR_FORMAT;
        m->scaling_ready = (int)ex->scaling_ready;
    }
    m->has_threshold = ex->has_threshold;
    m->threshold = ex->threshold;
    if (m->epochs_done == 0) m->epochs_done = ex->epochs;
    return LSTMAE_OK;
}

int io_read(const unsigned char *buf, size_t size, const lstmae_allocator *a,
            lstmae_model **out)
{
    *out = NULL;
    cursor c = { NULL, buf, 0, size, 0 };
    lstmae_config cfg;
    unsigned flags = 0;
    size_t config_bytes = 0;
    io_extras ex;
    int st = read_head(&c, &cfg, &flags, &ex, &config_bytes);
    if (st != LSTMAE_OK) return st;

    /* The size the config implies must be the size we were given: only
       then is anything allocated, so a forged header cannot ask for more
       memory than the bytes it came in. */
    ae_plan *plan = mem_alloc(a, sizeof *plan);
    if (!plan) return LSTMAE_ERR_NOMEM;
    plan_build(&cfg, plan);
    param_entry *table = mem_calloc(a, plan->ntensors, sizeof *table);
    if (!table) {
        mem_free(a, plan);
        return LSTMAE_ERR_NOMEM;
    }
    /* each tensor's size is at most 4 * MAX_DIM^2: no overflow in layout */
    params_layout(plan, table);
    int fits = file_size(table, plan->ntensors, plan->nparams, flags, config_bytes) == size;
    mem_free(a, table);
    mem_free(a, plan);
    if (!fits) return LSTMAE_ERR_FORMAT;

    lstmae_model *m = NULL;
    st = model_create(&cfg, a, &m);
    if (st != LSTMAE_OK) return st == LSTMAE_ERR_NOMEM ? st : LSTMAE_ERR_FORMAT;
    st = read_body(&c, m, flags);
    if (st == LSTMAE_OK) st = apply_extras(m, &ex);
    if (st != LSTMAE_OK) {
        model_free(m);
        return st;
    }
    *out = m;
    return LSTMAE_OK;
}

/* ---- files ----------------------------------------------------------------- */

enum { PATH_CAP = 4096 }; /* paths, on the stack: saves allocate nothing */

static const char TMP_SUFFIX[] = ".tmp-XXXXXX";

static int write_all(int fd, const unsigned char *buf, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, buf, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return 0;
        }
        buf += n;
        size -= (size_t)n;
    }
    return 1;
}

/* Reads exactly n bytes; 0 with errno set otherwise (EIO when the file
   ends early: it shrank while being read). */
static int read_all(int fd, unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, buf, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return 0;
        if (r == 0) {
            errno = EIO;
            return 0;
        }
        buf += r;
        n -= (size_t)r;
    }
    return 1;
}

/* Follows path's last component through symbolic links (at most 40 of
   them) into out[PATH_CAP], using scratch[PATH_CAP]: the name a save must
   replace, so that the link itself survives. 1, or 0 with errno set. */
static int resolve_links(const char *path, char *out, char *scratch)
{
    size_t len = strlen(path);
    if (len >= PATH_CAP) {
        errno = ENAMETOOLONG;
        return 0;
    }
    memcpy(out, path, len + 1);
    for (int hops = 0;; hops++) {
        struct stat sb;
        if (lstat(out, &sb) != 0) return errno == ENOENT; /* a new file */
        if (!S_ISLNK(sb.st_mode)) return 1;
        if (hops == 40) {
            errno = ELOOP;
            return 0;
        }
        ssize_t n = readlink(out, scratch, PATH_CAP);
        if (n < 0) return 0;
        if ((size_t)n >= PATH_CAP) {
            errno = ENAMETOOLONG;
            return 0;
        }
        size_t dir = 0; /* a relative link is relative to its directory */
        const char *slash = strrchr(out, '/');
        if (scratch[0] != '/' && slash != NULL) dir = (size_t)(slash - out) + 1;
        if (dir + (size_t)n >= PATH_CAP) {
            errno = ENAMETOOLONG;
            return 0;
        }
        memcpy(out + dir, scratch, (size_t)n);
        out[dir + (size_t)n] = '\0';
    }
}

/* Writes into what is at path (a device, a FIFO): no temporary file, no
   rename, so the node stays what it is. The open does not block: a FIFO
   with no reader fails at once with ENXIO (as does a socket). A reader
   that goes away gives EPIPE, not a SIGPIPE to the process. */
static int write_in_place(const char *path, const struct stat *was,
                          const unsigned char *buf, size_t size)
{
    int fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return LSTMAE_ERR_IO;
    struct stat sb;
    int ok = fstat(fd, &sb) == 0;
    if (ok && (sb.st_dev != was->st_dev || sb.st_ino != was->st_ino ||
               S_ISREG(sb.st_mode))) {
        errno = EAGAIN; /* replaced since we looked: try again */
        ok = 0;
    }
    int fl = ok ? fcntl(fd, F_GETFL) : -1;
    ok = ok && fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0;

    /* SIGPIPE held back for this thread, and taken if this write raised it */
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    int masked = pthread_sigmask(SIG_BLOCK, &pipe_set, &old) == 0;
    int was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    ok = ok && write_all(fd, buf, size);
    int err = errno;
    if (masked) {
        if (!ok && err == EPIPE && !was_pending) {
            const struct timespec zero = { 0, 0 };
            while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (close(fd) != 0 && ok && errno != EINTR) {
        ok = 0;
        err = errno;
    }
    errno = err;
    return ok ? LSTMAE_OK : LSTMAE_ERR_IO;
}

/* Six characters of [A-Za-z0-9] from *state (splitmix64). */
static void random_name(char *x, uint64_t *state)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t z = rng_splitmix64(state);
    for (int i = 0; i < 6; i++, z /= 62) x[i] = chars[z % 62];
}

int io_write_file_atomic(const char *path, const unsigned char *buf, size_t size)
{
    char target[PATH_CAP], tmp[PATH_CAP]; /* no allocation: fit checkpoints
                                             must not fail for memory */
    /* What the path names, through links (magic ones such as /dev/stdout
       included): a device or a FIFO is written in place. */
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (!exists && errno != ENOENT) return LSTMAE_ERR_IO;
    if (exists && S_ISDIR(sb.st_mode)) {
        errno = EISDIR;
        return LSTMAE_ERR_IO;
    }
    if (exists && !S_ISREG(sb.st_mode)) return write_in_place(path, &sb, buf, size);
    /* A regular file, or none (a new file, or a dangling link's target):
       replace the file the links lead to, not the links. */
    if (!resolve_links(path, target, tmp)) return LSTMAE_ERR_IO;
    if (exists) {
        struct stat at;
        if (lstat(target, &at) != 0 || at.st_dev != sb.st_dev || at.st_ino != sb.st_ino) {
            errno = EAGAIN; /* changed since we looked, or a link we cannot follow */
            return LSTMAE_ERR_IO;
        }
    }

    /* A new name beside the target (rename is atomic within a directory),
       created by this call alone (O_EXCL). Mode 0666: the kernel applies
       the umask, which is never touched (it is process-wide). */
    size_t len = strlen(target);
    if (len + sizeof TMP_SUFFIX > sizeof tmp) {
        errno = ENAMETOOLONG;
        return LSTMAE_ERR_IO;
    }
    memcpy(tmp, target, len);
    memcpy(tmp + len, TMP_SUFFIX, sizeof TMP_SUFFIX);
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) ts.tv_sec = ts.tv_nsec = 0;
    uint64_t seed = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^
                    (uint64_t)getpid() << 42 ^ (uint64_t)(uintptr_t)&seed;
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        random_name(tmp + len + sizeof TMP_SUFFIX - 7, &seed);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) return LSTMAE_ERR_IO;
    }
    if (fd < 0) return LSTMAE_ERR_IO; /* EEXIST, 100 times */

    int ok = 1;
    if (exists) {
        /* the old file's owner (where permitted) and permission bits */
        if ((sb.st_uid != geteuid() || sb.st_gid != getegid()) &&
            fchown(fd, sb.st_uid, sb.st_gid) != 0) {
            /* not permitted: the file becomes ours, as any new file */
        }
        ok = fchmod(fd, sb.st_mode & 0777) == 0;
    }
    ok = ok && write_all(fd, buf, size) && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0 && ok && errno != EINTR) {
        ok = 0;
        err = errno;
    }
    if (ok && rename(tmp, target) != 0) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        unlink(tmp);
        errno = err; /* the reason, not unlink's */
    }
    return ok ? LSTMAE_OK : LSTMAE_ERR_IO;
}

/* The first bytes of a model file: the magic, and a file-size field equal
   to the file's size. Checked before the rest is read or memory taken. */
static int head_fits(const unsigned char *head, size_t n, uint64_t file_size)
{
    if (n < HEADER_BYTES || memcmp(head, MAGIC, sizeof MAGIC) != 0) return 0;
    cursor c = { NULL, head, sizeof MAGIC, n, 0 };
    uint32_t version = get_u32(&c), flags = get_u32(&c);
    return version >= 1 && version <= IO_FORMAT_VERSION && (flags & ~IO_FLAG_TRAINING) == 0 &&
           get_u64(&c) == file_size;
}

int io_read_file(const char *path, const lstmae_allocator *a, unsigned char **buf,
                 size_t *size)
{
    *buf = NULL;
    *size = 0;
    /* Non-blocking, so that a FIFO with no writer cannot hang the open;
       fstat then refuses anything but a regular file. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return LSTMAE_ERR_IO;
    int st = LSTMAE_ERR_IO;
    unsigned char *b = NULL;
    struct stat sb;
    unsigned char head[HEADER_BYTES];
    if (fstat(fd, &sb) != 0) goto fail;
    if (!S_ISREG(sb.st_mode)) {
        errno = S_ISDIR(sb.st_mode) ? EISDIR : EINVAL;
        goto fail;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) goto fail;
    if (sb.st_size < 0 || (uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        st = LSTMAE_ERR_FORMAT; /* no model is that large */
        goto fail;
    }
    size_t n = (size_t)sb.st_size;
    size_t hn = n < HEADER_BYTES ? n : HEADER_BYTES;
    if (!read_all(fd, head, hn)) goto fail;
    if (!head_fits(head, hn, (uint64_t)n)) {
        st = LSTMAE_ERR_FORMAT;
        goto fail;
    }
    b = mem_alloc(a, n);
    if (!b) {
        st = LSTMAE_ERR_NOMEM;
        goto fail;
    }
    memcpy(b, head, HEADER_BYTES);
    if (!read_all(fd, b + HEADER_BYTES, n - HEADER_BYTES)) goto fail;
    close(fd);
    *buf = b;
    *size = n;
    return LSTMAE_OK;
fail:;
    int err = errno;
    close(fd);
    if (b) mem_free(a, b);
    errno = err;
    return st;
}

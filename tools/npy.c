/*
 * npy.c - the .npy reader and writer (see npy.h for the format).
 */
#include "npy.h"

#include <ctype.h>
#include <string.h>

#include "cli.h"

/* ---- header parsing ----------------------------------------------------- */

typedef struct header_parser {
    const char *path;
    const char *s;   /* header text, not NUL-terminated */
    size_t n, pos;
} header_parser;

static int header_error(const header_parser *p, const char *what)
{
    cli_error("%s: bad .npy header at character %zu: %s", p->path, p->pos,
              what);
    return CLI_BAD;
}

static void skip_space(header_parser *p)
{
    while (p->pos < p->n && isspace((unsigned char)p->s[p->pos]))
        p->pos++;
}

/* Skips spaces; then 1 if the next character is c (consumed), else 0. */
static int accept(header_parser *p, char c)
{
    skip_space(p);
    if (p->pos < p->n && p->s[p->pos] == c) {
        p->pos++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "...") into out[cap]. */
static int parse_string(header_parser *p, char *out, size_t cap)
{
    skip_space(p);
    if (p->pos >= p->n || (p->s[p->pos] != '\'' && p->s[p->pos] != '"'))
        return header_error(p, "expected a quoted string");
    char quote = p->s[p->pos++];
    size_t len = 0;
    while (p->pos < p->n && p->s[p->pos] != quote) {
        if (p->s[p->pos] == '\\')
            return header_error(p, "escapes in strings are not supported");
        if (len + 1 >= cap)
            return header_error(p, "string too long");
        out[len++] = p->s[p->pos++];
    }
    if (p->pos >= p->n)
        return header_error(p, "unterminated string");
    p->pos++;
    out[len] = '\0';
    return CLI_OK;
}

/* Skips a (possibly nested) bracketed Python value: [...] or (...). */
static int skip_bracketed(header_parser *p)
{
    int depth = 0;
    char quote = 0;
    for (; p->pos < p->n; p->pos++) {
        char c = p->s[p->pos];
        if (quote) {
            if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '[' || c == '(') {
            depth++;
        } else if (c == ']' || c == ')') {
            if (--depth == 0) {
                p->pos++;
                return CLI_OK;
            }
        }
    }
    return header_error(p, "unterminated list");
}

static int parse_bool(header_parser *p, int *out)
{
    skip_space(p);
    size_t left = p->n - p->pos;
    if (left >= 4 && strncmp(p->s + p->pos, "True", 4) == 0) {
        p->pos += 4;
        *out = 1;
        return CLI_OK;
    }
    if (left >= 5 && strncmp(p->s + p->pos, "False", 5) == 0) {
        p->pos += 5;
        *out = 0;
        return CLI_OK;
    }
    return header_error(p, "expected True or False");
}

/* A shape tuple: "()", "(5,)", "(3, 10, 8)"; Python 2's "3L" is fine. */
static int parse_shape(header_parser *p, npy_array *a)
{
    if (!accept(p, '('))
        return header_error(p, "expected a shape tuple '('");
    a->ndim = 0;
    for (;;) {
        if (accept(p, ')'))
            return CLI_OK;
        skip_space(p);
        if (p->pos >= p->n || !isdigit((unsigned char)p->s[p->pos]))
            return header_error(p, "expected a dimension (a non-negative "
                                   "integer)");
        size_t v = 0;
        while (p->pos < p->n && isdigit((unsigned char)p->s[p->pos])) {
            size_t d = (size_t)(p->s[p->pos++] - '0');
            if (v > (SIZE_MAX - d) / 10)
                return header_error(p, "dimension too large");
            v = v * 10 + d;
        }
        if (p->pos < p->n && p->s[p->pos] == 'L')
            p->pos++;
        if (a->ndim == NPY_MAX_DIMS)
            return header_error(p, "too many dimensions");
        a->shape[a->ndim++] = v;
        if (accept(p, ','))
            continue;
        if (accept(p, ')'))
            return CLI_OK;
        return header_error(p, "expected ',' or ')' in the shape");
    }
}

/* Fills kind, itemsize and big_endian from a->descr. */
static int interpret_descr(const char *path, npy_array *a)
{
    const char *d = a->descr;
    const unsigned int one = 1;
    const int host_big = *(const unsigned char *)&one == 0;
    const char order = d[0];
    int ok = (order == '<' || order == '>' || order == '|' || order == '=') &&
             d[1] != '\0' && isdigit((unsigned char)d[2]) && d[3] == '\0';
    if (ok) {
        a->kind = d[1];
        a->itemsize = (size_t)(d[2] - '0');
        a->big_endian = order == '>' || (order == '=' && host_big);
        size_t sz = a->itemsize;
        if (a->kind == 'f')
            ok = sz == 4 || sz == 8;
        else if (a->kind == 'i' || a->kind == 'u')
            ok = sz == 1 || sz == 2 || sz == 4 || sz == 8;
        else
            ok = 0;
        /* '|' (no byte order) only makes sense for single bytes. */
        if (order == '|' && sz != 1)
            ok = 0;
    }
    if (!ok) {
        cli_error("%s: unsupported dtype '%s': expected float32 or float64 "
                  "('<f4', '<f8', or big-endian '>f4', '>f8'), or an integer "
                  "type for lengths", path, d);
        return CLI_BAD;
    }
    return CLI_OK;
}

/* The header dict: exactly the keys descr, fortran_order and shape. */
static int parse_header(header_parser *p, npy_array *a)
{
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    int structured = 0;
    if (!accept(p, '{'))
        return header_error(p, "expected '{'");
    while (!accept(p, '}')) {
        char key[32];
        if (parse_string(p, key, sizeof key) != CLI_OK)
            return CLI_BAD;
        if (!accept(p, ':'))
            return header_error(p, "expected ':'");
        if (strcmp(key, "descr") == 0 && !have_descr) {
            skip_space(p);
            if (p->pos < p->n && p->s[p->pos] == '[') {
                structured = 1;
                if (skip_bracketed(p) != CLI_OK)
                    return CLI_BAD;
            } else if (parse_string(p, a->descr, sizeof a->descr) != CLI_OK) {
                return CLI_BAD;
            }
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_order) {
            if (parse_bool(p, &fortran) != CLI_OK)
                return CLI_BAD;
            have_order = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (parse_shape(p, a) != CLI_OK)
                return CLI_BAD;
            have_shape = 1;
        } else {
            return header_error(p, "unexpected or repeated key");
        }
        if (!accept(p, ',')) {
            if (accept(p, '}'))
                break;
            return header_error(p, "expected ',' or '}'");
        }
    }
    if (!have_descr || !have_order || !have_shape) {
        cli_error("%s: bad .npy header: missing '%s'", p->path,
                  !have_descr ? "descr" : !have_order ? "fortran_order"
                                                      : "shape");
        return CLI_BAD;
    }
    if (structured) {
        cli_error("%s: unsupported dtype: a structured array (record "
                  "fields); expected float32 or float64", p->path);
        return CLI_BAD;
    }
    if (fortran) {
        cli_error("%s: Fortran-order (column-major) arrays are not "
                  "supported; save a C-order array (numpy.ascontiguousarray)",
                  p->path);
        return CLI_BAD;
    }
    return interpret_descr(p->path, a);
}

static void format_shape(const npy_array *a, char *out, size_t cap)
{
    size_t len = 0;
    len += (size_t)snprintf(out, cap, "(");
    for (size_t i = 0; i < a->ndim && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%zu",
                                i ? ", " : "", a->shape[i]);
    if (len < cap)
        snprintf(out + len, cap - len, "%s)", a->ndim == 1 ? "," : "");
}

int npy_parse(const char *path, const unsigned char *buf, size_t size,
              npy_array *out)
{
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    memset(out, 0, sizeof *out);
    if (size < 10 || memcmp(buf, magic, sizeof magic) != 0) {
        cli_error("%s: not a .npy file (%s)", path,
                  size < 10 ? "shorter than the 10-byte preamble"
                            : "no \\x93NUMPY magic at the start");
        return CLI_BAD;
    }
    out->major = buf[6];
    out->minor = buf[7];
    size_t start, hlen;
    if (out->major == 1) {
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
        start = 10;
    } else if (out->major == 2 || out->major == 3) {
        if (size < 12) {
            cli_error("%s: truncated .npy file: %zu bytes, the preamble of "
                      "version %d needs 12", path, size, out->major);
            return CLI_BAD;
        }
        hlen = (size_t)buf[8] | (size_t)buf[9] << 8 |
               (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
        start = 12;
    } else {
        cli_error("%s: unsupported .npy format version %d.%d (1.0, 2.0 and "
                  "3.0 are supported)", path, out->major, out->minor);
        return CLI_BAD;
    }
    if (hlen > size - start) {
        cli_error("%s: truncated .npy file: the header needs %zu bytes from "
                  "offset %zu, the file has %zu", path, hlen, start,
                  size - start);
        return CLI_BAD;
    }
    header_parser p = {path, (const char *)buf + start, hlen, 0};
    if (parse_header(&p, out) != CLI_OK)
        return CLI_BAD;

    size_t count = 1;
    for (size_t i = 0; i < out->ndim; i++) {
        if (out->shape[i] != 0 && count > SIZE_MAX / out->shape[i]) {
            cli_error("%s: shape too large", path);
            return CLI_BAD;
        }
        count *= out->shape[i];
    }
    if (count > SIZE_MAX / out->itemsize) {
        cli_error("%s: shape too large", path);
        return CLI_BAD;
    }
    out->count = count;
    size_t need = count * out->itemsize, have = size - start - hlen;
    char shape[160];
    format_shape(out, shape, sizeof shape);
    if (have < need) {
        cli_error("%s: truncated .npy file: shape %s of %s needs %zu bytes "
                  "of data after the header (offset %zu), the file has %zu",
                  path, shape, npy_type_name(out), need, start + hlen, have);
        return CLI_BAD;
    }
    if (have > need) {
        cli_error("%s: %zu unexpected bytes after the data (shape %s of %s "
                  "ends at offset %zu)", path, have - need, shape,
                  npy_type_name(out), start + hlen + need);
        return CLI_BAD;
    }
    out->data = buf + start + hlen;
    return CLI_OK;
}

int npy_sequence_shape(const char *path, const npy_array *a, size_t *n,
                       size_t *steps, size_t *dim)
{
    char shape[160];
    format_shape(a, shape, sizeof shape);
    *n = *steps = *dim = 0;
    if (a->ndim != 2 && a->ndim != 3) {
        cli_error("%s: %zu-D array: sequences must be [n, T, D], or [n, T] "
                  "for one feature", path, a->ndim);
        return CLI_BAD;
    }
    /* A zero dimension would leave the others unbounded by the file's
       size: (2147483647, 0, 3) holds no data but 2^31 sequences. */
    if (a->shape[0] == 0) {
        cli_error("%s: shape %s: no sequences (the first dimension is 0)",
                  path, shape);
        return CLI_BAD;
    }
    if (a->shape[1] == 0) {
        cli_error("%s: shape %s: sequences of no steps (the second "
                  "dimension is 0)", path, shape);
        return CLI_BAD;
    }
    if (a->ndim == 3 && a->shape[2] == 0) {
        cli_error("%s: shape %s: no features (the last dimension is 0)",
                  path, shape);
        return CLI_BAD;
    }
    if (a->shape[0] > INT32_MAX || a->shape[1] > INT32_MAX) {
        cli_error("%s: shape %s: too many sequences or steps (at most %d "
                  "of each)", path, shape, INT32_MAX);
        return CLI_BAD;
    }
    *n = a->shape[0];
    *steps = a->shape[1];
    *dim = a->ndim == 3 ? a->shape[2] : 1;
    return CLI_OK;
}

/* ---- conversions -------------------------------------------------------- */

/* The unsigned integer of `size` bytes at p, in the array's byte order. */
static uint64_t load_uint(const unsigned char *p, size_t size, int big)
{
    uint64_t v = 0;
    for (size_t k = 0; k < size; k++) {
        size_t byte = big ? k : size - 1 - k;
        v = v << 8 | p[byte];
    }
    return v;
}

void npy_to_float(const npy_array *a, float *out)
{
    for (size_t i = 0; i < a->count; i++) {
        const unsigned char *p = a->data + i * a->itemsize;
        if (a->itemsize == 4) {
            uint32_t bits = (uint32_t)load_uint(p, 4, a->big_endian);
            memcpy(&out[i], &bits, sizeof bits);
        } else {
            uint64_t bits = load_uint(p, 8, a->big_endian);
            double d;
            memcpy(&d, &bits, sizeof d);
            out[i] = (float)d;
        }
    }
}

size_t npy_to_int64(const npy_array *a, int64_t *out)
{
    for (size_t i = 0; i < a->count; i++) {
        const unsigned char *p = a->data + i * a->itemsize;
        uint64_t v = load_uint(p, a->itemsize, a->big_endian);
        if (a->kind == 'i') {
            /* two's complement of itemsize bytes */
            unsigned bits = (unsigned)(8 * a->itemsize);
            if (bits >= 64 || bits == 0) {
                memcpy(&out[i], &v, sizeof v);
            } else {
                int64_t sv = (int64_t)v;
                if (v >> (bits - 1)) /* negative: subtract 2^bits */
                    sv -= (int64_t)1 << bits;
                out[i] = sv;
            }
        } else {
            if (v > (uint64_t)INT64_MAX)
                return i;
            out[i] = (int64_t)v;
        }
    }
    return a->count;
}

const char *npy_type_name(const npy_array *a)
{
    switch (a->kind) {
    case 'f':
        return a->itemsize == 4 ? "float32" : "float64";
    case 'i':
        return a->itemsize == 1 ? "int8" : a->itemsize == 2 ? "int16"
             : a->itemsize == 4 ? "int32" : "int64";
    case 'u':
        return a->itemsize == 1 ? "uint8" : a->itemsize == 2 ? "uint16"
             : a->itemsize == 4 ? "uint32" : "uint64";
    default:
        return "unknown";
    }
}

/* ---- writing ------------------------------------------------------------ */

int npy_write_header(FILE *f, const char *descr, const size_t *shape,
                     size_t ndim)
{
    char dict[512];
    size_t len = (size_t)snprintf(dict, sizeof dict,
                                  "{'descr': '%s', 'fortran_order': False, "
                                  "'shape': (", descr);
    for (size_t i = 0; i < ndim && len < sizeof dict; i++)
        len += (size_t)snprintf(dict + len, sizeof dict - len, "%s%zu",
                                i ? ", " : "", shape[i]);
    if (len < sizeof dict)
        len += (size_t)snprintf(dict + len, sizeof dict - len, "%s), }",
                                ndim == 1 ? "," : "");
    if (len >= sizeof dict - 80)
        return -1;
    /* Pad with spaces so that data starts on a 64-byte boundary, then a
       newline, as NumPy does. */
    size_t total = 10 + len + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = len + pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    if (fwrite(pre, 1, sizeof pre, f) != sizeof pre ||
        fwrite(dict, 1, len, f) != len)
        return -1;
    for (size_t i = 0; i < pad; i++)
        if (fputc(' ', f) == EOF)
            return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

static int write_u32_le(FILE *f, const uint32_t *words, size_t n)
{
    unsigned char chunk[4096];
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t w = words[i];
        chunk[used++] = (unsigned char)(w & 0xff);
        chunk[used++] = (unsigned char)(w >> 8 & 0xff);
        chunk[used++] = (unsigned char)(w >> 16 & 0xff);
        chunk[used++] = (unsigned char)(w >> 24 & 0xff);
        if (used == sizeof chunk || i + 1 == n) {
            if (fwrite(chunk, 1, used, f) != used)
                return -1;
            used = 0;
        }
    }
    return 0;
}

int npy_write_f32(FILE *f, const float *values, size_t n)
{
    /* float and uint32_t have the same size and (on every IEEE host)
       byte order; copy in blocks to keep aliasing rules. */
    uint32_t words[256];
    for (size_t i = 0; i < n; i += 256) {
        size_t k = n - i < 256 ? n - i : 256;
        memcpy(words, values + i, k * sizeof *words);
        if (write_u32_le(f, words, k) != 0)
            return -1;
    }
    return 0;
}

int npy_write_i32(FILE *f, const int32_t *values, size_t n)
{
    uint32_t words[256];
    for (size_t i = 0; i < n; i += 256) {
        size_t k = n - i < 256 ? n - i : 256;
        for (size_t j = 0; j < k; j++)
            words[j] = (uint32_t)values[i + j];
        if (write_u32_le(f, words, k) != 0)
            return -1;
    }
    return 0;
}

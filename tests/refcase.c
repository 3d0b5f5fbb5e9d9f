/* refcase.c - reader for "lstmae-reference 1" and "2" files (see
   refcase.h). */
#include "refcase.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Absurd sizes are refused instead of allocated. */
#define REFCASE_MAX_FILE   ((size_t)1 << 30)
#define REFCASE_MAX_COUNT  ((size_t)1 << 26)
#define REFCASE_MAX_CONFIG 1000000L
#define REFCASE_MAX_NAME   256

/* ---- a whitespace tokenizer that knows line numbers --------------------- */

typedef struct token {
    char *text;     /* NUL-terminated in place; NULL at the end of file  */
    long line;      /* 1-based                                           */
    int newline;    /* a line break came before it                       */
} token;

typedef struct scanner {
    char *buf;      /* the file, NUL-terminated; tokens are cut in place */
    size_t len;
    size_t pos;
    long cur_line;  /* line at pos                                       */
    int nl_pending; /* the byte cut after the last token was a newline   */
    int has_peek;
    token peek;
} scanner;

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static token scan_raw(scanner *s)
{
    token t = {NULL, s->cur_line, s->nl_pending};
    s->nl_pending = 0;
    while (s->pos < s->len && is_space(s->buf[s->pos])) {
        if (s->buf[s->pos] == '\n') {
            s->cur_line++;
            t.newline = 1;
        }
        s->pos++;
    }
    t.line = s->cur_line;
    if (s->pos >= s->len)
        return t;
    t.text = &s->buf[s->pos];
    while (s->pos < s->len && !is_space(s->buf[s->pos]))
        s->pos++;
    if (s->pos < s->len) {
        if (s->buf[s->pos] == '\n') {
            s->cur_line++;
            s->nl_pending = 1;
        }
        s->buf[s->pos++] = '\0';
    }
    return t;
}

/* The next token, consumed. */
static token scan_next(scanner *s)
{
    if (s->has_peek) {
        s->has_peek = 0;
        return s->peek;
    }
    return scan_raw(s);
}

/* The next token, left in place. */
static token scan_peek(scanner *s)
{
    if (!s->has_peek) {
        s->peek = scan_raw(s);
        s->has_peek = 1;
    }
    return s->peek;
}

/* ---- errors ------------------------------------------------------------- */

typedef struct errbuf {
    char *msg;
    size_t cap;
    const char *path;
} errbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail_at(const errbuf *e, long line, const char *fmt, ...)
{
    if (e->msg != NULL && e->cap > 0) {
        int k = line > 0 ? snprintf(e->msg, e->cap, "%s:%ld: ", e->path, line)
                         : snprintf(e->msg, e->cap, "%s: ", e->path);
        size_t used = k < 0 ? 0 : (size_t)k;
        if (used < e->cap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(e->msg + used, e->cap - used, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

/* ---- numbers ------------------------------------------------------------- */

/* A whole token as a long in [lo, hi]. */
static int parse_long(const char *text, long lo, long hi, long *out)
{
    char *end = NULL;
    if (text == NULL || *text == '\0')
        return -1;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* A whole token as a double (strtod: decimal, hex, nan, inf). */
static int parse_double(const char *text, double *out)
{
    char *end = NULL;
    if (text == NULL || *text == '\0')
        return -1;
    double v = strtod(text, &end);
    if (end == text || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* ---- the file ------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len, const errbuf *e)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_at(e, 0, "cannot open the file");
        return NULL;
    }
    size_t cap = (size_t)1 << 16, n = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        fclose(f);
        fail_at(e, 0, "out of memory");
        return NULL;
    }
    for (;;) {
        if (n + 1 >= cap) {
            char *nb = cap < REFCASE_MAX_FILE ? realloc(buf, cap * 2) : NULL;
            if (nb == NULL) {
                free(buf);
                fclose(f);
                fail_at(e, 0, cap < REFCASE_MAX_FILE ? "out of memory"
                                                     : "file too large");
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        fail_at(e, 0, "read error");
        return NULL;
    }
    if (memchr(buf, '\0', n) != NULL) {
        free(buf);
        fail_at(e, 0, "not a text file (NUL byte)");
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- the case ------------------------------------------------------------ */

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

void refcase_free(refcase *rc)
{
    if (rc == NULL)
        return;
    for (size_t i = 0; i < rc->num_tensors; i++) {
        free(rc->tensors[i].name);
        free(rc->tensors[i].values64);
        free(rc->tensors[i].values);
    }
    free(rc->tensors);
    free(rc->path);
    free(rc);
}

const refcase_tensor *refcase_find(const refcase *rc, const char *name)
{
    if (rc == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < rc->num_tensors; i++)
        if (strcmp(rc->tensors[i].name, name) == 0)
            return &rc->tensors[i];
    return NULL;
}

enum { KEY_D, KEY_H, KEY_Z, KEY_K, KEY_LOSS, KEY_N, KEY_T, NUM_V1_KEYS,
       KEY_CELL = NUM_V1_KEYS, KEY_BIDIR, KEY_REVERSE, KEY_DEC_INIT, KEY_FEEDBACK,
       NUM_KEYS };
static const char *const config_keys[NUM_KEYS] = {
    "input_dim", "hidden_dim", "latent_dim", "num_layers", "loss", "n",
    "max_len", "cell", "bidirectional", "reverse_target", "decoder_init",
    "decoder_feedback",
};

/* A version-2 key's word value: 0 for w0, 1 for w1, else -1. */
static long word_value(const char *text, const char *w0, const char *w1)
{
    if (strcmp(text, w0) == 0)
        return 0;
    if (strcmp(text, w1) == 0)
        return 1;
    return -1;
}

/* "config key value ..." up to the end of its line; every key once. */
static int parse_config(scanner *s, refcase *rc, const errbuf *e)
{
    const int num_keys = rc->version >= 2 ? NUM_KEYS : NUM_V1_KEYS;
    token t = scan_next(s);
    if (t.text == NULL || !t.newline || strcmp(t.text, "config") != 0)
        return fail_at(e, t.line, "expected a \"config\" line after the header");
    const long config_line = t.line;
    int seen[NUM_KEYS] = {0};
    long val[NUM_KEYS] = {0};
    for (;;) {
        token key = scan_peek(s);
        if (key.text == NULL || key.newline)
            break;
        scan_next(s);
        token v = scan_next(s);
        if (v.text == NULL || v.newline)
            return fail_at(e, key.line, "config key \"%s\" has no value",
                           key.text);
        int k = 0;
        while (k < num_keys && strcmp(key.text, config_keys[k]) != 0)
            k++;
        if (k == num_keys)
            return fail_at(e, key.line, "unknown config key \"%s\"", key.text);
        if (seen[k])
            return fail_at(e, key.line, "config key \"%s\" given twice",
                           key.text);
        seen[k] = 1;
        if (k == KEY_LOSS) {
            if (strcmp(v.text, "bce") == 0)
                val[k] = 1;
            else if (strcmp(v.text, "mse") == 0)
                val[k] = 0;
            else if (rc->version >= 2 && strcmp(v.text, "cross_entropy") == 0)
                val[k] = 2;
            else
                return fail_at(e, v.line, "loss must be bce or mse%s, not \"%s\"",
                               rc->version >= 2 ? " or cross_entropy" : "", v.text);
        } else if (k >= NUM_V1_KEYS) {
            static const char *const words[NUM_KEYS - NUM_V1_KEYS][2] = {
                {"lstm", "gru"}, {"0", "1"}, {"0", "1"}, {"zero", "latent"}, {"0", "1"},
            };
            const char *const *w = words[k - NUM_V1_KEYS];
            val[k] = word_value(v.text, w[0], w[1]);
            if (val[k] < 0)
                return fail_at(e, v.line, "config %s must be %s or %s, not \"%s\"",
                               key.text, w[0], w[1], v.text);
        } else {
            long lo = (k == KEY_T) ? 0 : 1;
            if (parse_long(v.text, lo, REFCASE_MAX_CONFIG, &val[k]) != 0)
                return fail_at(e, v.line,
                               "config %s: \"%s\" is not a whole number in "
                               "%ld..%ld",
                               key.text, v.text, lo, REFCASE_MAX_CONFIG);
        }
    }
    for (int k = 0; k < num_keys; k++)
        if (!seen[k])
            return fail_at(e, config_line, "config lacks \"%s\"",
                           config_keys[k]);
    rc->input_dim = (int)val[KEY_D];
    rc->hidden_dim = (int)val[KEY_H];
    rc->latent_dim = (int)val[KEY_Z];
    rc->num_layers = (int)val[KEY_K];
    rc->is_bce = val[KEY_LOSS] == 1;
    rc->is_ce = val[KEY_LOSS] == 2;
    rc->cell_gru = (int)val[KEY_CELL];
    rc->bidirectional = (int)val[KEY_BIDIR];
    rc->reverse_target = (int)val[KEY_REVERSE];
    rc->decoder_init_latent = (int)val[KEY_DEC_INIT];
    rc->decoder_feedback = (int)val[KEY_FEEDBACK];
    rc->n = (size_t)val[KEY_N];
    rc->max_len = (size_t)val[KEY_T];
    return 0;
}

/* "tensor name rank d0 .. d{rank-1}" then count values. The new tensor
   is appended to rc (which owns it even when this fails half way). */
static int parse_tensor(scanner *s, refcase *rc, size_t *cap,
                        const errbuf *e)
{
    token t = scan_next(s);
    if (strcmp(t.text, "tensor") != 0)
        return fail_at(e, t.line, "expected \"tensor\", found \"%.40s\"",
                       t.text);
    token name = scan_next(s);
    if (name.text == NULL || name.newline)
        return fail_at(e, t.line, "tensor without a name");
    if (strlen(name.text) >= REFCASE_MAX_NAME)
        return fail_at(e, name.line, "tensor name too long");
    if (refcase_find(rc, name.text) != NULL)
        return fail_at(e, name.line, "tensor \"%s\" given twice", name.text);

    token rk = scan_next(s);
    long rank = 0;
    if (rk.text == NULL || rk.newline ||
        parse_long(rk.text, 0, REFCASE_MAX_RANK, &rank) != 0)
        return fail_at(e, t.line, "tensor \"%s\": bad rank", name.text);

    if (rc->num_tensors == *cap) {
        size_t ncap = *cap ? *cap * 2 : 32;
        refcase_tensor *nt = realloc(rc->tensors, ncap * sizeof *nt);
        if (nt == NULL)
            return fail_at(e, t.line, "out of memory");
        rc->tensors = nt;
        *cap = ncap;
    }
    refcase_tensor *rt = &rc->tensors[rc->num_tensors++];
    memset(rt, 0, sizeof *rt);
    rt->name = dup_string(name.text);
    if (rt->name == NULL)
        return fail_at(e, t.line, "out of memory");
    rt->rank = (size_t)rank;
    size_t count = 1;
    for (size_t i = 0; i < rt->rank; i++) {
        token d = scan_next(s);
        long dim = 0;
        if (d.text == NULL || d.newline ||
            parse_long(d.text, 0, (long)REFCASE_MAX_COUNT, &dim) != 0)
            return fail_at(e, t.line, "tensor \"%s\": bad or missing dimension %zu",
                           rt->name, i);
        rt->dims[i] = (size_t)dim;
        if (dim != 0 && count > REFCASE_MAX_COUNT / (size_t)dim)
            return fail_at(e, t.line, "tensor \"%s\": too many elements",
                           rt->name);
        count *= (size_t)dim;
    }
    token extra = scan_peek(s);
    if (extra.text != NULL && !extra.newline)
        return fail_at(e, t.line, "tensor \"%s\": junk after the dimensions: "
                       "\"%.40s\"", rt->name, extra.text);
    rt->count = count;
    rt->values64 = malloc((count ? count : 1) * sizeof *rt->values64);
    rt->values = malloc((count ? count : 1) * sizeof *rt->values);
    if (rt->values64 == NULL || rt->values == NULL)
        return fail_at(e, t.line, "out of memory");
    for (size_t i = 0; i < count; i++) {
        token v = scan_peek(s);
        if (v.text == NULL || strcmp(v.text, "tensor") == 0)
            return fail_at(e, v.line, "tensor \"%s\": truncated, %zu of %zu "
                           "values", rt->name, i, count);
        scan_next(s);
        if (parse_double(v.text, &rt->values64[i]) != 0)
            return fail_at(e, v.line, "tensor \"%s\": value %zu is not a "
                           "number: \"%.40s\"", rt->name, i, v.text);
        rt->values[i] = (float)rt->values64[i];
    }
    token after = scan_peek(s);
    if (after.text != NULL && strcmp(after.text, "tensor") != 0)
        return fail_at(e, after.line, "tensor \"%s\": more values than its "
                       "%zu: \"%.40s\"", rt->name, count, after.text);
    return 0;
}

int refcase_load(const char *path, refcase **out, char *err, size_t errlen)
{
    errbuf e = {err, errlen, path ? path : "(null)"};
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out == NULL)
        return fail_at(&e, 0, "NULL out");
    *out = NULL;
    if (path == NULL)
        return fail_at(&e, 0, "NULL path");

    scanner s;
    memset(&s, 0, sizeof s);
    s.cur_line = 1;
    s.buf = read_file(path, &s.len, &e);
    if (s.buf == NULL)
        return -1;

    int rv = -1;
    size_t cap = 0;
    refcase *rc = calloc(1, sizeof *rc);
    if (rc == NULL || (rc->path = dup_string(path)) == NULL) {
        fail_at(&e, 0, "out of memory");
        goto done;
    }
    token magic = scan_next(&s);
    token version = scan_next(&s);
    if (magic.text == NULL || strcmp(magic.text, "lstmae-reference") != 0 ||
        magic.line != 1) {
        fail_at(&e, 1, "not an lstmae reference file (no \"lstmae-reference\" "
                "header)");
        goto done;
    }
    if (version.text == NULL || version.newline ||
        (strcmp(version.text, "1") != 0 && strcmp(version.text, "2") != 0)) {
        fail_at(&e, 1, "unsupported reference format version \"%.20s\"",
                version.text ? version.text : "");
        goto done;
    }
    rc->version = version.text[0] - '0';
    if (parse_config(&s, rc, &e) != 0)
        goto done;
    while (scan_peek(&s).text != NULL) {
        if (parse_tensor(&s, rc, &cap, &e) != 0)
            goto done;
    }
    rv = 0;
done:
    free(s.buf);
    if (rv != 0) {
        refcase_free(rc);
        return -1;
    }
    *out = rc;
    return 0;
}

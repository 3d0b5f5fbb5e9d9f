/*
 * csv.c - the CSV reader and writer (see csv.h).
 */
#include "csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Growable array of `size`-byte items. */
typedef struct grow {
    void *items;
    size_t len, cap, size;
} grow;

static int grow_reserve(grow *g, size_t extra)
{
    if (g->cap - g->len >= extra)
        return 0;
    size_t cap = g->cap ? g->cap : 64;
    while (cap - g->len < extra) {
        if (cap > SIZE_MAX / 2 / g->size)
            return -1;
        cap *= 2;
    }
    void *p = realloc(g->items, cap * g->size);
    if (p == NULL)
        return -1;
    g->items = p;
    g->cap = cap;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Splits `line` (one line, NUL-terminated, no newline) in place into
   fields; g collects char * to each. Returns 0, or -1 with *problem set. */
static int split_fields(char *line, grow *g, const char **problem)
{
    g->len = 0;
    char *p = line;
    for (;;) {
        while (is_blank(*p))
            p++;
        char *field, *end;
        if (*p == '"') {
            field = ++p;
            end = p;
            for (;;) {
                if (*p == '\0') {
                    *problem = "unterminated quoted field";
                    return -1;
                }
                if (*p == '"' && p[1] == '"') {
                    *end++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *end++ = *p++;
                }
            }
            while (is_blank(*p))
                p++;
            if (*p != ',' && *p != '\0') {
                *problem = "text after a closing quote";
                return -1;
            }
        } else {
            field = p;
            while (*p != ',' && *p != '\0')
                p++;
            end = p;
            while (end > field && is_blank(end[-1]))
                end--;
        }
        /* p is at ',' or the end; end <= p is where the field stops */
        int more = *p == ',';
        *end = '\0';
        if (grow_reserve(g, 1) != 0) {
            *problem = "out of memory";
            return -1;
        }
        ((char **)g->items)[g->len++] = field;
        if (!more)
            return 0;
        p++;
    }
}

/* Parses a whole field as a finite float32: 0, or -1 with *why set. */
static int parse_value(const char *s, float *out, const char **why)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end != '\0') {
        *why = "is not a number";
        return -1;
    }
    float f = (float)d;
    if (isnan(d) || isinf(d)) {
        *why = "is not a finite number";
        return -1;
    }
    if (!isfinite(f)) {
        *why = "is outside the float32 range";
        return -1;
    }
    *out = f;
    return 0;
}

int csv_read(const char *path, csv_table *t)
{
    memset(t, 0, sizeof *t);
    size_t size = 0;
    int code = cli_read_file(path, &t->text, &size);
    if (code != CLI_OK)
        return code;
    if (memchr(t->text, '\0', size) != NULL) {
        cli_error("%s: not a text file (it holds NUL bytes)", path);
        free(t->text);
        t->text = NULL;
        return CLI_BAD;
    }

    grow fields = {NULL, 0, 0, sizeof(char *)};
    grow values = {NULL, 0, 0, sizeof(float)};
    grow ids = {NULL, 0, 0, sizeof(char *)};
    grow lines = {NULL, 0, 0, sizeof(size_t)};
    size_t nfields = 0, first_line = 0;
    code = CLI_OK;
    char *line = (char *)t->text;
    if (size >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3; /* a UTF-8 byte order mark, as spreadsheets write */
    for (size_t lineno = 1; line != NULL && code == CLI_OK; lineno++) {
        char *nl = strchr(line, '\n');
        char *next = NULL;
        if (nl) {
            *nl = '\0';
            next = nl + 1;
            if (*next == '\0')
                next = NULL;
        }
        char *q = line;
        while (is_blank(*q))
            q++;
        if (*q == '\0') { /* blank line */
            line = next;
            continue;
        }
        const char *problem = NULL;
        if (split_fields(line, &fields, &problem) != 0) {
            cli_error("%s:%zu: %s", path, lineno, problem);
            code = strcmp(problem, "out of memory") == 0 ? CLI_FAIL : CLI_BAD;
            break;
        }
        char **f = fields.items;
        if (nfields == 0) {
            if (fields.len < 2) {
                cli_error("%s:%zu: %zu field; a row needs a sequence id and "
                          "at least one value: id,v1,...,vN", path, lineno,
                          fields.len);
                code = CLI_BAD;
                break;
            }
            nfields = fields.len;
            first_line = lineno;
            /* A header has no number among its value fields. */
            size_t numbers = 0;
            for (size_t k = 1; k < fields.len; k++) {
                float v;
                const char *why;
                numbers += parse_value(f[k], &v, &why) == 0;
            }
            if (numbers == 0) {
                t->has_header = 1;
                line = next;
                continue;
            }
        } else if (fields.len != nfields) {
            cli_error("%s:%zu: ragged row: %zu fields, expected %zu (as on "
                      "line %zu)", path, lineno, fields.len, nfields,
                      first_line);
            code = CLI_BAD;
            break;
        }
        if (grow_reserve(&values, nfields - 1) != 0 ||
            grow_reserve(&ids, 1) != 0 || grow_reserve(&lines, 1) != 0) {
            cli_error("out of memory reading %s", path);
            code = CLI_FAIL;
            break;
        }
        for (size_t k = 1; k < nfields; k++) {
            const char *why = NULL;
            float *dst = (float *)values.items + values.len;
            if (parse_value(f[k], dst, &why) != 0) {
                cli_error("%s:%zu: field %zu ('%s') %s", path, lineno, k + 1,
                          f[k], why);
                code = CLI_BAD;
                break;
            }
            values.len++;
        }
        ((const char **)ids.items)[ids.len++] = f[0];
        ((size_t *)lines.items)[lines.len++] = lineno;
        line = next;
    }
    free(fields.items);
    if (code == CLI_OK && ids.len == 0) {
        cli_error("%s: no data rows", path);
        code = CLI_BAD;
    }
    if (code != CLI_OK) {
        free(values.items);
        free(ids.items);
        free(lines.items);
        free(t->text);
        memset(t, 0, sizeof *t);
        return code;
    }
    t->rows = ids.len;
    t->cols = nfields - 1;
    t->values = values.items;
    t->ids = ids.items;
    t->lines = lines.items;
    return CLI_OK;
}

void csv_free(csv_table *t)
{
    free(t->values);
    free(t->ids);
    free(t->lines);
    free(t->text);
    memset(t, 0, sizeof *t);
}

int csv_write_header(FILE *f, const char *prefix, size_t n)
{
    if (fputs("sequence_id", f) == EOF)
        return -1;
    if (n == 0)
        return fprintf(f, ",%s\n", prefix) < 0 ? -1 : 0;
    for (size_t i = 0; i < n; i++)
        if (fprintf(f, ",%s%zu", prefix, i + 1) < 0)
            return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

int csv_write_row(FILE *f, const char *id, size_t index, const float *values,
                  size_t n)
{
    int r;
    if (id == NULL) {
        r = fprintf(f, "%zu", index);
    } else if (strpbrk(id, ",\"\n\r") != NULL || id[0] == ' ' ||
               id[0] == '\t' || id[0] == '\0') {
        r = fputc('"', f) == EOF ? -1 : 0;
        for (const char *c = id; *c && r >= 0; c++)
            r = (*c == '"' ? fputs("\"\"", f) : fputc(*c, f)) == EOF ? -1 : 0;
        if (r >= 0)
            r = fputc('"', f) == EOF ? -1 : 0;
    } else {
        r = fputs(id, f) == EOF ? -1 : 0;
    }
    if (r < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (fprintf(f, ",%.9g", (double)values[i]) < 0)
            return -1;
    return fputc('\n', f) == EOF ? -1 : 0;
}

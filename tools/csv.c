/*
 * csv.c - the CSV reader and writer (see csv.h).
 */
#include "csv.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
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

/* The first `max` characters of a field for a message, "..." after. */
#define FIELD_SHOWN 40

/* strtod reads the whole field: a number in the sense of the header guess
   (nan, inf, hexadecimal floats and overflowing values included). */
static int looks_numeric(const char *s)
{
    if (*s == '\0')
        return 0;
    char *end = NULL;
    int saved = errno;
    (void)strtod(s, &end);
    errno = saved;
    return end != s && *end == '\0';
}

/* Parses a whole field as a finite float32: 0, or -1 with *why set. */
static int parse_value(const char *s, float *out, const char **why)
{
    if (*s == '\0') {
        *why = "is empty";
        return -1;
    }
    char *end = NULL;
    errno = 0;
    double d = strtod(s, &end);
    if (end == s || *end != '\0') {
        *why = "is not a number";
        return -1;
    }
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '+' || *p == '-')
        p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        *why = "is a hexadecimal float, which is not accepted (write it "
               "in decimal)";
        return -1;
    }
    if (isnan(d) || (isinf(d) && errno != ERANGE)) {
        *why = "is not a finite number";
        return -1;
    }
    float f = (float)d;
    if (isinf(d) || !isfinite(f)) {
        *why = "is outside the float32 range (magnitudes up to 3.4e38)";
        return -1;
    }
    *out = f;
    return 0;
}

/* Why the first row was taken as data in CSV_HEADER_AUTO: the first value
   field that is a number or empty (0 when none, it was a header). */
static size_t first_not_name(char *const *f, size_t n, int *empty)
{
    for (size_t k = 1; k < n; k++) {
        if (f[k][0] == '\0' || looks_numeric(f[k])) {
            *empty = f[k][0] == '\0';
            return k;
        }
    }
    return 0;
}

/* The message for field k (0-based) of line `lineno`. On the first row of
   a guessed file that also holds names, why it is data, not a header. */
static void field_error(const char *path, size_t lineno, char *const *f,
                        size_t nfields, size_t k, const char *why,
                        int guessed_first)
{
    size_t len = strlen(f[k]);
    char hint[160] = "";
    size_t names = 0;
    for (size_t j = 1; guessed_first && j < nfields; j++)
        names += f[j][0] != '\0' && !looks_numeric(f[j]);
    if (names > 0) {
        int empty = 0;
        size_t j = first_not_name(f, nfields, &empty);
        snprintf(hint, sizeof hint, " (line %zu is read as data, not as a "
                 "header, as field %zu is %s; --header yes reads it as a "
                 "header)", lineno, j + 1, empty ? "empty" : "a number");
    }
    if (len == 0)
        cli_error("%s:%zu: field %zu %s%s", path, lineno, k + 1, why, hint);
    else
        cli_error("%s:%zu: field %zu ('%.*s%s') %s%s", path, lineno, k + 1,
                  FIELD_SHOWN, f[k], len > FIELD_SHOWN ? "..." : "", why,
                  hint);
}

int csv_read(const char *path, csv_header header, csv_table *t)
{
    memset(t, 0, sizeof *t);
    unsigned char *text = NULL;
    size_t size = 0;
    int code = cli_read_file(path, &text, &size);
    if (code != CLI_OK)
        return code;
    return csv_parse(path, text, size, header, t);
}

int csv_parse(const char *path, unsigned char *text, size_t size,
              csv_header header, csv_table *t)
{
    memset(t, 0, sizeof *t);
    t->text = text;
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
    int code = CLI_OK;
    char *line = (char *)t->text;
    if (size >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
        line += 3; /* a UTF-8 byte order mark, as spreadsheets write */
    if (*line == '\0')
        line = NULL;
    for (size_t lineno = 1; line != NULL && code == CLI_OK; lineno++) {
        /* A line ends at LF, CRLF or a CR alone (old Mac files). */
        char *eol = line + strcspn(line, "\r\n");
        char *next = NULL;
        if (*eol != '\0') {
            next = eol + (eol[0] == '\r' && eol[1] == '\n' ? 2 : 1);
            *eol = '\0';
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
        int guessed_first = 0;
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
            int empty = 0;
            if (header == CSV_HEADER_YES ||
                (header == CSV_HEADER_AUTO &&
                 first_not_name(f, fields.len, &empty) == 0)) {
                t->has_header = 1;
                line = next;
                continue;
            }
            guessed_first = header == CSV_HEADER_AUTO;
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
                field_error(path, lineno, f, nfields, k, why, guessed_first);
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
        cli_error("%s: no data rows%s", path,
                  t->has_header && header == CSV_HEADER_AUTO
                      ? " (one row, taken as a header: --header no reads it "
                        "as data)"
                      : "");
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

static uint64_t hash_string(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3u;
    return h;
}

/* a * b, or SIZE_MAX when it overflows. */
static size_t mul_sat(size_t a, size_t b)
{
    return b != 0 && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

int csv_group(const char *path, const csv_table *t, csv_seqs *out)
{
    memset(out, 0, sizeof *out);
    if (t->rows >= SIZE_MAX / sizeof(size_t) - 1) {
        cli_error("out of memory reading %s", path);
        return CLI_FAIL;
    }
    size_t *starts = malloc((t->rows + 1) * sizeof *starts);
    if (starts == NULL) {
        cli_error("out of memory reading %s", path);
        return CLI_FAIL;
    }
    size_t count = 0, max_len = 0, longest = 0;
    for (size_t r = 0; r < t->rows; r++)
        if (r == 0 || strcmp(t->ids[r], t->ids[r - 1]) != 0)
            starts[count++] = r;
    starts[count] = t->rows;
    for (size_t i = 0; i < count; i++) {
        size_t len = starts[i + 1] - starts[i];
        if (len > max_len) {
            max_len = len;
            longest = i;
        }
    }

    /* Each id once: an open-addressing set of the sequences' first rows. */
    size_t cap = 16;
    while (cap < 2 * count)
        cap *= 2;
    size_t *slots = malloc(cap * sizeof *slots);
    if (slots == NULL) {
        free(starts);
        cli_error("out of memory reading %s", path);
        return CLI_FAIL;
    }
    for (size_t k = 0; k < cap; k++)
        slots[k] = SIZE_MAX;
    int code = CLI_OK;
    for (size_t i = 0; i < count && code == CLI_OK; i++) {
        size_t r = starts[i];
        size_t k = (size_t)hash_string(t->ids[r]) & (cap - 1);
        for (; slots[k] != SIZE_MAX; k = (k + 1) & (cap - 1)) {
            size_t prev = slots[k];
            if (strcmp(t->ids[prev], t->ids[r]) == 0) {
                cli_error("%s:%zu: rows of sequence '%s' are not consecutive "
                          "(it also has rows from line %zu; a sequence's "
                          "rows must follow each other)", path, t->lines[r],
                          t->ids[r], t->lines[prev]);
                code = CLI_BAD;
                break;
            }
        }
        slots[k] = r;
    }
    free(slots);
    if (code == CLI_OK && (count > INT32_MAX || max_len > INT32_MAX)) {
        cli_error("%s: too many sequences or steps (at most %d of each)",
                  path, INT32_MAX);
        code = CLI_BAD;
    }
    /* Padded to the longest, the sequences hold count * max_len * cols
       values: at most CSV_PAD_FACTOR times the file's plus CSV_PAD_SLACK. */
    size_t padded = mul_sat(mul_sat(count, max_len), t->cols);
    size_t data = mul_sat(t->rows, t->cols);
    size_t limit = data > (SIZE_MAX - CSV_PAD_SLACK) / CSV_PAD_FACTOR
                       ? SIZE_MAX
                       : data * CSV_PAD_FACTOR + CSV_PAD_SLACK;
    if (code == CLI_OK && padded > limit) {
        size_t r = starts[longest];
        cli_error("%s: the sequences' lengths differ too much to pad them to "
                  "the longest: '%.*s%s' (line %zu) has %zu rows, the mean is "
                  "%.1f; padded, the %zu sequences would take %zu values for "
                  "the file's %zu (the limit is %u x the values + %zu); split "
                  "the file into files of similar lengths", path, FIELD_SHOWN,
                  t->ids[r], strlen(t->ids[r]) > FIELD_SHOWN ? "..." : "",
                  t->lines[r], max_len, (double)t->rows / (double)count,
                  count, padded, data, CSV_PAD_FACTOR, CSV_PAD_SLACK);
        code = CLI_BAD;
    }
    if (code != CLI_OK) {
        free(starts);
        return code;
    }
    out->count = count;
    out->max_len = max_len;
    out->starts = starts;
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
               id[0] == '\t' || id[0] == '\0' ||
               id[strlen(id) - 1] == ' ' || id[strlen(id) - 1] == '\t') {
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

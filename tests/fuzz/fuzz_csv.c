/* fuzz_csv.c - libFuzzer harness for the tool's CSV reader (tools/csv.c),
   under each header mode: csv_parse must never crash, leak or read out of
   bounds, whatever the bytes. A table it accepts must hold finite values,
   lines in order and ids into its text; grouped into sequences
   (csv_group), the padded size must stay within the documented bound; and
   written back (csv_write_header, csv_write_row) it must read back the
   same: ids, and values bit for bit. */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *copy_text(const void *data, size_t size)
{
    unsigned char *text = malloc(size + 1);
    if (text == NULL)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

static void check_table(const csv_table *t, const unsigned char *text_end)
{
    if (t->rows == 0 || t->cols == 0 || t->text == NULL)
        abort();
    for (size_t r = 0; r < t->rows; r++) {
        const unsigned char *id = (const unsigned char *)t->ids[r];
        if (id < t->text || id > text_end)
            abort();
        if (r > 0 && t->lines[r] <= t->lines[r - 1])
            abort();
        for (size_t c = 0; c < t->cols; c++)
            if (!isfinite(t->values[r * t->cols + c]))
                abort();
    }
}

static void check_groups(const csv_table *t)
{
    csv_seqs g;
    if (csv_group("fuzz.csv", t, &g) != CLI_OK) {
        if (g.starts != NULL)
            abort();
        return;
    }
    if (g.count == 0 || g.starts[0] != 0 || g.starts[g.count] != t->rows)
        abort();
    size_t longest = 0;
    for (size_t i = 0; i < g.count; i++) {
        size_t r = g.starts[i], len = g.starts[i + 1] - r;
        if (g.starts[i + 1] <= r)
            abort();
        longest = len > longest ? len : longest;
        for (size_t k = r + 1; k < g.starts[i + 1]; k++)
            if (strcmp(t->ids[k], t->ids[r]) != 0)
                abort();
        if (i > 0 && strcmp(t->ids[g.starts[i - 1]], t->ids[r]) == 0)
            abort();
    }
    if (longest != g.max_len)
        abort();
    /* the bound of csv.h; the products cannot overflow within it */
    size_t data = t->rows * t->cols;
    if (g.count > SIZE_MAX / g.max_len ||
        g.count * g.max_len > SIZE_MAX / t->cols ||
        g.count * g.max_len * t->cols >
            CSV_PAD_FACTOR * data + CSV_PAD_SLACK)
        abort();
    free(g.starts);
}

/* Writes t as the tool writes CSV, reads it back, compares. */
static void check_round_trip(const csv_table *t)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (f == NULL)
        abort();
    int bad = csv_write_header(f, "v", t->cols) != 0;
    for (size_t r = 0; r < t->rows && !bad; r++)
        bad = csv_write_row(f, t->ids[r], r, t->values + r * t->cols,
                            t->cols) != 0;
    if (fclose(f) != 0 || bad)
        abort();
    csv_table back;
    if (csv_parse("back.csv", copy_text(out, len), len, CSV_HEADER_AUTO,
                  &back) != CLI_OK)
        abort();
    free(out);
    if (!back.has_header || back.rows != t->rows || back.cols != t->cols ||
        memcmp(back.values, t->values,
               t->rows * t->cols * sizeof *t->values) != 0)
        abort();
    for (size_t r = 0; r < t->rows; r++)
        if (strcmp(back.ids[r], t->ids[r]) != 0)
            abort();
    csv_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const csv_header modes[3] = {CSV_HEADER_AUTO, CSV_HEADER_YES,
                                        CSV_HEADER_NO};
    for (int m = 0; m < 3; m++) {
        unsigned char *text = copy_text(data, size);
        csv_table t;
        if (csv_parse("fuzz.csv", text, size, modes[m], &t) != CLI_OK) {
            if (t.text != NULL || t.values != NULL || t.ids != NULL ||
                t.lines != NULL || t.rows != 0)
                abort();
            continue;
        }
        check_table(&t, t.text + size);
        if (modes[m] == CSV_HEADER_YES && !t.has_header)
            abort();
        if (modes[m] == CSV_HEADER_NO && t.has_header)
            abort();
        check_groups(&t);
        check_round_trip(&t);
        csv_free(&t);
    }
    return 0;
}

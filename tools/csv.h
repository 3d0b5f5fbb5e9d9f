/*
 * csv.h - the CSV files of the tool: one record per row,
 *     id,v1,...,vN
 * a first field that names the record (for sequences: the sequence id,
 * repeated on every step's row) and N numbers. An optional header row is
 * recognised by having no number among its value fields. Fields may be
 * quoted ("a,b" and "" inside quotes as in RFC 4180); spaces around fields
 * are ignored; blank lines are skipped; CRLF line ends are fine.
 */
#ifndef LSTMAE_CSV_H
#define LSTMAE_CSV_H

#include <stddef.h>
#include <stdio.h>

typedef struct csv_table {
    size_t rows;          /* data rows (the header excluded)             */
    size_t cols;          /* value fields per row: N                     */
    float *values;        /* [rows][cols]                                */
    const char **ids;     /* [rows]: the first field, into text          */
    size_t *lines;        /* [rows]: 1-based line number, for messages   */
    int has_header;
    unsigned char *text;  /* the file's text, split in place             */
} csv_table;

/* Reads and checks a CSV file. Returns CLI_OK, or CLI_BAD/CLI_FAIL after a
   message "FILE:LINE: problem" (a ragged row, a non-number, a value that
   is not finite in float32, no data rows, an unterminated quote).
   On failure *t holds nothing to free. */
int csv_read(const char *path, csv_table *t);

void csv_free(csv_table *t);

/* "sequence_id,<prefix>1,...,<prefix>n\n", or with n == 0
   "sequence_id,<prefix>\n". 0, or -1 on a stdio error. */
int csv_write_header(FILE *f, const char *prefix, size_t n);

/* One row: the id (quoted if needed; `index` when id is NULL), then the
   values with enough digits to read back the same float32. 0, or -1. */
int csv_write_row(FILE *f, const char *id, size_t index, const float *values,
                  size_t n);

#endif /* LSTMAE_CSV_H */

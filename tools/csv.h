/*
 * csv.h - the CSV files of the tool: one record per row,
 *     id,v1,...,vN
 * a first field that names the record (for sequences: the sequence id,
 * repeated on every step's row) and N numbers. Fields may be quoted ("a,b"
 * and "" inside quotes as in RFC 4180); spaces around fields are ignored;
 * blank lines are skipped; lines end in LF, CRLF or CR alone (old Mac).
 *
 * A value is a decimal number (strtod's syntax without hexadecimal floats)
 * that is finite in float32: "nan", "inf", hexadecimal floats ("0x1p3") and
 * values beyond float32's range ("1e39") are errors, never skipped; values
 * too small for float32 round to 0 or a subnormal as strtod rounds them.
 *
 * The header row: with CSV_HEADER_AUTO, the first row is a header when
 * every one of its value fields is a non-empty name that does not parse as
 * a number (in strtod's syntax, so "nan", "inf", "0x1p3" and "1e39" are
 * numbers here); otherwise it is data, checked like every other row.
 * CSV_HEADER_YES and CSV_HEADER_NO say which, without guessing.
 */
#ifndef LSTMAE_CSV_H
#define LSTMAE_CSV_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    CSV_HEADER_AUTO = 0, /* guess, as above                 */
    CSV_HEADER_YES,      /* the first row is a header       */
    CSV_HEADER_NO        /* every row is data               */
} csv_header;

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
   message "FILE:LINE: problem" (a ragged row, a field that is empty or not
   a number, with its field number, a value that is not finite in float32,
   no data rows, an unterminated quote).
   On failure *t holds nothing to free. */
int csv_read(const char *path, csv_header header, csv_table *t);

/* csv_read on text[size] (NUL-terminated past size, malloc'ed), which *t
   owns from then on, success or not (it is freed on failure). */
int csv_parse(const char *path, unsigned char *text, size_t size,
              csv_header header, csv_table *t);

void csv_free(csv_table *t);

/* Padding bound: the sequences of a CSV file, padded to the longest, may
   hold at most CSV_PAD_FACTOR times the values of the file plus
   CSV_PAD_SLACK values (64 MiB of float32). */
#define CSV_PAD_FACTOR 16u
#define CSV_PAD_SLACK ((size_t)1 << 24)

/* The sequences of a table: sequence i is rows starts[i]..starts[i+1]-1,
   consecutive rows with one id. */
typedef struct csv_seqs {
    size_t count;    /* sequences                                  */
    size_t max_len;  /* rows of the longest                        */
    size_t *starts;  /* [count + 1], malloc'ed                     */
} csv_seqs;

/* Groups the rows of t into sequences. CLI_OK, or CLI_BAD after a message
   (the rows of one id not consecutive; more than INT32_MAX sequences or
   steps; padding beyond the bound above, naming the longest sequence and
   the mean length), or CLI_FAIL when out of memory. On failure
   out->starts is NULL. */
int csv_group(const char *path, const csv_table *t, csv_seqs *out);

/* "sequence_id,<prefix>1,...,<prefix>n\n", or with n == 0
   "sequence_id,<prefix>\n". 0, or -1 on a stdio error. */
int csv_write_header(FILE *f, const char *prefix, size_t n);

/* One row: the id (quoted if needed; `index` when id is NULL), then the
   values with enough digits to read back the same float32. 0, or -1. */
int csv_write_row(FILE *f, const char *id, size_t index, const float *values,
                  size_t n);

#endif /* LSTMAE_CSV_H */

/*
 * dataset.h - sequences, latent matrices and per-sequence values, read from
 * and written to .npy or .csv files (the name's ending decides).
 *
 *   sequences  .npy  float32/float64 [n, T, D] or [n, T] (D = 1), padded
 *                    at the end; lengths from a 1-D integer .npy, or T
 *              .csv  rows "sequence_id,f1,...,fD", one per step, the rows of
 *                    a sequence consecutive; lengths are the row counts;
 *                    padded to the longest within csv_group's bound
 *   matrices   .npy  [n, Z] (or [Z]: one row)
 *              .csv  rows "sequence_id,z1,...,zZ"
 *   vectors    .npy  [n]
 *              .csv  rows "sequence_id,<name>"
 */
#ifndef LSTMAE_DATASET_H
#define LSTMAE_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include <lstmae.h>

#include "csv.h"

typedef struct seqset {
    float *data;         /* [count][max_len][dim]; padding as in the file */
    int32_t *lengths;    /* [count]                                      */
    size_t count, max_len, dim;
    const char **ids;    /* [count] sequence ids of a CSV file, or NULL  */
    csv_table csv;       /* owns the ids' text                           */
} seqset;

/* How the CSV files read from then on treat their first row: the text of
   a --header option of command `cmd`, "yes", "no" or "auto" (NULL: auto;
   see csv.h). CLI_OK, or CLI_BAD after a usage message. */
int dataset_set_header(const char *cmd, const char *text);

/* Reads sequences from `path`, with lengths from `lengths_path` (.npy; NULL
   for full length; must be NULL for CSV). Checks every valid step is
   finite. Returns CLI_OK, or CLI_BAD/CLI_FAIL after a message naming the
   file, the problem and where. On failure *out holds nothing to free. */
int seqset_load(const char *path, const char *lengths_path, seqset *out);

void seqset_free(seqset *s);

/* The library's view of s. */
lstmae_sequences seqset_view(const seqset *s);

/* dst = the sequences idx[0..n-1] of src, copied (ids still point into
   src's text: keep src until dst is freed). CLI_OK or CLI_FAIL. */
int seqset_gather(const seqset *src, const size_t *idx, size_t n,
                  seqset *dst);

/* Number of valid steps over all sequences. */
uint64_t seqset_steps(const seqset *s);

/* CLI_OK when s->dim == the model's input_dim, else CLI_BAD with a message
   naming both files. */
int seqset_check_dim(const seqset *s, const char *path,
                     const lstmae_model *model, const char *model_path);

typedef struct matrix {
    float *data;         /* [rows][cols] */
    size_t rows, cols;
    const char **ids;    /* [rows] for CSV, or NULL */
    csv_table csv;
} matrix;

/* Reads a matrix of finite values; as seqset_load. */
int matrix_load(const char *path, matrix *out);
void matrix_free(matrix *m);

/* Writers: atomically (cli_write_atomic), by the name's ending. ids may be
   NULL (rows are then numbered from 0). Each returns an exit code. */
int write_matrix(const char *path, const float *data, size_t rows,
                 size_t cols, const char *const *ids, const char *prefix);
/* [count][steps][dim]; a CSV gets only the first lengths[i] steps of
   sequence i (all steps when lengths is NULL). */
int write_sequences(const char *path, const float *data, size_t count,
                    size_t steps, size_t dim, const int32_t *lengths,
                    const char *const *ids);
int write_vector(const char *path, const float *values, size_t n,
                 const char *const *ids, const char *name);
/* int32 .npy only. */
int write_lengths(const char *path, const int32_t *lengths, size_t n);

#endif /* LSTMAE_DATASET_H */

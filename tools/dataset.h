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
   for full length; must be NULL for CSV). A .npy's values are not checked
   here (seqset_check does that, with a model). Returns CLI_OK, or CLI_BAD/CLI_FAIL after a message naming the
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

/* CLI_OK when s->max_len is within LSTMAE_MAX_STEPS, else CLI_BAD. */
int seqset_check_steps(const seqset *s, const char *path);

/* CLI_OK when the model takes s (its steps within LSTMAE_MAX_STEPS, every
   valid step finite...; s->dim must already match), else CLI_BAD with
   "PATH: " and lstmae_check_sequences_why's reason ("sequence 3, step 7,
   feature 0: NaN in a valid step ..."). */
int seqset_check(const seqset *s, const char *path,
                 const lstmae_model *model);

/* The trivial baseline of s for the model's loss, in the model's scaled
   units (lstmae_get_scaling), over s's valid steps: every step predicted
   as the constant m, m[d] the mean of feature d over those steps. mse:
   the loss of predicting m (no accuracy). bce: m[d] (clamped to
   [1e-7, 1 - 1e-7]) as the probability: loss the cross-entropy of that
   (the lowest a constant can reach), accuracy the share of elements with
   (m[d] > 0.5) == (x > 0.5); when every feature is 1 in less than half the
   steps, as in one-hot data with D >= 3, that is the accuracy of
   predicting all zeros. cross-entropy: the step distribution q[d] =
   max(m[d], 0) / sum (uniform when the sum is 0; clamped at 1e-7 inside
   the log): loss -sum_d x_d log q_d per step, accuracy the share of steps
   whose largest value is at the most frequent feature. CLI_OK, or
   CLI_FAIL when out of memory. */
int seqset_baseline(const seqset *s, const lstmae_model *model,
                    lstmae_metrics *out);

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
   NULL (rows are then numbered from 0). Each returns an exit code. A
   matrix's CSV columns are PREFIX1..PREFIXn, or, when the prefix holds a
   comma, the names it lists ("score,flag"). */
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
/* int32 .npy, or (any other name) text, one index a line. */
int write_indices(const char *path, const size_t *indices, size_t n);

#endif /* LSTMAE_DATASET_H */

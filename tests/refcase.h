/*
 * refcase.h - reader for the reference cases of MODEL.md
 * ("lstmae-reference 1" and "lstmae-reference 2" text files computed by
 * PyTorch in float64).
 *
 *   lstmae-reference 1
 *   config input_dim 5 hidden_dim 7 latent_dim 4 num_layers 1 loss bce n 3 max_len 6
 *   tensor <name> <rank> <d0> <d1> ...
 *   <values, whitespace separated; "nan"/"inf" accepted (strtod)>
 *   ...
 *
 * Version 2 (MODEL.md "Variants") adds, all required, to the config line:
 *   cell lstm|gru bidirectional 0|1 reverse_target 0|1
 *   decoder_init zero|latent decoder_feedback 0|1
 * and allows loss cross_entropy; version 1 files must not have them.
 *
 * The reader never crashes on a malformed file: it returns an error with a
 * message naming the line. It checks the syntax only (header, config keys,
 * tensor headers, value counts, duplicate names); whether the tensors a
 * test needs are there with the right shapes is the test's business.
 */
#ifndef LSTMAE_REFCASE_H
#define LSTMAE_REFCASE_H

#include <stddef.h>

#define REFCASE_MAX_RANK 8

typedef struct refcase_tensor {
    char *name;                     /* e.g. "grad.encoder.0.bias"        */
    size_t rank;                    /* 0 .. REFCASE_MAX_RANK             */
    size_t dims[REFCASE_MAX_RANK];
    size_t count;                   /* product of dims (1 for rank 0)    */
    double *values64;               /* the values as written (strtod)    */
    float *values;                  /* the same, rounded to float        */
} refcase_tensor;

typedef struct refcase {
    char *path;                     /* as given to refcase_load          */
    int input_dim, hidden_dim, latent_dim, num_layers;   /* D, H, Z, K   */
    int is_bce;                     /* loss bce (1) or mse (0)           */
    int version;                    /* 1 or 2                            */
    /* version 2 only (version 1: all 0, the defaults) */
    int is_ce;                      /* loss cross_entropy (is_bce 0)     */
    int cell_gru;                   /* cell gru (1) or lstm (0)          */
    int bidirectional, reverse_target, decoder_feedback;  /* 0 or 1      */
    int decoder_init_latent;        /* decoder_init latent (1) or zero   */
    size_t n;                       /* sequences                         */
    size_t max_len;                 /* T                                 */
    size_t num_tensors;
    refcase_tensor *tensors;        /* in file order                     */
} refcase;

/* Reads the case at `path`. Returns 0 and sets *out (free with
   refcase_free), or returns -1, sets *out to NULL and writes a message of
   at most errlen bytes (NUL included) to err (when err is not NULL). */
int refcase_load(const char *path, refcase **out, char *err, size_t errlen);

/* Releases a case; NULL is fine. */
void refcase_free(refcase *rc);

/* The tensor called `name`, or NULL. */
const refcase_tensor *refcase_find(const refcase *rc, const char *name);

#endif /* LSTMAE_REFCASE_H */

/*
 * testutil.h - helpers shared by the lstmae test programs.
 *
 * Include this (it brings in CMocka with the headers CMocka needs, in the
 * order it needs them) and <lstmae.h>; nothing else is required.
 *
 * Comparisons fail the running CMocka test and print the worst element.
 * The random generator is splitmix64: deterministic, no global state.
 */
#ifndef LSTMAE_TESTUTIL_H
#define LSTMAE_TESTUTIL_H

/* CMocka needs these, in this order, before cmocka.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <lstmae.h>

/* Fails the current test when
       max_i |got[i] - want[i]| > abs_tol + rel_tol * max_i |want[i]|,
   the tolerance being scaled by the largest magnitude in `want` (as
   MODEL.md prescribes for float32 against the float64 reference). A NaN in
   got or want counts as a mismatch unless both hold NaN at that index.
   On failure prints `what`, the worst index, got, want, the difference and
   the tolerance (with its two terms). n == 0 always passes. */
void tu_assert_close(const char *what, const float *got, const float *want,
                     size_t n, double rel_tol, double abs_tol);

/* Fails the current test unless a and b hold the same bits (so NaN equals
   a NaN of the same payload, and -0 differs from +0). On failure prints
   `what`, the first differing index and both values. */
void tu_assert_bits_equal(const char *what, const float *a, const float *b,
                          size_t n);

/* splitmix64: the next 64 random bits from *state (any seed, 0 included). */
uint64_t tu_rand_u64(uint64_t *state);

/* A float uniform in [lo, hi) (hi itself only through rounding when the
   range is wide). Uses 24 random bits. */
float tu_rand_uniform(uint64_t *state, float lo, float hi);

/* x[i] = tu_rand_uniform(state, lo, hi) for i = 0 .. n-1, in order. */
void tu_fill_uniform(uint64_t *state, float *x, size_t n, float lo, float hi);

/* ---- the library's API -------------------------------------------------- */

/* Fails the current test unless got == want, printing `what` and both
   statuses with their lstmae_strerror text. */
void tu_expect_status(const char *what, int got, int want);

/* malloc(bytes) (at least 1 byte); fails the current test when it fails. */
void *tu_xmalloc(size_t bytes);

/* The byte tu_expect_sentinel looks for (fill a buffer with it first). */
#define TU_SENTINEL 0xA5

/* Fails unless every byte of p still holds TU_SENTINEL, printing `what`
   and the first byte that was written. */
void tu_expect_sentinel(const char *what, const void *p, size_t bytes);

/* A model with lstmae_config_init's defaults but for these; fails the
   current test unless lstmae_create succeeds. lstmae_free it. */
lstmae_model *tu_make_model(int in, int hid, int lat, int layers,
                            lstmae_loss loss, uint64_t seed);

/* Every parameter of m, concatenated in table order; *total is set to the
   number of floats. Fails the current test when a parameter cannot be
   read. free() it. */
float *tu_params_snapshot(const lstmae_model *m, size_t *total);

/* Fails unless a and b hold the same number of parameters with the same
   bits (tu_assert_bits_equal, labelled `what`). */
void tu_assert_same_params(const char *what, const lstmae_model *a,
                           const lstmae_model *b);

/* An on_epoch callback that counts its calls in *(int *)user and never
   stops the fit. */
int tu_count_calls(void *user, int epoch, const lstmae_metrics *train,
                   const lstmae_metrics *valid);

#endif /* LSTMAE_TESTUTIL_H */

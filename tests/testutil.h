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

#endif /* LSTMAE_TESTUTIL_H */

/* fastmath.h - exp, sigmoid and tanh written as plain arithmetic, so that
   the compiler vectorises the loops that call them (libm's expf/tanhf are
   calls it cannot vectorise, and were over a quarter of training time).

   fm_expf: Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2, then a
   degree-7 Taylor polynomial (truncation below 1e-8 relative) times 2^n
   built in the exponent bits: within 2 ulp of expf. The input is clamped to
   [-87, 88] so 2^n stays a normal float; a NaN input is clamped too.
   fm_sigmoid and fm_tanh follow from it, with absolute error below 2e-7
   (tanh near 0 loses relative, not absolute, precision). */
#ifndef LSTMAE_FASTMATH_H
#define LSTMAE_FASTMATH_H

#include <stdint.h>
#include <string.h>

/* The loops that call these functions are compiled for AVX-512F, AVX2 and
   baseline x86-64, picked at load time (GCC's target_clones); elsewhere,
   once. The build uses -ffp-contract=off (ISO C), so every clone computes
   the same bits. Put it on static functions only: a cloned function with
   external linkage would export its ifunc resolver. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && !defined(LSTMAE_NO_CLONES)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif

static inline float fm_expf(float x)
{
    x = x > -87.0f ? x : -87.0f; /* also maps NaN to -87 */
    x = x < 88.0f ? x : 88.0f;
    /* n = round(x / ln2), by the 1.5 * 2^23 trick (round to nearest) */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f;       /* ln2, high bits */
    r = r - n * 1.42860682030941723212e-6f;     /* ln2, low bits  */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t e = (int32_t)n + 127;               /* 1 .. 254 */
    uint32_t bits = (uint32_t)e << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* 1 / (1 + exp(-x)) */
static inline float fm_sigmoid(float x) { return 1.0f / (1.0f + fm_expf(-x)); }

/* tanh(x) = 2 sigmoid(2x) - 1 */
static inline float fm_tanh(float x) { return 2.0f / (1.0f + fm_expf(-2.0f * x)) - 1.0f; }

/* log(1 + e) for e in [0, 1]: with s = e / (2 + e) in [0, 1/3],
   log(1 + e) = 2 atanh(s) = 2 (s + s^3/3 + ... + s^13/13); the terms left
   out are below 1.5e-8 of the sum, and there is no cancellation for small
   e. */
static inline float fm_log1p_unit(float e)
{
    float s = e / (2.0f + e), s2 = s * s;
    float p = 1.0f / 13.0f;
    p = p * s2 + 1.0f / 11.0f;
    p = p * s2 + 1.0f / 9.0f;
    p = p * s2 + 1.0f / 7.0f;
    p = p * s2 + 1.0f / 5.0f;
    p = p * s2 + 1.0f / 3.0f;
    p = p * s2 + 1.0f;
    return 2.0f * s * p;
}

#endif

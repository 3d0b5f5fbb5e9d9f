/* fastmath.h - exp, sigmoid, tanh and log1p written as plain arithmetic,
   so that the compiler vectorises the loops that call them (libm's
   expf/tanhf are calls it cannot vectorise, and were over a quarter of
   training time); and the same functions as AVX-512 intrinsics (fm_v_*),
   for cell.c's hand-written kernels.

   Accuracy: within a few float ulps of the double precision function
   over every float, near 0 and for denormal results too.
   tests/test_fastmath.c sweeps 2^24 floats spread over the whole range
   plus dense runs near 0 and the edges (--full: all 2^32), and reports
   the largest error; over every float: exp 1.0 ulp, sigmoid 2.41, tanh
   2.31, log1p_unit 1.97, the bce loss's log(1 + exp(-|y|)) 2.8.

   fm_expf     Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2,
               e^r = 1 + s with s = r + r^2 Q(r), Q minimax of degree 4;
               times 2^n applied as 2^(n/2) 2^(n - n/2), so that results
               down to the smallest denormal (x >= -103.97) are rounded
               once, and x > 88.72 gives +inf; NaN stays NaN.
   fm_sigmoid  1 / (1 + e) for x >= 0, e / (1 + e) below, with
               e = exp(-|x|) in (0, 1]: no overflow, and full relative
               precision for the tiny results of very negative x.
   fm_tanh     sign(x) (1 - e) / (1 + e), e = exp(-2|x|), with 1 - e taken
               as -expm1(-2|x|) from the same s and n: no cancellation near
               0. (The former 2 / (1 + exp(-2x)) - 1 cancelled there: 1e-3
               relative at 1e-3, 8.6% at 1e-6.)
   fm_log1p_unit  log(1 + e) for e in [0, 1] (the bce loss's softplus).

   The scalar functions are ISO C (the build's -std=c11 keeps floating
   contraction off), so every target_clones clone computes the same bits;
   the AVX-512 ones use FMA, scalef and a Newton-refined reciprocal, and
   differ from them in the last bit or two. */
#ifndef LSTMAE_FASTMATH_H
#define LSTMAE_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The loops that call these functions are compiled for AVX-512F, AVX2 and
   baseline x86-64, picked at load time (GCC's target_clones); elsewhere,
   once. Put it on static functions only: a cloned function with external
   linkage would export its ifunc resolver. Sanitizer builds go without
   (LSTMAE_SANITIZE defines LSTMAE_NO_CLONES): the ifunc resolvers run
   while the dynamic loader relocates, before any sanitizer runtime is
   initialised, and instrumented they crashed GCC's -fsanitize=thread
   build at load. cell.c still picks its AVX-512 kernels at run time. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && !defined(LSTMAE_NO_CLONES)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif

/* e^r = 1 + r + r^2 Q(r) on [-ln2/2, ln2/2]: Q of degree 4, minimax
   for the relative error of e^r (5.7e-9 with these float coefficients) */
#define FM_EXP_Q0 0.49999994f
#define FM_EXP_Q1 0.166665092f
#define FM_EXP_Q2 0.0416685268f
#define FM_EXP_Q3 0.00837013777f
#define FM_EXP_Q4 0.00138116709f

/* e^x = 2^n (1 + s) for x in [-104, 89]: returns s = e^r - 1, with
   r = x - n ln2 in [-ln2/2, ln2/2] by Cody-Waite reduction, computed as
   r + r^2 Q(r) so that its rounding counts little; and n in *n. */
static inline float fm_exp_reduce(float x, float *n)
{
    /* n = round(x / ln2), by the 1.5 * 2^23 trick (round to nearest) */
    float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - k * 0.693145751953125f;       /* ln2, high bits: exact */
    r = r - k * 1.42860682030941723212e-6f;     /* ln2, low bits         */
    float q = FM_EXP_Q4;
    q = q * r + FM_EXP_Q3;
    q = q * r + FM_EXP_Q2;
    q = q * r + FM_EXP_Q1;
    q = q * r + FM_EXP_Q0;
    *n = k;
    return r + (r * r) * q;
}

/* 2^k for an integer k in [-126, 127], from the exponent bits */
static inline float fm_pow2i(int32_t k)
{
    uint32_t b = (uint32_t)(k + 127) << 23;
    float t;
    memcpy(&t, &b, sizeof t);
    return t;
}

/* e^x within 1 ulp; 0 below -103.97, +inf above 88.72, NaN for NaN */
static inline float fm_expf(float x)
{
    float xc = x > -104.0f ? x : -104.0f; /* also maps NaN to -104 */
    xc = xc < 89.0f ? xc : 89.0f;
    float n, s = fm_exp_reduce(xc, &n);
    /* 2^n = 2^k1 2^k2, both normal for n in [-150, 128]: the first
       product is exact, the second rounds once (to a denormal, or inf) */
    int32_t k = (int32_t)n, k1 = k / 2;
    float y = ((1.0f + s) * fm_pow2i(k1)) * fm_pow2i(k - k1);
    return x != x ? x : y;
}

/* sigmoid(x) from e = exp(-|x|): 1 / (1 + e) for x >= 0, e / (1 + e)
   below (NaN stays NaN: e is NaN). */
static inline float fm_sigmoid_e(float x, float e)
{
    return (x >= 0.0f ? 1.0f : e) / (1.0f + e);
}

/* 1 / (1 + exp(-x)) */
static inline float fm_sigmoid(float x) { return fm_sigmoid_e(x, fm_expf(-fabsf(x))); }

/* tanh(x) = sign(x) tanh(|x|), tanh(a) = (1 - e) / (1 + e) with
   e = exp(-2a) = 2^n (1 + s) in (0, 1], and 1 - e = -m computed as
   m = expm1(-2a) = 2^n s + (2^n - 1), rounded once (2^n s is exact, and
   2^n - 1 too down to n = -24): no cancellation, however small a. -2a is
   clamped at -20, where tanh(a) has long rounded to 1. */
static inline float fm_tanh(float x)
{
    float y = -2.0f * fabsf(x);
    y = y > -20.0f ? y : -20.0f; /* also maps NaN to -20 */
    float n, s = fm_exp_reduce(y, &n);
    float t = fm_pow2i((int32_t)n);
    float m = s * t + (t - 1.0f);
    float e = (1.0f + s) * t;
    float th = copysignf(-m / (1.0f + e), x);
    return x != x ? x : th;
}

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
    float t = 2.0f * s;
    return t + t * (s2 * p);
}

/* ---- AVX-512F ---------------------------------------------------------------
   The same functions, 16 lanes at a time, for callers compiled for
   AVX-512F that have checked __builtin_cpu_supports("avx512f"). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(LSTMAE_NO_AVX512)
#define FM_HAVE_AVX512 1
#include <immintrin.h>

#define FM_AVX512 __attribute__((target("avx512f")))

/* fm_exp_reduce for x in [-104, 89] (or NaN, which stays NaN) */
FM_AVX512 static inline __m512 fm_v_exp_reduce(__m512 x, __m512 *n)
{
    /* n = round(x / ln2), by the 1.5 * 2^23 trick (_mm512_roundscale_ps
       is a macro that GCC's -O0 headers make -Wsign-conversion flag) */
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    *n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic), magic);
    __m512 r = _mm512_fnmadd_ps(*n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(*n, _mm512_set1_ps(1.42860682030941723212e-6f), r);
    __m512 q = _mm512_set1_ps(FM_EXP_Q4);
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(FM_EXP_Q3));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(FM_EXP_Q2));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(FM_EXP_Q1));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(FM_EXP_Q0));
    return _mm512_fmadd_ps(_mm512_mul_ps(r, r), q, r);
}

FM_AVX512 static inline __m512 fm_v_exp(__m512 x)
{
    /* max/min return their second operand when one is NaN: NaN stays */
    x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
    x = _mm512_min_ps(_mm512_set1_ps(89.0f), x);
    __m512 n, s = fm_v_exp_reduce(x, &n);
    /* (1 + s) 2^n, rounded once: denormal results, and inf above 88.72 */
    return _mm512_scalef_ps(_mm512_add_ps(_mm512_set1_ps(1.0f), s), n);
}

/* num / den for den in [1, 2] (all callers): the 14-bit reciprocal
   estimate r, q = num r, and one Newton step q + r (num - den q), which
   leaves the quotient within about half an ulp (a division's throughput
   is 16 cycles a vector on the machines measured). */
FM_AVX512 static inline __m512 fm_v_div(__m512 num, __m512 den)
{
    __m512 r = _mm512_rcp14_ps(den);
    __m512 q = _mm512_mul_ps(num, r);
    return _mm512_fmadd_ps(_mm512_fnmadd_ps(den, q, num), r, q);
}

/* sigmoid on the lanes outside t, tanh on the lanes in t, as fm_sigmoid
   and fm_tanh compute them; one exp and one division a lane:
   e = exp(-|x|) (sigmoid) or exp(-2|x|) = 1 + m (tanh), then
   (x >= 0 ? 1 : e) / (1 + e), or sign(x) (-m) / (1 + e). The exp's
   argument is <= 0: no clamp at 89. */
FM_AVX512 static inline __m512 fm_v_sigmoid_tanh(__m512 x, __mmask16 t)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 k = _mm512_mask_blend_ps(t, _mm512_set1_ps(-1.0f), _mm512_set1_ps(-2.0f));
    __m512 y = _mm512_max_ps(_mm512_set1_ps(-104.0f), _mm512_mul_ps(k, _mm512_abs_ps(x)));
    __m512 n, s = fm_v_exp_reduce(y, &n);
    __m512 e = _mm512_scalef_ps(_mm512_add_ps(one, s), n);
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NGE_UQ); /* also NaN */
    __m512 num = _mm512_mask_blend_ps(neg, one, e);
    if (t) {
        /* tanh lanes: -m = -(2^n s + (2^n - 1)), rounded once */
        __m512 p = _mm512_scalef_ps(one, n);
        num = _mm512_mask_mov_ps(num, t, _mm512_fnmsub_ps(s, p, _mm512_sub_ps(p, one)));
    }
    __m512i q = _mm512_castps_si512(fm_v_div(num, _mm512_add_ps(one, e)));
    /* tanh lanes: q | (x & sign), q >= 0 there (or NaN) */
    q = _mm512_mask_ternarylogic_epi32(q, t, _mm512_castps_si512(x),
                                       _mm512_set1_epi32((int)0x80000000u), 0xF8);
    return _mm512_castsi512_ps(q);
}

/* fm_v_sigmoid_tanh for t = 0 and t = all lanes: the same operations on
   each lane, so the same bits, without the blends */
FM_AVX512 static inline __m512 fm_v_sigmoid(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 y = _mm512_max_ps(_mm512_set1_ps(-104.0f),
                             _mm512_mul_ps(_mm512_set1_ps(-1.0f), _mm512_abs_ps(x)));
    __m512 n, s = fm_v_exp_reduce(y, &n);
    __m512 e = _mm512_scalef_ps(_mm512_add_ps(one, s), n);
    __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_NGE_UQ);
    return fm_v_div(_mm512_mask_blend_ps(neg, one, e), _mm512_add_ps(one, e));
}

FM_AVX512 static inline __m512 fm_v_tanh(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 y = _mm512_max_ps(_mm512_set1_ps(-104.0f),
                             _mm512_mul_ps(_mm512_set1_ps(-2.0f), _mm512_abs_ps(x)));
    __m512 n, s = fm_v_exp_reduce(y, &n);
    __m512 e = _mm512_scalef_ps(_mm512_add_ps(one, s), n);
    __m512 p = _mm512_scalef_ps(one, n);
    __m512 negm = _mm512_fnmsub_ps(s, p, _mm512_sub_ps(p, one));
    __m512i q = _mm512_castps_si512(fm_v_div(negm, _mm512_add_ps(one, e)));
    q = _mm512_ternarylogic_epi32(q, _mm512_castps_si512(x),
                                  _mm512_set1_epi32((int)0x80000000u), 0xF8);
    return _mm512_castsi512_ps(q);
}
#endif

#endif

/* test_fastmath.c - the accuracy of lib/fastmath.h's functions, in float
   ulps of the double precision function, over the whole float range.

   Inputs, for each function (log1p_unit: its domain [0, 1] only):
     - 2^24 bit patterns spread evenly over all 2^32 (every exponent, both
       signs, denormals, +-0, +-inf, NaNs; 2^20 in unoptimised builds), or
       with --full every float;
     - 2^21 values evenly spaced in [-1e-2, 1e-2], where the former tanh
       lost its relative precision, and 2^21 in [-110, 110], which holds
       every exp and sigmoid transition (overflow at 88.72, denormal
       results below -87.34, 0 below -103.97);
     - every float within 2^14 ulps of the points where exp's reduction
       changes n first, and where results turn denormal, 0 or inf; and
       the special values.
   Variants: the scalar functions in a plain loop, the same in a loop
   compiled with the library's target_clones (vectorised as the library's
   loops are), and the AVX-512 functions (only where the CPU has
   AVX-512F; the combined sigmoid/tanh of the cell kernel both ways).
   Each prints its largest error, where, and asserts MAX_ULPS; the
   combined sigmoid/tanh must also give the same bits as the pure ones
   (a NaN as a NaN: the sign of a NaN is not kept by the compiler).

   The error of a result f against the exact value d (double precision)
   is |f - d| / ulp(d), with ulp(d) the spacing of floats at |d| (2^-149
   for denormals); 0 when f == (float)d (so +-inf and exact results);
   infinite when f is inf or NaN and (float)d is not, or the reverse. A
   NaN input must give a NaN. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastmath.h"
#include "testutil.h"

/* The largest error accepted, in ulps. Seen with --full (every float):
   exp 1.0, sigmoid 2.41, tanh 2.31, log1p_unit 1.97, softplus 2.8; the
   2^24 sweep finds 0.98, 2.16, 2.25, 1.97 and 2.66.
   e023916's functions: 1e7 ulps and more (tanh near 0, exp and sigmoid
   below -87, NaN taken for a number). */
#define MAX_ULPS 3.0

#define CHUNK 4096

/* log2 of the bit patterns swept: 2^24 (16.7 million), 2^20 in unoptimised
   builds (the sanitizer builds of CI: about 15 times slower) */
#ifdef __OPTIMIZE__
#define SWEEP_LOG2 24
#else
#define SWEEP_LOG2 20
#endif

typedef enum { F_EXP, F_SIGMOID, F_TANH, F_SOFTPLUS, F_LOG1P_UNIT, F_COUNT } fn_id;
static const char *const fn_name[F_COUNT] = {
    "exp", "sigmoid", "tanh", "softplus(-|x|) (bce)", "log1p_unit",
};

typedef enum { V_SCALAR, V_CLONES, V_AVX512, V_AVX512_MIXED, V_COUNT } variant_id;
static const char *const variant_name[V_COUNT] = {
    "scalar", "target_clones", "avx512", "avx512 sigmoid/tanh mixed",
};

typedef struct {
    double worst;      /* ulps, over the results of the right class */
    float at, got;
    double want;
    size_t count;
    size_t wrong;      /* results of the wrong class: NaN, inf or finite */
    float wrong_at, wrong_got;
    double wrong_want;
} stats;

static int full_sweep = 0;

/* ---- the exact values ------------------------------------------------------ */

static double ref(fn_id f, float xf)
{
    double x = xf;
    switch (f) {
    case F_EXP: return exp(x);
    case F_SIGMOID: return x >= 0.0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
    case F_TANH: return tanh(x);
    case F_SOFTPLUS: return log1p(exp(-fabs(x)));
    case F_LOG1P_UNIT: return log1p(x);
    default: return NAN;
    }
}

static double ulp_of(double d)
{
    d = fabs(d);
    if (d > FLT_MAX) d = FLT_MAX;
    if (d < FLT_MIN) return ldexp(1.0, -149);
    int e;
    frexp(d, &e); /* d = m 2^e, m in [0.5, 1) */
    return ldexp(1.0, e - 24);
}

static double ulps(float got, double want, float x)
{
    if (isnan(x)) return isnan(got) ? 0.0 : INFINITY;
    float wf = (float)want;
    if (got == wf) return 0.0;
    if (isnan(got) || isnan(wf) || isinf(got) || isinf(wf)) return INFINITY;
    return fabs((double)got - want) / ulp_of(want);
}

/* ---- the variants ------------------------------------------------------------ */

static void apply_scalar(fn_id f, const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (f) {
        case F_EXP: y[i] = fm_expf(x[i]); break;
        case F_SIGMOID: y[i] = fm_sigmoid(x[i]); break;
        case F_TANH: y[i] = fm_tanh(x[i]); break;
        case F_SOFTPLUS: y[i] = fm_log1p_unit(fm_expf(-fabsf(x[i]))); break;
        default: y[i] = fm_log1p_unit(x[i]); break;
        }
    }
}

/* one loop per function, as the library writes them: vectorised */
VECTOR_CLONES static void clones_exp(const float *restrict x, float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = fm_expf(x[i]);
}
VECTOR_CLONES static void clones_sigmoid(const float *restrict x, float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = fm_sigmoid(x[i]);
}
VECTOR_CLONES static void clones_tanh(const float *restrict x, float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = fm_tanh(x[i]);
}
VECTOR_CLONES static void clones_softplus(const float *restrict x, float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = fm_log1p_unit(fm_expf(-fabsf(x[i])));
}
VECTOR_CLONES static void clones_log1p(const float *restrict x, float *restrict y, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = fm_log1p_unit(x[i]);
}

static void apply_clones(fn_id f, const float *x, float *y, size_t n)
{
    switch (f) {
    case F_EXP: clones_exp(x, y, n); break;
    case F_SIGMOID: clones_sigmoid(x, y, n); break;
    case F_TANH: clones_tanh(x, y, n); break;
    case F_SOFTPLUS: clones_softplus(x, y, n); break;
    default: clones_log1p(x, y, n); break;
    }
}

#ifdef FM_HAVE_AVX512
/* n a multiple of 16 */
FM_AVX512 static void apply_avx512(fn_id f, int mixed, const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i), r;
        if (f == F_EXP) {
            r = fm_v_exp(v);
        } else if (!mixed) {
            r = f == F_SIGMOID ? fm_v_sigmoid(v) : fm_v_tanh(v);
        } else {
            /* every lane both ways: even lanes from one call, odd from
               the other */
            __mmask16 even = (__mmask16)0x5555u, odd = (__mmask16)0xAAAAu;
            __mmask16 t1 = f == F_TANH ? even : odd, t2 = f == F_TANH ? odd : even;
            r = _mm512_mask_mov_ps(fm_v_sigmoid_tanh(v, t1), odd, fm_v_sigmoid_tanh(v, t2));
        }
        _mm512_storeu_ps(y + i, r);
    }
}

static int have_avx512(void) { return __builtin_cpu_supports("avx512f"); }
#else
static int have_avx512(void) { return 0; }
#endif

static int variant_runs(fn_id f, variant_id v)
{
    if (v == V_SCALAR || v == V_CLONES) return 1;
    if (!have_avx512()) return 0;
    if (v == V_AVX512) return f == F_EXP || f == F_SIGMOID || f == F_TANH;
    return f == F_SIGMOID || f == F_TANH;
}

static void apply(fn_id f, variant_id v, const float *x, float *y, size_t n)
{
    switch (v) {
    case V_SCALAR: apply_scalar(f, x, y, n); break;
    case V_CLONES: apply_clones(f, x, y, n); break;
#ifdef FM_HAVE_AVX512
    case V_AVX512: apply_avx512(f, 0, x, y, n); break;
    case V_AVX512_MIXED: apply_avx512(f, 1, x, y, n); break;
#endif
    default: break;
    }
}

/* ---- the inputs -------------------------------------------------------------- */

typedef struct {
    fn_id f;
    stats st[V_COUNT];
    float x[CHUNK], y[CHUNK], y_pure[CHUNK];
    double want[CHUNK];
    size_t n;
    size_t mixed_differs; /* lanes where the mixed AVX-512 bits differ */
} sweep;

static void flush(sweep *s)
{
    if (s->n == 0) return;
    size_t n = (s->n + 15) & ~(size_t)15; /* pad to whole vectors */
    for (size_t i = s->n; i < n; i++) s->x[i] = s->x[0];
    for (size_t i = 0; i < s->n; i++) s->want[i] = ref(s->f, s->x[i]);
    for (int v = 0; v < V_COUNT; v++) {
        if (!variant_runs(s->f, (variant_id)v)) continue;
        apply(s->f, (variant_id)v, s->x, s->y, n);
        if (v == V_AVX512) memcpy(s->y_pure, s->y, n * sizeof *s->y);
        if (v == V_AVX512_MIXED)
            for (size_t i = 0; i < s->n; i++)
                s->mixed_differs += memcmp(&s->y[i], &s->y_pure[i], sizeof *s->y) != 0 &&
                                    !(isnan(s->y[i]) && isnan(s->y_pure[i]));
        stats *st = &s->st[v];
        for (size_t i = 0; i < s->n; i++) {
            double e = ulps(s->y[i], s->want[i], s->x[i]);
            if (isinf(e)) {
                if (st->wrong++ == 0) {
                    st->wrong_at = s->x[i];
                    st->wrong_got = s->y[i];
                    st->wrong_want = s->want[i];
                }
            } else if (e > st->worst || (st->count == 0 && i == 0)) {
                st->worst = e;
                st->at = s->x[i];
                st->got = s->y[i];
                st->want = s->want[i];
            }
        }
        st->count += s->n;
    }
    s->n = 0;
}

static void add(sweep *s, float x)
{
    if (s->f == F_LOG1P_UNIT && !(x >= 0.0f && x <= 1.0f)) return;
    s->x[s->n++] = x;
    if (s->n == CHUNK) flush(s);
}

static float from_bits(uint32_t b)
{
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static void add_linear(sweep *s, double lo, double hi, size_t n)
{
    for (size_t i = 0; i <= n; i++) add(s, (float)(lo + (hi - lo) * (double)i / (double)n));
}

/* every float within `k` ulps (bit patterns) of x */
static void add_around(sweep *s, float x, uint32_t k)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    for (uint32_t i = 0; i <= 2 * k; i++) add(s, from_bits(b - k + i));
}

static void run_sweep(sweep *s)
{
    if (full_sweep) {
        uint32_t b = 0;
        do add(s, from_bits(b)); while (++b != 0);
    } else if (s->f == F_LOG1P_UNIT) {
        /* [0, 1] holds 0x3F800001 bit patterns */
        for (uint32_t i = 0; i < (1u << SWEEP_LOG2); i++)
            add(s, from_bits((uint32_t)(((uint64_t)i * 0x3F800001u) >> SWEEP_LOG2)));
    } else {
        /* 2^SWEEP_LOG2 patterns, evenly apart, the low bits varying too */
        const unsigned gap = 32 - SWEEP_LOG2;
        for (uint32_t i = 0; i < (1u << SWEEP_LOG2); i++)
            add(s, from_bits(i << gap | ((i * 97u) & ((1u << gap) - 1u))));
    }
    add_linear(s, -1e-2, 1e-2, 1u << 21);
    if (s->f == F_LOG1P_UNIT) {
        add_linear(s, 0.0, 1.0, 1u << 21);
    } else {
        add_linear(s, -110.0, 110.0, 1u << 21);
        /* where n of exp's reduction first changes (x = +-ln2/2, and
           tanh's +-ln2/4), where results turn denormal, 0 and inf */
        static const float edge[] = {
            0.346573591f, -0.346573591f, 0.173286796f, -0.173286796f,
            -87.3365479f, -103.972084f, 88.7228394f,
        };
        for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) add_around(s, edge[i], 1u << 14);
    }
    static const float special[] = {
        0.0f, -0.0f, 1.0f, -1.0f, FLT_MIN, -FLT_MIN, FLT_TRUE_MIN, -FLT_TRUE_MIN,
        FLT_MAX, -FLT_MAX, INFINITY, -INFINITY, NAN, 88.7228394f, 88.7228317f,
        -87.3365479f, -103.972084f, -103.278931f, 1e-6f, -1e-6f,
    };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) add(s, special[i]);
    flush(s);
}

/* ---- the tests ------------------------------------------------------------------- */

static void check_fn(fn_id f)
{
    sweep *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->f = f;
    run_sweep(s);
    int ok = 1;
    for (int v = 0; v < V_COUNT; v++) {
        const stats *st = &s->st[v];
        if (!variant_runs(f, (variant_id)v)) {
            if (v == V_AVX512 && !have_avx512())
                print_message("%-22s %-26s not run: no AVX-512F on this CPU\n", fn_name[f],
                              variant_name[v]);
            continue;
        }
        print_message("%-22s %-26s max %.3g ulp over %zu inputs, at x = %.9g "
                      "(0x%08x): got %.9g, want %.17g\n",
                      fn_name[f], variant_name[v], st->worst, st->count, (double)st->at,
                      (unsigned)(union { float f; uint32_t u; }){ .f = st->at }.u,
                      (double)st->got, st->want);
        if (st->wrong)
            print_message("%-22s %-26s %zu results of the wrong class (NaN, inf, finite), "
                          "the first at x = %.9g: got %.9g, want %.17g\n",
                          fn_name[f], variant_name[v], st->wrong, (double)st->wrong_at,
                          (double)st->wrong_got, st->wrong_want);
        if (!(st->worst <= MAX_ULPS) || st->wrong) ok = 0;
    }
    if (variant_runs(f, V_AVX512_MIXED)) {
        /* cell.c's two-pass kernel relies on it */
        print_message("%-22s the mixed AVX-512 kernel differs from the pure one in %zu results\n",
                      fn_name[f], s->mixed_differs);
        if (s->mixed_differs) ok = 0;
    }
    free(s);
    if (!ok) fail_msg("%s: an error above %.1f ulps, or of class (above)", fn_name[f], MAX_ULPS);
}

static void test_exp(void **state) { (void)state; check_fn(F_EXP); }
static void test_sigmoid(void **state) { (void)state; check_fn(F_SIGMOID); }
static void test_tanh(void **state) { (void)state; check_fn(F_TANH); }
static void test_softplus(void **state) { (void)state; check_fn(F_SOFTPLUS); }
static void test_log1p_unit(void **state) { (void)state; check_fn(F_LOG1P_UNIT); }

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--full") == 0) {
            full_sweep = 1;
        } else {
            fprintf(stderr, "usage: %s [--full]   (--full: every float, minutes)\n", argv[0]);
            return 2;
        }
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exp),
        cmocka_unit_test(test_sigmoid),
        cmocka_unit_test(test_tanh),
        cmocka_unit_test(test_softplus),
        cmocka_unit_test(test_log1p_unit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

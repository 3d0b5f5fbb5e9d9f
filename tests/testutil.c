/* testutil.c - comparisons and a deterministic generator for the tests. */
#include "testutil.h"

#include <math.h>
#include <string.h>

void tu_assert_close(const char *what, const float *got, const float *want,
                     size_t n, double rel_tol, double abs_tol)
{
    double scale = 0.0;
    double worst = -1.0;
    size_t worst_i = 0;
    int worst_nan = 0;

    for (size_t i = 0; i < n; i++) {
        double w = fabs((double)want[i]);
        if (!isnan(w) && w > scale)
            scale = w;
    }
    const double tol = abs_tol + rel_tol * scale;

    for (size_t i = 0; i < n; i++) {
        const int gn = isnan(got[i]) != 0, wn = isnan(want[i]) != 0;
        if (gn || wn) {
            if (gn && wn)
                continue;
            /* one side NaN: the worst possible mismatch; report the first */
            if (!worst_nan) {
                worst_nan = 1;
                worst_i = i;
            }
            continue;
        }
        const double d = fabs((double)got[i] - (double)want[i]);
        /* an infinite difference (inf vs finite) also fails */
        if (!worst_nan && (d > worst || isinf(d))) {
            worst = d;
            worst_i = i;
        }
    }
    if (n == 0)
        return;
    if (worst_nan || worst > tol) {
        print_error("%s: mismatch at index %zu of %zu: got %.9g, want %.9g, "
                    "|diff| %.3g > tolerance %.3g (= abs %.3g + rel %.3g * "
                    "max|want| %.6g)\n",
                    what, worst_i, n, (double)got[worst_i],
                    (double)want[worst_i],
                    worst_nan ? (double)NAN : worst, tol, abs_tol, rel_tol,
                    scale);
        fail();
    }
}

void tu_assert_bits_equal(const char *what, const float *a, const float *b,
                          size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t ua, ub;
        memcpy(&ua, &a[i], sizeof ua);
        memcpy(&ub, &b[i], sizeof ub);
        if (ua != ub) {
            print_error("%s: bits differ at index %zu of %zu: %.9g (0x%08lx) "
                        "vs %.9g (0x%08lx)\n",
                        what, i, n, (double)a[i], (unsigned long)ua,
                        (double)b[i], (unsigned long)ub);
            fail();
        }
    }
}

uint64_t tu_rand_u64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

float tu_rand_uniform(uint64_t *state, float lo, float hi)
{
    /* 24 bits: every value k / 2^24 is exact in float */
    const float u = (float)(tu_rand_u64(state) >> 40) * (1.0f / 16777216.0f);
    return lo + (hi - lo) * u;
}

void tu_fill_uniform(uint64_t *state, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = tu_rand_uniform(state, lo, hi);
}

/* testutil.c - comparisons, a deterministic generator and API helpers for
   the tests. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
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

void tu_expect_status(const char *what, int got, int want)
{
    if (got != want) {
        fail_msg("%s: status %d (%s), want %d (%s)", what, got,
                 lstmae_strerror(got), want, lstmae_strerror(want));
    }
}

void *tu_xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    assert_non_null(p);
    return p;
}

void tu_expect_sentinel(const char *what, const void *p, size_t bytes)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < bytes; i++) {
        if (b[i] != TU_SENTINEL) {
            fail_msg("%s: output byte %zu of %zu was written (0x%02x)", what,
                     i, bytes, (unsigned)b[i]);
        }
    }
}

lstmae_model *tu_make_model(int in, int hid, int lat, int layers,
                            lstmae_loss loss, uint64_t seed)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = in;
    cfg.hidden_dim = hid;
    cfg.latent_dim = lat;
    cfg.num_layers = layers;
    cfg.loss = loss;
    cfg.seed = seed;
    lstmae_model *m = NULL;
    tu_expect_status("lstmae_create", lstmae_create(&cfg, &m), LSTMAE_OK);
    assert_non_null(m);
    return m;
}

static size_t params_total(const lstmae_model *m)
{
    size_t total = 0, count = lstmae_param_count(m);
    for (size_t i = 0; i < count; i++)
        total += lstmae_param_size(m, lstmae_param_name(m, i));
    return total;
}

float *tu_params_snapshot(const lstmae_model *m, size_t *total)
{
    size_t n = params_total(m), count = lstmae_param_count(m), off = 0;
    float *buf = tu_xmalloc(n * sizeof *buf);
    for (size_t i = 0; i < count; i++) {
        const char *name = lstmae_param_name(m, i);
        assert_non_null(name);
        size_t size = lstmae_param_size(m, name);
        tu_expect_status(name, lstmae_get_param(m, name, buf + off, size),
                         LSTMAE_OK);
        off += size;
    }
    *total = n;
    return buf;
}

void tu_assert_same_params(const char *what, const lstmae_model *a,
                           const lstmae_model *b)
{
    size_t na = 0, nb = 0;
    float *pa = tu_params_snapshot(a, &na);
    float *pb = tu_params_snapshot(b, &nb);
    assert_int_equal(na, nb);
    tu_assert_bits_equal(what, pa, pb, na);
    free(pa);
    free(pb);
}

int tu_count_calls(void *user, int epoch, const lstmae_metrics *train,
                   const lstmae_metrics *valid)
{
    (void)epoch;
    (void)train;
    (void)valid;
    ++*(int *)user;
    return 0;
}

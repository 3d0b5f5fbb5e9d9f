/* test_cell.c - the AVX-512 cell kernels against the portable ones (to
   1e-6, observed 2.4e-7) for every H from 1 to 70 (masked tails), with and without a
   previous state, forward and backward, on values from -30 to 30 (the
   exp clamps included); and their sigmoid and tanh against double
   precision. Skipped (with a message) where the CPU has no
   AVX-512F; the portable kernels are then the only ones that run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lstmae.h>

#include "cell.h"
#include "testutil.h"

static float *filled(size_t n, uint64_t *st, float lo, float hi)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    tu_fill_uniform(st, x, n, lo, hi);
    return x;
}

/* Absolute tolerances of the AVX-512 kernels against the portable ones
   (both within about 2e-7 of the exact functions; the AVX-512 ones use
   FMA and a refined reciprocal, so the last bits differ): activations in
   [-1, 1]; c and h from |c_prev| <= 3; gradients from |dh|, |dc| <= 1. */
#define GATE_TOL 1e-6
#define STATE_TOL 1e-6
#define GRAD_TOL 1e-6

static void note_diff(double *worst, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > *worst) *worst = d;
    }
}

/* sigmoid and tanh of the AVX-512 kernel against double precision */
static void test_accuracy(void **state)
{
    (void)state;
    if (!cell_have_avx512()) skip();
    size_t H = 37, n = 5, G = 4 * H;
    uint64_t st = 3;
    float *g = filled(n * G, &st, -12.0f, 12.0f), *pre = malloc(n * G * sizeof *pre);
    float *c = malloc(n * H * sizeof *c), *h = malloc(n * H * sizeof *h);
    assert_true(pre && c && h);
    memcpy(pre, g, n * G * sizeof *pre);
    cell_forward_first_avx512(g, c, h, n, H);
    double worst = 0.0;
    for (size_t r = 0; r < n; r++)
        for (size_t q = 0; q < 4; q++)
            for (size_t j = 0; j < H; j++) {
                double x = pre[r * G + q * H + j];
                double want = q == 2 ? tanh(x) : 1.0 / (1.0 + exp(-x));
                double d = fabs(want - g[r * G + q * H + j]);
                if (d > worst) worst = d;
            }
    print_message("largest error of sigmoid/tanh against double: %.3g\n", worst);
    assert_true(worst < 5e-7);
    free(g); free(pre); free(c); free(h);
}

static void test_agree(void **state)
{
    (void)state;
    if (!cell_have_avx512()) {
        print_message("no AVX-512F on this CPU: only the portable kernels run\n");
        skip();
    }
    uint64_t st = 42;
    size_t checked = 0;
    double worst_fw = 0.0, worst_bw = 0.0;
    for (size_t H = 1; H <= 70; H++) {
        for (size_t n = 1; n <= 3; n++) {
            size_t G = 4 * H;
            float *pre = filled(n * G, &st, -30.0f, 30.0f);
            float *cp = filled(n * H, &st, -3.0f, 3.0f);
            float *g1 = malloc(n * G * sizeof *g1), *g2 = malloc(n * G * sizeof *g2);
            float *c1 = malloc(n * H * sizeof *c1), *c2 = malloc(n * H * sizeof *c2);
            float *h1 = malloc(n * H * sizeof *h1), *h2 = malloc(n * H * sizeof *h2);
            assert_true(g1 && g2 && c1 && c2 && h1 && h2);
            for (int first = 0; first < 2; first++) {
                memcpy(g1, pre, n * G * sizeof *g1);
                memcpy(g2, pre, n * G * sizeof *g2);
                if (first) {
                    cell_forward_first_generic(g1, c1, h1, n, H);
                    cell_forward_first_avx512(g2, c2, h2, n, H);
                } else {
                    cell_forward_generic(g1, c1, h1, cp, n, H);
                    cell_forward_avx512(g2, c2, h2, cp, n, H);
                }
                tu_assert_close("forward gates", g2, g1, n * G, 0.0, GATE_TOL);
                tu_assert_close("forward c", c2, c1, n * H, 0.0, STATE_TOL);
                tu_assert_close("forward h", h2, h1, n * H, 0.0, STATE_TOL);
                note_diff(&worst_fw, g2, g1, n * G);
                note_diff(&worst_fw, h2, h1, n * H);

                float *dh = filled(n * H, &st, -1.0f, 1.0f);
                float *dc0 = filled(n * H, &st, -1.0f, 1.0f);
                float *dg1 = malloc(n * G * sizeof *dg1), *dg2 = malloc(n * G * sizeof *dg2);
                float *dc1 = malloc(n * H * sizeof *dc1), *dc2 = malloc(n * H * sizeof *dc2);
                assert_true(dg1 && dg2 && dc1 && dc2);
                memcpy(dc1, dc0, n * H * sizeof *dc1);
                memcpy(dc2, dc0, n * H * sizeof *dc2);
                cell_backward_generic(dg1, dc1, dh, g1, c1, first ? NULL : cp, n, H);
                cell_backward_avx512(dg2, dc2, dh, g1, c1, first ? NULL : cp, n, H);
                tu_assert_close("backward gates", dg2, dg1, n * G, 0.0, GRAD_TOL);
                tu_assert_close("backward carry", dc2, dc1, n * H, 0.0, GRAD_TOL);
                note_diff(&worst_bw, dg2, dg1, n * G);
                checked++;
                free(dh);
                free(dc0);
                free(dg1);
                free(dg2);
                free(dc1);
                free(dc2);
            }
            free(pre);
            free(cp);
            free(g1);
            free(g2);
            free(c1);
            free(c2);
            free(h1);
            free(h2);
        }
    }
    print_message("%zu shapes: AVX-512 and portable kernels agree; largest difference "
                  "%.3g forward, %.3g backward\n", checked, worst_fw, worst_bw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agree),
        cmocka_unit_test(test_accuracy),
    };
    return cmocka_run_group_tests_name("cell", tests, NULL, NULL);
}

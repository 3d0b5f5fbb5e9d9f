/* test_cell.c - the AVX-512 cell kernels against the portable ones: the
   same bits for every H from 1 to 70 (masked tails), with and without a
   previous state, forward and backward, on values from -30 to 30 (the
   exp clamps included). Skipped (with a message) where the CPU has no
   AVX-512F; the portable kernels are then the only ones that run. */
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

static void test_same_bits(void **state)
{
    (void)state;
    if (!cell_have_avx512()) {
        print_message("no AVX-512F on this CPU: only the portable kernels run\n");
        skip();
    }
    uint64_t st = 42;
    size_t checked = 0;
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
                tu_assert_bits_equal("forward gates", g1, g2, n * G);
                tu_assert_bits_equal("forward c", c1, c2, n * H);
                tu_assert_bits_equal("forward h", h1, h2, n * H);

                float *dh = filled(n * H, &st, -1.0f, 1.0f);
                float *dc0 = filled(n * H, &st, -1.0f, 1.0f);
                float *dg1 = malloc(n * G * sizeof *dg1), *dg2 = malloc(n * G * sizeof *dg2);
                float *dc1 = malloc(n * H * sizeof *dc1), *dc2 = malloc(n * H * sizeof *dc2);
                assert_true(dg1 && dg2 && dc1 && dc2);
                memcpy(dc1, dc0, n * H * sizeof *dc1);
                memcpy(dc2, dc0, n * H * sizeof *dc2);
                cell_backward_generic(dg1, dc1, dh, g1, c1, first ? NULL : cp, n, H);
                cell_backward_avx512(dg2, dc2, dh, g1, c1, first ? NULL : cp, n, H);
                tu_assert_bits_equal("backward gates", dg1, dg2, n * G);
                tu_assert_bits_equal("backward carry", dc1, dc2, n * H);
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
    print_message("%zu shapes: AVX-512 and portable kernels give the same bits\n", checked);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bits),
    };
    return cmocka_run_group_tests_name("cell", tests, NULL, NULL);
}

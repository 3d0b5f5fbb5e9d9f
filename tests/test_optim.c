/* test_optim.c - the optimiser module against MODEL.md's formulas,
   computed here in double. Tolerance: 1e-6 relative per element (float
   rounding of a few operations). */
#include <math.h>
#include <stdlib.h>

#include <lstmae.h>

#include "optim.h"
#include "testutil.h"

#define N 37

static void fill(float *x, uint64_t seed, float lo, float hi)
{
    uint64_t s = seed;
    tu_fill_uniform(&s, x, N, lo, hi);
}

static void test_sgd_plain(void **state)
{
    (void)state;
    float p[N], g[N], want[N], buf[N];
    fill(p, 1, -1, 1);
    fill(g, 2, -1, 1);
    for (int i = 0; i < N; i++) want[i] = (float)((double)p[i] - 0.1 * (double)g[i]);
    sgd_step(p, buf, g, N, 0.1f, 0.0f, 1);
    tu_assert_close("sgd", p, want, N, 1e-6, 0);
}

static void test_sgd_momentum(void **state)
{
    (void)state;
    float p[N], g1[N], g2[N], buf[N], want[N];
    double b[N], q[N];
    fill(p, 3, -1, 1);
    fill(g1, 4, -1, 1);
    fill(g2, 5, -1, 1);
    for (int i = 0; i < N; i++) {
        /* torch.optim.SGD: buf = g on the first step, then mu buf + g */
        b[i] = g1[i];
        q[i] = (double)p[i] - 0.05 * b[i];
        b[i] = 0.9 * b[i] + g2[i];
        q[i] -= 0.05 * b[i];
        want[i] = (float)q[i];
    }
    sgd_step(p, buf, g1, N, 0.05f, 0.9f, 1);
    sgd_step(p, buf, g2, N, 0.05f, 0.9f, 0);
    tu_assert_close("sgd momentum", p, want, N, 1e-6, 0);
}

static void test_adam_three_steps(void **state)
{
    (void)state;
    float p[N], m[N] = {0}, v[N] = {0}, g[3][N], want[N];
    double pd[N], md[N] = {0}, vd[N] = {0};
    fill(p, 6, -1, 1);
    for (int s = 0; s < 3; s++) fill(g[s], 7 + (uint64_t)s, -0.5f, 0.5f);
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int i = 0; i < N; i++) pd[i] = p[i];
    for (int t = 1; t <= 3; t++) {
        for (int i = 0; i < N; i++) {
            double gi = g[t - 1][i];
            md[i] = b1 * md[i] + (1 - b1) * gi;
            vd[i] = b2 * vd[i] + (1 - b2) * gi * gi;
            pd[i] -= lr * (md[i] / (1 - pow(b1, t))) / (sqrt(vd[i] / (1 - pow(b2, t))) + eps);
        }
        adam_step(p, m, v, g[t - 1], N, 0.01f, 0.9f, 0.999f, 1e-8f, (uint64_t)t);
    }
    for (int i = 0; i < N; i++) want[i] = (float)pd[i];
    tu_assert_close("adam, 3 steps", p, want, N, 1e-6, 0);
}

static void test_clip(void **state)
{
    (void)state;
    float g[N], want[N];
    fill(g, 9, -1, 1);
    double norm = grad_norm(g, N), sq = 0;
    for (int i = 0; i < N; i++) sq += (double)g[i] * g[i];
    assert_true(fabs(norm - sqrt(sq)) <= 1e-12 * sqrt(sq));
    /* torch.nn.utils.clip_grad_norm_: coef = max / (norm + 1e-6) if < 1 */
    for (int i = 0; i < N; i++) want[i] = (float)(g[i] * (0.5 / (norm + 1e-6)));
    clip_grad_norm(g, N, norm, 0.5f);
    tu_assert_close("clipped", g, want, N, 1e-6, 0);
    float keep[N];
    for (int i = 0; i < N; i++) keep[i] = g[i];
    clip_grad_norm(g, N, grad_norm(g, N), 100.0f); /* below the limit: no change */
    tu_assert_bits_equal("unclipped", g, keep, N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_plain),
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_adam_three_steps),
        cmocka_unit_test(test_clip),
    };
    return cmocka_run_group_tests_name("optim", tests, NULL, NULL);
}

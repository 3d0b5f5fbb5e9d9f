/* test_gradcheck.c - the library's analytic gradient (float, through the
   internal forward/backward drivers) against central finite differences of
   an independent, naive double-precision implementation of MODEL.md in this
   file. Also checks the library's encode against that implementation.

   Tolerances: the double forward is exact to ~1e-15, so central
   differences with h = 1e-6 are accurate to ~1e-9 absolute. The float
   gradient carries float32 rounding: we require, per parameter tensor,
   max |g_lib - g_fd| <= 1e-4 * max|g_fd in that tensor|
                        + 1e-7 * max|g_fd in the whole model|.
   (The second term: tensors far from the loss, e.g. the bottom encoder
   layer of a deep stack, can have gradients near float's rounding floor
   relative to the rest. Observed errors are ~1e-6 of the tensor's largest
   entry; a 1% error in one gate's derivative fails.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lstmae.h>

#include "autoenc.h"
#include "model.h"
#include "testutil.h"
#include "workspace.h"

typedef struct gcase {
    int D, H, Z, K;
    lstmae_loss loss;
    size_t n, T;
    int32_t lengths[8];
} gcase;

/* ---- the naive double-precision model ----------------------------------- */

typedef struct dnet {
    const gcase *c;
    const double *p;            /* parameters, MODEL.md order */
    size_t off[6 * 3 + 4];      /* offset of each tensor        */
} dnet;

static double dsig(double x) { return 1.0 / (1.0 + exp(-x)); }

/* One LSTM step: h, c [H] updated in place from input u [in]. */
static void dcell(const double *wih, const double *whh, const double *b,
                  const double *u, size_t in, double *h, double *c, size_t H)
{
    double a[4 * 64];
    for (size_t g = 0; g < 4 * H; g++) {
        double s = b[g];
        for (size_t j = 0; j < in; j++) s += wih[g * in + j] * u[j];
        for (size_t j = 0; j < H; j++) s += whh[g * H + j] * h[j];
        a[g] = s;
    }
    for (size_t j = 0; j < H; j++) {
        double i = dsig(a[j]), f = dsig(a[H + j]), gg = tanh(a[2 * H + j]),
               o = dsig(a[3 * H + j]);
        c[j] = f * c[j] + i * gg;
        h[j] = o * tanh(c[j]);
    }
}

/* Latent of sequence x[L][D] into z[Z]. */
static void dencode(const dnet *n, const float *x, size_t L, double *z)
{
    const gcase *c = n->c;
    size_t K = (size_t)c->K, H = (size_t)c->H;
    double h[3][64] = {{0}}, cs[3][64] = {{0}}, u[64];
    for (size_t t = 0; t < L; t++) {
        for (int d = 0; d < c->D; d++) u[d] = x[t * (size_t)c->D + (size_t)d];
        size_t in = (size_t)c->D;
        for (size_t k = 0; k < K; k++) {
            dcell(n->p + n->off[3 * k], n->p + n->off[3 * k + 1], n->p + n->off[3 * k + 2],
                  u, in, h[k], cs[k], H);
            memcpy(u, h[k], H * sizeof *u);
            in = H;
        }
    }
    const double *wz = n->p + n->off[3 * K], *bz = n->p + n->off[3 * K + 1];
    for (int i = 0; i < c->Z; i++) {
        double s = bz[i];
        for (size_t j = 0; j < H; j++) s += wz[(size_t)i * H + j] * h[K - 1][j];
        z[i] = s;
    }
}

/* Mean loss over the valid elements of the whole set. */
static double dloss(const dnet *n, const float *x)
{
    const gcase *c = n->c;
    size_t K = (size_t)c->K, H = (size_t)c->H, D = (size_t)c->D, T = c->T;
    double total = 0.0, count = 0.0;
    for (size_t s = 0; s < c->n; s++) {
        size_t L = (size_t)c->lengths[s];
        const float *xs = x + s * T * D;
        double z[64], h[3][64] = {{0}}, cs[3][64] = {{0}}, u[64];
        dencode(n, xs, L, z);
        for (size_t t = 0; t < L; t++) {
            memcpy(u, z, (size_t)c->Z * sizeof *u);
            size_t in = (size_t)c->Z;
            for (size_t k = 0; k < K; k++) {
                size_t b = 3 * K + 2 + 3 * k;
                dcell(n->p + n->off[b], n->p + n->off[b + 1], n->p + n->off[b + 2],
                      u, in, h[k], cs[k], H);
                memcpy(u, h[k], H * sizeof *u);
                in = H;
            }
            const double *wo = n->p + n->off[6 * K + 2], *bo = n->p + n->off[6 * K + 3];
            for (size_t d = 0; d < D; d++) {
                double y = bo[d], xv = xs[t * D + d];
                for (size_t j = 0; j < H; j++) y += wo[d * H + j] * h[K - 1][j];
                if (c->loss == LSTMAE_LOSS_BCE)
                    total += (y > 0 ? y : 0) - y * xv + log1p(exp(-fabs(y)));
                else
                    total += (y - xv) * (y - xv);
                count += 1.0;
            }
        }
    }
    return total / count;
}

/* ---- the check ---------------------------------------------------------- */

static void run_case(const gcase *c, uint64_t seed)
{
    lstmae_model *m = tu_make_model(c->D, c->H, c->Z, c->K, c->loss, seed);

    size_t D = (size_t)c->D, T = c->T, n = c->n;
    float *x = malloc(n * T * D * sizeof *x);
    assert_non_null(x);
    uint64_t st = seed * 7919u + 1u;
    for (size_t i = 0; i < n * T * D; i++)
        x[i] = c->loss == LSTMAE_LOSS_BCE ? (tu_rand_u64(&st) & 1 ? 1.0f : 0.0f)
                                         : tu_rand_uniform(&st, -1.0f, 1.0f);

    /* analytic gradient through the library's drivers */
    ae_net net = model_net(m);
    ae_ws ws;
    assert_int_equal(workspace_plan(&ws, &m->plan, n, T, 1, &m->alloc), LSTMAE_OK);
    size_t idx[8];
    for (size_t i = 0; i < n; i++) idx[i] = i;
    size_t rows = workspace_load(&ws, x, c->lengths, T, D, idx, n);
    assert_true(rows > 0);
    float *grad = calloc(m->nparams, sizeof *grad);
    assert_non_null(grad);
    loss_sums sums = {0, 0};
    ae_encode(&net, &ws);
    ae_decode(&net, &ws);
    ae_loss(&net, &ws, (float)(1.0 / (double)(rows * D)), &sums);
    ae_backward(&net, &ws, grad);

    /* finite differences of the double model */
    double *p = malloc(m->nparams * sizeof *p);
    double *fd = malloc(m->nparams * sizeof *fd);
    assert_non_null(p);
    assert_non_null(fd);
    dnet dn = { c, p, {0} };
    for (size_t i = 0; i < m->ntensors; i++) dn.off[i] = m->table[i].offset;
    for (size_t i = 0; i < m->nparams; i++) p[i] = m->params[i];
    double loss0 = dloss(&dn, x);
    double lib_loss = sums.loss / (double)(rows * D);
    if (fabs(loss0 - lib_loss) > 1e-6 * fabs(loss0))
        fail_msg("loss: library %.9g, double model %.9g", lib_loss, loss0);
    const double h = 1e-6;
    double gmax = 0.0;
    for (size_t i = 0; i < m->nparams; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double up = dloss(&dn, x);
        p[i] = keep - h;
        double down = dloss(&dn, x);
        p[i] = keep;
        fd[i] = (up - down) / (2 * h);
        if (fabs(fd[i]) > gmax) gmax = fabs(fd[i]);
    }
    assert_true(gmax > 0.0);

    /* per tensor, worst element named on failure */
    for (size_t i = 0; i < m->ntensors; i++) {
        const param_entry *e = &m->table[i];
        double worst = -1.0, tmax = 0.0;
        size_t wi = 0;
        for (size_t j = 0; j < e->size; j++) {
            if (fabs(fd[e->offset + j]) > tmax) tmax = fabs(fd[e->offset + j]);
            double err = fabs((double)grad[e->offset + j] - fd[e->offset + j]);
            if (err > worst || isnan(err)) { worst = err; wi = j; }
        }
        double tol = 1e-4 * tmax + 1e-7 * gmax;
        if (!(worst <= tol))
            fail_msg("D=%d H=%d Z=%d K=%d %s: grad %s[%zu] library %.9g, finite "
                     "difference %.9g, |diff| %.3g > tol %.3g (1e-4 * %.3g + 1e-7 * %.3g)",
                     c->D, c->H, c->Z, c->K, c->loss == LSTMAE_LOSS_BCE ? "bce" : "mse",
                     e->name, wi, (double)grad[e->offset + wi], fd[e->offset + wi],
                     worst, tol, tmax, gmax);
    }

    /* encode against the double model (independent forward check) */
    float *lat = malloc(n * (size_t)c->Z * sizeof *lat);
    float *want = malloc(n * (size_t)c->Z * sizeof *want);
    assert_non_null(lat);
    assert_non_null(want);
    lstmae_sequences s = { x, c->lengths, n, T };
    assert_int_equal(lstmae_encode(m, &s, lat), LSTMAE_OK);
    for (size_t i = 0; i < n; i++) {
        double z[64];
        dencode(&dn, x + i * T * D, (size_t)c->lengths[i], z);
        for (int j = 0; j < c->Z; j++) want[i * (size_t)c->Z + (size_t)j] = (float)z[j];
    }
    tu_assert_close("latent vs double model", lat, want, n * (size_t)c->Z, 2e-6, 1e-7);

    free(lat);
    free(want);
    free(p);
    free(fd);
    free(grad);
    workspace_free(&ws);
    free(x);
    lstmae_free(m);
}

static const gcase cases[] = {
    /* D  H  Z  K  loss            n  T  lengths (0 and max_len included) */
    { 3, 4, 2, 1, LSTMAE_LOSS_BCE, 4, 5, {5, 0, 3, 1} },
    { 2, 3, 5, 1, LSTMAE_LOSS_MSE, 3, 4, {4, 2, 4} },          /* Z > H  */
    { 1, 4, 3, 2, LSTMAE_LOSS_MSE, 4, 6, {6, 1, 0, 4} },       /* D = 1  */
    { 2, 3, 2, 3, LSTMAE_LOSS_BCE, 3, 4, {4, 3, 2} },          /* K = 3  */
    { 3, 5, 4, 2, LSTMAE_LOSS_BCE, 3, 1, {1, 0, 1} },          /* T = 1  */
    { 1, 2, 3, 3, LSTMAE_LOSS_MSE, 1, 3, {3} },                /* n = 1  */
};

static void test_case(void **state)
{
    const gcase *c = *state;
    run_case(c, (uint64_t)(c - cases) + 11u);
}

int main(void)
{
    struct CMUnitTest tests[sizeof cases / sizeof cases[0]];
    static char names[sizeof cases / sizeof cases[0]][80];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const gcase *c = &cases[i];
        snprintf(names[i], sizeof names[i], "gradcheck_D%d_H%d_Z%d_K%d_%s_T%zu", c->D,
                 c->H, c->Z, c->K, c->loss == LSTMAE_LOSS_BCE ? "bce" : "mse", c->T);
        tests[i] = (struct CMUnitTest){ names[i], test_case, NULL, NULL, (void *)c };
    }
    return cmocka_run_group_tests_name("gradcheck", tests, NULL, NULL);
}

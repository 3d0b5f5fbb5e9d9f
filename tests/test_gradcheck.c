/*
 * test_gradcheck.c - an independent, naive double-precision implementation
 * of MODEL.md (the default network and every variant: GRU cell,
 * bidirectional encoder, reversed target, decoder state from the latent
 * vector, decoder feedback, the three losses), used twice:
 *
 *   double_model_vs_reference_<file>
 *       The double model, loaded BY NAME from a reference case (PyTorch in
 *       float64, rounded to float32; MODEL.md "Reference cases"), against
 *       the case's `loss`, `latent` and `reconstruction`, and its central
 *       finite differences against the case's `grad.*`. This validates the
 *       double model itself, without the library.
 *
 *   gradcheck_<case>
 *       The library's float gradient, through the internal drivers
 *       (ae_encode / ae_decode / ae_loss / ae_backward), against central
 *       finite differences of the double model loaded BY NAME from the
 *       model's parameter table (whose names, order and sizes must be
 *       MODEL.md's); plus the library's loss, lstmae_encode and
 *       lstmae_reconstruct against the double model. The loss is the mean
 *       over the valid elements (bce, mse) or the valid steps
 *       (cross-entropy), so ae_loss's scale is 1 / (D * sum L) or
 *       1 / sum L by loss kind.
 *
 * Usage: test_gradcheck DIR...   (every *.txt reference case in each
 *                                 directory, sorted by name; at least one)
 *
 * Tolerances.
 *   Against the reference: the file's values are float64 rounded to
 *   float32 (relative rounding 6e-8), so loss, latent and reconstruction
 *   must agree to 1e-6 x the tensor's largest magnitude. The gradient by
 *   central differences (h = 1e-6) is accurate to ~1e-9 absolute; grad.*
 *   must agree to 1e-6 x max|grad tensor| + 1e-7 x max|grad, whole model|.
 *   Against the library: the double forward is exact to ~1e-15, so the
 *   finite differences are accurate to ~1e-9 absolute. The float gradient
 *   carries float32 rounding: per parameter tensor,
 *       max |g_lib - g_fd| <= 1e-4 * max|g_fd in that tensor|
 *                            + 1e-7 * max|g_fd in the whole model|.
 *   (The second term: tensors far from the loss, e.g. the bottom encoder
 *   layer of a deep stack, can have gradients near float's rounding floor
 *   relative to the rest. Observed errors are ~1e-6 of the tensor's
 *   largest entry; a 1% error in one gate's derivative fails.)
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lstmae.h>

#include "autoenc.h"
#include "model.h"
#include "refcase.h"
#include "testutil.h"
#include "workspace.h"

/* Size limits of the double model (fixed arrays; checked when binding). */
#define DMAX_H 32       /* hidden                                   */
#define DMAX_V 64       /* any vector: 2H, Z + D, D, Z              */
#define DMAX_G (4 * DMAX_H)
#define DMAX_K 3        /* layers                                   */
#define DMAX_T 16       /* steps                                    */
#define DMAX_TENSORS 64

/* ---- the double model ---------------------------------------------------- */

typedef struct dcfg {
    int D, H, Z, K;
    lstmae_loss loss;
    int gru, bidir, rev, init_latent, feedback;
} dcfg;

/* One direction of one recurrent layer. LSTM: wih [4H][in], whh [4H][H],
   b [4H]. GRU: wih [3H][in], whh [3H][H], bih [3H], bhh [3H]. */
typedef struct ddir {
    const double *wih, *whh, *b, *bih, *bhh;
    size_t in;
} ddir;

typedef struct dmodel {
    dcfg c;
    ddir enc[DMAX_K][2], dec[DMAX_K];
    const double *wz, *bz;              /* [Z][H or 2H], [Z]  */
    const double *wb[DMAX_K], *bb[DMAX_K]; /* [H][Z], [H]     */
    const double *wo, *bo;              /* [D][H], [D]        */
} dmodel;

/* A tensor of MODEL.md: its name, size and the pointer it binds. */
typedef struct dslot {
    char name[48];
    size_t size;
    const double **ptr;
} dslot;

typedef struct dslots {
    dslot s[DMAX_TENSORS];
    size_t n;
} dslots;

static void slot_add(dslots *l, const double **ptr, size_t size, const char *fmt, int k,
                     const char *suffix)
{
    assert_true(l->n < DMAX_TENSORS);
    dslot *s = &l->s[l->n++];
    char base[40];
    snprintf(base, sizeof base, fmt, k);
    snprintf(s->name, sizeof s->name, "%s%s", base, suffix);
    s->size = size;
    s->ptr = ptr;
}

static void slots_cell(dslots *l, const dcfg *c, ddir *d, const char *prefix, int k,
                       const char *suffix, size_t in)
{
    size_t H = (size_t)c->H, G = (c->gru ? 3u : 4u) * H;
    char f[40];
    d->in = in;
    snprintf(f, sizeof f, "%s.%%d.weight_ih", prefix);
    slot_add(l, &d->wih, G * in, f, k, suffix);
    snprintf(f, sizeof f, "%s.%%d.weight_hh", prefix);
    slot_add(l, &d->whh, G * H, f, k, suffix);
    if (c->gru) {
        snprintf(f, sizeof f, "%s.%%d.bias_ih", prefix);
        slot_add(l, &d->bih, G, f, k, suffix);
        snprintf(f, sizeof f, "%s.%%d.bias_hh", prefix);
        slot_add(l, &d->bhh, G, f, k, suffix);
    } else {
        snprintf(f, sizeof f, "%s.%%d.bias", prefix);
        slot_add(l, &d->b, G, f, k, suffix);
    }
}

/* MODEL.md's tensors for m->c, in MODEL.md's order ("Parameter order
   overall"), each bound to its pointer in *m. */
static void dmodel_slots(dmodel *m, dslots *l)
{
    const dcfg *c = &m->c;
    size_t D = (size_t)c->D, H = (size_t)c->H, Z = (size_t)c->Z;
    size_t dirs = c->bidir ? 2u : 1u;
    if (!(c->K >= 1 && c->K <= DMAX_K && c->H >= 1 && c->H <= DMAX_H && c->D >= 1 &&
          c->Z >= 1 && Z + D <= DMAX_V))
        fail_msg("D %d H %d Z %d K %d: outside the double model's limits (K <= %d, "
                 "H <= %d, Z + D <= %d)", c->D, c->H, c->Z, c->K, DMAX_K, DMAX_H, DMAX_V);
    l->n = 0;
    for (int k = 0; k < c->K; k++) {
        size_t in = k == 0 ? D : dirs * H;
        slots_cell(l, c, &m->enc[k][0], "encoder", k, "", in);
        if (c->bidir)
            slots_cell(l, c, &m->enc[k][1], "encoder", k, "_reverse", in);
    }
    slot_add(l, &m->wz, Z * dirs * H, "latent.weight", 0, "");
    slot_add(l, &m->bz, Z, "latent.bias", 0, "");
    if (c->init_latent)
        for (int k = 0; k < c->K; k++) {
            slot_add(l, &m->wb[k], H * Z, "bridge.%d.weight", k, "");
            slot_add(l, &m->bb[k], H, "bridge.%d.bias", k, "");
        }
    for (int k = 0; k < c->K; k++)
        slots_cell(l, c, &m->dec[k], "decoder", k, "",
                   k == 0 ? Z + (c->feedback ? D : 0) : H);
    slot_add(l, &m->wo, D * H, "output.weight", 0, "");
    slot_add(l, &m->bo, D, "output.bias", 0, "");
}

static double dsig(double x) { return 1.0 / (1.0 + exp(-x)); }

/* y[r] = b[r] + sum_j w[r][j] u[j], r < rows (b may be NULL). */
static void dmatvec(const double *w, const double *b, const double *u, size_t rows,
                    size_t cols, double *y)
{
    for (size_t r = 0; r < rows; r++) {
        double s = b ? b[r] : 0.0;
        for (size_t j = 0; j < cols; j++) s += w[r * cols + j] * u[j];
        y[r] = s;
    }
}

/* One step of a cell: h (and c, LSTM) [H] updated in place from u [d->in]. */
static void dstep(const dcfg *cf, const ddir *d, const double *u, double *h, double *c)
{
    size_t H = (size_t)cf->H;
    if (cf->gru) {
        double ai[3 * DMAX_H], ah[3 * DMAX_H];
        dmatvec(d->wih, d->bih, u, 3 * H, d->in, ai);
        dmatvec(d->whh, d->bhh, h, 3 * H, H, ah);
        for (size_t j = 0; j < H; j++) {
            double r = dsig(ai[j] + ah[j]);
            double zg = dsig(ai[H + j] + ah[H + j]);
            double n = tanh(ai[2 * H + j] + r * ah[2 * H + j]);
            h[j] = (1.0 - zg) * n + zg * h[j];
        }
    } else {
        double a[4 * DMAX_H], hh[4 * DMAX_H];
        dmatvec(d->wih, d->b, u, 4 * H, d->in, a);
        dmatvec(d->whh, NULL, h, 4 * H, H, hh);
        for (size_t g = 0; g < 4 * H; g++) a[g] += hh[g];
        for (size_t j = 0; j < H; j++) {
            double i = dsig(a[j]), f = dsig(a[H + j]), gg = tanh(a[2 * H + j]),
                   o = dsig(a[3 * H + j]);
            c[j] = f * c[j] + i * gg;
            h[j] = o * tanh(c[j]);
        }
    }
}

/* Latent vector z [Z] of the sequence x [L][D]. */
static void dencode(const dmodel *m, const double *x, size_t L, double *z)
{
    const dcfg *c = &m->c;
    size_t D = (size_t)c->D, H = (size_t)c->H, dirs = c->bidir ? 2u : 1u;
    static double seq[2][DMAX_T][DMAX_V];
    double henc[DMAX_V] = {0};
    assert_true(L <= DMAX_T);
    for (size_t t = 0; t < L; t++)
        for (size_t d = 0; d < D; d++) seq[0][t][d] = x[t * D + d];
    int cur = 0;
    for (int k = 0; k < c->K; k++) {
        for (size_t dir = 0; dir < dirs; dir++) {
            double h[DMAX_H] = {0}, cs[DMAX_H] = {0};
            for (size_t s = 0; s < L; s++) {
                size_t t = dir ? L - 1 - s : s;
                dstep(c, &m->enc[k][dir], seq[cur][t], h, cs);
                memcpy(&seq[1 - cur][t][dir * H], h, H * sizeof *h);
            }
            /* forward: h after step L-1; backward: h after step 0 */
            if (k == c->K - 1) memcpy(&henc[dir * H], h, H * sizeof *h);
        }
        cur = 1 - cur;
    }
    dmatvec(m->wz, m->bz, henc, (size_t)c->Z, dirs * H, z);
}

/* The loss summed over one sequence x [L][D] (the caller divides by the
   valid elements, or the valid steps for cross-entropy). With recon not
   NULL, writes the reconstruction in the data's time order, recon [L][D]:
   sigmoid (bce), value (mse) or softmax (cross-entropy). */
static double dseq_loss(const dmodel *m, const double *x, size_t L, double *recon)
{
    const dcfg *c = &m->c;
    size_t D = (size_t)c->D, H = (size_t)c->H, Z = (size_t)c->Z, K = (size_t)c->K;
    double z[DMAX_V], h[DMAX_K][DMAX_H], cs[DMAX_K][DMAX_H] = {{0}}, u[DMAX_V], y[DMAX_V];
    double total = 0.0;
    dencode(m, x, L, z);
    for (size_t k = 0; k < K; k++) {
        if (c->init_latent) {
            dmatvec(m->wb[k], m->bb[k], z, H, Z, h[k]);
            for (size_t j = 0; j < H; j++) h[k][j] = tanh(h[k][j]);
        } else {
            for (size_t j = 0; j < H; j++) h[k][j] = 0.0;
        }
    }
    for (size_t t = 0; t < L; t++) {
        const double *tgt = x + (c->rev ? L - 1 - t : t) * D;
        memcpy(u, z, Z * sizeof *u);
        if (c->feedback) {
            /* prev_0 = 0; then the previous target step (teacher forcing) */
            for (size_t d = 0; d < D; d++)
                u[Z + d] = t == 0 ? 0.0 : x[(c->rev ? L - t : t - 1) * D + d];
        }
        for (size_t k = 0; k < K; k++) {
            dstep(c, &m->dec[k], u, h[k], cs[k]);
            memcpy(u, h[k], H * sizeof *u);
        }
        dmatvec(m->wo, m->bo, h[K - 1], D, H, y);
        double *out = recon ? recon + (c->rev ? L - 1 - t : t) * D : NULL;
        if (c->loss == LSTMAE_LOSS_CROSS_ENTROPY) {
            double mx = y[0];
            for (size_t d = 1; d < D; d++) mx = y[d] > mx ? y[d] : mx;
            double se = 0.0;
            for (size_t d = 0; d < D; d++) se += exp(y[d] - mx);
            double lse = mx + log(se);
            for (size_t d = 0; d < D; d++) {
                total += tgt[d] * (lse - y[d]);
                if (out) out[d] = exp(y[d] - lse);
            }
        } else {
            for (size_t d = 0; d < D; d++) {
                double xv = tgt[d];
                if (c->loss == LSTMAE_LOSS_BCE) {
                    total += (y[d] > 0 ? y[d] : 0) - y[d] * xv + log1p(exp(-fabs(y[d])));
                    if (out) out[d] = dsig(y[d]);
                } else {
                    total += (y[d] - xv) * (y[d] - xv);
                    if (out) out[d] = y[d];
                }
            }
        }
    }
    return total;
}

/* Mean loss over the valid elements (steps, cross-entropy) of the set
   x [n][T][D]. */
static double dloss(const dmodel *m, const double *x, const int32_t *lengths, size_t n,
                    size_t T)
{
    size_t D = (size_t)m->c.D;
    double total = 0.0, count = 0.0;
    for (size_t s = 0; s < n; s++) {
        size_t L = (size_t)lengths[s];
        total += dseq_loss(m, x + s * T * D, L, NULL);
        count += (double)L * (m->c.loss == LSTMAE_LOSS_CROSS_ENTROPY ? 1.0 : (double)D);
    }
    return total / count;
}

/* Central differences of dloss at p (perturbed in place, restored), into
   fd [count]; returns max |fd|. */
static double dfinite_diff(const dmodel *m, double *p, size_t count, const double *x,
                           const int32_t *lengths, size_t n, size_t T, double *fd)
{
    const double h = 1e-6;
    double gmax = 0.0;
    for (size_t i = 0; i < count; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double up = dloss(m, x, lengths, n, T);
        p[i] = keep - h;
        double down = dloss(m, x, lengths, n, T);
        p[i] = keep;
        fd[i] = (up - down) / (2 * h);
        if (fabs(fd[i]) > gmax) gmax = fabs(fd[i]);
    }
    return gmax;
}

static const char *loss_name(lstmae_loss l)
{
    return l == LSTMAE_LOSS_BCE ? "bce" : l == LSTMAE_LOSS_MSE ? "mse" : "ce";
}

/* ---- the double model against the PyTorch reference cases --------------- */

/* Worst |got - want| over n values against rel * max|want| + abs; fails
   the test naming `what`. Returns the worst error relative to max|want|. */
static double expect_close_d(const char *file, const char *what, const double *got,
                             const double *want, size_t n, double rel, double abs_tol)
{
    double wmax = 0.0, worst = -1.0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(want[i]) > wmax) wmax = fabs(want[i]);
    for (size_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]);
        if (e > worst || isnan(e)) { worst = e; wi = i; }
    }
    if (n > 0 && !(worst <= rel * wmax + abs_tol))
        fail_msg("%s: %s[%zu] double model %.12g, reference %.12g, |diff| %.3g > "
                 "tol %.3g (%.0e * max %.3g + %.0e)",
                 file, what, wi, got[wi], want[wi], worst, rel * wmax + abs_tol, rel,
                 wmax, abs_tol);
    return n > 0 && wmax > 0 ? worst / wmax : 0.0;
}

static const refcase_tensor *need(const refcase *rc, const char *file, const char *name,
                                  size_t count)
{
    const refcase_tensor *t = refcase_find(rc, name);
    if (t == NULL)
        fail_msg("%s: no tensor '%s'", file, name);
    if (t->count != count)
        fail_msg("%s: tensor '%s' has %zu values, want %zu", file, name, t->count, count);
    return t;
}

static void test_vs_reference(void **state)
{
    const char *path = *state;
    const char *file = strrchr(path, '/');
    file = file ? file + 1 : path;
    char err[512];
    refcase *rc = NULL;
    if (refcase_load(path, &rc, err, sizeof err) != 0)
        fail_msg("%s", err);

    dmodel m;
    memset(&m, 0, sizeof m);
    m.c = (dcfg){ rc->input_dim, rc->hidden_dim, rc->latent_dim, rc->num_layers,
                  rc->is_ce ? LSTMAE_LOSS_CROSS_ENTROPY
                            : rc->is_bce ? LSTMAE_LOSS_BCE : LSTMAE_LOSS_MSE,
                  rc->cell_gru, rc->bidirectional, rc->reverse_target,
                  rc->decoder_init_latent, rc->decoder_feedback };
    size_t D = (size_t)m.c.D, Z = (size_t)m.c.Z, n = rc->n, T = rc->max_len;
    if (T > DMAX_T)
        fail_msg("%s: max_len %zu > %d, the double model's limit", file, T, DMAX_T);

    /* Every tensor by its MODEL.md name, copied into one block (perturbed
       by the finite differences), then bound. */
    dslots l;
    dmodel_slots(&m, &l);
    size_t total = 0;
    for (size_t i = 0; i < l.n; i++) total += l.s[i].size;
    double *p = malloc(total * sizeof *p);
    double *fd = malloc(total * sizeof *fd);
    double *gwant = malloc(total * sizeof *gwant);
    double *recon = calloc(n * T * D, sizeof *recon);
    double *lat = malloc(n * Z * sizeof *lat);
    int32_t *lengths = malloc(n * sizeof *lengths);
    assert_non_null(p);
    assert_non_null(fd);
    assert_non_null(gwant);
    assert_non_null(recon);
    assert_non_null(lat);
    assert_non_null(lengths);
    size_t off[DMAX_TENSORS];
    for (size_t i = 0, o = 0; i < l.n; i++) {
        const refcase_tensor *t = need(rc, file, l.s[i].name, l.s[i].size);
        char gname[64];
        snprintf(gname, sizeof gname, "grad.%s", l.s[i].name);
        const refcase_tensor *g = need(rc, file, gname, l.s[i].size);
        memcpy(p + o, t->values64, t->count * sizeof *p);
        memcpy(gwant + o, g->values64, g->count * sizeof *gwant);
        *l.s[i].ptr = p + o;
        off[i] = o;
        o += l.s[i].size;
    }
    /* nothing in the file that looks like a parameter is left unused */
    size_t nparam_tensors = 0;
    for (size_t i = 0; i < rc->num_tensors; i++)
        if (strncmp(rc->tensors[i].name, "grad.", 5) == 0) nparam_tensors++;
    if (nparam_tensors != l.n)
        fail_msg("%s: %zu grad.* tensors, the double model has %zu parameters tensors",
                 file, nparam_tensors, l.n);

    const refcase_tensor *in = need(rc, file, "input", n * T * D);
    const refcase_tensor *len = need(rc, file, "lengths", n);
    for (size_t i = 0; i < n; i++) {
        double v = len->values64[i];
        if (!(v >= 0 && v <= (double)T && v == floor(v)))
            fail_msg("%s: lengths[%zu] = %g", file, i, v);
        lengths[i] = (int32_t)v;
    }
    const double *x = in->values64;

    /* forward: loss, latent, reconstruction */
    double loss = dloss(&m, x, lengths, n, T);
    for (size_t i = 0; i < n; i++) {
        dencode(&m, x + i * T * D, (size_t)lengths[i], lat + i * Z);
        dseq_loss(&m, x + i * T * D, (size_t)lengths[i], recon + i * T * D);
    }
    const refcase_tensor *lw = need(rc, file, "loss", 1);
    const refcase_tensor *zw = need(rc, file, "latent", n * Z);
    const refcase_tensor *rw = need(rc, file, "reconstruction", n * T * D);
    double e_loss = expect_close_d(file, "loss", &loss, lw->values64, 1, 1e-6, 0.0);
    double e_lat = expect_close_d(file, "latent", lat, zw->values64, n * Z, 1e-6, 0.0);
    double e_rec = expect_close_d(file, "reconstruction", recon, rw->values64, n * T * D,
                                  1e-6, 0.0);

    /* gradient: finite differences of the double model against grad.* */
    double gmax = dfinite_diff(&m, p, total, x, lengths, n, T, fd);
    double e_grad = 0.0, e_grad_tol = 0.0;
    for (size_t i = 0; i < l.n; i++) {
        char what[64];
        snprintf(what, sizeof what, "grad.%s", l.s[i].name);
        double e = expect_close_d(file, what, fd + off[i], gwant + off[i], l.s[i].size,
                                  1e-6, 1e-7 * gmax);
        double tmax = 0.0;
        for (size_t j = 0; j < l.s[i].size; j++)
            if (fabs(gwant[off[i] + j]) > tmax) tmax = fabs(gwant[off[i] + j]);
        /* e is relative to tmax; as a share of the tolerance: */
        double share = e * tmax / (1e-6 * tmax + 1e-7 * gmax);
        if (e * tmax / gmax > e_grad) e_grad = e * tmax / gmax;
        if (share > e_grad_tol) e_grad_tol = share;
    }
    printf("[ FIGURES  ] %s (%s%s%s%s%s, %s, K %d): loss %.12g vs %.12g (rel %.2g); worst "
           "relative to the tensor's max: latent %.2g, reconstruction %.2g; grad: worst "
           "|diff| / max|grad| %.2g, %.0f%% of the tolerance\n",
           file, m.c.gru ? "gru" : "lstm", m.c.bidir ? " bidir" : "",
           m.c.rev ? " reverse" : "", m.c.init_latent ? " init-latent" : "",
           m.c.feedback ? " feedback" : "", loss_name(m.c.loss), m.c.K, loss,
           lw->values64[0], e_loss, e_lat, e_rec, e_grad, 100.0 * e_grad_tol);

    free(p);
    free(fd);
    free(gwant);
    free(recon);
    free(lat);
    free(lengths);
    refcase_free(rc);
}

/* ---- the library against the double model ------------------------------- */

typedef struct gcase {
    const char *tag;
    dcfg c;
    size_t n, T;
    int32_t lengths[8];
} gcase;

static void run_case(const gcase *gc, uint64_t seed)
{
    const dcfg *c = &gc->c;
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = c->D;
    cfg.hidden_dim = c->H;
    cfg.latent_dim = c->Z;
    cfg.num_layers = c->K;
    cfg.loss = c->loss;
    cfg.seed = seed;
    cfg.cell = c->gru ? LSTMAE_CELL_GRU : LSTMAE_CELL_LSTM;
    cfg.bidirectional = c->bidir;
    cfg.reverse_target = c->rev;
    cfg.decoder_init = c->init_latent ? LSTMAE_DECODER_INIT_LATENT : LSTMAE_DECODER_INIT_ZERO;
    cfg.decoder_feedback = c->feedback;
    lstmae_model *m = NULL;
    int st = lstmae_create(&cfg, &m);
    if (st != LSTMAE_OK)
        fail_msg("%s: lstmae_create: %s", gc->tag, lstmae_strerror(st));

    size_t D = (size_t)c->D, Z = (size_t)c->Z, T = gc->T, n = gc->n;
    const int ce = c->loss == LSTMAE_LOSS_CROSS_ENTROPY;

    /* the model's table is MODEL.md's: names, order, sizes */
    dmodel dm;
    memset(&dm, 0, sizeof dm);
    dm.c = *c;
    dslots l;
    dmodel_slots(&dm, &l);
    if (m->ntensors != l.n)
        fail_msg("%s: the model has %zu tensors, MODEL.md %zu", gc->tag, m->ntensors, l.n);
    double *p = malloc(m->nparams * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < l.n; i++) {
        const param_entry *e = &m->table[i];
        if (strcmp(e->name, l.s[i].name) != 0 || e->size != l.s[i].size)
            fail_msg("%s: tensor %zu is %s [%zu floats], MODEL.md's is %s [%zu]", gc->tag, i,
                     e->name, e->size, l.s[i].name, l.s[i].size);
        /* bound by name: the table's offset of the tensor called so */
        long at = params_find(m->table, m->ntensors, l.s[i].name);
        assert_true(at >= 0);
        *l.s[i].ptr = p + m->table[at].offset;
    }
    for (size_t i = 0; i < m->nparams; i++) p[i] = m->params[i];

    /* data: bce 0/1, mse uniform [-1, 1), ce one-hot or a soft
       distribution per step */
    float *x = malloc(n * T * D * sizeof *x);
    double *xd = malloc(n * T * D * sizeof *xd);
    assert_non_null(x);
    assert_non_null(xd);
    uint64_t rs = seed * 7919u + 1u;
    for (size_t s = 0; s < n * T; s++) {
        float *v = x + s * D;
        if (c->loss == LSTMAE_LOSS_BCE) {
            for (size_t d = 0; d < D; d++) v[d] = tu_rand_u64(&rs) & 1 ? 1.0f : 0.0f;
        } else if (c->loss == LSTMAE_LOSS_MSE) {
            tu_fill_uniform(&rs, v, D, -1.0f, 1.0f);
        } else if (tu_rand_u64(&rs) & 1) {
            for (size_t d = 0; d < D; d++) v[d] = 0.0f;
            v[tu_rand_u64(&rs) % D] = 1.0f;
        } else {
            float sum = 0.0f;
            tu_fill_uniform(&rs, v, D, 0.0f, 1.0f);
            for (size_t d = 0; d < D; d++) sum += v[d];
            for (size_t d = 0; d < D; d++) v[d] /= sum;
        }
    }
    for (size_t i = 0; i < n * T * D; i++) xd[i] = (double)x[i];

    /* analytic gradient through the library's drivers */
    ae_net net = model_net(m);
    ae_ws ws;
    assert_int_equal(workspace_plan(&ws, &m->plan, n, T, 1, &m->alloc), LSTMAE_OK);
    size_t idx[8];
    for (size_t i = 0; i < n; i++) idx[i] = i;
    size_t rows = workspace_load(&ws, x, gc->lengths, T, D, idx, n);
    assert_true(rows > 0);
    /* the mean over valid elements; cross-entropy: over valid steps */
    double count = ce ? (double)rows : (double)(rows * D);
    float *grad = calloc(m->nparams, sizeof *grad);
    assert_non_null(grad);
    loss_sums sums = {0, 0};
    ae_encode(&net, &ws);
    ae_decode(&net, &ws);
    ae_loss(&net, &ws, (float)(1.0 / count), &sums);
    ae_backward(&net, &ws, grad);

    double loss0 = dloss(&dm, xd, gc->lengths, n, T);
    double lib_loss = sums.loss / count;
    if (!(fabs(loss0 - lib_loss) <= 1e-6 * fabs(loss0)))
        fail_msg("%s: loss: library %.9g, double model %.9g", gc->tag, lib_loss, loss0);

    /* finite differences of the double model */
    double *fd = malloc(m->nparams * sizeof *fd);
    assert_non_null(fd);
    double gmax = dfinite_diff(&dm, p, m->nparams, xd, gc->lengths, n, T, fd);
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
            fail_msg("%s: grad %s[%zu] library %.9g, finite difference %.9g, |diff| %.3g "
                     "> tol %.3g (1e-4 * %.3g + 1e-7 * %.3g)",
                     gc->tag, e->name, wi, (double)grad[e->offset + wi], fd[e->offset + wi],
                     worst, tol, tmax, gmax);
    }

    /* encode and reconstruct against the double model (forward checks) */
    float *lat = malloc(n * Z * sizeof *lat);
    float *zwant = malloc(n * Z * sizeof *zwant);
    float *rec = malloc(n * T * D * sizeof *rec);
    float *rwant = calloc(n * T * D, sizeof *rwant);
    double *rd = malloc(T * D * sizeof *rd + 1);
    assert_non_null(lat);
    assert_non_null(zwant);
    assert_non_null(rec);
    assert_non_null(rwant);
    assert_non_null(rd);
    lstmae_sequences s = { x, gc->lengths, n, T };
    tu_expect_status("lstmae_encode", lstmae_encode(m, &s, lat), LSTMAE_OK);
    tu_expect_status("lstmae_reconstruct", lstmae_reconstruct(m, &s, rec), LSTMAE_OK);
    for (size_t i = 0; i < n; i++) {
        size_t L = (size_t)gc->lengths[i];
        double z[DMAX_V];
        dencode(&dm, xd + i * T * D, L, z);
        for (size_t j = 0; j < Z; j++) zwant[i * Z + j] = (float)z[j];
        dseq_loss(&dm, xd + i * T * D, L, rd);
        for (size_t j = 0; j < L * D; j++) rwant[i * T * D + j] = (float)rd[j];
    }
    tu_assert_close("latent vs double model", lat, zwant, n * Z, 2e-6, 1e-7);
    tu_assert_close("reconstruction vs double model", rec, rwant, n * T * D, 2e-6, 1e-7);

    free(lat);
    free(zwant);
    free(rec);
    free(rwant);
    free(rd);
    free(p);
    free(fd);
    free(grad);
    workspace_free(&ws);
    free(x);
    free(xd);
    lstmae_free(m);
}

#define BCE LSTMAE_LOSS_BCE
#define MSE LSTMAE_LOSS_MSE
#define CE LSTMAE_LOSS_CROSS_ENTROPY
/* dcfg: D H Z K loss, gru bidir rev init_latent feedback */
static const gcase cases[] = {
    /* the default network (LSTM), as before: 0 and max_len lengths */
    { "lstm_bce_K1", { 3, 4, 2, 1, BCE, 0, 0, 0, 0, 0 }, 4, 5, {5, 0, 3, 1} },
    { "lstm_mse_K1_z_gt_h", { 2, 3, 5, 1, MSE, 0, 0, 0, 0, 0 }, 3, 4, {4, 2, 4} },
    { "lstm_mse_K2_d1", { 1, 4, 3, 2, MSE, 0, 0, 0, 0, 0 }, 4, 6, {6, 1, 0, 4} },
    { "lstm_bce_K3", { 2, 3, 2, 3, BCE, 0, 0, 0, 0, 0 }, 3, 4, {4, 3, 2} },
    { "lstm_bce_K2_t1", { 3, 5, 4, 2, BCE, 0, 0, 0, 0, 0 }, 3, 1, {1, 0, 1} },
    { "lstm_mse_K3_n1", { 1, 2, 3, 3, MSE, 0, 0, 0, 0, 0 }, 1, 3, {3} },
    { "lstm_ce_K1", { 4, 4, 3, 1, CE, 0, 0, 0, 0, 0 }, 4, 5, {5, 0, 1, 3} },
    /* GRU, the default otherwise */
    { "gru_bce_K1", { 3, 4, 2, 1, BCE, 1, 0, 0, 0, 0 }, 4, 5, {5, 0, 3, 1} },
    { "gru_mse_K2", { 2, 3, 4, 2, MSE, 1, 0, 0, 0, 0 }, 4, 4, {4, 1, 0, 2} },
    { "gru_bce_K3", { 2, 3, 2, 3, BCE, 1, 0, 0, 0, 0 }, 3, 4, {4, 3, 1} },
    { "gru_ce_K1", { 3, 4, 3, 1, CE, 1, 0, 0, 0, 0 }, 4, 5, {5, 0, 1, 3} },
    /* each variant alone, for each cell */
    { "lstm_bidir_mse_K2", { 2, 3, 3, 2, MSE, 0, 1, 0, 0, 0 }, 4, 5, {5, 1, 0, 3} },
    { "gru_bidir_bce_K2", { 3, 3, 2, 2, BCE, 1, 1, 0, 0, 0 }, 4, 5, {5, 1, 0, 3} },
    { "lstm_reverse_bce_K1", { 3, 4, 2, 1, BCE, 0, 0, 1, 0, 0 }, 4, 5, {5, 0, 1, 3} },
    { "gru_reverse_mse_K2", { 2, 3, 3, 2, MSE, 1, 0, 1, 0, 0 }, 3, 4, {4, 1, 3} },
    { "lstm_initlatent_mse_K2", { 2, 3, 3, 2, MSE, 0, 0, 0, 1, 0 }, 4, 4, {4, 0, 1, 2} },
    { "gru_initlatent_bce_K1", { 3, 4, 2, 1, BCE, 1, 0, 0, 1, 0 }, 4, 5, {5, 0, 1, 3} },
    { "lstm_feedback_bce_K1", { 3, 4, 2, 1, BCE, 0, 0, 0, 0, 1 }, 4, 5, {5, 0, 1, 3} },
    { "gru_feedback_mse_K2", { 2, 3, 3, 2, MSE, 1, 0, 0, 0, 1 }, 3, 4, {4, 1, 3} },
    /* combinations */
    { "lstm_bidir_reverse_ce_K1", { 4, 3, 3, 1, CE, 0, 1, 1, 0, 0 }, 4, 5, {5, 0, 1, 4} },
    { "gru_reverse_feedback_bce_K2", { 3, 3, 2, 2, BCE, 1, 0, 1, 0, 1 }, 4, 4, {4, 1, 0, 3} },
    { "lstm_initlatent_feedback_ce_K2", { 3, 3, 2, 2, CE, 0, 0, 0, 1, 1 }, 4, 4, {4, 0, 1, 3} },
    { "gru_bidir_initlatent_mse_K3", { 2, 3, 2, 3, MSE, 1, 1, 0, 1, 0 }, 3, 4, {4, 1, 2} },
    /* all five together, the three losses, 1-3 layers */
    { "all_gru_bce_K2", { 3, 3, 2, 2, BCE, 1, 1, 1, 1, 1 }, 4, 5, {5, 0, 1, 3} },
    { "all_gru_ce_K1", { 4, 4, 3, 1, CE, 1, 1, 1, 1, 1 }, 4, 5, {5, 1, 0, 2} },
    { "all_gru_mse_K3", { 2, 3, 3, 3, MSE, 1, 1, 1, 1, 1 }, 3, 4, {4, 1, 2} },
    { "all_lstm_bce_K1", { 3, 4, 2, 1, BCE, 0, 1, 1, 1, 1 }, 4, 5, {5, 0, 1, 3} },
    { "all_lstm_mse_K2", { 2, 3, 3, 2, MSE, 0, 1, 1, 1, 1 }, 4, 4, {4, 1, 0, 3} },
    { "all_lstm_ce_K3", { 3, 3, 2, 3, CE, 0, 1, 1, 1, 1 }, 3, 4, {4, 1, 2} },
    { "all_lstm_bce_K2_t1", { 3, 3, 4, 2, BCE, 0, 1, 1, 1, 1 }, 3, 1, {1, 0, 1} },
};

static void test_case(void **state)
{
    const gcase *c = *state;
    run_case(c, (uint64_t)(c - cases) + 11u);
}

/* ---- main ---------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_fail_with_message(void **state) { fail_msg("%s", (const char *)*state); }

int main(int argc, char **argv)
{
    enum { NCASES = sizeof cases / sizeof cases[0], MAXFILES = 256 };
    static char *files[MAXFILES];
    static char names[NCASES + MAXFILES][96];
    static struct CMUnitTest tests[NCASES + MAXFILES + 1];
    static char msg[512];
    size_t nt = 0, nf = 0;

    if (argc < 2) {
        snprintf(msg, sizeof msg, "usage: %s DIR... (the reference cases for the double "
                 "model; a run without them must not pass)", argv[0]);
        tests[nt++] = (struct CMUnitTest){ "arguments", test_fail_with_message, NULL, NULL, msg };
    }
    for (int a = 1; a < argc; a++) {
        DIR *d = opendir(argv[a]);
        size_t first = nf;
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                size_t len = strlen(e->d_name);
                if (e->d_name[0] == '.' || len < 5 || strcmp(e->d_name + len - 4, ".txt") != 0)
                    continue;
                if (nf == MAXFILES) break;
                size_t sz = strlen(argv[a]) + len + 2;
                files[nf] = malloc(sz);
                if (files[nf] == NULL) break;
                snprintf(files[nf], sz, "%s/%s", argv[a], e->d_name);
                nf++;
            }
            closedir(d);
        }
        if (nf == first) {
            snprintf(msg, sizeof msg, "%s: no reference case (*.txt) could be read there",
                     argv[a]);
            tests[nt++] = (struct CMUnitTest){ "arguments", test_fail_with_message, NULL,
                                               NULL, msg };
        }
        qsort(files + first, nf - first, sizeof *files, cmp_str);
    }
    for (size_t f = 0; f < nf; f++) {
        const char *base = strrchr(files[f], '/');
        base = base ? base + 1 : files[f];
        snprintf(names[nt], sizeof names[nt], "double_model_vs_reference_%.*s",
                 (int)(strlen(base) - 4), base);
        tests[nt] = (struct CMUnitTest){ names[nt], test_vs_reference, NULL, NULL, files[f] };
        nt++;
    }
    for (size_t i = 0; i < NCASES; i++) {
        snprintf(names[nt], sizeof names[nt], "gradcheck_%s", cases[i].tag);
        tests[nt] = (struct CMUnitTest){ names[nt], test_case, NULL, NULL, (void *)&cases[i] };
        nt++;
    }
    int failed = _cmocka_run_group_tests("gradcheck", tests, nt, NULL, NULL);
    for (size_t f = 0; f < nf; f++) free(files[f]);
    return failed ? 1 : 0;
}

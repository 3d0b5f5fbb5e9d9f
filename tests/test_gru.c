/* test_gru.c - the GRU cell kind (lib/gru.c), one layer at a time,
   white-box: the layer is called directly through its cell_kind on
   packed batches of variable lengths (0 and 1 included), with a
   per-step input and with a repeated one (the decoder's z).

   (a) forward against a double precision reference written here;
   (b) backward (the four tensors' gradients and the input's) against that
       reference's gradients, and those against central finite
       differences in double;
   (c) both against PyTorch's nn.GRU (tests/data/gru, written by
       tests/gen_gru_layer.py);
   (d) padding never read: NaN in the padding of the input and of dL/dh,
       and in every output and scratch buffer beforehand, changes no bit.
   The loss is sum(h * R) over the valid steps, R fixed, so dL/dh = R.
   Every check runs with the packed weights (wpack) and without (CBLAS). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "cellkind.h"
#include "gru.h"

enum { MAXB = 8 };

typedef struct gcase {
    size_t D, H, B, T;
    int repeat;
    size_t len[MAXB];
} gcase;

/* Sizes: the parameter vector is weight_ih | weight_hh | bias_ih | bias_hh. */
static size_t n_wih(const gcase *c) { return 3 * c->H * c->D; }
static size_t n_whh(const gcase *c) { return 3 * c->H * c->H; }
static size_t n_par(const gcase *c) { return n_wih(c) + n_whh(c) + 6 * c->H; }
static size_t n_in(const gcase *c) { return c->repeat ? c->B * c->D : c->B * c->T * c->D; }
static size_t n_out(const gcase *c) { return c->B * c->T * c->H; }

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

/* The reference, in double, one sequence at a time over its valid steps:
   returns sum(h * R); h [B][T][H] (padding left alone) if not NULL; the
   gradients added into gP and gX if not NULL. */
static double ref_run(const gcase *c, const double *P, const double *X, const double *R,
                      double *hout, double *gP, double *gX)
{
    size_t D = c->D, H = c->H, G = 3 * H, T = c->T;
    const double *wih = P, *whh = P + n_wih(c), *bih = whh + n_whh(c), *bhh = bih + G;
    double *gwih = gP, *gwhh = gP ? gP + n_wih(c) : NULL;
    double *gbih = gP ? gwhh + n_whh(c) : NULL, *gbhh = gP ? gbih + G : NULL;
    double *hs = calloc((T + 1) * H, sizeof *hs), *ga = calloc(T * G, sizeof *ga);
    double *hn = calloc(T * H, sizeof *hn), *dh = calloc(H, sizeof *dh);
    double *dgi = calloc(G, sizeof *dgi), *dgh = calloc(G, sizeof *dgh);
    double *dhp = calloc(H, sizeof *dhp);
    assert_true(hs && ga && hn && dh && dgi && dgh && dhp);
    double loss = 0.0;
    for (size_t b = 0; b < c->B; b++) {
        size_t L = c->len[b];
        for (size_t t = 0; t < L; t++) {
            const double *x = c->repeat ? X + b * D : X + (b * T + t) * D;
            const double *hp = hs + t * H;
            double *h = hs + (t + 1) * H, *g = ga + t * G;
            for (size_t j = 0; j < H; j++) {
                double gi[3], gh[3];
                for (size_t q = 0; q < 3; q++) {
                    size_t row = q * H + j;
                    gi[q] = bih[row];
                    gh[q] = bhh[row];
                    for (size_t k = 0; k < D; k++) gi[q] += wih[row * D + k] * x[k];
                    for (size_t k = 0; k < H; k++) gh[q] += whh[row * H + k] * hp[k];
                }
                double r = sigm(gi[0] + gh[0]), z = sigm(gi[1] + gh[1]);
                double n = tanh(gi[2] + r * gh[2]);
                g[j] = r; g[H + j] = z; g[2 * H + j] = n;
                hn[t * H + j] = gh[2];
                h[j] = (1.0 - z) * n + z * hp[j];
                loss += h[j] * R[(b * T + t) * H + j];
                if (hout) hout[(b * T + t) * H + j] = h[j];
            }
        }
        if (!gP) continue;
        memset(dh, 0, H * sizeof *dh);
        for (size_t t = L; t-- > 0;) {
            const double *x = c->repeat ? X + b * D : X + (b * T + t) * D;
            const double *hp = hs + t * H, *g = ga + t * G;
            double *gx = c->repeat ? gX + b * D : gX + (b * T + t) * D;
            for (size_t j = 0; j < H; j++) {
                double d = dh[j] + R[(b * T + t) * H + j];
                double r = g[j], z = g[H + j], n = g[2 * H + j];
                double dn = d * (1.0 - z) * (1.0 - n * n);
                double dz = d * (hp[j] - n) * z * (1.0 - z);
                double dr = dn * hn[t * H + j] * r * (1.0 - r);
                dgi[j] = dr; dgi[H + j] = dz; dgi[2 * H + j] = dn;
                dgh[j] = dr; dgh[H + j] = dz; dgh[2 * H + j] = dn * r;
                dhp[j] = d * z;
            }
            for (size_t row = 0; row < G; row++) {
                gbih[row] += dgi[row];
                gbhh[row] += dgh[row];
                for (size_t k = 0; k < D; k++) {
                    gwih[row * D + k] += dgi[row] * x[k];
                    gx[k] += dgi[row] * wih[row * D + k];
                }
                for (size_t k = 0; k < H; k++) {
                    gwhh[row * H + k] += dgh[row] * hp[k];
                    dhp[k] += dgh[row] * whh[row * H + k];
                }
            }
            memcpy(dh, dhp, H * sizeof *dh);
        }
    }
    free(hs); free(ga); free(hn); free(dh); free(dgi); free(dgh); free(dhp);
    return loss;
}

static float *fnan(size_t n)
{
    float *p = tu_xmalloc((n ? n : 1) * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

/* The value every gradient buffer holds before backward, which adds into
   it (+=): the checks subtract it again. */
#define GRAD_BASE 0.25f

/* The layer in float: packs the batch (longest first, stable), runs
   forward and backward through gru_cell with every buffer NaN-filled
   beforehand, and unpacks: h [B][T][H] (padding 0), gP, gX the gradients
   (GRAD_BASE subtracted). */
static void run_layer(const gcase *c, const float *P, const float *X, const float *R,
                      int use_wpack, float *hout, float *gP, float *gX)
{
    const cell_kind *k = cellkind_get(LSTMAE_CELL_GRU);
    size_t D = c->D, H = c->H, G = 3 * H, B = c->B, T = c->T;
    size_t order[MAXB], active[64], offset[65], steps = 0;
    for (size_t b = 0; b < B; b++) order[b] = b;
    for (size_t i = 1; i < B; i++) /* insertion sort: stable */
        for (size_t j = i; j > 0 && c->len[order[j - 1]] < c->len[order[j]]; j--) {
            size_t s = order[j]; order[j] = order[j - 1]; order[j - 1] = s;
        }
    for (size_t b = 0; b < B; b++)
        if (c->len[b] > steps) steps = c->len[b];
    assert_true(steps < 64);
    offset[0] = 0;
    for (size_t t = 0; t < steps; t++) {
        active[t] = 0;
        for (size_t b = 0; b < B; b++) active[t] += c->len[b] > t;
        offset[t + 1] = offset[t] + active[t];
    }
    size_t rows = offset[steps], in_rows = c->repeat ? B : rows;
    seq_pack pk = { B, steps, active, offset, rows };
    plan_layer layer;
    memset(&layer, 0, sizeof layer);
    layer.role = PLAN_ENCODER;
    layer.cell = k;
    layer.in_dim = D;
    layer.hidden = H;
    layer.gates = k->gates;
    layer.width = G;
    layer.repeat = c->repeat;
    layer.ntensors = k->ntensors;

    float *in = fnan(in_rows * D), *dh = fnan(rows * H), *din = fnan(in_rows * D);
    for (size_t i = 0; i < in_rows * D; i++) din[i] = GRAD_BASE;
    for (size_t t = 0; t < steps; t++)
        for (size_t i = 0; i < active[t]; i++) {
            size_t b = order[i], row = offset[t] + i;
            if (!c->repeat) memcpy(in + row * D, X + (b * T + t) * D, D * sizeof *in);
            memcpy(dh + row * H, R + (b * T + t) * H, H * sizeof *dh);
        }
    if (c->repeat)
        for (size_t i = 0; i < B; i++) memcpy(in + i * D, X + order[i] * D, D * sizeof *in);
    float *dw = fnan(n_par(c));
    for (size_t i = 0; i < n_par(c); i++) dw[i] = GRAD_BASE;
    float *gates = fnan(rows * G), *state = fnan(rows * H), *h = fnan(rows * H);
    float *rep = fnan(B * G), *dgates = fnan(rows * G), *dc = fnan(B * H), *hprev = fnan(rows * H);
    size_t wf = use_wpack ? k->wpack_floats(D, H, 1) : 0;
    float *wpack = NULL;
    if (wf) {
        wpack = aligned_alloc(64, (wf * sizeof *wpack + 63) / 64 * 64);
        assert_non_null(wpack);
        for (size_t i = 0; i < wf; i++) wpack[i] = NAN;
    }
    layer_call lc;
    memset(&lc, 0, sizeof lc);
    lc.layer = &layer;
    lc.pk = &pk;
    size_t off[4] = { 0, n_wih(c), n_wih(c) + n_whh(c), n_wih(c) + n_whh(c) + G };
    for (int i = 0; i < 4; i++) {
        lc.w[i] = P + off[i];
        lc.dw[i] = dw + off[i];
    }
    lc.in = in;
    lc.gates = gates; lc.state = state; lc.h = h;
    lc.dh = dh; lc.din = din;
    lc.s.rep = rep; lc.s.wpack = wpack; lc.s.dgates = dgates; lc.s.dc = dc; lc.s.hprev = hprev;
    k->forward(&lc);
    memset(hout, 0, n_out(c) * sizeof *hout);
    for (size_t t = 0; t < steps; t++)
        for (size_t i = 0; i < active[t]; i++)
            memcpy(hout + (order[i] * T + t) * H, h + (offset[t] + i) * H, H * sizeof *h);
    k->backward(&lc);
    for (size_t i = 0; i < n_par(c); i++) gP[i] = dw[i] - GRAD_BASE;
    memset(gX, 0, n_in(c) * sizeof *gX);
    if (c->repeat) {
        for (size_t i = 0; i < B; i++)
            for (size_t j = 0; j < D; j++) gX[order[i] * D + j] = din[i * D + j] - GRAD_BASE;
    } else {
        for (size_t t = 0; t < steps; t++)
            for (size_t i = 0; i < active[t]; i++)
                for (size_t j = 0; j < D; j++)
                    gX[(order[i] * T + t) * D + j] = din[(offset[t] + i) * D + j] - GRAD_BASE;
    }
    free(in); free(dh); free(din); free(dw); free(gates); free(state); free(h);
    free(rep); free(dgates); free(dc); free(hprev); free(wpack);
}

/* max |got - want| / max |want| (NaN: infinity) */
static double rel_err(const float *got, const double *want, size_t n)
{
    double worst = 0.0, scale = 1e-30;
    for (size_t i = 0; i < n; i++)
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (d != d) return INFINITY;
        if (d > worst) worst = d;
    }
    return worst / scale;
}

static double rel_err_d(const double *got, const double *want, size_t n)
{
    double worst = 0.0, scale = 1e-30;
    for (size_t i = 0; i < n; i++)
        if (fabs(want[i]) > scale) scale = fabs(want[i]);
    for (size_t i = 0; i < n; i++) {
        double d = fabs(got[i] - want[i]);
        if (d != d) return INFINITY;
        if (d > worst) worst = d;
    }
    return worst / scale;
}

/* float32 against the float64 reference: the largest difference relative
   to the tensor's largest magnitude */
#define FLOAT_TOL 1e-5

typedef struct worst { double fw, bw, fd, torch_ref, torch_f; } worst;
static worst W;

static void note(double *w, double e) { if (e > *w) *w = e; }

static double *to_double(const float *x, size_t n)
{
    double *d = tu_xmalloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

/* (a), (b): the layer, both ways, against the reference; the padding of
   X (per step) and R is NaN. Returns nothing; notes the worst errors. */
static void check_against_ref(const gcase *c, const float *P, const float *X, const float *R)
{
    size_t np = n_par(c), ni = n_in(c), no = n_out(c);
    double *Pd = to_double(P, np), *Xd = to_double(X, ni), *Rd = to_double(R, no);
    double *hd = calloc(no ? no : 1, sizeof *hd), *gPd = calloc(np, sizeof *gPd);
    double *gXd = calloc(ni ? ni : 1, sizeof *gXd);
    assert_true(hd && gPd && gXd);
    for (size_t i = 0; i < no; i++) Rd[i] = R[i] == R[i] ? R[i] : 0.0;
    ref_run(c, Pd, Xd, Rd, hd, gPd, gXd);
    float *h = fnan(no), *gP = fnan(np), *gX = fnan(ni);
    for (int wp = 0; wp < 2; wp++) {
        run_layer(c, P, X, R, wp, h, gP, gX);
        double e = rel_err(h, hd, no);
        note(&W.fw, e);
        if (!(e < FLOAT_TOL)) fail_msg("forward h: %.3g (wpack %d)", e, wp);
        size_t off = 0, sz[4] = { n_wih(c), n_whh(c), 3 * c->H, 3 * c->H };
        for (int t = 0; t < 4; t++) {
            e = rel_err(gP + off, gPd + off, sz[t]);
            note(&W.bw, e);
            if (!(e < FLOAT_TOL)) fail_msg("d %s: %.3g (wpack %d)", gru_cell.tensor_names[t], e, wp);
            off += sz[t];
        }
        e = rel_err(gX, gXd, ni);
        note(&W.bw, e);
        if (!(e < FLOAT_TOL)) fail_msg("d input: %.3g (wpack %d)", e, wp);
    }
    free(Pd); free(Xd); free(Rd); free(hd); free(gPd); free(gXd); free(h); free(gP); free(gX);
}

static void make_case(const gcase *c, uint64_t seed, float **P, float **X, float **R)
{
    uint64_t st = seed;
    *P = fnan(n_par(c));
    *X = fnan(n_in(c));
    *R = fnan(n_out(c));
    tu_fill_uniform(&st, *P, n_par(c), -0.8f, 0.8f);
    for (size_t b = 0; b < c->B; b++) {
        if (c->repeat) tu_fill_uniform(&st, *X + b * c->D, c->D, -1.0f, 1.0f);
        for (size_t t = 0; t < c->len[b]; t++) {
            if (!c->repeat) tu_fill_uniform(&st, *X + (b * c->T + t) * c->D, c->D, -1.0f, 1.0f);
            tu_fill_uniform(&st, *R + (b * c->T + t) * c->H, c->H, -1.0f, 1.0f);
        }
    }
}

static const gcase CASES[] = {
    { 3, 4, 4, 5, 0, { 3, 0, 1, 5 } },
    { 2, 3, 3, 4, 1, { 1, 4, 0 } },
    { 5, 17, 5, 9, 0, { 9, 2, 9, 1, 6 } },
    { 4, 9, 4, 7, 1, { 7, 3, 7, 5 } },
    { 3, 2, 1, 1, 0, { 1 } },
    { 2, 3, 2, 1, 1, { 1, 1 } },
    { 3, 4, 3, 2, 0, { 0, 0, 0 } },
    { 3, 4, 2, 3, 1, { 0, 0 } },
    /* large enough for the packed kernel's backward products too
       (TENSOR_OWN_MIN_MNK); too large for finite differences */
    { 40, 48, 6, 12, 0, { 12, 7, 12, 0, 1, 9 } },
    { 40, 48, 6, 12, 1, { 12, 7, 12, 0, 1, 9 } },
};
enum { FD_CASES = 8 }; /* the first ones, small */

static void test_reference(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        float *P, *X, *R;
        make_case(&CASES[i], 100 + i, &P, &X, &R);
        check_against_ref(&CASES[i], P, X, R);
        free(P); free(X); free(R);
    }
    print_message("float layer vs double reference: forward %.3g, backward %.3g"
                  " (largest error relative to the tensor's largest value)\n", W.fw, W.bw);
}

/* the reference's gradients against central differences in double */
static void test_finite_differences(void **state)
{
    (void)state;
    for (size_t i = 0; i < FD_CASES; i++) {
        const gcase *c = &CASES[i];
        float *Pf, *Xf, *Rf;
        make_case(c, 200 + i, &Pf, &Xf, &Rf);
        size_t np = n_par(c), ni = n_in(c), no = n_out(c);
        double *P = to_double(Pf, np), *X = to_double(Xf, ni), *R = to_double(Rf, no);
        for (size_t k = 0; k < no; k++) R[k] = R[k] == R[k] ? R[k] : 0.0;
        for (size_t k = 0; k < ni; k++) X[k] = X[k] == X[k] ? X[k] : 0.0;
        double *gP = calloc(np, sizeof *gP), *gX = calloc(ni ? ni : 1, sizeof *gX);
        double *fP = calloc(np, sizeof *fP), *fX = calloc(ni ? ni : 1, sizeof *fX);
        assert_true(gP && gX && fP && fX);
        ref_run(c, P, X, R, NULL, gP, gX);
        const double eps = 1e-6;
        for (size_t k = 0; k < np + ni; k++) {
            double *v = k < np ? P + k : X + (k - np), keep = *v;
            *v = keep + eps;
            double up = ref_run(c, P, X, R, NULL, NULL, NULL);
            *v = keep - eps;
            double down = ref_run(c, P, X, R, NULL, NULL, NULL);
            *v = keep;
            (k < np ? fP : fX)[k < np ? k : k - np] = (up - down) / (2 * eps);
        }
        double e = rel_err_d(gP, fP, np), ex = rel_err_d(gX, fX, ni);
        note(&W.fd, e);
        note(&W.fd, ex);
        if (!(e < 1e-7 && ex < 1e-7)) fail_msg("case %zu: FD %.3g, %.3g", i, e, ex);
        free(P); free(X); free(R); free(gP); free(gX); free(fP); free(fX);
        free(Pf); free(Xf); free(Rf);
    }
    print_message("double reference gradients vs central differences: %.3g\n", W.fd);
}

/* (d): NaN padding against zero padding, bit for bit */
static void test_padding_never_read(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const gcase *c = &CASES[i];
        float *P, *X, *R;
        make_case(c, 300 + i, &P, &X, &R);
        size_t np = n_par(c), ni = n_in(c), no = n_out(c);
        float *X0 = tu_xmalloc((ni ? ni : 1) * sizeof *X0), *R0 = tu_xmalloc((no ? no : 1) * sizeof *R0);
        for (size_t k = 0; k < ni; k++) X0[k] = X[k] == X[k] ? X[k] : 0.0f;
        for (size_t k = 0; k < no; k++) R0[k] = R[k] == R[k] ? R[k] : 0.0f;
        float *h1 = fnan(no), *p1 = fnan(np), *x1 = fnan(ni);
        float *h2 = fnan(no), *p2 = fnan(np), *x2 = fnan(ni);
        for (int wp = 0; wp < 2; wp++) {
            run_layer(c, P, X, R, wp, h1, p1, x1);
            run_layer(c, P, X0, R0, wp, h2, p2, x2);
            tu_assert_bits_equal("h", h1, h2, no);
            tu_assert_bits_equal("d params", p1, p2, np);
            tu_assert_bits_equal("d input", x1, x2, ni);
            double *z = calloc(np + no + ni + 1, sizeof *z);
            assert_non_null(z);
            /* finite everywhere: the NaN-filled buffers were never read */
            assert_true(rel_err(h1, z, no) < INFINITY);
            assert_true(rel_err(p1, z, np) < INFINITY);
            assert_true(rel_err(x1, z, ni) < INFINITY);
            free(z);
        }
        free(P); free(X); free(R); free(X0); free(R0);
        free(h1); free(p1); free(x1); free(h2); free(p2); free(x2);
    }
}

/* ---- (c) PyTorch ------------------------------------------------------- */

static const char *data_dir = "tests/data/gru";

static double *read_tensor(FILE *f, const char *name, size_t n)
{
    char got[64];
    size_t count = 0;
    if (fscanf(f, "%63s %zu", got, &count) != 2) fail_msg("%s: missing", name);
    if (strcmp(got, name) != 0 || count != n)
        fail_msg("expected %s [%zu], found %s [%zu]", name, n, got, count);
    double *v = tu_xmalloc((n ? n : 1) * sizeof *v);
    for (size_t i = 0; i < n; i++)
        if (fscanf(f, "%lg", &v[i]) != 1) fail_msg("%s: short", name);
    return v;
}

static void check_torch_case(const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", data_dir, file);
    FILE *f = fopen(path, "r");
    if (!f) fail_msg("cannot open %s", path);
    gcase c;
    memset(&c, 0, sizeof c);
    int version = 0, rep = 0;
    if (fscanf(f, "gru-layer %d config in_dim %zu hidden %zu batch %zu max_len %zu repeat %d lengths",
               &version, &c.D, &c.H, &c.B, &c.T, &rep) != 6 || version != 1 || c.B > MAXB)
        fail_msg("%s: bad header", path);
    c.repeat = rep;
    for (size_t b = 0; b < c.B; b++)
        if (fscanf(f, "%zu", &c.len[b]) != 1) fail_msg("%s: lengths", path);
    size_t np = n_par(&c), ni = n_in(&c), no = n_out(&c), G = 3 * c.H;
    size_t sz[4] = { n_wih(&c), n_whh(&c), G, G };
    double *Pd = tu_xmalloc(np * sizeof *Pd), *gPt = tu_xmalloc(np * sizeof *gPt);
    size_t off = 0;
    for (int t = 0; t < 4; t++) {
        double *v = read_tensor(f, gru_cell.tensor_names[t], sz[t]);
        memcpy(Pd + off, v, sz[t] * sizeof *v);
        free(v);
        off += sz[t];
    }
    double *Xd = read_tensor(f, "input", ni), *Rd = read_tensor(f, "R", no);
    double *ht = read_tensor(f, "h", no);
    off = 0;
    for (int t = 0; t < 4; t++) {
        char name[32];
        snprintf(name, sizeof name, "d_%s", gru_cell.tensor_names[t]);
        double *v = read_tensor(f, name, sz[t]);
        memcpy(gPt + off, v, sz[t] * sizeof *v);
        free(v);
        off += sz[t];
    }
    double *gXt = read_tensor(f, "d_input", ni);
    fclose(f);

    /* the double reference against PyTorch (float64): the same maths */
    double *hr = calloc(no, sizeof *hr), *gPr = calloc(np, sizeof *gPr), *gXr = calloc(ni, sizeof *gXr);
    assert_true(hr && gPr && gXr);
    ref_run(&c, Pd, Xd, Rd, hr, gPr, gXr);
    double e = rel_err_d(hr, ht, no);
    note(&W.torch_ref, e);
    note(&W.torch_ref, rel_err_d(gPr, gPt, np));
    note(&W.torch_ref, rel_err_d(gXr, gXt, ni));
    if (!(W.torch_ref < 1e-12)) fail_msg("%s: reference vs PyTorch %.3g", file, W.torch_ref);

    /* the float layer against PyTorch; the inputs are exact floats */
    float *P = tu_xmalloc(np * sizeof *P), *X = tu_xmalloc(ni * sizeof *X), *R = tu_xmalloc(no * sizeof *R);
    for (size_t i = 0; i < np; i++) P[i] = (float)Pd[i];
    for (size_t i = 0; i < ni; i++) X[i] = (float)Xd[i];
    for (size_t i = 0; i < no; i++) R[i] = (float)Rd[i];
    float *h = fnan(no), *gP = fnan(np), *gX = fnan(ni);
    for (int wp = 0; wp < 2; wp++) {
        run_layer(&c, P, X, R, wp, h, gP, gX);
        double eh = rel_err(h, ht, no), ex = rel_err(gX, gXt, ni), ep = 0.0;
        off = 0;
        for (int t = 0; t < 4; t++) {
            note(&ep, rel_err(gP + off, gPt + off, sz[t]));
            off += sz[t];
        }
        note(&W.torch_f, eh); note(&W.torch_f, ep); note(&W.torch_f, ex);
        if (!(eh < FLOAT_TOL && ep < FLOAT_TOL && ex < FLOAT_TOL))
            fail_msg("%s (wpack %d): h %.3g, d params %.3g, d input %.3g", file, wp, eh, ep, ex);
    }
    free(Pd); free(gPt); free(Xd); free(Rd); free(ht); free(gXt);
    free(hr); free(gPr); free(gXr); free(P); free(X); free(R); free(h); free(gP); free(gX);
}

static void test_pytorch(void **state)
{
    (void)state;
    check_torch_case("plain.txt");
    check_torch_case("repeat.txt");
    print_message("vs PyTorch nn.GRU: double reference %.3g, float layer %.3g\n",
                  W.torch_ref, W.torch_f);
}

static void test_table(void **state)
{
    (void)state;
    const cell_kind *k = cellkind_get(LSTMAE_CELL_GRU);
    assert_ptr_equal(k, &gru_cell);
    assert_string_equal(k->name, "gru");
    assert_int_equal(k->gates, 3);
    assert_int_equal(k->ntensors, 4);
    assert_int_equal(k->state, 1);
    assert_string_equal(k->tensor_names[GRU_B_HH], "bias_hh");
    assert_int_equal(k->tensor_shapes[GRU_B_HH], CELL_BIAS);
    assert_true(k->wpack_floats(16, 64, 1) >= k->wpack_floats(16, 64, 0));
    print_message("wpack floats (in 40, H 48): forward %zu, training %zu"
                  " (0: CBLAS only on this CPU)\n",
                  k->wpack_floats(40, 48, 0), k->wpack_floats(40, 48, 1));
}

int main(int argc, char **argv)
{
    if (argc > 1) data_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_padding_never_read),
        cmocka_unit_test(test_pytorch),
    };
    return cmocka_run_group_tests_name("gru", tests, NULL, NULL);
}

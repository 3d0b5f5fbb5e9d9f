/* cell.c - the LSTM cell's pointwise passes (see cell.h). */
#include "cell.h"

#include <string.h>

#include "fastmath.h"

static const char *clones_isa(void)
{
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && !defined(LSTMAE_NO_CLONES)
    /* the same order as the ifunc resolver of target_clones */
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2")) return "avx2";
#endif
    return "baseline";
}

/* One step of the cell for n rows, in place on the gate block.
   g: [n][G] in pre-activations, out activations; c, h: [n][H] out;
   c_prev: [n][H]. */
VECTOR_CLONES
static void forward_portable(float *restrict g, float *restrict c, float *restrict h,
                         const float *restrict c_prev, size_t n, size_t H)
{
    size_t G = 4 * H;
    for (size_t r = 0; r < n; r++) {
        float *ai = g + r * G, *af = ai + H, *ag = ai + 2 * H, *ao = ai + 3 * H;
        float *cr = c + r * H, *hr = h + r * H;
        const float *cp = c_prev + r * H;
        for (size_t j = 0; j < H; j++) {
            float i = fm_sigmoid(ai[j]), f = fm_sigmoid(af[j]);
            float gg = fm_tanh(ag[j]), o = fm_sigmoid(ao[j]);
            /* c = f * c_prev + i * g;  h = o * tanh(c) */
            float cc = f * cp[j] + i * gg;
            cr[j] = cc;
            hr[j] = o * fm_tanh(cc);
            ai[j] = i; af[j] = f; ag[j] = gg; ao[j] = o;
        }
    }
}

/* cell_forward for the first step: the zero initial state. */
VECTOR_CLONES
static void forward_first_portable(float *restrict g, float *restrict c, float *restrict h,
                               size_t n, size_t H)
{
    size_t G = 4 * H;
    for (size_t r = 0; r < n; r++) {
        float *ai = g + r * G, *af = ai + H, *ag = ai + 2 * H, *ao = ai + 3 * H;
        float *cr = c + r * H, *hr = h + r * H;
        for (size_t j = 0; j < H; j++) {
            float i = fm_sigmoid(ai[j]), f = fm_sigmoid(af[j]);
            float gg = fm_tanh(ag[j]), o = fm_sigmoid(ao[j]);
            /* c = i * g (c_prev = 0);  h = o * tanh(c) */
            float cc = i * gg;
            cr[j] = cc;
            hr[j] = o * fm_tanh(cc);
            ai[j] = i; af[j] = f; ag[j] = gg; ao[j] = o;
        }
    }
}

/* Backward of cell_forward for n rows.
   dg: [n][G] out, dL/da; dc: [n][H] in the carry from step t+1 (f_{t+1}
   dc_{t+1}, zero for a row's last step), out the carry for step t-1;
   dh: [n][H] dL/dh_t; g, c: this step's activations and cell state;
   c_prev: [n][H] or NULL (zero). */
VECTOR_CLONES
static void backward_portable(float *restrict dg, float *restrict dc,
                          const float *restrict dh, const float *restrict g,
                          const float *restrict c, const float *restrict c_prev,
                          size_t n, size_t H)
{
    size_t G = 4 * H;
    for (size_t r = 0; r < n; r++) {
        const float *ai = g + r * G, *af = ai + H, *ag = ai + 2 * H, *ao = ai + 3 * H;
        float *di = dg + r * G, *df = di + H, *dgg = di + 2 * H, *dout = di + 3 * H;
        float *dcr = dc + r * H;
        const float *dhr = dh + r * H, *cr = c + r * H;
        const float *cp = c_prev ? c_prev + r * H : NULL;
        for (size_t j = 0; j < H; j++) {
            float i = ai[j], f = af[j], gg = ag[j], o = ao[j];
            float tc = fm_tanh(cr[j]);
            /* dc = dc_carry + dh * o * (1 - tanh(c)^2) */
            float dcv = dcr[j] + dhr[j] * o * (1.0f - tc * tc);
            di[j] = dcv * gg * i * (1.0f - i);
            dgg[j] = dcv * i * (1.0f - gg * gg);
            dout[j] = dhr[j] * tc * o * (1.0f - o);
            df[j] = dcv * f * (1.0f - f); /* times c_prev, below */
            dcr[j] = dcv * f;
        }
        if (cp) {
            for (size_t j = 0; j < H; j++) df[j] *= cp[j];
        } else {
            memset(df, 0, H * sizeof *df);
        }
    }
}


/* Not cloned themselves: a cloned function with external linkage would
   export its ifunc resolver from the shared library. */
void cell_forward_generic(float *restrict g, float *restrict c, float *restrict h,
                          const float *restrict c_prev, size_t n, size_t H)
{
    forward_portable(g, c, h, c_prev, n, H);
}

void cell_forward_first_generic(float *restrict g, float *restrict c, float *restrict h,
                                size_t n, size_t H)
{
    forward_first_portable(g, c, h, n, H);
}

void cell_backward_generic(float *restrict dg, float *restrict dc, const float *restrict dh,
                           const float *restrict g, const float *restrict c,
                           const float *restrict c_prev, size_t n, size_t H)
{
    backward_portable(dg, dc, dh, g, c, c_prev, n, H);
}

/* ---- AVX-512 intrinsics ----------------------------------------------------
   The same formulas as fastmath.h, one 16-lane vector at a time with a
   masked tail, but faster: the polynomial in fused multiply-adds, and the
   divisions of sigmoid and tanh as a 14-bit reciprocal estimate refined by
   one Newton step (a division's throughput is 16 cycles a vector here,
   and there are five per element). The results agree with the portable
   kernels to a few float ulps (tests/test_cell.c), not bit for bit. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(LSTMAE_NO_AVX512)
#define CELL_AVX512 1
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

AVX512 static inline __m512 v_exp(__m512 x)
{
    /* max/min return the second operand for a NaN first one: NaN -> -87 */
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    /* n = round(x / ln2); r = x - n ln2 in two parts (exact products) */
    __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), magic),
                             magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860682030941723212e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512i e = _mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(e, 23)));
}

/* 1 / d for d >= 1 (all callers): the estimate (relative error < 2^-14)
   and one Newton step r + r (1 - d r), which squares the error. */
AVX512 static inline __m512 v_recip(__m512 d)
{
    __m512 r = _mm512_rcp14_ps(d);
    return _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(1.0f)), r);
}

AVX512 static inline __m512 v_sigmoid(__m512 x)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    return v_recip(_mm512_add_ps(one, v_exp(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

AVX512 static inline __m512 v_tanh(__m512 x)
{
    /* 2 / (1 + e^(-2x)) - 1 */
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 e = v_exp(_mm512_mul_ps(_mm512_set1_ps(-2.0f), x));
    return _mm512_fmsub_ps(_mm512_set1_ps(2.0f), v_recip(_mm512_add_ps(one, e)), one);
}

/* lanes j .. j+15 of a row of H: all, or the tail's */
AVX512 static inline __mmask16 lanes(size_t j, size_t H)
{
    size_t left = H - j;
    unsigned bits = left >= 16 ? 0xFFFFu : (1u << left) - 1u;
    return (__mmask16)bits;
}

AVX512 static void forward_rows(float *restrict g, float *restrict c, float *restrict h,
                                const float *restrict c_prev, size_t n, size_t H)
{
    size_t G = 4 * H;
    for (size_t r = 0; r < n; r++) {
        float *ai = g + r * G, *af = ai + H, *ag = ai + 2 * H, *ao = ai + 3 * H;
        float *cr = c + r * H, *hr = h + r * H;
        for (size_t j = 0; j < H; j += 16) {
            __mmask16 m = lanes(j, H);
            __m512 i = v_sigmoid(_mm512_maskz_loadu_ps(m, ai + j));
            __m512 f = v_sigmoid(_mm512_maskz_loadu_ps(m, af + j));
            __m512 gg = v_tanh(_mm512_maskz_loadu_ps(m, ag + j));
            __m512 o = v_sigmoid(_mm512_maskz_loadu_ps(m, ao + j));
            __m512 ig = _mm512_mul_ps(i, gg);
            __m512 cc = c_prev ? _mm512_fmadd_ps(f, _mm512_maskz_loadu_ps(m, c_prev + r * H + j), ig)
                               : ig;
            _mm512_mask_storeu_ps(cr + j, m, cc);
            _mm512_mask_storeu_ps(hr + j, m, _mm512_mul_ps(o, v_tanh(cc)));
            _mm512_mask_storeu_ps(ai + j, m, i);
            _mm512_mask_storeu_ps(af + j, m, f);
            _mm512_mask_storeu_ps(ag + j, m, gg);
            _mm512_mask_storeu_ps(ao + j, m, o);
        }
    }
}

/* forward_rows in two passes, for H not a multiple of 16 (the seed's 20):
   first the four gates of each row as one run of G = 4H values, with
   sigmoid(x) on the i, f, o lanes and tanh(x) = 2 sigmoid(2x) - 1 on the
   g lanes (the same operations as v_sigmoid and v_tanh, so the same
   bits), which wastes no lanes on H's tail; then c and h, per row. One
   pass evaluated 5 exponentials on ceil(H / 16) * 16 lanes; this one 4 on
   about G lanes and 1 on ceil(H / 16) * 16: for H = 20, 112 lanes instead
   of 160. */
AVX512 static void forward_two_pass(float *restrict g, float *restrict c, float *restrict h,
                                    const float *restrict c_prev, size_t n, size_t H)
{
    size_t G = 4 * H;
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i lo = _mm512_set1_epi32((int)(2 * H)), hi = _mm512_set1_epi32((int)(3 * H));
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
    for (size_t r = 0; r < n; r++) {
        float *row = g + r * G;
        for (size_t j = 0; j < G; j += 16) {
            __mmask16 m = lanes(j, G);
            __m512i col = _mm512_add_epi32(iota, _mm512_set1_epi32((int)j));
            __mmask16 is_g = _mm512_cmpge_epi32_mask(col, lo) & _mm512_cmplt_epi32_mask(col, hi);
            __m512 x = _mm512_maskz_loadu_ps(m, row + j);
            /* -x on sigmoid lanes, -2x on tanh lanes */
            __m512 t = _mm512_mask_mul_ps(_mm512_sub_ps(_mm512_setzero_ps(), x), is_g,
                                          _mm512_set1_ps(-2.0f), x);
            __m512 s = v_recip(_mm512_add_ps(one, v_exp(t)));
            s = _mm512_mask_fmsub_ps(s, is_g, two, one); /* tanh lanes: 2 s - 1 */
            _mm512_mask_storeu_ps(row + j, m, s);
        }
        const float *ai = row, *af = row + H, *ag = row + 2 * H, *ao = row + 3 * H;
        float *cr = c + r * H, *hr = h + r * H;
        for (size_t j = 0; j < H; j += 16) {
            __mmask16 m = lanes(j, H);
            __m512 i = _mm512_maskz_loadu_ps(m, ai + j), f = _mm512_maskz_loadu_ps(m, af + j);
            __m512 gg = _mm512_maskz_loadu_ps(m, ag + j), o = _mm512_maskz_loadu_ps(m, ao + j);
            __m512 ig = _mm512_mul_ps(i, gg);
            __m512 cc = c_prev ? _mm512_fmadd_ps(f, _mm512_maskz_loadu_ps(m, c_prev + r * H + j), ig)
                               : ig;
            _mm512_mask_storeu_ps(cr + j, m, cc);
            _mm512_mask_storeu_ps(hr + j, m, _mm512_mul_ps(o, v_tanh(cc)));
        }
    }
}

AVX512 void cell_forward_avx512(float *restrict g, float *restrict c, float *restrict h,
                                const float *restrict c_prev, size_t n, size_t H)
{
    if (H % 16)
        forward_two_pass(g, c, h, c_prev, n, H);
    else
        forward_rows(g, c, h, c_prev, n, H);
}

AVX512 void cell_forward_first_avx512(float *restrict g, float *restrict c, float *restrict h,
                                      size_t n, size_t H)
{
    if (H % 16)
        forward_two_pass(g, c, h, NULL, n, H);
    else
        forward_rows(g, c, h, NULL, n, H);
}

AVX512 void cell_backward_avx512(float *restrict dg, float *restrict dc, const float *restrict dh,
                                 const float *restrict g, const float *restrict c,
                                 const float *restrict c_prev, size_t n, size_t H)
{
    size_t G = 4 * H;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (size_t r = 0; r < n; r++) {
        const float *ai = g + r * G, *af = ai + H, *ag = ai + 2 * H, *ao = ai + 3 * H;
        float *di = dg + r * G, *df = di + H, *dgg = di + 2 * H, *dout = di + 3 * H;
        float *dcr = dc + r * H;
        const float *dhr = dh + r * H, *cr = c + r * H;
        for (size_t j = 0; j < H; j += 16) {
            __mmask16 m = lanes(j, H);
            __m512 i = _mm512_maskz_loadu_ps(m, ai + j), f = _mm512_maskz_loadu_ps(m, af + j);
            __m512 gg = _mm512_maskz_loadu_ps(m, ag + j), o = _mm512_maskz_loadu_ps(m, ao + j);
            __m512 dhv = _mm512_maskz_loadu_ps(m, dhr + j);
            __m512 tc = v_tanh(_mm512_maskz_loadu_ps(m, cr + j));
            /* dc = dc_carry + dh * o * (1 - tanh(c)^2) */
            __m512 dcv = _mm512_add_ps(_mm512_maskz_loadu_ps(m, dcr + j),
                                       _mm512_mul_ps(_mm512_mul_ps(dhv, o),
                                                     _mm512_sub_ps(one, _mm512_mul_ps(tc, tc))));
            _mm512_mask_storeu_ps(di + j, m, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dcv, gg), i),
                                                           _mm512_sub_ps(one, i)));
            _mm512_mask_storeu_ps(dgg + j, m, _mm512_mul_ps(_mm512_mul_ps(dcv, i),
                                                            _mm512_sub_ps(one, _mm512_mul_ps(gg, gg))));
            _mm512_mask_storeu_ps(dout + j, m, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(dhv, tc), o),
                                                             _mm512_sub_ps(one, o)));
            __m512 dfv = _mm512_mul_ps(_mm512_mul_ps(dcv, f), _mm512_sub_ps(one, f));
            dfv = c_prev ? _mm512_mul_ps(dfv, _mm512_maskz_loadu_ps(m, c_prev + r * H + j))
                         : _mm512_setzero_ps();
            _mm512_mask_storeu_ps(df + j, m, dfv);
            _mm512_mask_storeu_ps(dcr + j, m, _mm512_mul_ps(dcv, f));
        }
    }
}

int cell_have_avx512(void) { return __builtin_cpu_supports("avx512f"); }

#else
int cell_have_avx512(void) { return 0; }
void cell_forward_avx512(float *restrict g, float *restrict c, float *restrict h,
                         const float *restrict c_prev, size_t n, size_t H)
{
    cell_forward_generic(g, c, h, c_prev, n, H);
}
void cell_forward_first_avx512(float *restrict g, float *restrict c, float *restrict h,
                               size_t n, size_t H)
{
    cell_forward_first_generic(g, c, h, n, H);
}
void cell_backward_avx512(float *restrict dg, float *restrict dc, const float *restrict dh,
                          const float *restrict g, const float *restrict c,
                          const float *restrict c_prev, size_t n, size_t H)
{
    cell_backward_generic(dg, dc, dh, g, c, c_prev, n, H);
}
#endif

/* ---- dispatch --------------------------------------------------------------- */

cell_kernels cell_select(void)
{
    cell_kernels k;
    if (cell_have_avx512()) {
        k.forward = cell_forward_avx512;
        k.forward_first = cell_forward_first_avx512;
        k.backward = cell_backward_avx512;
    } else {
        k.forward = cell_forward_generic;
        k.forward_first = cell_forward_first_generic;
        k.backward = cell_backward_generic;
    }
    return k;
}

const char *cell_isa(void)
{
    return cell_have_avx512() ? "avx512f-intrinsics" : clones_isa();
}

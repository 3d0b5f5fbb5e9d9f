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
   The same functions (fastmath.h's fm_v_*), one 16-lane vector at a time
   with a masked tail, but faster: the polynomials in fused multiply-adds,
   and the divisions of sigmoid and tanh as a 14-bit reciprocal estimate
   refined by one Newton step (a division's throughput is 16 cycles a
   vector here, and there are five per element). The results agree with
   the portable kernels to a few float ulps (tests/test_cell.c,
   tests/test_fastmath.c), not bit for bit. */
#if defined(FM_HAVE_AVX512)
#define CELL_AVX512 1

#define AVX512 FM_AVX512

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
            __m512 i = fm_v_sigmoid(_mm512_maskz_loadu_ps(m, ai + j));
            __m512 f = fm_v_sigmoid(_mm512_maskz_loadu_ps(m, af + j));
            __m512 gg = fm_v_tanh(_mm512_maskz_loadu_ps(m, ag + j));
            __m512 o = fm_v_sigmoid(_mm512_maskz_loadu_ps(m, ao + j));
            __m512 ig = _mm512_mul_ps(i, gg);
            __m512 cc = c_prev ? _mm512_fmadd_ps(f, _mm512_maskz_loadu_ps(m, c_prev + r * H + j), ig)
                               : ig;
            _mm512_mask_storeu_ps(cr + j, m, cc);
            _mm512_mask_storeu_ps(hr + j, m, _mm512_mul_ps(o, fm_v_tanh(cc)));
            _mm512_mask_storeu_ps(ai + j, m, i);
            _mm512_mask_storeu_ps(af + j, m, f);
            _mm512_mask_storeu_ps(ag + j, m, gg);
            _mm512_mask_storeu_ps(ao + j, m, o);
        }
    }
}

/* forward_rows in two passes, for H not a multiple of 16 (the seed's 20):
   first the four gates of each row as one run of G = 4H values, with
   sigmoid(x) on the i, f, o lanes and tanh(x) on the g lanes
   (fm_v_sigmoid_tanh: one exp and one division a lane, the same bits as
   fm_v_sigmoid and fm_v_tanh give), which wastes no lanes on H's tail;
   then c and h, per row. One pass evaluated 5 exponentials on
   ceil(H / 16) * 16 lanes; this one 4 on about G lanes and 1 on
   ceil(H / 16) * 16: for H = 20, 112 lanes instead of 160. */
AVX512 static void forward_two_pass(float *restrict g, float *restrict c, float *restrict h,
                                    const float *restrict c_prev, size_t n, size_t H)
{
    size_t G = 4 * H;
    const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i lo = _mm512_set1_epi32((int)(2 * H)), hi = _mm512_set1_epi32((int)(3 * H));
    for (size_t r = 0; r < n; r++) {
        float *row = g + r * G;
        for (size_t j = 0; j < G; j += 16) {
            __mmask16 m = lanes(j, G);
            __m512i col = _mm512_add_epi32(iota, _mm512_set1_epi32((int)j));
            __mmask16 is_g = _mm512_cmpge_epi32_mask(col, lo) & _mm512_cmplt_epi32_mask(col, hi);
            __m512 x = _mm512_maskz_loadu_ps(m, row + j);
            _mm512_mask_storeu_ps(row + j, m, fm_v_sigmoid_tanh(x, is_g));
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
            _mm512_mask_storeu_ps(hr + j, m, _mm512_mul_ps(o, fm_v_tanh(cc)));
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
            __m512 tc = fm_v_tanh(_mm512_maskz_loadu_ps(m, cr + j));
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

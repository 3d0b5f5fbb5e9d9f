/* gemm.c - packed small products for the time loop (see gemm.h). */
#include "gemm.h"

#include <string.h>

#define PACK_LIMIT_BYTES ((size_t)16 << 20)

size_t gemm_packed_floats(size_t N, size_t K)
{
    return (N + GEMM_PANEL - 1) / GEMM_PANEL * GEMM_PANEL * K;
}

int gemm_packed_fits(size_t N, size_t K)
{
    size_t limit = PACK_LIMIT_BYTES / sizeof(float); /* floats */
    if (N == 0 || K == 0 || N > limit || K > limit) return 0;
    return (N + GEMM_PANEL - 1) / GEMM_PANEL * GEMM_PANEL <= limit / K;
}

void gemm_pack(float *dst, const float *src, size_t N, size_t K, int transposed)
{
    for (size_t j0 = 0; j0 < N; j0 += GEMM_PANEL) {
        size_t w = N - j0 < GEMM_PANEL ? N - j0 : GEMM_PANEL;
        float *panel = dst + j0 * K; /* panel j0/64 starts at (j0/64) * K * 64 */
        for (size_t k = 0; k < K; k++) {
            float *row = panel + k * GEMM_PANEL;
            if (transposed)
                for (size_t j = 0; j < w; j++) row[j] = src[(j0 + j) * K + k];
            else
                memcpy(row, src + k * N + j0, w * sizeof *row);
            if (w < GEMM_PANEL) memset(row + w, 0, (GEMM_PANEL - w) * sizeof *row);
        }
    }
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(LSTMAE_NO_AVX512)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))
#define INLINE inline __attribute__((always_inline))
#define PRAGMA(x) _Pragma(#x)
#define UNROLL(n) PRAGMA(GCC unroll n)
#ifndef KC
#define KC 256 /* K slice */
#endif
#define MC 192 /* row slice: 32 blocks of 6 */

/* One block: MR rows of C, NV vectors (16 columns each) of one panel; the
   last vector keeps the lanes of `tail`. Accumulators start from C, then
   one FMA per k, in order: the same operations for every element. */
AVX512 static INLINE void block(float *C, size_t ldc, const float *A, size_t lda,
                                size_t aks, const float *panel, size_t K, __mmask16 tail,
                                const int MR, const int NV)
{
    /* The loops over r and v have constant bounds; they must be unrolled
       completely so that acc lives in registers (-O2 alone does not). */
    __m512 acc[6][4];
    UNROLL(6) for (int r = 0; r < MR; r++)
        UNROLL(4) for (int v = 0; v < NV; v++)
            acc[r][v] = v == NV - 1 ? _mm512_maskz_loadu_ps(tail, C + (size_t)r * ldc + 16 * (size_t)v)
                                    : _mm512_loadu_ps(C + (size_t)r * ldc + 16 * (size_t)v);
    for (size_t k = 0; k < K; k++) {
        const float *b = panel + k * GEMM_PANEL;
        __m512 bv[4];
        UNROLL(4) for (int v = 0; v < NV; v++) bv[v] = _mm512_load_ps(b + 16 * (size_t)v);
        UNROLL(6) for (int r = 0; r < MR; r++) {
            __m512 a = _mm512_set1_ps(A[(size_t)r * lda + k * aks]);
            UNROLL(4) for (int v = 0; v < NV; v++) acc[r][v] = _mm512_fmadd_ps(a, bv[v], acc[r][v]);
        }
    }
    UNROLL(6) for (int r = 0; r < MR; r++)
        UNROLL(4) for (int v = 0; v < NV; v++) {
            if (v == NV - 1)
                _mm512_mask_storeu_ps(C + (size_t)r * ldc + 16 * (size_t)v, tail, acc[r][v]);
            else
                _mm512_storeu_ps(C + (size_t)r * ldc + 16 * (size_t)v, acc[r][v]);
        }
}

/* The rows of one panel: blocks of 6 rows, then the rest. A's element
   (r, k) is at A[r * lda + k * AKS]: AKS 1 (A row-major), or, for the TN
   products, lda 1 and AKS the row stride of the A that is given
   transposed. */
#define PANEL_ROWS(NAME, NV, AKS)                                                   \
    AVX512 static void NAME(float *C, size_t ldc, const float *A, size_t lda,       \
                            size_t aks, const float *panel, size_t M, size_t K,     \
                            __mmask16 tail)                                         \
    {                                                                               \
        (void)aks;                                                                  \
        size_t r = 0;                                                               \
        for (; r + 6 <= M; r += 6)                                                  \
            block(C + r * ldc, ldc, A + r * lda, lda, AKS, panel, K, tail, 6, NV);  \
        float *c = C + r * ldc;                                                     \
        const float *a = A + r * lda;                                               \
        switch (M - r) {                                                            \
        case 5: block(c, ldc, a, lda, AKS, panel, K, tail, 5, NV); break;           \
        case 4: block(c, ldc, a, lda, AKS, panel, K, tail, 4, NV); break;           \
        case 3: block(c, ldc, a, lda, AKS, panel, K, tail, 3, NV); break;           \
        case 2: block(c, ldc, a, lda, AKS, panel, K, tail, 2, NV); break;           \
        case 1: block(c, ldc, a, lda, AKS, panel, K, tail, 1, NV); break;           \
        default: break;                                                             \
        }                                                                           \
    }
PANEL_ROWS(panel_rows_1, 1, 1)
PANEL_ROWS(panel_rows_2, 2, 1)
PANEL_ROWS(panel_rows_3, 3, 1)
PANEL_ROWS(panel_rows_4, 4, 1)
PANEL_ROWS(panel_rows_t1, 1, aks)
PANEL_ROWS(panel_rows_t2, 2, aks)
PANEL_ROWS(panel_rows_t3, 3, aks)
PANEL_ROWS(panel_rows_t4, 4, aks)

AVX512 static void block_rows(float *C, size_t ldc, const float *A, size_t lda, size_t aks,
                              const float *packed, size_t M, size_t N, size_t K);

/* Rows in slices of MC, and K in slices of KC, so that a slice of A
   (MC x KC) and of one panel (KC x 64) stay in L2 while every row block
   passes over them; C carries the partial sums, so the operations are the
   same for every row. */
AVX512 static void rows_in_slices(float *C, size_t ldc, const float *A, size_t lda,
                                  size_t aks, const float *packed, size_t M, size_t N,
                                  size_t K)
{
    for (size_t m0 = 0; m0 < M; m0 += MC) {
        size_t mc = M - m0 < MC ? M - m0 : MC;
        block_rows(C + m0 * ldc, ldc, A + m0 * lda, lda, aks, packed, mc, N, K);
    }
}

AVX512 void gemm_packed_avx512(float *C, size_t ldc, const float *A, size_t lda,
                               const float *packed, size_t M, size_t N, size_t K)
{
    rows_in_slices(C, ldc, A, lda, 1, packed, M, N, K);
}

AVX512 void gemm_packed_tn_avx512(float *C, size_t ldc, const float *At, size_t ldat,
                                  const float *packed, size_t M, size_t N, size_t K)
{
    /* element (r, k) of A = At[k][r]: row stride 1, k stride ldat */
    rows_in_slices(C, ldc, At, 1, ldat, packed, M, N, K);
}

/* gemm_packed_avx512 for at most MC rows. */
AVX512 static void block_rows(float *C, size_t ldc, const float *A, size_t lda, size_t aks,
                              const float *packed, size_t M, size_t N, size_t K)
{
    for (size_t k0 = 0; k0 < K; k0 += KC) {
        size_t kc = K - k0 < KC ? K - k0 : KC;
        for (size_t j0 = 0; j0 < N; j0 += GEMM_PANEL) {
            size_t w = N - j0 < GEMM_PANEL ? N - j0 : GEMM_PANEL;
            size_t nv = (w + 15) / 16, left = w - 16 * (nv - 1);
            __mmask16 tail = (__mmask16)(left >= 16 ? 0xFFFFu : (1u << left) - 1u);
            const float *panel = packed + j0 * K + k0 * GEMM_PANEL;
            float *c = C + j0;
            const float *a = A + k0 * aks;
            if (aks == 1) {
                switch (nv) {
                case 4: panel_rows_4(c, ldc, a, lda, 1, panel, M, kc, tail); break;
                case 3: panel_rows_3(c, ldc, a, lda, 1, panel, M, kc, tail); break;
                case 2: panel_rows_2(c, ldc, a, lda, 1, panel, M, kc, tail); break;
                default: panel_rows_1(c, ldc, a, lda, 1, panel, M, kc, tail); break;
                }
            } else {
                switch (nv) {
                case 4: panel_rows_t4(c, ldc, a, lda, aks, panel, M, kc, tail); break;
                case 3: panel_rows_t3(c, ldc, a, lda, aks, panel, M, kc, tail); break;
                case 2: panel_rows_t2(c, ldc, a, lda, aks, panel, M, kc, tail); break;
                default: panel_rows_t1(c, ldc, a, lda, aks, panel, M, kc, tail); break;
                }
            }
        }
    }
}

gemm_packed_fn gemm_packed_select(void)
{
    return __builtin_cpu_supports("avx512f") ? gemm_packed_avx512 : NULL;
}

#else

void gemm_packed_avx512(float *C, size_t ldc, const float *A, size_t lda,
                        const float *packed, size_t M, size_t N, size_t K)
{
    (void)C; (void)ldc; (void)A; (void)lda; (void)packed; (void)M; (void)N; (void)K;
}

void gemm_packed_tn_avx512(float *C, size_t ldc, const float *At, size_t ldat,
                           const float *packed, size_t M, size_t N, size_t K)
{
    (void)C; (void)ldc; (void)At; (void)ldat; (void)packed; (void)M; (void)N; (void)K;
}

gemm_packed_fn gemm_packed_select(void) { return NULL; }

#endif

const char *gemm_isa(void)
{
    return gemm_packed_select() ? "avx512f-packed" : "blas";
}

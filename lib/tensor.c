/* tensor.c - the CBLAS wrapper. */
#include "tensor.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gemm.h"

#ifdef LSTMAE_USE_BLIS
/* From blis.h (not included: it defines much that clashes with cblas.h);
   arch_t is an enum. */
const char *bli_info_get_version_str(void);
int bli_arch_query_id(void);
const char *bli_arch_string(int id);
int bli_thread_get_num_threads(void);
#endif

/* Scales C by beta when the product is empty (K == 0), as GEMM would. */
static void scale_only(float *C, size_t M, size_t N, float beta)
{
    if (beta == 1.0f) return;
    if (beta == 0.0f) {
        memset(C, 0, M * N * sizeof *C);
        return;
    }
    for (size_t i = 0; i < M * N; i++) C[i] *= beta;
}

void tensor_matmul_nt(float *C, const float *A, const float *B,
                      size_t M, size_t N, size_t K, float beta)
{
    if (M == 0 || N == 0) return;
    if (K == 0) { scale_only(C, M, N, beta); return; }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K,
                1.0f, A, (int)K, B, (int)K, beta, C, (int)N);
}

void tensor_project(float *C, const float *A, const float *W, size_t M, size_t N,
                    size_t K, float *scratch)
{
    gemm_packed_fn kernel = scratch && gemm_packed_fits(N, K) ? gemm_packed_select() : NULL;
    if (kernel && M > 0) {
        gemm_pack(scratch, W, N, K, 1);
        kernel(C, N, A, K, scratch, M, N, K);
    } else {
        tensor_matmul_nt(C, A, W, M, N, K, 1.0f);
    }
}

size_t tensor_project_floats(size_t N, size_t K)
{
    return gemm_packed_fits(N, K) ? gemm_packed_floats(N, K) : 0;
}

/* Packing costs more than the kernel saves below TENSOR_OWN_MIN_MNK, or
   for fewer than TENSOR_OWN_MIN_N columns (a panel is 64 wide). */
static int own_kernel_pays(size_t M, size_t N, size_t K)
{
    return N >= TENSOR_OWN_MIN_N &&
           M * N >= (TENSOR_OWN_MIN_MNK + K - 1) / K; /* M N K >= the minimum */
}

/* C *= beta before a kernel adds the product in (beta 0: C = 0 exactly). */
static void scale_c(float *C, size_t M, size_t N, float beta)
{
    if (beta == 1.0f) return;
    scale_only(C, M, N, beta);
}

void tensor_matmul_nn(float *C, const float *A, const float *B,
                      size_t M, size_t N, size_t K, float beta, float *scratch)
{
    if (M == 0 || N == 0) return;
    if (K == 0) { scale_only(C, M, N, beta); return; }
    gemm_packed_fn kernel = scratch && gemm_packed_fits(N, K) && own_kernel_pays(M, N, K)
                                ? gemm_packed_select()
                                : NULL;
    if (kernel) {
        gemm_pack(scratch, B, N, K, 0);
        scale_c(C, M, N, beta);
        kernel(C, N, A, K, scratch, M, N, K);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K,
                1.0f, A, (int)K, B, (int)N, beta, C, (int)N);
}

size_t tensor_matmul_nn_floats(size_t N, size_t K)
{
    return gemm_packed_fits(N, K) ? gemm_packed_floats(N, K) : 0;
}

/* The TN product runs over K in slices of TN_KC: each slice of B is packed
   into the scratch and the kernel adds that slice's part into C, reading A
   in place (gemm_packed_tn_avx512). Every element of C is still the sum
   over k = 0 .. K-1 in order, whatever M and the other rows are. */
#define TN_KC 256

size_t tensor_matmul_tn_floats(size_t M, size_t N)
{
    if (M == 0 || !gemm_packed_fits(N, TN_KC)) return 0;
    return gemm_packed_floats(N, TN_KC);
}

void tensor_matmul_tn(float *C, const float *A, const float *B,
                      size_t M, size_t N, size_t K, float beta, float *scratch)
{
    if (M == 0 || N == 0) return;
    if (K == 0) { scale_only(C, M, N, beta); return; }
    if (scratch && tensor_matmul_tn_floats(M, N) && own_kernel_pays(M, N, K) &&
        gemm_packed_select()) {
        scale_c(C, M, N, beta);
        for (size_t k0 = 0; k0 < K; k0 += TN_KC) {
            size_t kc = K - k0 < TN_KC ? K - k0 : TN_KC;
            gemm_pack(scratch, B + k0 * N, N, kc, 0);
            gemm_packed_tn_avx512(C, N, A + k0 * M, M, scratch, M, N, kc);
        }
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)M, (int)N, (int)K,
                1.0f, A, (int)M, B, (int)N, beta, C, (int)N);
}

void tensor_fill_rows(float *C, const float *v, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) memcpy(C + r * cols, v, cols * sizeof *C);
}

void tensor_add_colsum(float *out, const float *A, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++) {
        const float *a = A + r * cols;
        for (size_t j = 0; j < cols; j++) out[j] += a[j];
    }
}

int tensor_all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

int tensor_blas_info(char *buf, size_t size)
{
#if defined(LSTMAE_USE_BLIS)
    return snprintf(buf, size, "blas=BLIS %s core=%s blas_threads=%d",
                    bli_info_get_version_str(), bli_arch_string(bli_arch_query_id()),
                    bli_thread_get_num_threads());
#elif defined(LSTMAE_USE_OPENBLAS)
    /* openblas_get_config ends with a space-separated feature list */
    return snprintf(buf, size, "blas=%s core=%s blas_threads=%d", openblas_get_config(),
                    openblas_get_corename(), openblas_get_num_threads());
#else
    return snprintf(buf, size, "blas=CBLAS");
#endif
}

/* ---- the per-step product of a layer call (tensor_step) ---- */

static void run_packed(const tensor_step *s, float *C, const float *A, size_t n)
{
    s->kernel(C, s->N, A, s->K, s->packed, n, s->N, s->K);
}

static void run_blas_nt(const tensor_step *s, float *C, const float *A, size_t n)
{
    tensor_matmul_nt(C, A, s->w, n, s->N, s->K, 1.0f);
}

static void run_blas_nn(const tensor_step *s, float *C, const float *A, size_t n)
{
    tensor_matmul_nn(C, A, s->w, n, s->N, s->K, 1.0f, NULL);
}

tensor_step tensor_step_plan(float *wpack, const float *w, size_t N, size_t K, int transposed)
{
    tensor_step s;
    s.kernel = wpack && gemm_packed_fits(N, K) ? gemm_packed_select() : NULL;
    s.packed = wpack;
    s.w = w;
    s.N = N;
    s.K = K;
    if (s.kernel) {
        gemm_pack(wpack, w, N, K, transposed);
        s.run = run_packed;
    } else {
        s.run = transposed ? run_blas_nt : run_blas_nn;
    }
    return s;
}

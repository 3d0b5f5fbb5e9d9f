/* tensor.c - the CBLAS wrapper. */
#include "tensor.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

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

void tensor_matmul_nn(float *C, const float *A, const float *B,
                      size_t M, size_t N, size_t K, float beta)
{
    if (M == 0 || N == 0) return;
    if (K == 0) { scale_only(C, M, N, beta); return; }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K,
                1.0f, A, (int)K, B, (int)N, beta, C, (int)N);
}

void tensor_matmul_tn(float *C, const float *A, const float *B,
                      size_t M, size_t N, size_t K, float beta)
{
    if (M == 0 || N == 0) return;
    if (K == 0) { scale_only(C, M, N, beta); return; }
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

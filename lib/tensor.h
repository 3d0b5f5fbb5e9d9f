/* tensor.h - dense row-major helpers over CBLAS and elementwise kernels.
   The only module that includes cblas.h. Every matrix is contiguous
   row-major; callers guarantee every dimension fits in an int (checked
   once when a workspace is planned). */
#ifndef LSTMAE_TENSOR_H
#define LSTMAE_TENSOR_H

#include <stddef.h>

#include "gemm.h"

/* C[M][N] = A[M][K] . B[N][K]^T + beta * C   (y = x W^T) */
void tensor_matmul_nt(float *C, const float *A, const float *B,
                      size_t M, size_t N, size_t K, float beta);
/* C[M][N] += A[M][K] . W[N][K]^T (y += x W^T, a layer's product), by the
   packed kernel of gemm.h where the CPU has one and W's pack fits (W is
   packed into `scratch`, tensor_project_floats(N, K) floats, 64-byte
   aligned), else by CBLAS. The packed kernel computes every row alike,
   whatever the other rows. scratch may be NULL: CBLAS. */
void tensor_project(float *C, const float *A, const float *W, size_t M, size_t N,
                    size_t K, float *scratch);
/* Floats of scratch tensor_project uses for W[N][K]; 0: it uses CBLAS. */
size_t tensor_project_floats(size_t N, size_t K);
/* The backward products (tensor_matmul_nn, _tn) go to the packed kernel
   when C has at least TENSOR_OWN_MIN_N columns and M N K is at least
   TENSOR_OWN_MIN_MNK (and scratch is given, and the CPU has the kernel),
   else to the BLAS. The choice depends on the shape and on whether the
   caller gives scratch, never on the data or on other threads. Below
   these, packing costs more than the kernel saves (docs/performance.md);
   above, the kernel keeps the BLAS's own threads, which serialise calls
   from several lstmae workers, out of the way. A fit with one worker
   gives no scratch (layer_scratch.bwpack): alone, OpenBLAS is as fast on
   these shapes, and 5-7% faster on L. */
#define TENSOR_OWN_MIN_MNK ((size_t)1 << 18)
#define TENSOR_OWN_MIN_N 32

/* C[M][N] = A[M][K] . B[K][N] + beta * C     (dx = dy W). With scratch
   (tensor_matmul_nn_floats(N, K) floats, 64-byte aligned) on a CPU with
   the packed kernel, that kernel computes it, with no BLAS call; else (or
   scratch NULL) CBLAS. */
void tensor_matmul_nn(float *C, const float *A, const float *B,
                      size_t M, size_t N, size_t K, float beta, float *scratch);
/* Floats of scratch tensor_matmul_nn uses for B[K][N]; 0: it uses CBLAS. */
size_t tensor_matmul_nn_floats(size_t N, size_t K);
/* C[M][N] = A[K][M]^T . B[K][N] + beta * C   (dW += dy^T x). scratch as
   for tensor_matmul_nn, tensor_matmul_tn_floats(M, N) floats (any K). */
void tensor_matmul_tn(float *C, const float *A, const float *B,
                      size_t M, size_t N, size_t K, float beta, float *scratch);
/* Floats of scratch tensor_matmul_tn uses for C[M][N]; 0: it uses CBLAS. */
size_t tensor_matmul_tn_floats(size_t M, size_t N);
/* Every row of C[rows][cols] = v[cols]. */
void tensor_fill_rows(float *C, const float *v, size_t rows, size_t cols);
/* out[cols] += sum over rows of A[rows][cols]. */
void tensor_add_colsum(float *out, const float *A, size_t rows, size_t cols);
/* The BLAS's thread count is never changed here: it is process-wide, and
   changing it while another thread's fit runs would change that fit's
   results (issue 11). */
/* The BLAS, its kernels and threads, as text (lstmae_runtime_info). */
int tensor_blas_info(char *buf, size_t size);
/* 1 if all n values are finite. */
int tensor_all_finite(const float *x, size_t n);

/* The per-step product C[n][N] += A[n][K] B of one layer call, B a weight
   matrix: the packed kernel of gemm.h where it pays, else CBLAS. Chosen
   (and the weights packed) once per layer call by tensor_step_plan; the
   time loop only calls s.run(&s, C, A, n). */
typedef struct tensor_step tensor_step;
struct tensor_step {
    void (*run)(const tensor_step *s, float *C, const float *A, size_t n);
    gemm_packed_fn kernel;
    const float *packed; /* the pack, for the kernel                      */
    const float *w;      /* B as given, for CBLAS                         */
    size_t N, K;
};
/* w is B[K][N], or with `transposed` W[N][K] (products x W^T). wpack:
   gemm_packed_floats(N, K) floats of scratch, or NULL (CBLAS). */
tensor_step tensor_step_plan(float *wpack, const float *w, size_t N, size_t K,
                             int transposed);

#endif

/* gemm.h - the per-step recurrent products without a BLAS call.

   Inside the time loop every step multiplies a few rows (the batch's rows
   still running) by the same weight matrix: h_{t-1} W_hh^T forward,
   da_t W_hh backward. At the small and medium shapes (H up to a few
   hundred) one BLAS call costs microseconds of overhead and, with several
   lstmae workers calling at once, contends inside the BLAS. Instead the
   weight matrix is packed once per layer call into column panels, and an
   AVX-512 kernel accumulates C += A B from the pack, one step at a time.

   Every element of C is computed by the same sequence of fused
   multiply-adds (k = 0 .. K-1, from C's old value), whatever its row's
   position in the block, so a row's result never depends on the other rows
   of the batch. Used only where the CPU has AVX-512F and the pack is small
   enough to stay in cache (gemm_packed_fits); everywhere else the caller
   uses CBLAS. tests/test_gemm.c checks the kernel against CBLAS. */
#ifndef LSTMAE_GEMM_H
#define LSTMAE_GEMM_H

#include <stddef.h>

/* Columns per panel: four 16-float vectors. */
#define GEMM_PANEL 64

/* Floats of a pack of B[K][N]: ceil(N / 64) panels of K x 64. */
size_t gemm_packed_floats(size_t N, size_t K);

/* 1 when a pack of B[K][N] is at most 16 MiB (H <= 1024 for an LSTM
   layer). Measured on an AVX-512 Xeon against OpenBLAS 0.3.21's SkylakeX
   kernels at the per-step shapes, one thread: the packed kernel ran
   80-110 GFLOP/s where a BLAS call per step ran 45-85, from H = 20 to
   H = 512 (bench/gemm_bench.c). Depends on the shape only, so the choice
   never depends on the data. */
int gemm_packed_fits(size_t N, size_t K);

/* Packs B[K][N] into dst (gemm_packed_floats(N, K) floats, 64-byte
   aligned), zero-padding the last panel. `transposed`: the source is
   given as Bt[N][K] (a weight W[N][K] for products x W^T), else as
   B[K][N]. */
void gemm_pack(float *dst, const float *src, size_t N, size_t K, int transposed);

/* C[M][N] (row stride ldc) += A[M][K] (row stride lda) . B, B packed by
   gemm_pack. */
typedef void (*gemm_packed_fn)(float *C, size_t ldc, const float *A, size_t lda,
                               const float *packed, size_t M, size_t N, size_t K);

/* The packed kernel for this CPU, or NULL where there is none (no
   AVX-512F, or a build without it): the caller then uses CBLAS. */
gemm_packed_fn gemm_packed_select(void);

/* The AVX-512 kernel itself; call only when gemm_packed_select() is not
   NULL. */
void gemm_packed_avx512(float *C, size_t ldc, const float *A, size_t lda,
                        const float *packed, size_t M, size_t N, size_t K);

/* The same for C[M][N] += A . B with A given transposed, At[K][M] (row
   stride ldat): element (r, k) of A is At[k * ldat + r]. For the weight
   gradients dW += dA^T X, with no transposed copy of dA. */
void gemm_packed_tn_avx512(float *C, size_t ldc, const float *At, size_t ldat,
                           const float *packed, size_t M, size_t N, size_t K);

/* "avx512f-packed" or "blas": what runs the per-step products here. */
const char *gemm_isa(void);

#endif

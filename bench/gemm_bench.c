/* gemm_bench.c - the per-step products, lstmae's packed AVX-512 kernel
   (lib/gemm.c) against one CBLAS call, at the shapes of the benchmark's
   configurations: C[M][N] += A[M][K] B[K][N] with M the rows running at a
   step, and (N, K) = (4H, H) forward, (H, 4H) backward. One thread (set
   OPENBLAS_NUM_THREADS=1 for a fair BLAS). Prints one line per shape:
   GFLOP/s of each and microseconds per call. Internal API: built with
   lib/ on its include path; not installed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gemm.h"
#include "tensor.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *make(size_t n, unsigned seed)
{
    float *x = aligned_alloc(64, (n * sizeof *x + 63) / 64 * 64);
    if (!x) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
    return x;
}

int main(void)
{
    static const struct { const char *what; size_t M, N, K; } shapes[] = {
        { "S forward  (H=20, 100 rows)", 100, 80, 20 },
        { "S backward (H=20, 100 rows)", 100, 20, 80 },
        { "M forward  (H=128, 64 rows)", 64, 512, 128 },
        { "M backward (H=128, 64 rows)", 64, 128, 512 },
        { "M forward  (H=128, 32 rows)", 32, 512, 128 },
        { "M backward (H=128, 32 rows)", 32, 128, 512 },
        { "L forward  (H=512, 64 rows)", 64, 2048, 512 },
        { "L backward (H=512, 64 rows)", 64, 512, 2048 },
        { "L encode   (H=512, 128 rows)", 128, 2048, 512 },
    };
    gemm_packed_fn kernel = gemm_packed_select();
    if (!kernel) printf("no AVX-512F here: lstmae uses CBLAS for these products\n");
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        size_t M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
        float *A = make(M * K, 1), *B = make(K * N, 2), *C = make(M * N, 3);
        float *P = make(gemm_packed_floats(N, K), 4);
        gemm_pack(P, B, N, K, 0);
        double flop = 2.0 * (double)M * (double)N * (double)K;
        int reps = (int)(1e9 / flop) + 10;
        double t0 = now();
        for (int r = 0; kernel && r < reps; r++) kernel(C, N, A, K, P, M, N, K);
        double t1 = now();
        for (int r = 0; r < reps; r++) tensor_matmul_nn(C, A, B, M, N, K, 1.0f, NULL);
        double t2 = now();
        printf("%-30s M=%4zu N=%5zu K=%5zu  packed %6.1f GFLOP/s %8.2f us  cblas %6.1f GFLOP/s %8.2f us\n",
               shapes[s].what, M, N, K, kernel ? flop * reps / (t1 - t0) * 1e-9 : 0.0,
               (t1 - t0) / reps * 1e6, flop * reps / (t2 - t1) * 1e-9, (t2 - t1) / reps * 1e6);
        free(A); free(B); free(C); free(P);
    }
    return 0;
}

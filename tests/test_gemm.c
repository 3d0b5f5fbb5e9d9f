/* test_gemm.c - the packed per-step kernel (lib/gemm.c) against CBLAS
   (lib/tensor.c), for both packings (B given as B[K][N] and as W[N][K]),
   over shapes that cover every masked tail (N mod 16), partial panels
   (N mod 64) and row remainders (M mod 6), with a row stride wider than
   N. Also: it accumulates onto C, leaves the columns past N alone, and a
   row's result does not depend on the rows computed with it. Skipped (with
   a message) where the CPU has no AVX-512F: lstmae then uses CBLAS. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "tensor.h"
#include "testutil.h"

static float *filled(size_t n, uint64_t *st)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    tu_fill_uniform(st, x, n, -1.0f, 1.0f);
    return x;
}

static float *packed_alloc(size_t N, size_t K)
{
    size_t bytes = (gemm_packed_floats(N, K) * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);
    assert_non_null(p);
    return p;
}

/* One shape: C (M rows, stride ldc = N + 3) += A B, both packings. */
static void check_shape(size_t M, size_t N, size_t K, uint64_t *st)
{
    size_t ldc = N + 3;
    float *A = filled(M * K, st), *B = filled(K * N, st), *Bt = malloc(N * K * sizeof *Bt);
    float *C0 = filled(M * ldc, st), *want = malloc(M * N * sizeof *want);
    float *got = malloc(M * ldc * sizeof *got), *pk = packed_alloc(N, K);
    assert_non_null(Bt); assert_non_null(want); assert_non_null(got);
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j];

    /* reference: CBLAS on a dense copy of C's first N columns */
    for (size_t r = 0; r < M; r++) memcpy(want + r * N, C0 + r * ldc, N * sizeof *want);
    tensor_matmul_nn(want, A, B, M, N, K, 1.0f, NULL);
    /* tolerance: K roundings of terms up to 1 in size, from C's |c| <= 1 */
    double tol = 4.0 * (double)(K + 1) * 1.2e-7;

    for (int transposed = 0; transposed <= 1; transposed++) {
        gemm_pack(pk, transposed ? Bt : B, N, K, transposed);
        memcpy(got, C0, M * ldc * sizeof *got);
        gemm_packed_avx512(got, ldc, A, K, pk, M, N, K);
        for (size_t r = 0; r < M; r++) {
            for (size_t j = 0; j < N; j++) {
                double d = fabs((double)got[r * ldc + j] - (double)want[r * N + j]);
                if (d > tol)
                    fail_msg("M=%zu N=%zu K=%zu transposed=%d: C[%zu][%zu] = %.9g, CBLAS %.9g",
                             M, N, K, transposed, r, j, (double)got[r * ldc + j],
                             (double)want[r * N + j]);
            }
            /* the columns past N are not touched */
            tu_assert_bits_equal("columns past N", got + r * ldc + N, C0 + r * ldc + N, 3);
        }
        /* each row alone gives the same bits as in the block */
        for (size_t r = 0; r < M; r += 1 + M / 4) {
            float row[300];
            assert_true(N + 3 <= 300);
            memcpy(row, C0 + r * ldc, ldc * sizeof *row);
            gemm_packed_avx512(row, ldc, A + r * K, K, pk, 1, N, K);
            tu_assert_bits_equal("row alone", row, got + r * ldc, N);
        }
    }
    free(A); free(B); free(Bt); free(C0); free(want); free(got); free(pk);
}

static void test_against_cblas(void **state)
{
    (void)state;
    if (!gemm_packed_select()) {
        print_message("no AVX-512F on this CPU: the per-step products use CBLAS\n");
        skip();
    }
    static const size_t Ms[] = { 1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 64 };
    static const size_t Ns[] = { 1, 4, 15, 16, 17, 20, 33, 48, 63, 64, 65, 80, 128, 200, 257 };
    static const size_t Ks[] = { 1, 7, 20, 80, 129 };
    uint64_t st = 7;
    size_t shapes = 0;
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                check_shape(Ms[a], Ns[b], Ks[c], &st);
                shapes++;
            }
    print_message("%zu shapes, both packings, agree with CBLAS\n", shapes);
}

/* tensor_matmul_nn and _tn with scratch (the packed kernel; for TN over
   K in slices of 256) agree with CBLAS, for beta 0, 1 and 0.5. */
/* Returns how many of the two forms ran on the packed kernel. */
static int check_products(size_t M, size_t N, size_t K, float beta, uint64_t *st)
{
    float *A = filled(M * K, st), *B = filled(K * N, st), *At = filled(K * M, st);
    float *C0 = filled(M * N, st), *want = malloc(M * N * sizeof *want);
    float *got = malloc(M * N * sizeof *got);
    assert_non_null(want); assert_non_null(got);
    /* the NN form packs all of B (K x N): for long K it is too large and
       CBLAS runs it; the TN form packs slices of 256 rows */
    size_t nn = tensor_matmul_nn_floats(N, K), tn = tensor_matmul_tn_floats(M, N);
    assert_true(tn > 0);
    float *scratch = aligned_alloc(64, ((nn > tn ? nn : tn) * sizeof(float) + 63) / 64 * 64);
    assert_non_null(scratch);
    /* K roundings of terms up to 1 in size, on each side */
    double tol = 4.0 * (double)(K + 1) * 1.2e-7;
    for (int tn_form = 0; tn_form <= 1; tn_form++) {
        memcpy(want, C0, M * N * sizeof *want);
        memcpy(got, C0, M * N * sizeof *got);
        if (tn_form) {
            tensor_matmul_tn(want, At, B, M, N, K, beta, NULL);
            tensor_matmul_tn(got, At, B, M, N, K, beta, scratch);
        } else {
            tensor_matmul_nn(want, A, B, M, N, K, beta, NULL);
            tensor_matmul_nn(got, A, B, M, N, K, beta, scratch);
        }
        for (size_t i = 0; i < M * N; i++)
            if (fabs((double)got[i] - (double)want[i]) > tol)
                fail_msg("%s M=%zu N=%zu K=%zu beta=%g: C[%zu] = %.9g, CBLAS %.9g",
                         tn_form ? "tn" : "nn", M, N, K, (double)beta, i, (double)got[i],
                         (double)want[i]);
    }
    free(A); free(B); free(At); free(C0); free(want); free(got); free(scratch);
    return 1 + (nn > 0);
}

static void test_products_against_cblas(void **state)
{
    (void)state;
    if (!gemm_packed_select()) {
        print_message("no AVX-512F on this CPU: the backward products use CBLAS\n");
        skip();
    }
    /* K from the smallest that reaches the packed kernel on, in slices of
       256 for TN: a multiple of 256 and not */
    static const size_t Ms[] = { 1, 5, 7, 64, 130 };
    static const size_t Ns[] = { TENSOR_OWN_MIN_N, 33, 48, 64, 130 };
    static const size_t extra[] = { 0, 1, 256, 300 };
    static const float betas[] = { 0.0f, 1.0f, 0.5f };
    uint64_t st = 11;
    size_t shapes = 0, packed = 0;
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 5; b++)
            for (size_t c = 0; c < 4; c++) {
                size_t MN = Ms[a] * Ns[b], K = (TENSOR_OWN_MIN_MNK + MN - 1) / MN + extra[c];
                packed += (size_t)check_products(Ms[a], Ns[b], K, betas[shapes % 3], &st);
                shapes++;
            }
    print_message("%zu of %zu products on the packed kernel\n", packed, 2 * shapes);
    assert_true(packed >= shapes + shapes / 2);
    print_message("%zu shapes of tensor_matmul_nn and _tn agree with CBLAS\n", shapes);
}

static void test_pack_layout(void **state)
{
    (void)state;
    /* N = 70: panel 0 holds columns 0..63, panel 1 columns 64..69 then
       58 zeros; both packings give the same pack. */
    size_t N = 70, K = 3;
    float B[3 * 70], Bt[70 * 3];
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < N; j++) {
            B[k * N + j] = (float)(1000 * k + j);
            Bt[j * K + k] = B[k * N + j];
        }
    assert_int_equal(gemm_packed_floats(N, K), 2 * 64 * K);
    float *p = packed_alloc(N, K), *q = packed_alloc(N, K);
    gemm_pack(p, B, N, K, 0);
    gemm_pack(q, Bt, N, K, 1);
    tu_assert_bits_equal("two packings", p, q, gemm_packed_floats(N, K));
    assert_true(p[2 * 64 + 5] == 2005.0f);              /* panel 0, k 2, column 5 */
    assert_true(p[64 * K + 1 * 64 + 3] == 1067.0f);     /* panel 1, k 1, column 67 */
    assert_true(p[64 * K + 1 * 64 + 6] == 0.0f);        /* padding */
    free(p); free(q);
}

static void test_fits(void **state)
{
    (void)state;
    assert_true(gemm_packed_fits(80, 20));              /* the seed, H = 20 */
    assert_true(gemm_packed_fits(4096, 1024));          /* H = 1024: 16 MiB */
    assert_false(gemm_packed_fits(4100, 1024));
    assert_false(gemm_packed_fits(0, 5));
    assert_false(gemm_packed_fits((size_t)-1, (size_t)-1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_cblas),
        cmocka_unit_test(test_products_against_cblas),
        cmocka_unit_test(test_pack_layout),
        cmocka_unit_test(test_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

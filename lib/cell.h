/* cell.h - the pointwise passes of the LSTM cell, for n rows of one step.
   Gate order i, f, g, o; rows of G = 4H gates, of H states.

   Two implementations: portable C that the compiler vectorises (cloned
   for AVX-512F, AVX2 and baseline x86-64; every clone gives the same
   bits), and AVX-512 intrinsics whose masked tail makes small H (the
   seed's 20) as fast as a multiple of 16, with FMA and a refined
   reciprocal instead of division: within 1e-6 of the portable kernels.
   cell_select() picks the fastest the CPU runs. */
#ifndef LSTMAE_CELL_H
#define LSTMAE_CELL_H

#include <stddef.h>

/* The contract of every kernel below:
   forward:  g: [n][G] in pre-activations, out activations; c, h: [n][H]
             out; c_prev: [n][H] the previous cell state.
             c = f * c_prev + i * g;  h = o * tanh(c)
   forward_first: forward from the zero state (the first step).
   backward: dg: [n][G] out, dL/da; dc: [n][H] in the carry from step t+1
             (zero at a row's last step), out the carry for step t-1;
             dh: [n][H] dL/dh_t; g, c: this step's activations and cell
             state; c_prev: [n][H], or NULL for the first step.
   The _avx512 kernels agree with the portable (_generic) ones to 1e-6
   and may be called only when cell_have_avx512(). */
void cell_forward_generic(float *restrict g, float *restrict c, float *restrict h,
                          const float *restrict c_prev, size_t n, size_t H);
void cell_forward_first_generic(float *restrict g, float *restrict c, float *restrict h,
                                size_t n, size_t H);
void cell_backward_generic(float *restrict dg, float *restrict dc, const float *restrict dh,
                           const float *restrict g, const float *restrict c,
                           const float *restrict c_prev, size_t n, size_t H);
int cell_have_avx512(void);
void cell_forward_avx512(float *restrict g, float *restrict c, float *restrict h,
                         const float *restrict c_prev, size_t n, size_t H);
void cell_forward_first_avx512(float *restrict g, float *restrict c, float *restrict h,
                               size_t n, size_t H);
void cell_backward_avx512(float *restrict dg, float *restrict dc, const float *restrict dh,
                          const float *restrict g, const float *restrict c,
                          const float *restrict c_prev, size_t n, size_t H);

/* The kernels this CPU runs best, chosen once per layer call so that no
   per-step call asks the CPU again. */
typedef struct cell_kernels {
    void (*forward)(float *restrict g, float *restrict c, float *restrict h,
                    const float *restrict c_prev, size_t n, size_t H);
    void (*forward_first)(float *restrict g, float *restrict c, float *restrict h,
                          size_t n, size_t H);
    void (*backward)(float *restrict dg, float *restrict dc, const float *restrict dh,
                     const float *restrict g, const float *restrict c,
                     const float *restrict c_prev, size_t n, size_t H);
} cell_kernels;
cell_kernels cell_select(void);

/* What cell_select() picks here: "avx512f-intrinsics", "avx512f", "avx2" or
   "baseline". */
const char *cell_isa(void);

#endif

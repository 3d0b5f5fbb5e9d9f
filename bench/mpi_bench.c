/*
 * mpi_bench.c - lstmae_fit_mpi's speed-up and all-reduce cost (not a
 * test). docs/distributed.md reports its figures.
 *
 * Under `mpirun -np R mpi_bench`, with OPENBLAS_NUM_THREADS=1 and one
 * thread a rank (num_threads 1): the issue-15 M-sized job, by default
 * 1,024 sequences of T = 50 steps (every length 50, or uniform in
 * --min-len..T), D = 32, hidden 128, latent 64, one layer, MSE, Adam
 * (lr 1e-3), shuffle off, sums of sinusoids from splitmix64 (the same data
 * on every rank). Each repetition times one epoch (from a model made
 * afresh from the same seed):
 *
 *   alone  rank 0 alone, lstmae_fit over the whole set with batch
 *          local_batch * R: the same global batches (the other ranks wait,
 *          sleeping, so they take no core);
 *   group  every rank, lstmae_fit_mpi over its shard (the r-th run of
 *          local_batch out of every local_batch * R sequences), local
 *          batch local_batch: the wall time of the slowest rank.
 *
 * The all-reduce is timed through MPI's profiling interface: this program
 * defines MPI_Allreduce (calling PMPI_Allreduce), which lstmae_mpi's calls
 * reach, and adds up the time of the gradient all-reduces (the ones of
 * more than 64 floats: one a step) and of the others. That time includes
 * waiting for the slowest rank; an isolated all-reduce of the same size
 * (after a barrier, the median of 50) is measured too. compute per step
 * is the group's epoch time less its all-reduce time, over the steps.
 *
 * A machine shared with other jobs slices the ranks' time: the wall
 * times then measure the machine's load. So the CPU times are measured
 * too (CLOCK_PROCESS_CPUTIME_ID): alone_cpu_s, rank 0's CPU time alone;
 * compute_cpu_s, the largest CPU time a rank of the group spent outside
 * MPI_Allreduce; cpu_speedup = alone_cpu_s / (compute_cpu_s + steps x
 * the isolated all-reduce), the speed-up on dedicated cores (MPI's busy
 * waiting inside the all-reduce is not counted; the isolated all-reduce
 * stands for it).
 *
 * Prints the best (least) of --repeat repetitions of each as one line:
 *   mpi_bench ranks=2 ... alone_s=... group_s=... speedup=... \
 *       allreduce_ms_per_step=... allreduce_isolated_ms=... ...
 *
 * Usage: mpirun -np R mpi_bench [--sequences N] [--length T] [--min-len L]
 *            [--dim D] [--hidden H] [--latent Z] [--batch B] [--repeat K]
 *            [--epochs E]
 * (--epochs E: each repetition times a fit of E epochs instead of one, so
 * that the fit's start, the model's broadcast, weighs less; steps= then
 * counts every epoch's.)
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "lstmae_mpi.h"

/* ---- the all-reduce, timed (MPI profiling interface) -------------------- */

enum { BIG = 64 };
static double ar_big_s, ar_small_s, ar_cpu_s;
static long ar_big_calls, ar_small_calls;
static int ar_counting, ar_big_count; /* the floats of the last gradient all-reduce */

static double cpu_s(void);

int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype,
                  MPI_Op op, MPI_Comm comm)
{
    double c0 = ar_counting ? cpu_s() : 0.0, t0 = PMPI_Wtime();
    int rc = PMPI_Allreduce(sendbuf, recvbuf, count, datatype, op, comm);
    double dt = PMPI_Wtime() - t0;
    if (ar_counting) {
        ar_cpu_s += cpu_s() - c0;
        if (count > BIG) {
            ar_big_count = count;
            ar_big_s += dt;
            ar_big_calls++;
        } else {
            ar_small_s += dt;
            ar_small_calls++;
        }
    }
    return rc;
}

/* ---- data ------------------------------------------------------------------ */

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *s)
{
    return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* x[i][t][j] = sum of 3 sinusoids per feature; padding 0. */
static void make_data(size_t n, size_t T, size_t min_len, size_t D, float *x, int32_t *len)
{
    const double pi = 3.14159265358979323846;
    uint64_t s = 2048;
    memset(x, 0, n * T * D * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        size_t L = min_len + (size_t)(next_u64(&s) % (T - min_len + 1));
        len[i] = (int32_t)L;
        for (size_t j = 0; j < D; j++)
            for (int k = 0; k < 3; k++) {
                double a = 0.1 + 0.3 * next_unit(&s), w = 2.0 * pi / (4.0 + 36.0 * next_unit(&s));
                double phi = 2.0 * pi * next_unit(&s);
                for (size_t t = 0; t < L; t++)
                    x[(i * T + t) * D + j] += (float)(a * sin(w * (double)t + phi));
            }
    }
}

/* ---- helpers --------------------------------------------------------------- */

static int rank, size;

static void die(const char *what, int st)
{
    fprintf(stderr, "mpi_bench: rank %d: %s: %s\n", rank, what, lstmae_strerror(st));
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* The process's CPU time (every thread: with one thread a rank and
   OPENBLAS_NUM_THREADS=1, the computing one and MPI's). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Every rank but 0 waits here, sleeping, until rank 0 arrives (a plain
   barrier would spin on a core the work needs). */
static void sleepy_barrier(void)
{
    MPI_Request rq;
    MPI_Ibarrier(MPI_COMM_WORLD, &rq);
    int done = 0;
    while (!done) {
        MPI_Test(&rq, &done, MPI_STATUS_IGNORE);
        if (!done) {
            struct timespec ts = { 0, 2000000 }; /* 2 ms */
            nanosleep(&ts, NULL);
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long arg_long(int argc, char **argv, const char *name, long def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return strtol(argv[i + 1], NULL, 10);
    return def;
}

int main(int argc, char **argv)
{
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            if (rank == 0)
                printf("usage: mpirun -np R mpi_bench [--sequences N] [--length T] "
                       "[--min-len L] [--dim D] [--hidden H] [--latent Z] [--batch B] "
                       "[--repeat K] [--epochs E]\n");
            MPI_Finalize();
            return 0;
        }
    const size_t N = (size_t)arg_long(argc, argv, "--sequences", 1024);
    const size_t T = (size_t)arg_long(argc, argv, "--length", 50);
    const size_t minL = (size_t)arg_long(argc, argv, "--min-len", (long)T);
    const size_t D = (size_t)arg_long(argc, argv, "--dim", 32);
    const int H = (int)arg_long(argc, argv, "--hidden", 128);
    const int Z = (int)arg_long(argc, argv, "--latent", 64);
    const size_t B = (size_t)arg_long(argc, argv, "--batch", 32);
    const int reps = (int)arg_long(argc, argv, "--repeat", 3);
    const int epochs = (int)arg_long(argc, argv, "--epochs", 1);
    if (N < 1 || T < 1 || minL < 1 || minL > T || D < 1 || H < 1 || Z < 1 || B < 1 || reps < 1 ||
        epochs < 1) {
        if (rank == 0) fprintf(stderr, "mpi_bench: bad arguments (--help)\n");
        MPI_Finalize();
        return 2;
    }
    const char *obt = getenv("OPENBLAS_NUM_THREADS");
    if (rank == 0 && (!obt || strcmp(obt, "1") != 0))
        fprintf(stderr, "mpi_bench: warning: OPENBLAS_NUM_THREADS is not 1 (mpirun -x "
                        "OPENBLAS_NUM_THREADS=1): BLAS threads will compete for the cores\n");

    float *x = malloc(N * T * D * sizeof *x), *sx = malloc(N * T * D * sizeof *sx);
    int32_t *len = malloc(N * sizeof *len), *slen = malloc(N * sizeof *slen);
    if (!x || !sx || !len || !slen) die("memory", LSTMAE_ERR_NOMEM);
    make_data(N, T, minL, D, x, len);
    size_t n_mine = 0;
    for (size_t i = 0; i < N; i++) {
        if ((i / B) % (size_t)size != (size_t)rank) continue;
        memcpy(sx + n_mine * T * D, x + i * T * D, T * D * sizeof *x);
        slen[n_mine++] = len[i];
    }
    lstmae_config c;
    lstmae_config_init(&c);
    c.input_dim = (int)D;
    c.hidden_dim = H;
    c.latent_dim = Z;
    c.num_layers = 1;
    c.loss = LSTMAE_LOSS_MSE;
    c.seed = 1;
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = epochs;
    o.batch_size = (int)B;
    o.shuffle = 0;
    o.learning_rate = 1e-3f;
    o.num_threads = 1;

    lstmae_model *m = NULL;
    int st = lstmae_create(&c, &m);
    if (st) die("create", st);
    size_t P = 0;
    for (size_t i = 0; i < lstmae_param_count(m); i++)
        P += lstmae_param_size(m, lstmae_param_name(m, i));
    lstmae_free(m);
    const size_t global = B * (size_t)size,
                 steps = (N + global - 1) / global * (size_t)epochs; /* in all */

    double best_alone = INFINITY, best_group = INFINITY, best_ar = INFINITY;
    double alone_cpu = 0, group_cpu = 0, ar_small_best = 0, best_compute_cpu = INFINITY;
    long calls_per_epoch = 0;
    for (int rep = 0; rep < reps; rep++) {
        /* alone: rank 0, the whole set, global batches */
        if (rank == 0) {
            st = lstmae_create(&c, &m);
            if (st) die("create", st);
            lstmae_fit_options oa = o;
            oa.batch_size = (int)global;
            lstmae_sequences all = { x, len, N, T };
            double c0 = cpu_s(), t0 = MPI_Wtime();
            st = lstmae_fit(m, &all, NULL, &oa, NULL);
            double dt = MPI_Wtime() - t0, dc = cpu_s() - c0;
            if (st) die("fit alone", st);
            if (dt < best_alone) best_alone = dt;
            if (alone_cpu == 0 || dc < alone_cpu) alone_cpu = dc;
            lstmae_free(m);
        }
        sleepy_barrier();

        /* group */
        st = lstmae_create(&c, &m);
        if (st) die("create", st);
        lstmae_sequences mine = { n_mine ? sx : NULL, slen, n_mine, T };
        MPI_Barrier(MPI_COMM_WORLD);
        ar_big_s = ar_small_s = ar_cpu_s = 0.0;
        ar_big_calls = ar_small_calls = 0;
        ar_counting = 1;
        double c0 = cpu_s(), t0 = MPI_Wtime();
        st = lstmae_fit_mpi(m, MPI_COMM_WORLD, &mine, NULL, &o, NULL);
        double dt = MPI_Wtime() - t0, dc = cpu_s() - c0;
        ar_counting = 0;
        if (st) die("fit_mpi", st);
        lstmae_free(m);
        /* the slowest rank's wall time and all-reduce time; the largest
           CPU time a rank spent outside the all-reduces */
        double v[4] = { dt, ar_big_s, ar_small_s, dc - ar_cpu_s }, vmax[4];
        MPI_Allreduce(v, vmax, 4, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (vmax[0] < best_group) {
            best_group = vmax[0];
            best_ar = vmax[1];
            ar_small_best = vmax[2];
            group_cpu = dc;
            calls_per_epoch = ar_big_calls;
        }
        if (vmax[3] < best_compute_cpu) best_compute_cpu = vmax[3];
    }

    /* the gradient all-reduce alone (as many floats as in the fit: the
       parameters and a few sums), median of 50 */
    enum { ISO = 50 };
    size_t n_ar = ar_big_count > 0 ? (size_t)ar_big_count : P;
    float *buf = calloc(n_ar, sizeof *buf);
    double iso[ISO];
    if (!buf) die("memory", LSTMAE_ERR_NOMEM);
    for (int i = 0; i < ISO; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        PMPI_Allreduce(MPI_IN_PLACE, buf, (int)n_ar, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double dt = MPI_Wtime() - t0, dmax = 0;
        PMPI_Allreduce(&dt, &dmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        iso[i] = dmax;
    }
    qsort(iso, ISO, sizeof *iso, cmp_double);

    double load[3] = { 0, 0, 0 };
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
        fclose(la);
    }
    if (rank == 0) {
        /* on dedicated cores: the busiest rank's compute, plus the
           isolated all-reduce once a step */
        double cpu_group = best_compute_cpu + (double)steps * iso[ISO / 2];
        double per_step_ar = calls_per_epoch ? best_ar / (double)calls_per_epoch : 0.0;
        double compute = (best_group - best_ar - ar_small_best) / (double)steps;
        printf("mpi_bench ranks=%d sequences=%zu T=%zu min_len=%zu D=%zu H=%d Z=%d layers=1 "
               "epochs=%d local_batch=%zu global_batch=%zu steps=%zu params=%zu "
               "allreduce_bytes=%zu "
               "repeat=%d alone_s=%.4f group_s=%.4f speedup=%.3f alone_cpu_s=%.3f "
               "group_rank0_cpu_s=%.3f allreduce_calls=%ld allreduce_ms_per_step=%.3f "
               "allreduce_share=%.4f other_allreduce_ms=%.3f allreduce_isolated_ms=%.3f "
               "compute_ms_per_step=%.3f alone_ms_per_step=%.3f "
               "compute_cpu_s=%.4f cpu_speedup=%.3f loadavg=%.2f\n",
               size, N, T, minL, D, H, Z, epochs, B, global, steps, P, n_ar * sizeof(float), reps,
               best_alone, best_group, best_alone / best_group, alone_cpu, group_cpu,
               calls_per_epoch, 1e3 * per_step_ar, best_ar / best_group, 1e3 * ar_small_best,
               1e3 * iso[ISO / 2], 1e3 * compute, 1e3 * best_alone / (double)steps,
               best_compute_cpu, alone_cpu / cpu_group, load[0]);
    }
    free(buf);
    free(x);
    free(sx);
    free(len);
    free(slen);
    MPI_Finalize();
    return 0;
}

/*
 * bench.c - lstmae's benchmark program (not a test). docs/performance.md.
 *
 * Three configurations, fixed by issue 4:
 *   S  1200 sequences, T 10,  D 8,  H 20,  Z 20,  K 1, batch 100, bce,
 *      moving ones (one-hot width 8 at position t for t < 8, zeros after),
 *      lengths uniform in 1..10;
 *   M  2048 sequences, T 50,  D 32, H 128, Z 64,  K 1, batch 64,  mse,
 *      sums of sinusoids, lengths uniform in 25..50;
 *   L  512 sequences,  T 100, D 64, H 512, Z 256, K 2, batch 64,  mse,
 *      smooth noise (AR(1) per feature), every length 100.
 * Data come from splitmix64 seeded per configuration, so every run (and
 * bench/torch_baseline.py, which reads the files --write-data makes) sees
 * the same numbers.
 *
 * The recurrent cell is the library's default LSTM, or with --cell gru the
 * GRU (lstmae_config.cell = LSTMAE_CELL_GRU), in every layer; the shapes
 * and data are the same.
 *
 * For each configuration, in a process of its own (so that peak RSS is its
 * own): one warm-up epoch, then the median of N timed epochs of lstmae_fit
 * (Adam, lr 1e-3, shuffled; with --batches, runs of B batches instead of
 * epochs); then lstmae_encode over the set, warm-up and median of R
 * repetitions. Prints one line per configuration:
 *
 *   bench impl=lstmae cell=lstm config=S threads=1 ... train_seq_per_s=... \
 *         encode_seq_per_s=... gflops=... encode_gflops=... peak_rss_mb=...
 *         ... train_cpu_seq_per_s=... encode_cpu_seq_per_s=...
 *
 * The *_cpu_seq_per_s fields divide by the process's CPU time (user +
 * system, getrusage) over the same units instead of the wall time: at one
 * thread, a speed that time slices taken by other processes do not lower
 * (they still share caches and memory bandwidth).
 *
 * bench/compare.py runs it beside bench/torch_baseline.py.
 *
 * GFLOP/s count the model's matrix products analytically (the formula is in
 * docs/performance.md and in model_flops() below), not what the library
 * happens to execute.
 *
 * Usage: lstmae_bench [--config S|M|L|all] [--cell lstm|gru] [--threads T]
 *                     [--epochs N]
 *                     [--batches B] [--warmup W] [--encode-count N]
 *                     [--encode-reps R] [--quick] [--no-fork]
 *                     [--write-data DIR] [--info]
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lstmae.h>

/* ---- configurations ------------------------------------------------------ */

typedef enum { GEN_MOVING_ONES, GEN_SINUSOIDS, GEN_SMOOTH_NOISE } generator;

typedef struct bench_config {
    const char *name;
    size_t count;        /* sequences                                  */
    size_t max_len;      /* T                                          */
    int input_dim;       /* D                                          */
    int hidden_dim;      /* H                                          */
    int latent_dim;      /* Z                                          */
    int num_layers;      /* K                                          */
    int batch_size;
    lstmae_loss loss;
    int min_len;         /* lengths uniform in min_len..max_len        */
    generator gen;
    uint64_t data_seed;
    /* Defaults of the measurement (overridden by the command line). */
    int epochs;          /* timed epochs after the warm-up             */
    int batches;         /* > 0: each epoch cut after this many batches */
    int encode_reps;     /* timed repetitions of the encoding          */
    size_t quick_count;  /* --quick: sequences encoded                 */
    int quick_batches;   /* --quick: batches (0: whole epochs)         */
} bench_config;

static const bench_config CONFIGS[] = {
    {"S", 1200, 10, 8, 20, 20, 1, 100, LSTMAE_LOSS_BCE, 1, GEN_MOVING_ONES,
     101, 10, 0, 5, 1200, 0},
    {"M", 2048, 50, 32, 128, 64, 1, 64, LSTMAE_LOSS_MSE, 25, GEN_SINUSOIDS,
     202, 3, 0, 3, 512, 0},
    {"L", 512, 100, 64, 512, 256, 2, 64, LSTMAE_LOSS_MSE, 100,
     GEN_SMOOTH_NOISE, 303, 2, 0, 2, 64, 1},
};
enum { NUM_CONFIGS = (int)(sizeof CONFIGS / sizeof CONFIGS[0]) };

/* What the command line asks for; < 0 (or 0 for sizes): the config's
   default. */
typedef struct bench_args {
    lstmae_cell cell;
    int threads;
    int epochs;
    int batches;
    int encode_reps;
    size_t encode_count;
    int warmup;
    int quick;
} bench_args;

/* ---- data ---------------------------------------------------------------- */

/* splitmix64: the same numbers on every platform. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 bits. */
static double next_unit(uint64_t *state)
{
    return (double)(next_u64(state) >> 11) * (1.0 / 9007199254740992.0);
}

#define PI 3.14159265358979323846

/* Fills x[count][T][D] (padding 0) and lengths[count]. */
static void make_data(const bench_config *c, float *x, int32_t *lengths)
{
    const size_t T = c->max_len, D = (size_t)c->input_dim;
    const uint64_t span = (uint64_t)(T - (size_t)c->min_len + 1);
    uint64_t s = c->data_seed;
    memset(x, 0, sizeof(float) * c->count * T * D);
    for (size_t i = 0; i < c->count; i++) {
        const size_t len = (size_t)c->min_len + (size_t)(next_u64(&s) % span);
        float *xi = x + i * T * D;
        lengths[i] = (int32_t)len;
        switch (c->gen) {
        case GEN_MOVING_ONES: /* one-hot at position t for t < D, then 0 */
            for (size_t t = 0; t < len && t < D; t++)
                xi[t * D + t] = 1.0f;
            break;
        case GEN_SINUSOIDS: /* x_tj = sum_k a_k sin(2 pi t / P_k + phi_k) */
            for (size_t j = 0; j < D; j++) {
                for (int k = 0; k < 3; k++) {
                    const double a = 0.1 + 0.3 * next_unit(&s);
                    const double w = 2.0 * PI / (4.0 + 36.0 * next_unit(&s));
                    const double phi = 2.0 * PI * next_unit(&s);
                    for (size_t t = 0; t < len; t++)
                        xi[t * D + j] += (float)(a * sin(w * (double)t + phi));
                }
            }
            break;
        case GEN_SMOOTH_NOISE: { /* s_t = r s_(t-1) + sqrt(1 - r^2) u_t */
            const double r = 0.95, q = sqrt(1.0 - r * r), w = sqrt(12.0);
            for (size_t j = 0; j < D; j++) {
                double v = w * (next_unit(&s) - 0.5);
                for (size_t t = 0; t < len; t++) {
                    xi[t * D + j] = (float)(0.5 * v);
                    v = r * v + q * w * (next_unit(&s) - 0.5);
                }
            }
            break;
        }
        }
    }
}

/* Writes DIR/<name>.bin: "LSTMAEBD", int32 version 1, count, max_len,
   input_dim, hidden_dim, latent_dim, num_layers, batch_size, loss (0 bce,
   1 mse), then int32 lengths[count], then float32 x[count][T][D]; native
   byte order (the file is read on the machine that wrote it). */
static int write_data(const bench_config *c, const char *dir)
{
    const size_t n = c->count * c->max_len * (size_t)c->input_dim;
    float *x = malloc(sizeof(float) * n);
    int32_t *lengths = malloc(sizeof(int32_t) * c->count);
    char path[4096];
    int ok = 0;
    if (x == NULL || lengths == NULL) {
        fprintf(stderr, "lstmae_bench: out of memory\n");
        goto done;
    }
    make_data(c, x, lengths);
    if (snprintf(path, sizeof path, "%s/%s.bin", dir, c->name) >= (int)sizeof path) {
        fprintf(stderr, "lstmae_bench: path too long\n");
        goto done;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "lstmae_bench: cannot write %s: %s\n", path, strerror(errno));
        goto done;
    }
    const int32_t header[9] = {
        1, (int32_t)c->count, (int32_t)c->max_len, c->input_dim, c->hidden_dim,
        c->latent_dim, c->num_layers, c->batch_size,
        c->loss == LSTMAE_LOSS_BCE ? 0 : 1};
    ok = fwrite("LSTMAEBD", 1, 8, f) == 8 &&
         fwrite(header, sizeof header, 1, f) == 1 &&
         fwrite(lengths, sizeof(int32_t), c->count, f) == c->count &&
         fwrite(x, sizeof(float), n, f) == n;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "lstmae_bench: cannot write %s\n", path);
done:
    free(x);
    free(lengths);
    return ok;
}

/* ---- measuring ----------------------------------------------------------- */

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)ru.ru_maxrss / 1024.0; /* Linux: kilobytes */
}

/* CPU time of this process (user + system), seconds. */
static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return NAN;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Gate blocks of a cell: LSTM 4 (i, f, g, o), GRU 3 (r, z, n). */
static double cell_gates(lstmae_cell cell)
{
    return cell == LSTMAE_CELL_GRU ? 3.0 : 4.0;
}

/* FLOPs of one forward pass over `steps` valid steps of `seqs` sequences:
   each layer 2 (in + H) G H per step with G gate blocks (LSTM 4, GRU 3;
   encoder in = D, decoder in = Z, in = H above layer 0), the latent 2 H Z
   per sequence, the output 2 H D per step. Element-wise work is not
   counted. */
static double encoder_flops(const bench_config *c, lstmae_cell cell,
                            double steps, double seqs)
{
    const double D = c->input_dim, H = c->hidden_dim, Z = c->latent_dim;
    const double G = cell_gates(cell);
    double per_step = 0.0;
    for (int k = 0; k < c->num_layers; k++)
        per_step += 2.0 * ((k == 0 ? D : H) + H) * G * H;
    return steps * per_step + seqs * 2.0 * H * Z;
}

static double model_flops(const bench_config *c, lstmae_cell cell,
                          double steps, double seqs)
{
    const double D = c->input_dim, H = c->hidden_dim;
    const double G = cell_gates(cell);
    double per_step = 2.0 * H * D;
    for (int k = 0; k < c->num_layers; k++)
        per_step += 2.0 * ((k == 0 ? (double)c->latent_dim : H) + H) * G * H;
    return encoder_flops(c, cell, steps, seqs) + steps * per_step;
}

/* The training clock: on_batch stamps the end of every batch and stops the
   fit after `limit` batches; on_epoch stamps the end of every epoch. */
typedef struct fit_clock {
    double *batch_ends; /* [limit], or NULL: no stamps, no limit          */
    size_t limit;
    size_t batches;     /* batches done                                   */
    double *epoch_ends; /* [epoch_cap]                                    */
    int epoch_cap;
    double *cpu_ends;   /* the process's CPU time at each stamp, the same
                           index as batch_ends or epoch_ends              */
    double last_loss;   /* of the last batch                              */
} fit_clock;

static int on_batch(void *user, int epoch, size_t batch, size_t num_batches,
                    double batch_loss)
{
    fit_clock *fc = user;
    (void)epoch;
    (void)batch;
    (void)num_batches;
    fc->last_loss = batch_loss;
    if (fc->batch_ends == NULL)
        return 0;
    fc->cpu_ends[fc->batches] = cpu_seconds();
    fc->batch_ends[fc->batches++] = seconds_now();
    return fc->batches >= fc->limit;
}

static int on_epoch(void *user, int epoch, const lstmae_metrics *train,
                    const lstmae_metrics *valid)
{
    fit_clock *fc = user;
    (void)train;
    (void)valid;
    if (epoch >= 1 && epoch <= fc->epoch_cap) {
        fc->cpu_ends[epoch - 1] = cpu_seconds();
        fc->epoch_ends[epoch - 1] = seconds_now();
    }
    return 0;
}

static int run_config(const bench_config *c, const bench_args *a)
{
    const double base_rss = peak_rss_mb();
    const size_t T = c->max_len, D = (size_t)c->input_dim;
    const int epochs = a->epochs >= 1 ? a->epochs : (a->quick ? 2 : c->epochs);
    const int warmup = a->warmup >= 0 ? a->warmup : 1;
    const int batches = a->batches >= 0 ? a->batches : (a->quick ? c->quick_batches : c->batches);
    const int reps = a->encode_reps >= 1 ? a->encode_reps : (a->quick ? 1 : c->encode_reps);
    size_t enc_n = a->encode_count > 0 ? a->encode_count : (a->quick ? c->quick_count : c->count);
    if (enc_n > c->count)
        enc_n = c->count;

    float *x = malloc(sizeof(float) * c->count * T * D);
    int32_t *lengths = malloc(sizeof(int32_t) * c->count);
    float *latent = malloc(sizeof(float) * c->count * (size_t)c->latent_dim);
    double *times = malloc(sizeof(double) * (size_t)(epochs + reps));
    double *cpu_times = malloc(sizeof(double) * (size_t)(epochs + reps));
    double *stamps = NULL, *cpu_stamps = NULL;
    lstmae_model *model = NULL;
    int status = LSTMAE_ERR_NOMEM;
    if (x == NULL || lengths == NULL || latent == NULL || times == NULL ||
        cpu_times == NULL)
        goto done;
    make_data(c, x, lengths);
    double steps = 0.0, enc_steps = 0.0;
    for (size_t i = 0; i < c->count; i++) {
        steps += lengths[i];
        if (i < enc_n)
            enc_steps += lengths[i];
    }
    const lstmae_sequences set = {
        .data = x, .lengths = lengths, .count = c->count, .max_len = T};

    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = c->input_dim;
    cfg.hidden_dim = c->hidden_dim;
    cfg.latent_dim = c->latent_dim;
    cfg.num_layers = c->num_layers;
    cfg.loss = c->loss;
    cfg.cell = a->cell;
    cfg.seed = 1;
    status = lstmae_create(&cfg, &model);
    if (status != LSTMAE_OK)
        goto done;

    lstmae_fit_options opt;
    lstmae_fit_options_init(&opt);
    opt.batch_size = c->batch_size;
    opt.learning_rate = 1e-3f;
    opt.num_threads = a->threads;

    /* Training, in one fit call: `warmup` epochs, then `epochs` timed
       ones; or, with `batches`, `warmup` batches, then `epochs` timed runs
       of `batches` consecutive batches (crossing epochs where needed). */
    const size_t unit = batches > 0 ? (size_t)batches : 1; /* stamps per run */
    const size_t num_stamps = (size_t)warmup + (size_t)epochs * unit;
    const size_t per_epoch = (c->count + (size_t)c->batch_size - 1) / (size_t)c->batch_size;
    fit_clock fc = {NULL, 0, 0, NULL, 0, NULL, NAN};
    stamps = malloc(sizeof(double) * num_stamps);
    cpu_stamps = malloc(sizeof(double) * num_stamps);
    if (stamps == NULL || cpu_stamps == NULL) {
        status = LSTMAE_ERR_NOMEM;
        goto done;
    }
    if (batches > 0) {
        fc.batch_ends = stamps;
        fc.limit = num_stamps;
        opt.epochs = (int)((num_stamps + per_epoch - 1) / per_epoch);
    } else {
        fc.epoch_ends = stamps;
        fc.epoch_cap = (int)num_stamps;
        opt.epochs = (int)num_stamps;
    }
    fc.cpu_ends = cpu_stamps;
    opt.on_epoch = on_epoch;
    opt.on_batch = on_batch;
    opt.user = &fc;
    const double cpu0 = cpu_seconds(), start = seconds_now();
    status = lstmae_fit(model, &set, NULL, &opt, NULL);
    /* CPU time over wall time of the whole fit: about `threads` when
       nothing else ran on the machine; lower means the timing was
       disturbed (a diagnostic, not a result). */
    const double cpu_util = (cpu_seconds() - cpu0) / (seconds_now() - start);
    if (status != LSTMAE_OK && !(status == LSTMAE_ERR_CANCELLED && batches > 0))
        goto done;
    status = LSTMAE_OK;
    for (size_t e = 0; e < (size_t)epochs; e++) {
        const size_t first = (size_t)warmup + e * unit; /* its first stamp */
        times[e] = stamps[first + unit - 1] - (first == 0 ? start : stamps[first - 1]);
        cpu_times[e] = cpu_stamps[first + unit - 1] -
                       (first == 0 ? cpu0 : cpu_stamps[first - 1]);
    }
    const double train_time = median(times, (size_t)epochs);
    const double train_cpu = median(cpu_times, (size_t)epochs);
    /* With `batches`, lengths are drawn per sequence: the work is estimated
       from the mean length (exact when every length is the same, as in L). */
    const double train_seqs = batches > 0 ? (double)batches * c->batch_size
                                          : (double)c->count;
    const double train_steps = steps * train_seqs / (double)c->count;

    /* Encoding: a warm-up over (at most) 16 sequences, then `reps` timed
       passes over the first enc_n sequences. */
    lstmae_sequences enc = set;
    enc.count = enc_n < 16 ? enc_n : 16;
    status = lstmae_set_num_threads(model, a->threads);
    if (status != LSTMAE_OK)
        goto done;
    status = lstmae_encode(model, &enc, latent);
    if (status != LSTMAE_OK)
        goto done;
    enc.count = enc_n;
    for (int r = 0; r < reps; r++) {
        const double c0 = cpu_seconds(), t0 = seconds_now();
        status = lstmae_encode(model, &enc, latent);
        times[r] = seconds_now() - t0;
        cpu_times[r] = cpu_seconds() - c0;
        if (status != LSTMAE_OK)
            goto done;
    }
    const double encode_time = median(times, (size_t)reps);
    const double encode_cpu = median(cpu_times, (size_t)reps);

    printf("bench impl=lstmae cell=%s config=%s threads=%d epochs=%d batches=%d "
           "warmup=%d encode_n=%zu train_seq_per_s=%.1f encode_seq_per_s=%.1f "
           "gflops=%.2f encode_gflops=%.2f peak_rss_mb=%.1f base_rss_mb=%.1f "
           "unit_s=%.4f loss=%.5f cpu_util=%.2f train_cpu_seq_per_s=%.1f "
           "encode_cpu_seq_per_s=%.1f\n",
           a->cell == LSTMAE_CELL_GRU ? "gru" : "lstm", c->name, a->threads, epochs, batches, warmup, enc_n, train_seqs / train_time,
           (double)enc_n / encode_time,
           3.0 * model_flops(c, a->cell, train_steps, train_seqs) / train_time * 1e-9,
           encoder_flops(c, a->cell, enc_steps, (double)enc_n) / encode_time * 1e-9,
           peak_rss_mb(), base_rss, train_time, fc.last_loss, cpu_util,
           train_seqs / train_cpu, (double)enc_n / encode_cpu);
    fflush(stdout);

done:
    if (status != LSTMAE_OK)
        fprintf(stderr, "lstmae_bench: config %s: %s\n", c->name,
                lstmae_strerror(status));
    lstmae_free(model);
    free(x);
    free(lengths);
    free(latent);
    free(times);
    free(cpu_times);
    free(stamps);
    free(cpu_stamps);
    return status == LSTMAE_OK;
}

/* Runs one configuration in a child process, so that its peak RSS is its
   own. */
static int run_forked(const bench_config *c, const bench_args *a)
{
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "lstmae_bench: fork: %s\n", strerror(errno));
        return 0;
    }
    if (pid == 0)
        _exit(run_config(c, a) ? 0 : 1);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "lstmae_bench: waitpid: %s\n", strerror(errno));
            return 0;
        }
    }
    return WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
}

/* ---- command line -------------------------------------------------------- */

static int parse_int(const char *arg, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    const long v = arg != NULL ? strtol(arg, &end, 10) : 0;
    if (arg == NULL || errno != 0 || end == arg || *end != '\0' || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--config S|M|L|all] [--cell lstm|gru] [--threads T]\n"
            "          [--epochs N] [--batches B] [--encode-count N]\n"
            "          [--encode-reps R] [--warmup W] [--quick] [--no-fork]\n"
            "          [--write-data DIR]\n"
            "  --cell C          the recurrent cell of every layer: lstm (the\n"
            "                    default) or gru (lstmae_config.cell)\n"
            "  --threads T       lstmae_fit_options.num_threads and\n"
            "                    lstmae_set_num_threads for encoding (default 1)\n"
            "  --epochs N        timed epochs (median reported; default S 10,\n"
            "                    M 3, L 2; --quick 2)\n"
            "  --batches B       time runs of B consecutive batches instead\n"
            "                    of epochs (0: epochs, the default; --quick:\n"
            "                    1 for L)\n"
            "  --warmup W        untimed epochs (batches with --batches)\n"
            "                    before the timed ones (default 1)\n"
            "  --encode-count N  encode the first N sequences (default all)\n"
            "  --encode-reps R   timed encoding passes (default S 5, M 3, L 2)\n"
            "  --quick           less work: fewer epochs and sequences\n"
            "  --no-fork         run in this process (peak RSS accumulates)\n"
            "  --write-data DIR  write DIR/<config>.bin (the data the\n"
            "                    benchmark trains on) and exit\n"
            "  --info            print lstmae_runtime_info() and exit\n",
            argv0);
}

int main(int argc, char **argv)
{
    bench_args a = {LSTMAE_CELL_LSTM, 1, -1, -1, -1, 0, -1, 0};
    const char *config = "all", *data_dir = NULL;
    int fork_each = 1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        long v = 0;
        if (strcmp(arg, "--config") == 0 && val != NULL) {
            config = val;
            i++;
        } else if (strcmp(arg, "--cell") == 0 && val != NULL &&
                   (strcmp(val, "lstm") == 0 || strcmp(val, "gru") == 0)) {
            a.cell = strcmp(val, "gru") == 0 ? LSTMAE_CELL_GRU : LSTMAE_CELL_LSTM;
            i++;
        } else if (strcmp(arg, "--threads") == 0 && parse_int(val, 0, 64, &v)) {
            a.threads = (int)v;
            i++;
        } else if (strcmp(arg, "--epochs") == 0 && parse_int(val, 1, 1000, &v)) {
            a.epochs = (int)v;
            i++;
        } else if (strcmp(arg, "--batches") == 0 && parse_int(val, 0, 1000000, &v)) {
            a.batches = (int)v;
            i++;
        } else if (strcmp(arg, "--encode-count") == 0 && parse_int(val, 1, 100000000, &v)) {
            a.encode_count = (size_t)v;
            i++;
        } else if (strcmp(arg, "--encode-reps") == 0 && parse_int(val, 1, 1000, &v)) {
            a.encode_reps = (int)v;
            i++;
        } else if (strcmp(arg, "--warmup") == 0 && parse_int(val, 0, 1000, &v)) {
            a.warmup = (int)v;
            i++;
        } else if (strcmp(arg, "--quick") == 0) {
            a.quick = 1;
        } else if (strcmp(arg, "--no-fork") == 0) {
            fork_each = 0;
        } else if (strcmp(arg, "--info") == 0) {
            char info[1024];
            lstmae_runtime_info(info, sizeof info);
            printf("info %s\n", info);
            return 0;
        } else if (strcmp(arg, "--write-data") == 0 && val != NULL) {
            data_dir = val;
            i++;
        } else {
            usage(argv[0]);
            return 2;
        }
    }

    int selected = 0, ok = 1;
    for (int k = 0; k < NUM_CONFIGS; k++) {
        const bench_config *c = &CONFIGS[k];
        if (strcmp(config, "all") != 0 && strcmp(config, c->name) != 0)
            continue;
        selected++;
        if (data_dir != NULL)
            ok = write_data(c, data_dir) && ok;
        else if (fork_each && strcmp(config, "all") == 0)
            ok = run_forked(c, &a) && ok;
        else
            ok = run_config(c, &a) && ok;
    }
    if (selected == 0) {
        usage(argv[0]);
        return 2;
    }
    return ok ? 0 : 1;
}

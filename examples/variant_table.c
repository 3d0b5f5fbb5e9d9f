/*
 * variant_table.c - measures every model variant of docs/variants.md and
 * prints the tables that page shows, in markdown.
 *
 * Rows: the default model, each variant alone (bidirectional,
 * reverse_target, decoder_init latent, decoder_feedback, loss
 * cross-entropy), all of them together, and all but cross-entropy, for
 * the LSTM and the GRU cell.
 * Each row is trained from several model seeds (1, 2, ...) and reported
 * as the median over the seeds, because whether a small recurrent model
 * escapes a plateau within a fixed number of epochs depends on its
 * initialisation.
 *
 * Tasks:
 *  - the seed task, moving ones (examples/moving_ones.c, same data: 3000
 *    sequences of length 0..10, one-hot width 8, NaN padding; the last
 *    20% held out), bce loss; H 32, Z 20, Adam lr 0.01, batch 100.
 *    --blank-feature adds a 9th feature, 1 on the all-zero steps (t = 8,
 *    9), so that every step is one-hot: what cross-entropy needs.
 *  - with --ecg FILE.npy, real-valued beats written by
 *    examples/ecg_beats.py (shape [n, 64, 1], standardised), mse loss;
 *    every 5th beat is held out; H 32, Z 8, Adam lr 0.005, batch 32.
 *    Cross-entropy needs input_dim >= 2, so the rows with it are left
 *    out there ("all but ce" is the all-together row).
 *
 * Columns: the model's size (floats over every named tensor); held-out
 * loss and accuracy as lstmae_evaluate() gives them (teacher-forced when
 * decoder_feedback is on); the same figure from free-running
 * lstmae_decode() of each held-out latent to its own length (what an
 * application that stores latents and decodes them gets; for
 * cross-entropy also over the one-hot steps alone); the seeds whose
 * held-out accuracy reached 99% and the first epoch it did (seed task;
 * evaluate's and free-running, when they differ); the training seconds
 * per run, wall clock and CPU (lstmae_fit alone; the per-epoch
 * measurements are not counted), averaged over the seeds.
 *
 * Usage: variant_table [--seeds N] [--epochs N] [--count N]
 *                      [--blank-feature] [--ecg FILE.npy] [--ecg-seeds N]
 *                      [--ecg-epochs N] [--threads N]
 * (defaults: 5 seeds, 60 epochs, 3000 sequences; no ECG, 3 ECG seeds,
 * 300 ECG epochs; 1 thread). Exits 0 when every run trained and gave
 * finite metrics.
 * Public API only.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lstmae.h>

enum {
    MO_MAX_LEN = 10, /* moving ones: T */
    MO_WIDTH = 8,    /* moving ones: D */
    MAX_SEEDS = 15
};

/* ---- data ----------------------------------------------------------------- */

/* splitmix64, as moving_ones.c, so that the data are the same. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* moving_ones.c's make_data: x[count][MO_MAX_LEN][width], NaN padding.
   width is MO_WIDTH, or MO_WIDTH + 1 for a "blank" feature that is 1 on
   the steps with no one-hot position (t >= MO_WIDTH) and 0 elsewhere. */
static void make_moving_ones(float *x, int32_t *lengths, size_t count,
                             uint64_t seed, int width)
{
    for (size_t i = 0; i < count; i++) {
        int32_t len = (int32_t)(next_random(&seed) % (MO_MAX_LEN + 1));
        lengths[i] = len;
        for (int32_t t = 0; t < MO_MAX_LEN; t++) {
            float *step = x + (i * MO_MAX_LEN + (size_t)t) * (size_t)width;
            for (int j = 0; j < MO_WIDTH; j++)
                step[j] = t >= len ? NAN : (t == j ? 1.0f : 0.0f);
            if (width > MO_WIDTH)
                step[MO_WIDTH] = t >= len ? NAN : (t >= MO_WIDTH ? 1.0f : 0.0f);
        }
    }
}

/* Reads a .npy file of little-endian float32 in C order, shape (n, T) or
   (n, T, D): enough for ecg_beats.py's output. Returns 0 on success with
   *data (malloc'ed) and the shape; -1 after a message otherwise. */
static int read_npy(const char *path, float **data, size_t *n, size_t *t,
                    size_t *d)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    unsigned char pre[10];
    char header[1024];
    size_t dims[3] = {0, 0, 1}, ndim = 0;
    int ok = fread(pre, 1, sizeof pre, f) == sizeof pre &&
             memcmp(pre, "\x93NUMPY", 6) == 0 && pre[6] == 1;
    size_t hlen = ok ? (size_t)pre[8] | (size_t)pre[9] << 8 : 0;
    ok = ok && hlen < sizeof header && fread(header, 1, hlen, f) == hlen;
    if (ok) {
        header[hlen] = '\0';
        const char *shape = strstr(header, "'shape': (");
        ok = strstr(header, "'descr': '<f4'") != NULL &&
             strstr(header, "'fortran_order': False") != NULL &&
             shape != NULL;
        const char *p = ok ? shape + strlen("'shape': (") : "";
        while (ok && *p != ')' && ndim < 3) {
            char *end = NULL;
            unsigned long long v = strtoull(p, &end, 10);
            if (end == p) {
                ok = 0;
                break;
            }
            dims[ndim++] = (size_t)v;
            p = end;
            while (*p == ',' || *p == ' ')
                p++;
        }
        ok = ok && *p == ')' && ndim >= 2 && dims[0] > 0 && dims[1] > 0 &&
             dims[2] > 0 && dims[0] < 1000000 && dims[1] < 100000 &&
             dims[2] < 10000;
    }
    size_t count = ok ? dims[0] * dims[1] * dims[2] : 0;
    float *buf = ok ? malloc(count * sizeof *buf) : NULL;
    ok = ok && buf != NULL && fread(buf, sizeof *buf, count, f) == count &&
         fgetc(f) == EOF;
    fclose(f);
    if (!ok) {
        fprintf(stderr, "%s: not a C-order float32 .npy of shape (n, T) "
                        "or (n, T, D), or truncated\n", path);
        free(buf);
        return -1;
    }
    *data = buf;
    *n = dims[0];
    *t = dims[1];
    *d = dims[2];
    return 0;
}

/* ---- the runs --------------------------------------------------------------- */

typedef struct variant {
    const char *name;
    int bidirectional, reverse_target, latent_init, feedback, cross_entropy;
} variant;

static const variant VARIANTS[] = {
    {"default", 0, 0, 0, 0, 0},
    {"bidirectional", 1, 0, 0, 0, 0},
    {"reverse_target", 0, 1, 0, 0, 0},
    {"decoder_init latent", 0, 0, 1, 0, 0},
    {"decoder_feedback", 0, 0, 0, 1, 0},
    {"loss ce", 0, 0, 0, 0, 1},
    {"all together", 1, 1, 1, 1, 1},
    {"all but ce", 1, 1, 1, 1, 0},
};
enum { NUM_VARIANTS = sizeof VARIANTS / sizeof VARIANTS[0] };

typedef struct task {
    const char *name;
    lstmae_sequences train, valid;
    int input_dim, hidden, latent, batch, epochs;
    float learning_rate;
    lstmae_loss loss;   /* the task's own loss; cross-entropy rows replace it */
    int categorical;    /* one-hot steps: accuracy and epochs to 99% apply */
} task;

typedef struct run_result {
    int status;
    double loss, accuracy;    /* lstmae_evaluate on the held-out set      */
    double free_metric;       /* the same from free-running decode        */
    double free_onehot;       /* cross-entropy: that over one-hot steps   */
    double seconds, cpu;      /* lstmae_fit alone: wall and CPU seconds   */
    size_t parameters;        /* floats in every named tensor             */
    int epoch_eval, epoch_free; /* first epoch >= 99% held out; 0: never  */
} run_result;

/* What the per-epoch callback needs: the model, the held-out set, scratch
   for decoding it, and the time it spends (not counted as training). */
typedef struct probe {
    const task *task;
    const lstmae_model *model;
    lstmae_loss loss;
    float *latent, *zbuf, *out;
    double callback_seconds, callback_cpu;
    int epoch_eval, epoch_free, status;
} probe;

static double seconds_now(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
        return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static size_t argmax(const float *v, size_t n)
{
    size_t best = 0;
    for (size_t j = 1; j < n; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

/* The held-out metric of free-running decoding: encode every held-out
   sequence, decode each latent to that sequence's own length, and compare
   with the data as lstmae_evaluate's accuracy does (bce: elements with
   (p > 0.5) == (x > 0.5); cross-entropy: steps whose argmax matches) or,
   for mse, the mean squared error. */
static int free_running(probe *pr, double *metric, double *onehot_metric)
{
    const lstmae_sequences *set = &pr->task->valid;
    const size_t d = (size_t)pr->task->input_dim;
    const size_t z = (size_t)pr->task->latent;
    int status = lstmae_encode(pr->model, set, pr->latent);
    double hits = 0.0, total = 0.0, onehot_hits = 0.0, onehot_total = 0.0;
    for (size_t len = 1; status == LSTMAE_OK && len <= set->max_len; len++) {
        size_t m = 0;
        for (size_t i = 0; i < set->count; i++) {
            size_t li = set->lengths != NULL ? (size_t)set->lengths[i]
                                             : set->max_len;
            if (li == len)
                memcpy(pr->zbuf + m++ * z, pr->latent + i * z,
                       z * sizeof *pr->zbuf);
        }
        if (m == 0)
            continue;
        status = lstmae_decode(pr->model, pr->zbuf, m, len, pr->out);
        size_t k = 0;
        for (size_t i = 0; status == LSTMAE_OK && i < set->count; i++) {
            size_t li = set->lengths != NULL ? (size_t)set->lengths[i]
                                             : set->max_len;
            if (li != len)
                continue;
            const float *x = set->data + i * set->max_len * d;
            const float *p = pr->out + k++ * len * d;
            for (size_t t = 0; t < len; t++) {
                const float *xt = x + t * d, *pt = p + t * d;
                if (pr->loss == LSTMAE_LOSS_CROSS_ENTROPY) {
                    int hit = argmax(pt, d) == argmax(xt, d);
                    hits += hit;
                    total += 1.0;
                    if (xt[argmax(xt, d)] > 0.5f) { /* not a blank step */
                        onehot_hits += hit;
                        onehot_total += 1.0;
                    }
                    continue;
                }
                for (size_t j = 0; j < d; j++) {
                    if (pr->loss == LSTMAE_LOSS_MSE) {
                        double e = (double)pt[j] - (double)xt[j];
                        hits += e * e;
                    } else {
                        hits += (pt[j] > 0.5f) == (xt[j] > 0.5f);
                    }
                    total += 1.0;
                }
            }
        }
    }
    if (status == LSTMAE_OK) {
        *metric = hits / total;
        if (onehot_metric != NULL)
            *onehot_metric = onehot_total > 0.0 ? onehot_hits / onehot_total
                                                : NAN;
    }
    return status;
}

static int on_epoch(void *user, int epoch, const lstmae_metrics *train,
                    const lstmae_metrics *valid)
{
    (void)train;
    probe *pr = user;
    if (!pr->task->categorical || valid == NULL)
        return 0;
    double start = seconds_now();
    clock_t cpu_start = clock();
    if (pr->epoch_eval == 0 && valid->accuracy >= 0.99)
        pr->epoch_eval = epoch;
    if (pr->epoch_free == 0) {
        double acc = 0.0;
        pr->status = free_running(pr, &acc, NULL);
        if (pr->status != LSTMAE_OK)
            return 1;
        if (acc >= 0.99)
            pr->epoch_free = epoch;
    }
    pr->callback_seconds += seconds_now() - start;
    pr->callback_cpu += (double)(clock() - cpu_start) / CLOCKS_PER_SEC;
    return 0;
}

static run_result run_one(const task *tk, lstmae_cell cell, const variant *v,
                          uint64_t seed, int threads, float *scratch_latent,
                          float *scratch_z, float *scratch_out)
{
    run_result r = {.status = LSTMAE_OK, .loss = NAN, .accuracy = NAN,
                    .free_metric = NAN, .free_onehot = NAN};
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = tk->input_dim;
    cfg.hidden_dim = tk->hidden;
    cfg.latent_dim = tk->latent;
    cfg.loss = v->cross_entropy ? LSTMAE_LOSS_CROSS_ENTROPY : tk->loss;
    cfg.seed = seed;
    cfg.cell = cell;
    cfg.bidirectional = v->bidirectional;
    cfg.reverse_target = v->reverse_target;
    cfg.decoder_init = v->latent_init ? LSTMAE_DECODER_INIT_LATENT
                                      : LSTMAE_DECODER_INIT_ZERO;
    cfg.decoder_feedback = v->feedback;

    probe pr = {.task = tk, .loss = cfg.loss, .latent = scratch_latent,
                .zbuf = scratch_z, .out = scratch_out,
                .status = LSTMAE_OK};
    lstmae_fit_options opt;
    lstmae_fit_options_init(&opt);
    opt.epochs = tk->epochs;
    opt.batch_size = tk->batch;
    opt.optimizer = LSTMAE_OPT_ADAM;
    opt.learning_rate = tk->learning_rate;
    opt.num_threads = threads;
    opt.on_epoch = on_epoch;
    opt.user = &pr;

    lstmae_model *model = NULL;
    lstmae_metrics held_out;
    lstmae_metrics_init(&held_out);
    r.status = lstmae_create(&cfg, &model);
    if (r.status == LSTMAE_OK) {
        pr.model = model;
        for (size_t i = 0; i < lstmae_param_count(model); i++)
            r.parameters += lstmae_param_size(model,
                                              lstmae_param_name(model, i));
        if (lstmae_set_num_threads(model, threads) != LSTMAE_OK)
            r.status = LSTMAE_ERR_INVALID_ARG;
    }
    if (r.status == LSTMAE_OK) {
        double start = seconds_now();
        clock_t cpu_start = clock();
        r.status = lstmae_fit(model, &tk->train, &tk->valid, &opt, NULL);
        r.seconds = seconds_now() - start - pr.callback_seconds;
        r.cpu = (double)(clock() - cpu_start) / CLOCKS_PER_SEC -
                pr.callback_cpu;
        if (r.status == LSTMAE_ERR_CANCELLED)
            r.status = pr.status;
    }
    if (r.status == LSTMAE_OK)
        r.status = lstmae_evaluate(model, &tk->valid, &held_out);
    if (r.status == LSTMAE_OK)
        r.status = free_running(&pr, &r.free_metric, &r.free_onehot);
    r.loss = held_out.loss;
    r.accuracy = held_out.accuracy;
    r.epoch_eval = pr.epoch_eval;
    r.epoch_free = pr.epoch_free;
    lstmae_free(model);
    return r;
}

/* ---- the table -------------------------------------------------------------- */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* "k/N: median (min-max)" of the seeds that reached 99%, or "0/N". */
static void format_epochs(char *buf, size_t size, const int *epochs, int seeds)
{
    double reached[MAX_SEEDS];
    size_t k = 0;
    for (int s = 0; s < seeds; s++)
        if (epochs[s] > 0)
            reached[k++] = epochs[s];
    if (k == 0) {
        snprintf(buf, size, "0/%d", seeds);
        return;
    }
    double lo = reached[0], hi = reached[0];
    for (size_t i = 1; i < k; i++) {
        lo = reached[i] < lo ? reached[i] : lo;
        hi = reached[i] > hi ? reached[i] : hi;
    }
    double med = median(reached, k);
    if (k == 1)
        snprintf(buf, size, "1/%d: %.0f", seeds, med);
    else
        snprintf(buf, size, "%zu/%d: %.4g (%.0f-%.0f)", k, seeds, med, lo, hi);
}

/* Runs every row of one task and prints its table. Returns the number of
   runs that failed. */
static int run_task(const task *tk, int seeds, int threads)
{
    const size_t cap = tk->valid.count;
    const size_t z = (size_t)tk->latent;
    const size_t cells = tk->valid.max_len * (size_t)tk->input_dim;
    float *latent = malloc(cap * z * sizeof *latent);
    float *zbuf = malloc(cap * z * sizeof *zbuf);
    float *out = malloc(cap * cells * sizeof *out);
    if (latent == NULL || zbuf == NULL || out == NULL) {
        fprintf(stderr, "out of memory\n");
        free(latent);
        free(zbuf);
        free(out);
        return 1;
    }

    printf("\n### %s\n\n", tk->name);
    if (tk->categorical)
        printf("| cell | variant | parameters | loss | accuracy "
               "| free-running accuracy | seeds at 99%%: epochs "
               "| seconds (wall, CPU) |\n"
               "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |\n");
    else
        printf("| cell | variant | parameters | loss (mse) "
               "| free-running mse | seconds (wall, CPU) |\n"
               "| --- | --- | ---: | ---: | ---: | ---: |\n");
    fflush(stdout);

    int failures = 0;
    for (int c = 0; c < 2; c++) {
        lstmae_cell cell = c == 0 ? LSTMAE_CELL_LSTM : LSTMAE_CELL_GRU;
        for (size_t vi = 0; vi < NUM_VARIANTS; vi++) {
            const variant *v = &VARIANTS[vi];
            if (tk->input_dim < 2 && v->cross_entropy)
                continue; /* a softmax over one feature is always 1 */
            double loss[MAX_SEEDS], acc[MAX_SEEDS], freem[MAX_SEEDS];
            double onehot[MAX_SEEDS], secs[MAX_SEEDS], cpu[MAX_SEEDS];
            int ep_eval[MAX_SEEDS], ep_free[MAX_SEEDS];
            int ok = 1;
            size_t parameters = 0;
            for (int s = 0; s < seeds; s++) {
                run_result r = run_one(tk, cell, v, (uint64_t)s + 1, threads,
                                       latent, zbuf, out);
                if (r.status != LSTMAE_OK || !isfinite(r.loss) ||
                    !isfinite(r.free_metric)) {
                    fprintf(stderr, "%s, %s, %s, seed %d: %s\n", tk->name,
                            c == 0 ? "lstm" : "gru", v->name, s + 1,
                            r.status != LSTMAE_OK ? lstmae_strerror(r.status)
                                                  : "non-finite metric");
                    failures++;
                    ok = 0;
                    break;
                }
                parameters = r.parameters;
                loss[s] = r.loss;
                acc[s] = r.accuracy;
                freem[s] = r.free_metric;
                onehot[s] = r.free_onehot;
                secs[s] = r.seconds;
                cpu[s] = r.cpu;
                ep_eval[s] = r.epoch_eval;
                ep_free[s] = r.epoch_free;
            }
            const char *cell_name = c == 0 ? "LSTM" : "GRU";
            const char *row_name = v->name;
            if (!ok) {
                printf("| %s | %s | failed | | | | | |\n", cell_name, row_name);
                continue;
            }
            double total = 0.0, total_cpu = 0.0;
            for (int s = 0; s < seeds; s++) {
                total += secs[s];
                total_cpu += cpu[s];
            }
            if (tk->categorical) {
                char e1[64], e2[64], epochs[160], extra[64] = "";
                format_epochs(e1, sizeof e1, ep_eval, seeds);
                format_epochs(e2, sizeof e2, ep_free, seeds);
                if (strcmp(e1, e2) == 0)
                    snprintf(epochs, sizeof epochs, "%s", e1);
                else
                    snprintf(epochs, sizeof epochs, "%s; free-running %s",
                             e1, e2);
                if (v->cross_entropy)
                    snprintf(extra, sizeof extra, " (one-hot steps %.3f%%)",
                             100.0 * median(onehot, (size_t)seeds));
                printf("| %s | %s | %zu | %.5f | %.3f%% | %.3f%%%s | %s "
                       "| %.2f, %.2f |\n",
                       cell_name, row_name, parameters,
                       median(loss, (size_t)seeds),
                       100.0 * median(acc, (size_t)seeds),
                       100.0 * median(freem, (size_t)seeds), extra, epochs,
                       total / seeds, total_cpu / seeds);
            } else {
                printf("| %s | %s | %zu | %.5f | %.5f | %.2f, %.2f |\n",
                       cell_name, row_name, parameters,
                       median(loss, (size_t)seeds),
                       median(freem, (size_t)seeds), total / seeds,
                       total_cpu / seeds);
            }
            fflush(stdout);
        }
    }
    free(latent);
    free(zbuf);
    free(out);
    return failures;
}

static int parse_int(const char *arg, int lo, int hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = arg != NULL ? strtol(arg, &end, 10) : 0;
    if (arg == NULL || errno != 0 || end == arg || *end != '\0' || v < lo ||
        v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

int main(int argc, char **argv)
{
    int seeds = 5, epochs = 60, count = 3000, threads = 1;
    int ecg_seeds = 3, ecg_epochs = 300, width = MO_WIDTH;
    const char *ecg_path = NULL;
    for (int i = 1, used = 2; i < argc; i += used, used = 2) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 0;
        if (strcmp(a, "--seeds") == 0)
            ok = parse_int(next, 1, MAX_SEEDS, &seeds);
        else if (strcmp(a, "--epochs") == 0)
            ok = parse_int(next, 1, 100000, &epochs);
        else if (strcmp(a, "--count") == 0)
            ok = parse_int(next, 10, 1000000, &count);
        else if (strcmp(a, "--ecg-seeds") == 0)
            ok = parse_int(next, 1, MAX_SEEDS, &ecg_seeds);
        else if (strcmp(a, "--ecg-epochs") == 0)
            ok = parse_int(next, 1, 100000, &ecg_epochs);
        else if (strcmp(a, "--threads") == 0)
            ok = parse_int(next, 0, 1024, &threads);
        else if (strcmp(a, "--ecg") == 0 && next != NULL)
            ok = (ecg_path = next) != NULL;
        else if (strcmp(a, "--blank-feature") == 0) {
            width = MO_WIDTH + 1;
            used = 1; /* takes no value */
            ok = 1;
        }
        if (!ok) {
            fprintf(stderr,
                    "usage: %s [--seeds N] [--epochs N] [--count N] "
                    "[--blank-feature] [--ecg FILE.npy] [--ecg-seeds N] "
                    "[--ecg-epochs N] [--threads N]\n",
                    argv[0]);
            return 2;
        }
    }

    char runtime[256];
    lstmae_runtime_info(runtime, sizeof runtime);
    printf("variant_table: %d thread(s)\nruntime: %s\n", threads, runtime);

    /* The ECG file is read first, so that a bad one fails at once. */
    float *beats = NULL;
    size_t n = 0, t = 0, d = 0;
    if (ecg_path != NULL && read_npy(ecg_path, &beats, &n, &t, &d) != 0)
        return 1;

    /* The seed task. */
    const size_t total = (size_t)count;
    const size_t w = (size_t)width;
    float *x = malloc(sizeof(float) * total * MO_MAX_LEN * w);
    int32_t *lengths = malloc(sizeof(int32_t) * total);
    if (x == NULL || lengths == NULL) {
        fprintf(stderr, "out of memory\n");
        free(x);
        free(lengths);
        free(beats);
        return 1;
    }
    make_moving_ones(x, lengths, total, 2026, width);
    const size_t n_valid = total / 5;
    const size_t n_train = total - n_valid;
    char mo_name[160];
    snprintf(mo_name, sizeof mo_name,
             "Moving ones%s (%zu train, %zu held out, bce), %d epochs, "
             "median of model seeds 1-%d",
             width > MO_WIDTH ? " with a blank feature" : "", n_train,
             n_valid, epochs, seeds);
    task mo = {
        .name = mo_name,
        .train = {.data = x, .lengths = lengths, .count = n_train,
                  .max_len = MO_MAX_LEN},
        .valid = {.data = x + n_train * MO_MAX_LEN * w,
                  .lengths = lengths + n_train, .count = n_valid,
                  .max_len = MO_MAX_LEN},
        .input_dim = width, .hidden = 32, .latent = 20, .batch = 100,
        .epochs = epochs, .learning_rate = 0.01f, .loss = LSTMAE_LOSS_BCE,
        .categorical = 1};
    double start = seconds_now();
    int failures = run_task(&mo, seeds, threads);
    free(x);
    free(lengths);

    /* The ECG beats: every 5th beat held out. */
    if (ecg_path != NULL) {
        const size_t step = t * d;
        float *tr = malloc(n * step * sizeof *tr);
        float *va = malloc(n * step * sizeof *va);
        if (tr == NULL || va == NULL || n < 5 || d > 1000) {
            fprintf(stderr, "%s\n", n < 5 ? "fewer than 5 beats"
                                          : "out of memory");
            free(beats);
            free(tr);
            free(va);
            return 1;
        }
        size_t nt = 0, nv = 0;
        for (size_t i = 0; i < n; i++) {
            if (i % 5 == 4)
                memcpy(va + nv++ * step, beats + i * step, step * sizeof *va);
            else
                memcpy(tr + nt++ * step, beats + i * step, step * sizeof *tr);
        }
        /* Baselines: predicting 0 (the data's mean) everywhere, and
           predicting every held-out beat by the mean training beat. */
        double zero_mse = 0.0, mean_mse = 0.0;
        for (size_t j = 0; j < step; j++) {
            double mean = 0.0;
            for (size_t i = 0; i < nt; i++)
                mean += (double)tr[i * step + j];
            mean /= (double)nt;
            for (size_t i = 0; i < nv; i++) {
                double v = (double)va[i * step + j];
                zero_mse += v * v;
                mean_mse += (v - mean) * (v - mean);
            }
        }
        char ecg_name[400];
        snprintf(ecg_name, sizeof ecg_name,
                 "ECG beats (%s: %zu train, %zu held out, T %zu, D %zu, "
                 "mse), %d epochs, median of model seeds 1-%d; held-out "
                 "mse of predicting 0: %.5f, of the mean training beat: "
                 "%.5f", ecg_path, nt, nv, t, d, ecg_epochs, ecg_seeds,
                 zero_mse / (double)(nv * step),
                 mean_mse / (double)(nv * step));
        task ecg = {
            .name = ecg_name,
            .train = {.data = tr, .lengths = NULL, .count = nt, .max_len = t},
            .valid = {.data = va, .lengths = NULL, .count = nv, .max_len = t},
            .input_dim = (int)d, .hidden = 32, .latent = 8, .batch = 32,
            .epochs = ecg_epochs, .learning_rate = 0.005f,
            .loss = LSTMAE_LOSS_MSE, .categorical = 0};
        failures += run_task(&ecg, ecg_seeds, threads);
        free(beats);
        free(tr);
        free(va);
    }
    printf("\n%d failed run(s); %.0f s in all\n", failures,
           seconds_now() - start);
    return failures == 0 ? 0 : 1;
}

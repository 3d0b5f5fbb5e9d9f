/*
 * moving_ones.c - the seed scenario of lstmae, end to end, for every
 * model variant.
 *
 * 5000 sequences of random length 0..10. Step t of every sequence is the
 * one-hot vector of width 8 at position t for t < 8, and all zeros for
 * t = 8, 9: a "moving one". Sequences are padded at the end to 10 steps,
 * and the padding holds NaN to show that it is never read. 80% train an
 * autoencoder with a 20-value latent vector; the other 20% are held out.
 *
 * Usage: moving_ones [options] [epochs [threads [lstm|gru [count [target
 *        [seed]]]]]]
 * (defaults 15 epochs, threads 0 = automatic, lstm, 5000 sequences, target
 * 99.5 percent, model seed 7; hidden 32, Adam lr 0.01, batch 100, no
 * clipping). Options, anywhere on the line:
 *   the variants  --cell lstm|gru  --bidirectional  --reverse-target
 *                 --decoder-init zero|latent  --decoder-feedback
 *                 --loss bce|ce (ce also spelled cross_entropy);
 *   the settings  --hidden H  --latent Z  --lr RATE  --batch B
 *                 --clip NORM (clip_norm; 0 = off);
 *   a sweep       --seeds A-B [--min-pass K]: one model per seed A..B on
 *                 the same data, a line each; exit 0 when at least K
 *                 (default: all) reach the target.
 *
 * A model reaches the target when both of these held-out accuracies do:
 * lstmae_evaluate's (teacher-forced, with decoder feedback), and that of
 * free-running output: every held-out sequence encoded, its latent decoded
 * by lstmae_decode at the sequence's own length (grouped by length: with
 * reverse_target the first decoded step depends on the length), scored as
 * evaluate scores (bce: elements with (p > 0.5) == (x > 0.5);
 * cross-entropy: steps whose arg max matches the target's). Without
 * feedback the two are the same computation. With it, decode feeds the
 * model its own previous output, and the two can differ: one GRU with
 * every variant on (bce, hidden 32, seed 2) ended at 99.57% teacher-forced
 * but 93.52% free-running. With feedback, every epoch's line shows both.
 *
 * Cross-entropy (--loss ce) trains a softmax over each step's features,
 * and the all-zero steps 8 and 9 are no class: their loss is 0, yet
 * MODEL.md's accuracy (arg max, ties to the lowest index) would count them
 * as feature 0, a step nothing trained. So with --loss ce the data get a
 * ninth "blank" feature, set at steps 8 and 9 and nowhere else (D = 9):
 * every valid step is one-hot, and accuracy is the share of valid steps
 * whose arg max is right. The task is otherwise the same.
 *
 * Every variant learns the task with one set of settings, which CTest
 * runs (examples/CMakeLists.txt): 3000 sequences, 40 epochs, one thread,
 * target 99, seed 1, --hidden 128 --lr 0.005 --clip 1 (batch 100, Z 20).
 * Seeds 1..8 that end at >= 99% held out after 40 epochs (both
 * accuracies with feedback; "all" is bidirectional, reversed target,
 * decoder state from z, feedback and cross-entropy; "all bce" the same
 * with bce), and the first epoch at 99% (free-running with feedback):
 *
 *   variant         LSTM  first     GRU   first
 *   (none)          8/8   4-5       8/8   4-6
 *   bidirectional   8/8   4         8/8   3-8
 *   reverse_target  8/8   12-15     8/8   13-19
 *   decoder_init    8/8   3-4       8/8   3-7
 *   feedback        8/8   3-4       8/8   3
 *   cross-entropy   8/8   1-2       8/8   1
 *   all             8/8   2-3       8/8   2-3
 *   all bce         8/8   8-15      8/8   5-9
 *
 * (The sweep's runs and CTest's can differ in the last bits, and so by an
 * epoch or two: seed 1's GRU reverse_target reached 99% at epoch 17 in
 * one run and 19 in another.)
 *
 * The defaults (hidden 32, lr 0.01, no clipping) suit the LSTM (8/8 for
 * every row above, 60 epochs) but not the GRU, which stalls on plateaus
 * of 95.97%, 97.34% and 98.45% held out (whole steps wrong, e.g. the
 * all-zero steps 8 and 9): seeds 1..8 passing in 60 epochs were 5 (none),
 * 5 (bidirectional), 7 (reverse_target), 3 (decoder_init), 8 (feedback),
 * 8 (cross-entropy), 8 (all), 7 (all bce: seed 2 free-running 93.52%);
 * PyTorch's nn.GRU behaves alike on the same data (one seed 100% at
 * epoch 40, another stuck at 97.34% at 60). Hidden 64 was not enough
 * (bidirectional 4 of 8 at lr 0.01, 7 of 8 at 0.005); hidden 128 at lr 0.01 passes the plateaus within
 * 10 epochs, but Adam then let a 100% GRU collapse to 78.4% in one epoch
 * (bidirectional, seed 4, epoch 27); lr 0.005 with the gradient norm
 * clipped to 1 removed that in every run above.
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
    COUNT = 5000,     /* sequences (default; argv overrides)       */
    MAX_LEN = 10,     /* T, steps after padding                    */
    WIDTH = 8,        /* one-hot width of the moving one           */
    MAX_WIDTH = 9,    /* D with the "blank" feature (--loss ce)     */
    LATENT = 20,      /* Z (default)                               */
    HIDDEN = 32,      /* H (default)                               */
    BATCH = 100,
    EPOCHS = 15       /* default; argv overrides                   */
};
#define HOLDOUT_SHARE 0.2
#define LEARNING_RATE 0.01f
#define TARGET_PERCENT 99.5

/* Everything one run needs: the model's configuration, the training
   settings, and what to print. */
typedef struct {
    lstmae_config cfg;
    lstmae_fit_options opt;
    double target;           /* accuracy in [0, 1] to reach              */
    int verbose;             /* print every epoch and a decoded sequence */
} run_settings;

/* What one run measured. */
typedef struct {
    double teacher;          /* lstmae_evaluate's accuracy (teacher-forced
                                with feedback; else plain reconstruction) */
    double free;             /* lstmae_decode of each latent, own length  */
    double loss;
    int first_teacher;       /* first epoch at >= target, 0 if never      */
    int first_free;
    double seconds;
} run_result;

/* The data and the held-out split, shared by every run of a sweep. */
typedef struct {
    lstmae_sequences train, valid;
    int width;               /* D: WIDTH, or MAX_WIDTH with the blank    */
} data_set;

/* What on_epoch needs. */
typedef struct {
    const run_settings *run;
    const data_set *data;
    const lstmae_model *model;
    run_result *result;
    double start;
    int status;              /* first failure of a free-running check    */
} epoch_state;

/* splitmix64: a small generator of our own, so the data are the same on
   every platform. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Fills x[count][MAX_LEN][width] and lengths[count]. With width
   MAX_WIDTH, the steps t >= WIDTH set feature WIDTH (the blank) instead
   of being all zero. */
static void make_data(float *x, int32_t *lengths, size_t count, int width,
                      uint64_t seed)
{
    for (size_t i = 0; i < count; i++) {
        int32_t len = (int32_t)(next_random(&seed) % (MAX_LEN + 1));
        lengths[i] = len;
        for (int32_t t = 0; t < MAX_LEN; t++) {
            float *step = x + (i * MAX_LEN + (size_t)t) * (size_t)width;
            int hot = t < WIDTH ? t : (width > WIDTH ? WIDTH : -1);
            for (int j = 0; j < width; j++)
                step[j] = t >= len ? NAN : (j == hot ? 1.0f : 0.0f);
        }
    }
}

static double seconds_now(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
        return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The first index of the largest value (ties to the lowest index, as the
   library's cross-entropy accuracy). */
static int arg_max(const float *v, int n)
{
    int best = 0;
    for (int j = 1; j < n; j++)
        if (v[j] > v[best])
            best = j;
    return best;
}

/* Counts the hits of one decoded step p against its target x: bce, each
   element with (p > 0.5) == (x > 0.5); cross-entropy, the step when the
   arg maxes agree. */
static uint64_t step_hits(const float *p, const float *x, int width,
                          lstmae_loss loss)
{
    if (loss == LSTMAE_LOSS_CROSS_ENTROPY)
        return arg_max(p, width) == arg_max(x, width) ? 1u : 0u;
    uint64_t hits = 0;
    for (int j = 0; j < width; j++)
        hits += (p[j] > 0.5f) == (x[j] > 0.5f) ? 1u : 0u;
    return hits;
}

/* Held-out accuracy of the free-running decoder: encode every sequence,
   then lstmae_decode each latent at the sequence's own length (grouped by
   length: with reverse_target the decoder's first step is the last data
   step, so a longer decode is not a prefix-compatible stand-in). */
static int free_running_accuracy(const lstmae_model *model,
                                 const lstmae_sequences *set, int width,
                                 lstmae_loss loss, int latent_dim,
                                 double *accuracy)
{
    const size_t n = set->count, zdim = (size_t)latent_dim;
    const size_t step_len = (size_t)width;
    float *z = malloc(sizeof(float) * n * zdim);
    float *zg = malloc(sizeof(float) * n * zdim);
    float *p = malloc(sizeof(float) * n * MAX_LEN * step_len);
    size_t *members = malloc(sizeof(size_t) * n);
    int status = LSTMAE_ERR_NOMEM;
    uint64_t hits = 0, total = 0;
    if (z == NULL || zg == NULL || p == NULL || members == NULL)
        goto done;
    status = lstmae_encode(model, set, z);
    for (int32_t len = 1; status == LSTMAE_OK && len <= MAX_LEN; len++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (set->lengths[i] == len) {
                memcpy(zg + m * zdim, z + i * zdim, sizeof(float) * zdim);
                members[m++] = i;
            }
        if (m == 0)
            continue;
        status = lstmae_decode(model, zg, m, (size_t)len, p);
        for (size_t k = 0; status == LSTMAE_OK && k < m; k++) {
            const float *x = set->data + members[k] * MAX_LEN * step_len;
            const float *pk = p + k * (size_t)len * step_len;
            for (size_t t = 0; t < (size_t)len; t++) {
                hits += step_hits(pk + t * step_len, x + t * step_len, width,
                                  loss);
                total += loss == LSTMAE_LOSS_CROSS_ENTROPY ? 1u : step_len;
            }
        }
    }
    if (status == LSTMAE_OK)
        *accuracy = total > 0 ? (double)hits / (double)total : NAN;
done:
    free(z);
    free(zg);
    free(p);
    free(members);
    return status;
}

static int on_epoch(void *user, int epoch, const lstmae_metrics *train,
                    const lstmae_metrics *valid)
{
    epoch_state *st = user;
    const run_settings *run = st->run;
    double free_acc = NAN;
    if (run->cfg.decoder_feedback) {
        int status = free_running_accuracy(st->model, &st->data->valid,
                                           st->data->width, run->cfg.loss,
                                           run->cfg.latent_dim, &free_acc);
        if (status != LSTMAE_OK) {
            st->status = status;
            return 1;
        }
    } else if (valid != NULL) {
        free_acc = valid->accuracy; /* decode is reconstruct here */
    }
    if (valid != NULL && st->result->first_teacher == 0 &&
        valid->accuracy >= run->target)
        st->result->first_teacher = epoch;
    if (st->result->first_free == 0 && free_acc >= run->target)
        st->result->first_free = epoch;
    if (!run->verbose)
        return 0;
    printf("epoch %3d  train loss %.5f acc %7.3f%%", epoch, train->loss,
           100.0 * train->accuracy);
    if (valid != NULL)
        printf("  valid loss %.5f acc %7.3f%%", valid->loss,
               100.0 * valid->accuracy);
    if (run->cfg.decoder_feedback)
        printf("  free-running %7.3f%%", 100.0 * free_acc);
    printf("  %5.1f s\n", seconds_now() - st->start);
    fflush(stdout);
    return 0;
}

/* Prints one sequence, its latent vector and its free-running decoding
   side by side. */
static int show_one(const lstmae_model *model, const lstmae_sequences *set,
                    int width, int latent_dim, size_t index)
{
    const size_t w = (size_t)width;
    const float *x = set->data + index * MAX_LEN * w;
    const lstmae_sequences one = {
        .data = x, .lengths = set->lengths + index, .count = 1,
        .max_len = MAX_LEN};
    size_t len = (size_t)set->lengths[index];
    float z[256];
    float p[MAX_LEN * MAX_WIDTH];
    if (latent_dim > 256)
        return LSTMAE_OK;
    int status = lstmae_encode(model, &one, z);
    if (status == LSTMAE_OK)
        status = lstmae_decode(model, z, 1, len, p);
    if (status != LSTMAE_OK)
        return status;

    printf("\nheld-out sequence %zu (length %zu):\n", index, len);
    printf("  latent:");
    for (int k = 0; k < latent_dim; k++)
        printf("%s %6.3f", k % 10 == 0 && k > 0 ? "\n         " : "",
               (double)z[k]);
    printf("\n  step  input     decoded   (largest p, smallest p)\n");
    for (size_t t = 0; t < len; t++) {
        const float *xt = x + t * w;
        const float *pt = p + t * w;
        float pmin = 1.0f, pmax = 0.0f;
        printf("  %4zu  ", t);
        for (size_t j = 0; j < w; j++)
            putchar(xt[j] > 0.5f ? '1' : '0');
        printf("  ");
        for (size_t j = 0; j < w; j++) {
            putchar(pt[j] > 0.5f ? '1' : '0');
            pmin = pt[j] < pmin ? pt[j] : pmin;
            pmax = pt[j] > pmax ? pt[j] : pmax;
        }
        printf("  (%.3f, %.3f)\n", (double)pmax, (double)pmin);
    }
    return LSTMAE_OK;
}

/* Trains one model on data with run's settings and measures it. */
static int train_one(const run_settings *run, const data_set *data,
                     run_result *result)
{
    memset(result, 0, sizeof *result);
    result->teacher = result->free = result->loss = NAN;
    epoch_state st = {.run = run, .data = data, .result = result,
                      .status = LSTMAE_OK};
    lstmae_fit_options opt = run->opt;
    opt.on_epoch = on_epoch;
    opt.user = &st;

    st.start = seconds_now();
    lstmae_model *model = NULL;
    lstmae_metrics held_out;
    lstmae_metrics_init(&held_out);
    int status = lstmae_create(&run->cfg, &model);
    st.model = model;
    if (status == LSTMAE_OK)
        status = lstmae_fit(model, &data->train, &data->valid, &opt, NULL);
    if (status == LSTMAE_ERR_CANCELLED && st.status != LSTMAE_OK)
        status = st.status;
    if (status == LSTMAE_OK)
        status = lstmae_evaluate(model, &data->valid, &held_out);
    if (status == LSTMAE_OK)
        status = free_running_accuracy(model, &data->valid, data->width,
                                       run->cfg.loss, run->cfg.latent_dim,
                                       &result->free);
    result->seconds = seconds_now() - st.start;
    result->teacher = held_out.accuracy;
    result->loss = held_out.loss;

    if (status == LSTMAE_OK && run->verbose) {
        /* Show a held-out sequence of the longest length. */
        size_t pick = 0;
        while (pick < data->valid.count && data->valid.lengths[pick] != MAX_LEN)
            pick++;
        if (pick < data->valid.count)
            status = show_one(model, &data->valid, data->width,
                              run->cfg.latent_dim, pick);
    }
    lstmae_free(model);
    return status;
}

static int passed(const run_settings *run, const run_result *r)
{
    return r->teacher >= run->target && r->free >= run->target;
}

static void print_result(const run_settings *run, const run_result *r)
{
    printf("held-out accuracy %.3f%% (loss %.5f)", 100.0 * r->teacher,
           r->loss);
    if (run->cfg.decoder_feedback)
        printf(" teacher-forced, %.3f%% free-running", 100.0 * r->free);
    printf(" after %d epochs, %.1f s; first >= %.1f%% at epoch ",
           run->opt.epochs, r->seconds, 100.0 * run->target);
    if (r->first_teacher > 0)
        printf("%d", r->first_teacher);
    else
        printf("-");
    if (run->cfg.decoder_feedback) {
        printf(" (free-running ");
        if (r->first_free > 0)
            printf("%d)", r->first_free);
        else
            printf("-)");
    }
    printf("\n");
}

/* ---- arguments ---------------------------------------------------------- */

static int parse_int(const char *arg, long lo, long hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

static int parse_float(const char *arg, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno != 0 || end == arg || *end != '\0' || !(v >= lo && v <= hi))
        return 0;
    *out = v;
    return 1;
}

static int parse_cell(const char *arg, lstmae_cell *out)
{
    if (strcmp(arg, "lstm") == 0)
        *out = LSTMAE_CELL_LSTM;
    else if (strcmp(arg, "gru") == 0)
        *out = LSTMAE_CELL_GRU;
    else
        return 0;
    return 1;
}

static int parse_loss(const char *arg, lstmae_loss *out)
{
    if (strcmp(arg, "bce") == 0)
        *out = LSTMAE_LOSS_BCE;
    else if (strcmp(arg, "ce") == 0 || strcmp(arg, "cross_entropy") == 0)
        *out = LSTMAE_LOSS_CROSS_ENTROPY;
    else
        return 0;
    return 1;
}

/* "A-B" or "A": seeds A..B. */
static int parse_seeds(const char *arg, int *first, int *last)
{
    char head[32];
    const char *dash = strchr(arg, '-');
    if (dash == NULL)
        return parse_int(arg, 0, 1000000, first) &&
               parse_int(arg, 0, 1000000, last);
    size_t n = (size_t)(dash - arg);
    if (n == 0 || n >= sizeof head)
        return 0;
    memcpy(head, arg, n);
    head[n] = '\0';
    return parse_int(head, 0, 1000000, first) &&
           parse_int(dash + 1, 0, 1000000, last) && *first <= *last;
}

static const char usage[] =
    "usage: %s [options] [epochs [threads [lstm|gru [count [target [seed]]]]]]\n"
    "options: --cell lstm|gru  --bidirectional  --reverse-target\n"
    "         --decoder-init zero|latent  --decoder-feedback  --loss bce|ce\n"
    "         --hidden H  --latent Z  --lr RATE  --batch B  --clip NORM\n"
    "         --seeds A-B [--min-pass K]\n";

int main(int argc, char **argv)
{
    int epochs = EPOCHS, threads = 0, count = COUNT, seed = 7;
    int hidden = HIDDEN, latent = LATENT, batch = BATCH;
    int seed_first = -1, seed_last = -1, min_pass = -1;
    double target_pct = TARGET_PERCENT, lr = LEARNING_RATE, clip = 0.0;
    run_settings run;
    lstmae_config_init(&run.cfg);
    lstmae_fit_options_init(&run.opt);
    run.verbose = 1;

    int positional = 0, ok = 1;
    for (int i = 1; ok && i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strncmp(a, "--", 2) != 0) {
            switch (positional++) {
            case 0: ok = parse_int(a, 0, 100000, &epochs); break;
            case 1: ok = parse_int(a, 0, 1024, &threads); break;
            case 2: ok = parse_cell(a, &run.cfg.cell); break;
            case 3: ok = parse_int(a, 10, 100000, &count); break;
            case 4: ok = parse_float(a, 0.0, 100.0, &target_pct); break;
            case 5: ok = parse_int(a, 0, 1000000, &seed); break;
            default: ok = 0;
            }
        } else if (strcmp(a, "--bidirectional") == 0) {
            run.cfg.bidirectional = 1;
        } else if (strcmp(a, "--reverse-target") == 0) {
            run.cfg.reverse_target = 1;
        } else if (strcmp(a, "--decoder-feedback") == 0) {
            run.cfg.decoder_feedback = 1;
        } else if (v == NULL) {
            ok = 0;
        } else {
            i++;
            if (strcmp(a, "--cell") == 0)
                ok = parse_cell(v, &run.cfg.cell);
            else if (strcmp(a, "--decoder-init") == 0 && strcmp(v, "zero") == 0)
                run.cfg.decoder_init = LSTMAE_DECODER_INIT_ZERO;
            else if (strcmp(a, "--decoder-init") == 0 && strcmp(v, "latent") == 0)
                run.cfg.decoder_init = LSTMAE_DECODER_INIT_LATENT;
            else if (strcmp(a, "--loss") == 0)
                ok = parse_loss(v, &run.cfg.loss);
            else if (strcmp(a, "--hidden") == 0)
                ok = parse_int(v, 1, 4096, &hidden);
            else if (strcmp(a, "--latent") == 0)
                ok = parse_int(v, 1, 256, &latent);
            else if (strcmp(a, "--lr") == 0)
                ok = parse_float(v, 1e-9, 10.0, &lr);
            else if (strcmp(a, "--batch") == 0)
                ok = parse_int(v, 1, 100000, &batch);
            else if (strcmp(a, "--clip") == 0)
                ok = parse_float(v, 0.0, 1e9, &clip);
            else if (strcmp(a, "--seeds") == 0)
                ok = parse_seeds(v, &seed_first, &seed_last);
            else if (strcmp(a, "--min-pass") == 0)
                ok = parse_int(v, 0, 1000000, &min_pass);
            else
                ok = 0;
        }
    }
    if (!ok) {
        fprintf(stderr, usage, argv[0]);
        return 2;
    }

    const int width = run.cfg.loss == LSTMAE_LOSS_CROSS_ENTROPY ? MAX_WIDTH
                                                                : WIDTH;
    run.target = target_pct / 100.0;
    run.cfg.input_dim = width;
    run.cfg.hidden_dim = hidden;
    run.cfg.latent_dim = latent;
    run.cfg.seed = (uint64_t)seed;
    run.opt.epochs = epochs;
    run.opt.batch_size = batch;
    run.opt.optimizer = LSTMAE_OPT_ADAM;
    run.opt.learning_rate = (float)lr;
    run.opt.clip_norm = (float)clip;
    run.opt.num_threads = threads;

    const size_t total = (size_t)count, w = (size_t)width;
    float *x = malloc(sizeof(float) * total * MAX_LEN * w);
    int32_t *lengths = malloc(sizeof(int32_t) * total);
    if (x == NULL || lengths == NULL) {
        fprintf(stderr, "out of memory\n");
        free(x);
        free(lengths);
        return 1;
    }
    make_data(x, lengths, total, width, 2026);

    /* The data are in random order already: the last 20% are held out. */
    const size_t n_valid = (size_t)(HOLDOUT_SHARE * (double)total);
    const size_t n_train = total - n_valid;
    const data_set data = {
        .train = {.data = x, .lengths = lengths, .count = n_train,
                  .max_len = MAX_LEN},
        .valid = {.data = x + n_train * MAX_LEN * w,
                  .lengths = lengths + n_train, .count = n_valid,
                  .max_len = MAX_LEN},
        .width = width};

    char runtime[256];
    lstmae_runtime_info(runtime, sizeof runtime);
    printf("moving ones: %zu train, %zu held out, T %d, D %d, H %d, Z %d, "
           "%s%s%s%s%s, %s loss; Adam lr %g, batch %d, clip %g\n"
           "runtime: %s\n",
           n_train, n_valid, MAX_LEN, width, hidden, latent,
           run.cfg.cell == LSTMAE_CELL_GRU ? "gru" : "lstm",
           run.cfg.bidirectional ? ", bidirectional" : "",
           run.cfg.reverse_target ? ", reversed target" : "",
           run.cfg.decoder_init == LSTMAE_DECODER_INIT_LATENT
               ? ", decoder state from z" : "",
           run.cfg.decoder_feedback ? ", decoder feedback" : "",
           run.cfg.loss == LSTMAE_LOSS_CROSS_ENTROPY ? "cross-entropy" : "bce",
           lr, batch, clip, runtime);

    int exit_code = 1;
    run_result r;
    if (seed_first < 0) {
        int status = train_one(&run, &data, &r);
        if (status != LSTMAE_OK) {
            fprintf(stderr, "lstmae: %s\n", lstmae_strerror(status));
        } else {
            printf("\n");
            print_result(&run, &r);
            if (passed(&run, &r))
                exit_code = 0;
            else
                printf("FAILED: below the %.1f%% target\n", target_pct);
        }
    } else {
        /* A sweep: one model per seed, the same data. */
        int passes = 0, runs = 0, status = LSTMAE_OK;
        run.verbose = 0;
        for (int s = seed_first; status == LSTMAE_OK && s <= seed_last; s++) {
            run.cfg.seed = (uint64_t)s;
            status = train_one(&run, &data, &r);
            if (status != LSTMAE_OK)
                break;
            runs++;
            passes += passed(&run, &r);
            printf("seed %3d  %s  ", s, passed(&run, &r) ? "pass" : "FAIL");
            print_result(&run, &r);
            fflush(stdout);
        }
        if (status != LSTMAE_OK) {
            fprintf(stderr, "lstmae: %s\n", lstmae_strerror(status));
        } else {
            int need = min_pass >= 0 ? min_pass : runs;
            printf("\n%d of %d seeds reach %.1f%%; %d needed\n", passes, runs,
                   target_pct, need);
            exit_code = passes >= need ? 0 : 1;
        }
    }
    free(x);
    free(lengths);
    return exit_code;
}

/*
 * anomaly.c - anomaly detection with an LSTM autoencoder, end to end.
 *
 * The workflow an application embeds (docs/anomaly.md walks through it on
 * a real ECG record):
 *   1. fit a model on normal data, with the input scaling kept in the
 *      model (LSTMAE_SCALING_STANDARD: no statistics to carry beside it);
 *   2. calibrate its threshold on held-out normal data (lstmae_calibrate,
 *      the 0.99 quantile of their scores);
 *   3. save it, without training state, as an application ships it;
 *   4. load it and flag new sequences (lstmae_detect), then compare the
 *      flags with the truth: precision, recall, false-positive rate.
 *
 * Usage:
 *   anomaly [--seed S]
 *       generated data: noisy sine waves around 20 (amplitude 4-6), with
 *       spikes, flat lines and noise bursts injected into half of the test
 *       set. Deterministic; a few seconds. S is the model's seed
 *       (lstmae_config.seed, default 1); the data stay the same.
 *   anomaly TRAIN.npy CALIB.npy TEST.npy LABELS.npy [EPOCHS [OUT_DIR]]
 *       sequences from files: float32 [n][T] or [n][T][D] (little-endian
 *       .npy, as numpy.save writes them); LABELS int32 or float32 [n] for
 *       TEST, 0 for normal and anything else for an anomaly (its value is
 *       the kind, counted apart). examples/ecg_anomaly.py writes such
 *       files from SciPy's ECG record. EPOCHS defaults to 80. With
 *       OUT_DIR (an existing directory), the loaded model's outputs are
 *       written there for plotting (docs/figures/anomaly.py): threshold.npy
 *       (float64 [1]), calib_scores.npy and test_scores.npy (float32 [n]),
 *       test_recon.npy (lstmae_reconstruct of TEST, data units, like TEST).
 *
 * The model is saved as anomaly.lstmae in the working directory.
 * Exit status: 0 when every step worked and detection is sound, 1 when a
 * step failed or detection is clearly broken (generated data: recall
 * below 0.8 or a false-positive rate above 0.05, the figures of issue 13;
 * files: recall below 0.5 or a false-positive rate above 0.2), 2 for bad
 * usage or an unreadable file.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lstmae.h>

#define MODEL_PATH "anomaly.lstmae"
#define QUANTILE 0.99  /* the threshold: 99% of normal scores lie at or below */
#define MAX_KINDS 16   /* label values counted apart (larger ones are pooled) */

/* ---- a data set: sequences plus, for the test set, labels ---------------- */

typedef struct {
    float *data;       /* [count][steps][dim] */
    int *labels;       /* [count], 0 normal; NULL for train and calibrate */
    size_t count, steps, dim;
} data_set;

static lstmae_sequences view(const data_set *s)
{
    /* Every sequence here has all `steps` steps: lengths NULL. Sequences
       of different lengths would pass a lengths array instead. */
    lstmae_sequences v = {.data = s->data, .lengths = NULL,
                          .count = s->count, .max_len = s->steps};
    return v;
}

static void free_set(data_set *s)
{
    free(s->data);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

/* ---- generated data ------------------------------------------------------- */

enum { GEN_STEPS = 32, GEN_TRAIN = 600, GEN_CALIB = 500, GEN_TEST = 400 };

/* splitmix64: our own generator, so the data are the same everywhere. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *state) /* [0, 1) */
{
    return (double)(next_random(state) >> 11) * 0x1.0p-53;
}

static double gaussian(uint64_t *state) /* Box-Muller, one of the pair */
{
    double u = uniform(state), v = uniform(state);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

/* One normal sequence: 20 + A sin(2 pi t / P + phase) + noise. */
static void make_sine(float *x, size_t steps, uint64_t *state)
{
    double amplitude = 4.0 + 2.0 * uniform(state);
    double period = 12.0 + 12.0 * uniform(state);
    double phase = 6.283185307179586 * uniform(state);
    for (size_t t = 0; t < steps; t++)
        x[t] = (float)(20.0 + amplitude * sin(6.283185307179586 * (double)t / period + phase) +
                       0.25 * gaussian(state));
}

/* The kinds of anomaly injected into a normal sequence (its label). */
enum { NORMAL = 0, SPIKE = 1, FLAT = 2, NOISE = 3 };
static const char *const kind_name[] = {"normal", "spike", "flat line", "noise burst"};

/* Injects one anomaly into x[steps] (one feature), sized by `spread`, the
   data's standard deviation: a spike of 3 spread at one step, the signal
   held flat for a quarter of the steps, or noise of 1 spread added over a
   quarter of the steps. */
static void inject(float *x, size_t steps, int kind, double spread, uint64_t *state)
{
    size_t span = steps / 4;
    size_t start = (size_t)(uniform(state) * (double)(steps - span));
    if (kind == SPIKE) {
        double sign = uniform(state) < 0.5 ? -1.0 : 1.0;
        x[start + span / 2] += (float)(sign * 3.0 * spread);
    } else if (kind == FLAT) {
        for (size_t t = start + 1; t < start + span; t++)
            x[t] = x[start];
    } else if (kind == NOISE) {
        for (size_t t = start; t < start + span; t++)
            x[t] += (float)(spread * gaussian(state));
    }
}

static int alloc_set(data_set *s, size_t count, size_t steps, size_t dim, int with_labels)
{
    s->count = count;
    s->steps = steps;
    s->dim = dim;
    s->data = malloc(count * steps * dim * sizeof *s->data);
    s->labels = with_labels ? calloc(count, sizeof *s->labels) : NULL;
    return s->data != NULL && (!with_labels || s->labels != NULL);
}

/* The three sets: train and calibrate are normal; the test set's second
   half holds the anomalies, spikes, flat lines and noise bursts in turn. */
static int generate(data_set *train, data_set *calib, data_set *test)
{
    uint64_t state = 13;
    if (!alloc_set(train, GEN_TRAIN, GEN_STEPS, 1, 0) ||
        !alloc_set(calib, GEN_CALIB, GEN_STEPS, 1, 0) ||
        !alloc_set(test, GEN_TEST, GEN_STEPS, 1, 1))
        return 0;
    for (size_t i = 0; i < GEN_TRAIN; i++)
        make_sine(train->data + i * GEN_STEPS, GEN_STEPS, &state);
    for (size_t i = 0; i < GEN_CALIB; i++)
        make_sine(calib->data + i * GEN_STEPS, GEN_STEPS, &state);
    /* sd of A sin(.) with A uniform in [4, 6] (E[A^2] = 76 / 3), plus the noise */
    double spread = sqrt((16.0 + 24.0 + 36.0) / 3.0 / 2.0 + 0.25 * 0.25);
    for (size_t i = 0; i < GEN_TEST; i++) {
        float *x = test->data + i * GEN_STEPS;
        make_sine(x, GEN_STEPS, &state);
        if (i >= GEN_TEST / 2) {
            test->labels[i] = SPIKE + (int)(i % 3);
            inject(x, GEN_STEPS, test->labels[i], spread, &state);
        }
    }
    return 1;
}

/* ---- .npy files ------------------------------------------------------------ */

/* Reads a little-endian float32 or int32 .npy of 1 to 3 dimensions.
   shape[] gets the sizes, missing trailing ones set to 1. Returns the
   values as floats (int32 converted), or NULL after printing why. */
static float *read_npy(const char *path, size_t shape[3], int *ndim_out)
{
    FILE *f = fopen(path, "rb");
    unsigned char head[10];
    char header[4096];
    float *values = NULL;
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    if (fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY", 6) != 0 || head[6] != 1) {
        fprintf(stderr, "%s: not a version 1.0 .npy file\n", path);
        goto done;
    }
    size_t header_len = (size_t)head[8] | (size_t)head[9] << 8;
    if (header_len >= sizeof header || fread(header, 1, header_len, f) != header_len) {
        fprintf(stderr, "%s: bad .npy header\n", path);
        goto done;
    }
    header[header_len] = '\0';
    int is_int = strstr(header, "'descr': '<i4'") != NULL;
    if (!is_int && strstr(header, "'descr': '<f4'") == NULL) {
        fprintf(stderr, "%s: expected float32 or int32 (little-endian): %s\n", path, header);
        goto done;
    }
    if (strstr(header, "'fortran_order': False") == NULL) {
        fprintf(stderr, "%s: expected C order\n", path);
        goto done;
    }
    const char *p = strstr(header, "'shape': (");
    if (p == NULL) {
        fprintf(stderr, "%s: no shape in the header\n", path);
        goto done;
    }
    p += strlen("'shape': (");
    int ndim = 0;
    size_t total = 1;
    shape[0] = shape[1] = shape[2] = 1;
    while (*p != ')' && ndim < 3) {
        char *end;
        unsigned long long n = strtoull(p, &end, 10);
        if (end == p || n == 0 || n > 100000000u)
            break;
        shape[ndim++] = (size_t)n;
        total *= (size_t)n;
        p = end;
        while (*p == ',' || *p == ' ')
            p++;
    }
    if (*p != ')' || ndim == 0 || total > 100000000u) {
        fprintf(stderr, "%s: expected 1 to 3 non-zero dimensions: %s\n", path, header);
        goto done;
    }
    values = malloc(total * sizeof *values);
    if (values == NULL || fread(values, sizeof *values, total, f) != total) {
        fprintf(stderr, "%s: %s\n", path, values == NULL ? "out of memory" : "file too short");
        free(values);
        values = NULL;
        goto done;
    }
    if (is_int) { /* int32 and float32 have the same size: convert in place */
        for (size_t i = 0; i < total; i++) {
            int32_t v;
            memcpy(&v, &values[i], sizeof v);
            values[i] = (float)v;
        }
    }
    *ndim_out = ndim;
done:
    fclose(f);
    return values;
}

static int read_sequences(const char *path, data_set *s)
{
    size_t shape[3];
    int ndim = 0;
    s->data = read_npy(path, shape, &ndim);
    if (s->data == NULL)
        return 0;
    if (ndim < 2) {
        fprintf(stderr, "%s: expected [n][T] or [n][T][D] sequences\n", path);
        return 0;
    }
    s->count = shape[0];
    s->steps = shape[1];
    s->dim = shape[2];
    return 1;
}

static int read_labels(const char *path, data_set *test)
{
    size_t shape[3];
    int ndim = 0;
    float *values = read_npy(path, shape, &ndim);
    if (values == NULL)
        return 0;
    if (ndim != 1 || shape[0] != test->count) {
        fprintf(stderr, "%s: expected %zu labels, one per test sequence\n", path, test->count);
        free(values);
        return 0;
    }
    test->labels = malloc(test->count * sizeof *test->labels);
    if (test->labels == NULL) {
        free(values);
        return 0;
    }
    for (size_t i = 0; i < test->count; i++)
        test->labels[i] = values[i] > 0.0f ? (int)values[i] : 0;
    free(values);
    return 1;
}

/* ---- the workflow ---------------------------------------------------------- */

/* Prints a failed call's status (and, for bad data, where it is bad). */
static int failed(const char *what, int status, const lstmae_model *model, const data_set *s)
{
    fprintf(stderr, "anomaly: %s: %s\n", what, lstmae_strerror(status));
    if (model != NULL && s != NULL) {
        char why[256];
        lstmae_sequences v = view(s);
        if (lstmae_check_sequences_why(model, &v, why, sizeof why) != LSTMAE_OK)
            fprintf(stderr, "anomaly: %s\n", why);
    }
    return 1;
}

/* Writes a little-endian .npy version 1.0 file of `ndim` dimensions;
   descr is "<f4" or "<f8". Returns 0 after printing why on failure. */
static int write_npy(const char *path, const char *descr, const size_t *shape, int ndim,
                     const void *values, size_t value_size)
{
    char header[128], dims[64] = "";
    size_t total = 1, used = 0;
    for (int i = 0; i < ndim; i++) {
        used += (size_t)snprintf(dims + used, sizeof dims - used, "%zu,%s", shape[i],
                                 i + 1 < ndim ? " " : "");
        total *= shape[i];
    }
    if (ndim > 1) /* "(3, 4)" rather than "(3, 4,)"; one dimension keeps its comma */
        dims[used - 1] = '\0';
    int len = snprintf(header, sizeof header,
                       "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    /* magic (6) + version (2) + length (2) + header, padded with spaces
       to a multiple of 64 and ended by a newline */
    size_t padded = ((size_t)len + 10 + 1 + 63) / 64 * 64 - 10;
    memset(header + len, ' ', padded - (size_t)len - 1);
    header[padded - 1] = '\n';
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              (unsigned char)(padded & 0xff), (unsigned char)(padded >> 8)};
    FILE *f = fopen(path, "wb");
    int ok = f != NULL && fwrite(head, 1, 10, f) == 10 &&
             fwrite(header, 1, padded, f) == padded &&
             fwrite(values, value_size, total, f) == total;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok)
        perror(path);
    return ok;
}

/* The loaded model's threshold, scores and reconstructions, for a plot. */
static int write_outputs(const char *dir, const lstmae_model *model, const data_set *calib,
                         const data_set *test, const float *test_scores)
{
    char path[4096];
    double threshold = 0.0;
    size_t one = 1, shape[3] = {test->count, test->steps, test->dim};
    float *calib_scores = malloc(calib->count * sizeof *calib_scores);
    float *recon = malloc(test->count * test->steps * test->dim * sizeof *recon);
    lstmae_sequences calib_v = view(calib), test_v = view(test);
    int status = calib_scores && recon ? LSTMAE_OK : LSTMAE_ERR_NOMEM;
    if (status == LSTMAE_OK)
        status = lstmae_get_threshold(model, &threshold);
    if (status == LSTMAE_OK)
        status = lstmae_score(model, &calib_v, calib_scores, NULL);
    if (status == LSTMAE_OK)
        status = lstmae_reconstruct(model, &test_v, recon);
    int ok = status == LSTMAE_OK;
    if (!ok)
        failed("outputs", status, NULL, NULL);
    ok = ok && snprintf(path, sizeof path, "%s/threshold.npy", dir) > 0 &&
         write_npy(path, "<f8", &one, 1, &threshold, sizeof threshold);
    ok = ok && snprintf(path, sizeof path, "%s/calib_scores.npy", dir) > 0 &&
         write_npy(path, "<f4", &calib->count, 1, calib_scores, sizeof *calib_scores);
    ok = ok && snprintf(path, sizeof path, "%s/test_scores.npy", dir) > 0 &&
         write_npy(path, "<f4", &test->count, 1, test_scores, sizeof *test_scores);
    ok = ok && snprintf(path, sizeof path, "%s/test_recon.npy", dir) > 0 &&
         write_npy(path, "<f4", shape, 3, recon, sizeof *recon);
    if (ok)
        printf("outputs: %s/threshold.npy, calib_scores.npy, test_scores.npy, test_recon.npy\n",
               dir);
    free(calib_scores);
    free(recon);
    return ok ? 0 : 1;
}

/* Steps 1-3: fit with scaling, calibrate, save. */
static int train_and_save(const data_set *train, const data_set *calib, int epochs,
                          uint64_t seed)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.seed = seed;
    cfg.input_dim = (int)train->dim;
    cfg.hidden_dim = 32;
    cfg.latent_dim = 8;
    cfg.loss = LSTMAE_LOSS_MSE;                 /* real-valued data */
    cfg.scaling = LSTMAE_SCALING_STANDARD;      /* stored in the model */

    lstmae_fit_options opt;
    lstmae_fit_options_init(&opt);
    opt.epochs = epochs;
    opt.batch_size = 32;
    opt.learning_rate = 0.005f;
    opt.clip_norm = 1.0f;

    lstmae_model *model = NULL;
    lstmae_metrics last;
    lstmae_metrics_init(&last);
    lstmae_sequences train_v = view(train), calib_v = view(calib);
    int status = lstmae_create(&cfg, &model);
    if (status != LSTMAE_OK)
        return failed("create", status, NULL, NULL);
    status = lstmae_fit(model, &train_v, NULL, &opt, &last);
    if (status != LSTMAE_OK) {
        failed("fit", status, model, train);
        lstmae_free(model);
        return 1;
    }
    float offset[1], scale[1];
    if (train->dim == 1 && lstmae_get_scaling(model, offset, scale) == LSTMAE_OK)
        printf("fit: %zu sequences, %d epochs, loss %.4f (scaled units); "
               "scaling offset %.3f scale %.3f\n",
               train->count, epochs, last.loss, (double)offset[0], (double)scale[0]);
    else
        printf("fit: %zu sequences, %d epochs, loss %.4f (scaled units)\n", train->count,
               epochs, last.loss);

    double threshold = 0.0;
    status = lstmae_calibrate(model, &calib_v, LSTMAE_THRESHOLD_QUANTILE, QUANTILE, &threshold);
    if (status != LSTMAE_OK) {
        failed("calibrate", status, model, calib);
        lstmae_free(model);
        return 1;
    }
    printf("calibrate: %zu held-out normal sequences, threshold %.5f (quantile %.2f)\n",
           calib->count, threshold, QUANTILE);

    /* Parameters, scaling and threshold; no optimiser state. */
    status = lstmae_save_ex(model, MODEL_PATH, LSTMAE_SAVE_INFERENCE_ONLY);
    lstmae_free(model);
    if (status != LSTMAE_OK)
        return failed("save " MODEL_PATH, status, NULL, NULL);
    printf("save: %s\n", MODEL_PATH);
    return 0;
}

/* Step 4: load, detect, compare with the labels. Sets *broken when the
   detection figures miss the bounds. With out_dir, writes the outputs. */
static int load_and_detect(const data_set *calib, const data_set *test, int generated,
                           const char *out_dir, double min_recall, double max_fpr,
                           int *broken)
{
    lstmae_model *model = NULL;
    int status = lstmae_load(MODEL_PATH, &model);
    if (status != LSTMAE_OK)
        return failed("load " MODEL_PATH, status, NULL, NULL);
    double threshold;
    if (lstmae_get_threshold(model, &threshold) != LSTMAE_OK || !lstmae_scaling_ready(model)) {
        fprintf(stderr, "anomaly: %s lost its threshold or its scaling\n", MODEL_PATH);
        lstmae_free(model);
        return 1;
    }

    float *scores = malloc(test->count * sizeof *scores);
    uint8_t *flags = malloc(test->count);
    lstmae_sequences test_v = view(test);
    status = scores && flags ? lstmae_detect(model, &test_v, scores, flags) : LSTMAE_ERR_NOMEM;
    if (status != LSTMAE_OK) {
        failed("detect", status, model, test);
        lstmae_free(model);
        free(scores);
        free(flags);
        return 1;
    }

    /* flagged / total per label value, and the confusion counts */
    size_t total[MAX_KINDS] = {0}, flagged[MAX_KINDS] = {0};
    double sum[MAX_KINDS] = {0};
    size_t tp = 0, fp = 0, fn = 0, tn = 0;
    for (size_t i = 0; i < test->count; i++) {
        int kind = test->labels[i] < MAX_KINDS ? test->labels[i] : MAX_KINDS - 1;
        total[kind]++;
        flagged[kind] += flags[i];
        sum[kind] += (double)scores[i];
        if (test->labels[i] != NORMAL && flags[i])
            tp++;
        else if (test->labels[i] != NORMAL)
            fn++;
        else if (flags[i])
            fp++;
        else
            tn++;
    }
    printf("detect: %zu sequences, threshold %.5f\n", test->count, threshold);
    for (int k = 0; k < MAX_KINDS; k++) {
        if (total[k] == 0)
            continue;
        char name[32];
        if (generated && k <= NOISE)
            snprintf(name, sizeof name, "%s", kind_name[k]);
        else
            snprintf(name, sizeof name, "label %d", k);
        printf("  %-12s %4zu sequences, mean score %9.5f, flagged %4zu\n", name, total[k],
               sum[k] / (double)total[k], flagged[k]);
    }
    double precision = tp + fp > 0 ? (double)tp / (double)(tp + fp) : 0.0;
    double recall = tp + fn > 0 ? (double)tp / (double)(tp + fn) : 0.0;
    double fpr = fp + tn > 0 ? (double)fp / (double)(fp + tn) : 0.0;
    printf("tp %zu fp %zu fn %zu tn %zu\n", tp, fp, fn, tn);
    printf("precision %.3f recall %.3f false-positive rate %.3f\n", precision, recall, fpr);
    *broken = tp + fn == 0 || fp + tn == 0 || recall < min_recall || fpr > max_fpr;
    if (*broken)
        fprintf(stderr, "anomaly: detection is broken: recall must be >= %.2f and the "
                        "false-positive rate <= %.2f\n", min_recall, max_fpr);
    int rc = out_dir != NULL ? write_outputs(out_dir, model, calib, test, scores) : 0;
    lstmae_free(model);
    free(scores);
    free(flags);
    return rc;
}

int main(int argc, char **argv)
{
    data_set train = {0}, calib = {0}, test = {0};
    int epochs = 80, rc = 2;
    uint64_t seed = 1;
    double min_recall = 0.8, max_fpr = 0.05;

    if (argc == 1 || (argc == 3 && strcmp(argv[1], "--seed") == 0)) {
        if (argc == 3) {
            char *end;
            seed = strtoull(argv[2], &end, 10);
            if (end == argv[2] || *end != '\0') {
                fprintf(stderr, "anomaly: --seed takes a whole number, not %s\n", argv[2]);
                goto done;
            }
        }
        if (!generate(&train, &calib, &test)) {
            fprintf(stderr, "anomaly: out of memory\n");
            goto done;
        }
    } else if (argc >= 5 && argc <= 7) {
        if (!read_sequences(argv[1], &train) || !read_sequences(argv[2], &calib) ||
            !read_sequences(argv[3], &test) || !read_labels(argv[4], &test))
            goto done;
        if (argc >= 6 && ((epochs = atoi(argv[5])) < 1 || epochs > 100000)) {
            fprintf(stderr, "anomaly: EPOCHS must be 1 to 100000, not %s\n", argv[5]);
            goto done;
        }
        if (calib.steps != train.steps || calib.dim != train.dim ||
            test.steps != train.steps || test.dim != train.dim) {
            fprintf(stderr, "anomaly: TRAIN, CALIB and TEST must have the same [T][D]\n");
            goto done;
        }
        min_recall = 0.5;
        max_fpr = 0.2;
    } else {
        fprintf(stderr,
                "usage: anomaly [--seed S]\n"
                "       anomaly TRAIN.npy CALIB.npy TEST.npy LABELS.npy [EPOCHS [OUT_DIR]]\n");
        goto done;
    }

    int broken = 0;
    rc = 1;
    if (train_and_save(&train, &calib, epochs, seed) == 0 &&
        load_and_detect(&calib, &test, argc <= 3, argc == 7 ? argv[6] : NULL, min_recall,
                        max_fpr, &broken) == 0 && !broken)
        rc = 0;
done:
    free_set(&train);
    free_set(&calib);
    free_set(&test);
    return rc;
}

/*
 * cmd_info.c - lstmae info (what a model file holds) and lstmae show (what
 * a data file holds).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "dataset.h"
#include "npy.h"

static const char info_help[] =
"usage: lstmae info MODEL [--tensors]\n"
"\n"
"Prints what the model file holds: the file format version and size, the\n"
"configuration (dimensions, cell, the variants, loss, seed), the number of\n"
"parameters, whether the training state is present, the epochs trained,\n"
"the input scaling (kind, and each feature's offset and scale: the first\n"
"8, then their range) and the anomaly threshold ('none' until 'lstmae\n"
"calibrate' sets one).\n"
"\n"
"  --tensors            also list the parameter tensors and their sizes\n";

static const char show_help[] =
"usage: lstmae show FILE [--lengths L] [--index I] [--count N]\n"
"                        [--header yes|no|auto]\n"
"\n"
"Prints the shape and type of a .npy or .csv file, then N items from\n"
"item I (default 0): sequences of a 3-D array or a CSV file (only the\n"
"valid steps when --lengths is given), rows of a 2-D array, values of a\n"
"1-D one. Useful to look at what encode, decode and eval wrote. A model\n"
"file (a name ending in .lstmae) is shown as 'lstmae info' shows it: its\n"
"configuration, cell and variants included.\n"
"\n"
"  --lengths L          .npy lengths of a padded 3-D array\n"
"  --index I            first item shown (default 0)\n"
"  --count N            items shown (default: 1 sequence, 5 rows, 10 values)\n"
"  --header yes|no|auto whether a .csv's first row is a header (default auto)\n";

/* ---- info --------------------------------------------------------------- */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

int cmd_info(int argc, char **argv)
{
    const char *tensors = NULL;
    const args_option opts[] = {{"--tensors", NULL, 0, &tensors}};
    args_parsed parsed;
    int code = args_parse_help(argc, argv, opts, 1, 1, info_help, &parsed);
    if (code != CLI_OK || parsed.help)
        return code;
    if (parsed.npositional != 1)
        return args_usage_error("info", "a MODEL file is required");
    const char *path = parsed.positional[0];

    lstmae_model *model = NULL;
    /* The model loaded, so its header is sound: magic, version (u32 at 8),
       flags (u32 at 12, bit 0: training state), file size (u64 at 16). */
    unsigned char head[CLI_MODEL_HEAD];
    if ((code = cli_load_model_head(path, &model, head)) != CLI_OK)
        return code;
    uint64_t size = (uint64_t)le32(head + 16) |
                    (uint64_t)le32(head + 20) << 32;
    int state = (le32(head + 12) & 1u) != 0;

    lstmae_config cfg;
    lstmae_config_init(&cfg);
    lstmae_get_config(model, &cfg);
    size_t ntensors = lstmae_param_count(model), values = 0;
    for (size_t i = 0; i < ntensors; i++)
        values += lstmae_param_size(model, lstmae_param_name(model, i));

    printf("file:             %s\n", path);
    printf("format version:   %lu\n", (unsigned long)le32(head + 8));
    printf("file size:        %llu bytes\n", (unsigned long long)size);
    printf("input_dim:        %d\n", cfg.input_dim);
    printf("hidden_dim:       %d\n", cfg.hidden_dim);
    printf("latent_dim:       %d\n", cfg.latent_dim);
    printf("num_layers:       %d\n", cfg.num_layers);
    printf("cell:             %s\n", CLI_NAME(cli_cells, cfg.cell));
    printf("bidirectional:    %s\n", cfg.bidirectional ? "yes" : "no");
    printf("reverse_target:   %s\n", cfg.reverse_target ? "yes" : "no");
    printf("decoder_init:     %s\n",
           CLI_NAME(cli_decoder_inits, cfg.decoder_init));
    printf("decoder_feedback: %s\n", cfg.decoder_feedback ? "yes" : "no");
    printf("loss:             %s\n", CLI_NAME(cli_losses, cfg.loss));
    printf("seed:             %llu\n", (unsigned long long)cfg.seed);
    printf("parameters:       %zu values in %zu tensors\n", values, ntensors);
    printf("training state:   %s\n",
           state ? "present (optimiser moments, generator)"
                 : "absent (inference only)");
    printf("epochs done:      %llu\n",
           (unsigned long long)lstmae_epochs_done(model));
    printf("scaling:          %s", CLI_NAME(cli_scalings, cfg.scaling));
    if (cfg.scaling != LSTMAE_SCALING_NONE && !lstmae_scaling_ready(model))
        printf(" (not computed yet: the first training sets it)");
    putchar('\n');
    float *stats = NULL;
    if (lstmae_scaling_ready(model) &&
        (stats = cli_alloc((size_t)cfg.input_dim, 2 * sizeof(float))) != NULL) {
        /* offset and scale per feature: the first 8, then their range */
        size_t D = (size_t)cfg.input_dim, shown = D <= 8 ? D : 8;
        lstmae_get_scaling(model, stats, stats + D);
        for (int k = 0; k < 2; k++) {
            const float *v = stats + (size_t)k * D;
            float lo = v[0], hi = v[0];
            printf("  %-15s", k ? "scale:" : "offset:");
            for (size_t d = 0; d < D; d++) {
                lo = v[d] < lo ? v[d] : lo;
                hi = v[d] > hi ? v[d] : hi;
                if (d < shown)
                    printf(" %.6g", (double)v[d]);
            }
            if (shown < D)
                printf(" ... (%zu features, %.6g to %.6g)", D, (double)lo,
                       (double)hi);
            putchar('\n');
        }
    }
    free(stats);
    double threshold = 0.0;
    if (lstmae_get_threshold(model, &threshold) == LSTMAE_OK)
        printf("threshold:        %.17g\n", threshold);
    else
        printf("threshold:        none\n");
    if (tensors != NULL) {
        /* one column for the sizes, past the longest name (at least 24:
           encoder.0.weight_ih_reverse is 27) */
        int width = 24;
        for (size_t i = 0; i < ntensors; i++) {
            size_t len = strlen(lstmae_param_name(model, i));
            if (len > (size_t)width && len < 256)
                width = (int)len;
        }
        for (size_t i = 0; i < ntensors; i++) {
            const char *name = lstmae_param_name(model, i);
            printf("  %-*s %zu\n", width, name,
                   lstmae_param_size(model, name));
        }
    }
    lstmae_free(model);
    return CLI_OK;
}

/* ---- show --------------------------------------------------------------- */

/* Prints n values with one format, chosen from their magnitudes. */
static void print_values(const float *v, size_t n)
{
    float big = 0.0f;
    for (size_t i = 0; i < n; i++)
        big = fabsf(v[i]) > big ? fabsf(v[i]) : big;
    int fixed = big < 1e4f;
    for (size_t i = 0; i < n; i++)
        printf(fixed ? " %8.4f" : " %11.4g", (double)v[i]);
    putchar('\n');
}

static void show_sequences(const seqset *s, size_t first, size_t count,
                           int have_lengths)
{
    for (size_t i = first; i < first + count && i < s->count; i++) {
        size_t len = (size_t)s->lengths[i];
        if (s->ids)
            printf("sequence '%s' (index %zu, length %zu):\n", s->ids[i], i,
                   len);
        else if (have_lengths)
            printf("sequence %zu (length %zu of %zu steps):\n", i, len,
                   s->max_len);
        else
            printf("sequence %zu (%zu steps):\n", i, len);
        for (size_t t = 0; t < len; t++) {
            printf("  %4zu:", t);
            print_values(s->data + (i * s->max_len + t) * s->dim, s->dim);
        }
    }
}

static int show_npy(const char *path, const char *lengths, size_t first,
                    const char *count_text, size_t count)
{
    unsigned char *buf = NULL;
    size_t size = 0;
    int code = cli_read_file(path, &buf, &size);
    npy_array a;
    if (code == CLI_OK)
        code = npy_parse(path, buf, size, &a);
    if (code != CLI_OK) {
        free(buf);
        return code;
    }
    printf("%s: .npy version %d.%d, %s ('%s'), shape (", path, a.major,
           a.minor, npy_type_name(&a), a.descr);
    for (size_t i = 0; i < a.ndim; i++)
        printf("%s%zu", i ? ", " : "", a.shape[i]);
    printf("%s)\n", a.ndim == 1 ? "," : "");

    if (a.kind == 'f' && (a.ndim == 2 || a.ndim == 3) &&
        (a.ndim == 3 || lengths != NULL)) {
        /* sequences */
        free(buf);
        seqset s;
        if ((code = seqset_load(path, lengths, &s)) != CLI_OK)
            return code;
        show_sequences(&s, first, count_text ? count : 1, lengths != NULL);
        seqset_free(&s);
        return CLI_OK;
    }
    if (lengths != NULL) {
        free(buf);
        return args_usage_error("show", "--lengths is for a 3-D (or 2-D) "
                                "float array of sequences");
    }
    size_t rows = a.ndim == 0 ? 1 : a.shape[0];
    size_t cols = rows ? a.count / (rows ? rows : 1) : 0;
    if (!count_text)
        count = a.ndim <= 1 ? 10 : 5;
    if (a.kind == 'f') {
        float *v = cli_alloc(a.count, sizeof(float));
        if (v == NULL) {
            free(buf);
            return CLI_FAIL;
        }
        npy_to_float(&a, v);
        for (size_t r = first; r < first + count && r < rows; r++) {
            printf("[%zu]", r);
            print_values(v + r * cols, cols);
        }
        free(v);
    } else {
        int64_t *v = cli_alloc(a.count, sizeof(int64_t));
        if (v == NULL) {
            free(buf);
            return CLI_FAIL;
        }
        size_t big = npy_to_int64(&a, v);
        for (size_t r = first; r < first + count && r < rows; r++) {
            printf("[%zu]", r);
            for (size_t c = 0; c < cols; c++) {
                if (r * cols + c >= big)
                    printf(" (above %lld)", (long long)INT64_MAX);
                else
                    printf(" %lld", (long long)v[r * cols + c]);
            }
            putchar('\n');
        }
        free(v);
    }
    free(buf);
    return CLI_OK;
}

int cmd_show(int argc, char **argv)
{
    const char *lengths = NULL, *index = NULL, *count = NULL, *header = NULL;
    const args_option opts[] = {
        {"--header", NULL, 1, &header},
        {"--lengths", NULL, 1, &lengths},
        {"--index", NULL, 1, &index},
        {"--count", NULL, 1, &count},
    };
    args_parsed parsed;
    int code = args_parse_help(argc, argv, opts,
                               sizeof opts / sizeof opts[0], 1,
                               show_help, &parsed);
    if (code != CLI_OK || parsed.help)
        return code;
    if (parsed.npositional != 1)
        return args_usage_error("show", "a FILE is required");
    int first = 0, n = 1;
    if ((code = args_int("show", "--index", index, 0, INT32_MAX, &first)) ||
        (code = args_int("show", "--count", count, 1, INT32_MAX, &n)) ||
        (code = dataset_set_header("show", header)))
        return code;
    const char *path = parsed.positional[0];
    size_t plen = strlen(path);
    if (plen >= 7 && strcmp(path + plen - 7, ".lstmae") == 0) {
        if (lengths || index || count || header)
            return args_usage_error("show", "--lengths, --index, --count and "
                                    "--header are for data files, not a "
                                    "model");
        char info_name[] = "info", *info_argv[] = {info_name, (char *)path, NULL};
        return cmd_info(2, info_argv);
    }
    cli_filetype ft;
    if ((code = cli_need_filetype(path, "data", &ft)) != CLI_OK)
        return code;
    if (ft == CLI_FT_NPY)
        return show_npy(path, lengths, (size_t)first, count, (size_t)n);

    seqset s;
    if ((code = seqset_load(path, lengths, &s)) != CLI_OK)
        return code;
    printf("%s: CSV, %zu rows%s, %zu sequences of 1 to %zu steps, %zu "
           "values per row\n", path, s.csv.rows,
           s.csv.has_header ? " after a header" : " (no header)", s.count,
           s.max_len, s.dim);
    show_sequences(&s, (size_t)first, (size_t)n, 1);
    seqset_free(&s);
    return CLI_OK;
}

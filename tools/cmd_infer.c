/*
 * cmd_infer.c - lstmae encode, decode and eval: a trained model applied to
 * files.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "dataset.h"

static const char encode_help[] =
"usage: lstmae encode -m MODEL --data X [--lengths L] [--threads N] -o OUT\n"
"                     [--header yes|no|auto]\n"
"\n"
"Writes the latent vector of every sequence in X: OUT is [n, Z] float32\n"
"(.npy), or rows 'sequence_id,z1,...,zZ' (.csv; the ids of a CSV input).\n"
"\n"
"  -m, --model MODEL    a model file made by 'lstmae train'\n"
"  --data X             sequences: .npy [n, T, D] or [n, T], or .csv rows\n"
"                       'sequence_id,f1,...,fD'\n"
"  --lengths L          .npy 1-D integer array of n lengths (default: full)\n"
"  --header yes|no|auto whether a .csv's first row is a header; auto (the\n"
"                       default): when no value field is a number or empty\n"
"  -o, --output OUT     .npy or .csv (written atomically)\n"
"  --threads N          worker threads (lstmae_set_num_threads); 0, the\n"
"                       default, or 1: one\n";

static const char decode_help[] =
"usage: lstmae decode -m MODEL --latent Z --length T [--threads N] -o OUT\n"
"                     [--header yes|no|auto]\n"
"\n"
"Decodes every latent vector in Z into a sequence of T steps: OUT is\n"
"[n, T, D] float32 (.npy), or rows 'sequence_id,f1,...,fD', T per vector\n"
"(.csv). Values are probabilities for a bce model, each step's softmax for\n"
"a cross_entropy model (a step's D values sum to 1), plain values for mse.\n"
"\n"
"  -m, --model MODEL    a model file made by 'lstmae train'\n"
"  --latent Z           .npy [n, Z] (or [Z]), or .csv rows\n"
"                       'sequence_id,z1,...,zZ' (what 'lstmae encode' writes)\n"
"  --header yes|no|auto whether a .csv's first row is a header (default auto)\n"
"  --length T           steps to decode, 1 to 8388607\n"
"  -o, --output OUT     .npy or .csv (written atomically)\n"
"  --threads N          worker threads (lstmae_set_num_threads); 0, the\n"
"                       default, or 1: one\n";

static const char eval_help[] =
"usage: lstmae eval -m MODEL --data X [--lengths L] [--threads N]\n"
"                   [--per-sequence OUT] [--header yes|no|auto]\n"
"\n"
"Prints the reconstruction loss of X, per valid element (per valid step for\n"
"a cross_entropy model), as 'loss=... accuracy=...'. The accuracy is for bce\n"
"and cross_entropy models, not mse: bce, the share of elements with\n"
"(p > 0.5) == (x > 0.5); cross_entropy, the share of steps whose largest\n"
"output is where the target's largest value is.\n"
"\n"
"  -m, --model MODEL    a model file made by 'lstmae train'\n"
"  --data X             sequences: .npy [n, T, D] or [n, T], or .csv\n"
"  --lengths L          .npy 1-D integer array of n lengths (default: full)\n"
"  --header yes|no|auto whether a .csv's first row is a header (default auto)\n"
"  --per-sequence OUT   also write each sequence's reconstruction error: the\n"
"                       model's loss (bce from the logits, squared error, or\n"
"                       cross-entropy of each step's softmax) averaged over\n"
"                       that sequence's valid elements (steps for\n"
"                       cross_entropy), the number anomaly detection ranks\n"
"                       by; NaN for an empty sequence. .npy [n] float32, or\n"
"                       .csv rows 'sequence_id,error'\n"
"  --threads N          worker threads (lstmae_set_num_threads); 0, the\n"
"                       default, or 1: one\n";

/* The parts the three commands share: options, model and data. */
typedef struct job {
    const char *cmd;        /* "encode", "decode" or "eval" */
    const char *model_path, *data, *lengths, *output, *threads, *header;
    lstmae_model *model;
    lstmae_config cfg;
    seqset seqs;
} job;

static int job_open(job *j, int need_data)
{
    int threads = 0;
    int code = args_int(j->cmd, "--threads", j->threads, 0, 1024, &threads);
    if (code == CLI_OK)
        code = dataset_set_header(j->cmd, j->header);
    if (code != CLI_OK)
        return code;
    code = cli_load_model(j->model_path, &j->model);
    lstmae_config_init(&j->cfg);
    if (code == CLI_OK) {
        lstmae_get_config(j->model, &j->cfg);
        lstmae_set_num_threads(j->model, threads); /* in range: checked */
    }
    if (code == CLI_OK && need_data)
        code = seqset_load(j->data, j->lengths, &j->seqs);
    if (code == CLI_OK && need_data && j->seqs.max_len > LSTMAE_MAX_STEPS) {
        cli_error("%s: sequences of %zu steps; at most %d (LSTMAE_MAX_STEPS) "
                  "are supported", j->data, j->seqs.max_len,
                  LSTMAE_MAX_STEPS);
        code = CLI_BAD;
    }
    if (code == CLI_OK && need_data)
        code = seqset_check_dim(&j->seqs, j->data, j->model, j->model_path);
    return code;
}

/* Refuses an output that is one of the inputs (or the latent file). */
static int job_check_files(const job *j, const char *output_option,
                           const char *latent)
{
    const args_file files[] = {
        {output_option, j->output, 1}, {"-m", j->model_path, 0},
        {"--data", j->data, 0},        {"--lengths", j->lengths, 0},
        {"--latent", latent, 0},
    };
    return args_check_files(j->cmd, files, sizeof files / sizeof files[0]);
}

static void job_close(job *j)
{
    seqset_free(&j->seqs);
    lstmae_free(j->model);
    j->model = NULL;
}

/* A library failure during inference, as an exit code. */
static int inference_error(const char *what, const char *path, int st)
{
    if (st == LSTMAE_ERR_NUMERIC) {
        cli_error("%s: NaN or infinity in a valid step", path);
        return CLI_BAD;
    }
    cli_error("%s %s: %s", what, path, lstmae_strerror(st));
    return st == LSTMAE_ERR_INVALID_ARG ? CLI_BAD : CLI_FAIL;
}

int cmd_encode(int argc, char **argv)
{
    job j;
    memset(&j, 0, sizeof j);
    j.cmd = "encode";
    const args_option opts[] = {
        {"--model", "-m", 1, &j.model_path},
        {"--data", NULL, 1, &j.data},
        {"--lengths", NULL, 1, &j.lengths},
        {"--output", "-o", 1, &j.output},
        {"--threads", NULL, 1, &j.threads},
        {"--header", NULL, 1, &j.header},
    };
    args_parsed parsed;
    int code = args_parse_help(argc, argv, opts,
                               sizeof opts / sizeof opts[0], 0,
                               encode_help, &parsed);
    if (code != CLI_OK || parsed.help)
        return code;
    if (j.model_path == NULL || j.data == NULL || j.output == NULL)
        return args_usage_error("encode", "-m MODEL, --data X and -o OUT are "
                                "required");
    cli_filetype ft;
    if ((code = cli_need_filetype(j.output, "output", &ft)) != CLI_OK ||
        (code = job_check_files(&j, "-o", NULL)) != CLI_OK)
        return code;

    code = job_open(&j, 1);
    float *z = NULL;
    if (code == CLI_OK &&
        (z = cli_alloc(j.seqs.count,
                       (size_t)j.cfg.latent_dim * sizeof(float))) == NULL)
        code = CLI_FAIL;
    if (code == CLI_OK) {
        lstmae_sequences v = seqset_view(&j.seqs);
        int st = lstmae_encode(j.model, &v, z);
        if (st != LSTMAE_OK)
            code = inference_error("cannot encode", j.data, st);
    }
    if (code == CLI_OK)
        code = write_matrix(j.output, z, j.seqs.count,
                            (size_t)j.cfg.latent_dim,
                            (const char *const *)j.seqs.ids, "z");
    free(z);
    job_close(&j);
    return code;
}

int cmd_decode(int argc, char **argv)
{
    job j;
    memset(&j, 0, sizeof j);
    j.cmd = "decode";
    const char *latent = NULL, *length = NULL;
    const args_option opts[] = {
        {"--model", "-m", 1, &j.model_path},
        {"--latent", NULL, 1, &latent},
        {"--length", NULL, 1, &length},
        {"--output", "-o", 1, &j.output},
        {"--threads", NULL, 1, &j.threads},
        {"--header", NULL, 1, &j.header},
    };
    args_parsed parsed;
    int code = args_parse_help(argc, argv, opts,
                               sizeof opts / sizeof opts[0], 0,
                               decode_help, &parsed);
    if (code != CLI_OK || parsed.help)
        return code;
    if (j.model_path == NULL || latent == NULL || length == NULL ||
        j.output == NULL)
        return args_usage_error("decode", "-m MODEL, --latent Z, --length T "
                                "and -o OUT are required");
    int steps = 0;
    cli_filetype ft;
    if ((code = args_int("decode", "--length", length, 1, LSTMAE_MAX_STEPS,
                         &steps)) != CLI_OK ||
        (code = cli_need_filetype(j.output, "output", &ft)) != CLI_OK ||
        (code = job_check_files(&j, "-o", latent)) != CLI_OK)
        return code;

    code = job_open(&j, 0);
    matrix z;
    memset(&z, 0, sizeof z);
    if (code == CLI_OK)
        code = matrix_load(latent, &z);
    if (code == CLI_OK && z.cols != (size_t)j.cfg.latent_dim) {
        cli_error("%s: vectors of %zu values, but the model %s has a latent "
                  "size of %d", latent, z.cols, j.model_path,
                  j.cfg.latent_dim);
        code = CLI_BAD;
    }
    size_t total = 0;
    float *out = NULL;
    if (code == CLI_OK &&
        !cli_mul3(z.rows, (size_t)steps, (size_t)j.cfg.input_dim, &total)) {
        cli_error("%s: %zu vectors of %d steps are too many", latent, z.rows,
                  steps);
        code = CLI_FAIL;
    }
    if (code == CLI_OK && (out = cli_alloc(total, sizeof(float))) == NULL)
        code = CLI_FAIL;
    if (code == CLI_OK) {
        int st = lstmae_decode(j.model, z.data, z.rows, (size_t)steps, out);
        if (st != LSTMAE_OK)
            code = inference_error("cannot decode", latent, st);
    }
    if (code == CLI_OK)
        code = write_sequences(j.output, out, z.rows, (size_t)steps,
                               (size_t)j.cfg.input_dim, NULL,
                               (const char *const *)z.ids);
    free(out);
    matrix_free(&z);
    job_close(&j);
    return code;
}

int cmd_eval(int argc, char **argv)
{
    job j;
    memset(&j, 0, sizeof j);
    j.cmd = "eval";
    const args_option opts[] = {
        {"--model", "-m", 1, &j.model_path},
        {"--data", NULL, 1, &j.data},
        {"--lengths", NULL, 1, &j.lengths},
        {"--per-sequence", NULL, 1, &j.output},
        {"--threads", NULL, 1, &j.threads},
        {"--header", NULL, 1, &j.header},
    };
    args_parsed parsed;
    int code = args_parse_help(argc, argv, opts,
                               sizeof opts / sizeof opts[0], 0,
                               eval_help, &parsed);
    if (code != CLI_OK || parsed.help)
        return code;
    if (j.model_path == NULL || j.data == NULL)
        return args_usage_error("eval", "-m MODEL and --data X are required");
    cli_filetype ft;
    if ((j.output != NULL &&
         (code = cli_need_filetype(j.output, "output", &ft)) != CLI_OK) ||
        (code = job_check_files(&j, "--per-sequence", NULL)) != CLI_OK)
        return code;

    code = job_open(&j, 1);
    lstmae_metrics m;
    lstmae_metrics_init(&m);
    if (code == CLI_OK && seqset_steps(&j.seqs) == 0) {
        cli_error("%s: every sequence is empty (length 0): no loss to "
                  "compute", j.data);
        code = CLI_BAD;
    }
    if (code == CLI_OK) {
        lstmae_sequences v = seqset_view(&j.seqs);
        int st = lstmae_evaluate(j.model, &v, &m);
        if (st != LSTMAE_OK)
            code = inference_error("cannot evaluate", j.data, st);
    }
    float *errors = NULL;
    if (code == CLI_OK && j.output != NULL) {
        /* Each sequence as a set of one: the model's own loss over its
           valid elements. */
        size_t n = j.seqs.count, block = j.seqs.max_len * j.seqs.dim;
        if ((errors = cli_alloc(n, sizeof(float))) == NULL)
            code = CLI_FAIL;
        for (size_t i = 0; code == CLI_OK && i < n; i++) {
            if (j.seqs.lengths[i] == 0) {
                errors[i] = NAN;
                continue;
            }
            lstmae_sequences one = {j.seqs.data + i * block,
                                    j.seqs.lengths + i, 1, j.seqs.max_len};
            lstmae_metrics mi;
            lstmae_metrics_init(&mi);
            int st = lstmae_evaluate(j.model, &one, &mi);
            if (st != LSTMAE_OK)
                code = inference_error("cannot evaluate", j.data, st);
            errors[i] = (float)mi.loss;
        }
        if (code == CLI_OK)
            code = write_vector(j.output, errors, n,
                                (const char *const *)j.seqs.ids, "error");
    }
    if (code == CLI_OK) {
        if (isnan(m.accuracy))
            printf("loss=%.6g\n", m.loss);
        else
            printf("loss=%.6g accuracy=%.6f\n", m.loss, m.accuracy);
    }
    free(errors);
    job_close(&j);
    return code;
}

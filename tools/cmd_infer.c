/*
 * cmd_infer.c - lstmae encode, decode, eval, score, calibrate and
 * reconstruct: a trained model applied to files.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "dataset.h"

/* The options every command here that reads sequences describes alike. */
#define DATA_HELP                                                            \
"  -m, --model MODEL    a model file made by 'lstmae train'\n"                \
"  --data X             sequences: .npy [n, T, D] or [n, T], or .csv rows\n"  \
"                       'sequence_id,f1,...,fD'\n"                            \
"                       (MODEL and X may also come first, without -m and\n"  \
"                       --data: lstmae CMD MODEL X ...)\n"                    \
"  --lengths L          .npy 1-D integer array of n lengths (default: full)\n"\
"  --header yes|no|auto whether a .csv's first row is a header; auto (the\n"  \
"                       default): when no value field is a number or empty\n"
#define THREADS_HELP                                                         \
"  --threads N          worker threads (lstmae_set_num_threads); 0, the\n"    \
"                       default, or 1: one\n"

static const char encode_help[] =
"usage: lstmae encode -m MODEL --data X [--lengths L] [--threads N] -o OUT\n"
"                     [--header yes|no|auto]\n"
"\n"
"Writes the latent vector of every sequence in X: OUT is [n, Z] float32\n"
"(.npy), or rows 'sequence_id,z1,...,zZ' (.csv; the ids of a CSV input).\n"
"\n" DATA_HELP
"  -o, --output OUT     .npy or .csv (written atomically)\n" THREADS_HELP;

static const char decode_help[] =
"usage: lstmae decode -m MODEL --latent Z --length T [--threads N] -o OUT\n"
"                     [--header yes|no|auto]\n"
"\n"
"Decodes every latent vector in Z into a sequence of T steps: OUT is\n"
"[n, T, D] float32 (.npy), or rows 'sequence_id,f1,...,fD', T per vector\n"
"(.csv), in the data's units. Values are probabilities for a bce model,\n"
"each step's softmax for a cross_entropy model (a step's D values sum to\n"
"1), plain values for mse (a model trained with --scaling: unscaled).\n"
"\n"
"  -m, --model MODEL    a model file made by 'lstmae train'\n"
"  --latent Z           .npy [n, Z] (or [Z]), or .csv rows\n"
"                       'sequence_id,z1,...,zZ' (what 'lstmae encode' writes)\n"
"  --header yes|no|auto whether a .csv's first row is a header (default auto)\n"
"  --length T           steps to decode, 1 to 8388607\n"
"  -o, --output OUT     .npy or .csv (written atomically)\n" THREADS_HELP;

static const char eval_help[] =
"usage: lstmae eval -m MODEL --data X [--lengths L] [--threads N]\n"
"                   [--per-sequence OUT] [--header yes|no|auto]\n"
"\n"
"Prints the reconstruction loss of X, per valid element (per valid step for\n"
"a cross_entropy model), as 'loss=... accuracy=...', and beside it the\n"
"trivial baseline's, 'baseline_loss=... baseline_accuracy=...': the loss\n"
"and accuracy of predicting every step as the features' means over X's\n"
"valid steps (for bce, all zeros when every feature is 1 in less than half\n"
"the steps; see lstmae(1)). A model near its baseline has learnt nothing.\n"
"The accuracy is for bce and cross_entropy models, not mse: bce, the share\n"
"of elements with (p > 0.5) == (x > 0.5); cross_entropy, the share of\n"
"steps whose largest output is where the target's largest value is.\n"
"Losses are in the model's scaled units (train --scaling).\n"
"\n" DATA_HELP
"  --per-sequence OUT   also write each sequence's reconstruction error, its\n"
"                       score (see 'lstmae score'); NaN for an empty\n"
"                       sequence. .npy [n] float32, or .csv rows\n"
"                       'sequence_id,error'\n" THREADS_HELP;

static const char score_help[] =
"usage: lstmae score -m MODEL --data X [--lengths L] [--threads N]\n"
"                    [--step-scores S] [--header yes|no|auto] -o OUT\n"
"\n"
"Writes each sequence's anomaly score: the model's loss averaged over the\n"
"sequence's valid elements (valid steps for a cross_entropy model), in the\n"
"model's scaled units; 0 for an empty sequence. OUT is [n] float32 (.npy)\n"
"or rows 'sequence_id,score' (.csv). When the model holds a threshold\n"
"('lstmae calibrate'), each sequence also gets a flag, 1 where its score\n"
"is above the threshold, else 0: OUT is then [n, 2] float32, columns score\n"
"and flag (.npy), or rows 'sequence_id,score,flag' (.csv); the number of\n"
"sequences flagged is printed.\n"
"\n" DATA_HELP
"  -o, --output OUT     .npy or .csv (written atomically)\n"
"  --step-scores S      also each step's score, the mean loss of its D\n"
"                       values (cross_entropy: the step's loss), 0 on\n"
"                       padding: .npy [n, T] float32, or .csv rows\n"
"                       'sequence_id,step1,...,stepT'\n" THREADS_HELP;

static const char calibrate_help[] =
"usage: lstmae calibrate -m MODEL --data X [--lengths L] [--threads N]\n"
"                        --rule quantile|mean_std|max --param P\n"
"                        [--header yes|no|auto] [-o OUT]\n"
"\n"
"Sets the model's anomaly threshold from the scores of X, sequences known\n"
"to be normal (such as those 'lstmae train --valid-split' held out; see\n"
"its --valid-index-out), and saves it with the model: in MODEL itself,\n"
"replaced atomically, or in OUT. Empty sequences are left out. 'lstmae\n"
"score' then flags the sequences scoring above it.\n"
"\n" DATA_HELP
"  --rule R, --param P  quantile: the ceil(P n)-th smallest of the n scores,\n"
"                       0 < P <= 1 (0.99: one normal sequence in a hundred\n"
"                       is flagged); mean_std: the mean plus P population\n"
"                       standard deviations, P >= 0; max: P times the\n"
"                       largest score, P >= 1\n"
"  -o, --output OUT     the model file written (default: MODEL)\n"
THREADS_HELP;

static const char reconstruct_help[] =
"usage: lstmae reconstruct -m MODEL --data X [--lengths L] [--threads N]\n"
"                          [--header yes|no|auto] -o OUT\n"
"\n"
"Encodes and decodes every sequence to its own length and writes the\n"
"result in the data's units (a model trained with --scaling: unscaled):\n"
"OUT is [n, T, D] float32 (.npy, padding 0), or rows\n"
"'sequence_id,f1,...,fD', one per valid step (.csv). Values are\n"
"probabilities for a bce model, each step's softmax for cross_entropy.\n"
"\n" DATA_HELP
"  -o, --output OUT     .npy or .csv (written atomically)\n" THREADS_HELP;

/* What the commands share: options, model and data. */
typedef struct job {
    const char *cmd;        /* argv[0]                                    */
    const char *out_opt;    /* the output's option: "--output" (-o), or   */
                            /* "--per-sequence"                           */
    int with_data;          /* takes --data X and --lengths L             */
    int out_needed;         /* the output is required                     */
    int model_out;          /* the output is a model (calibrate): default */
                            /* -m itself, not a .npy or .csv              */
    const char *extra_opt;  /* another file (--latent, --step-scores)...  */
    const char *extra;      /* ...its path                                */
    int extra_out;          /* ...and whether it is written               */
    const char *model_path, *data, *lengths, *output, *threads, *header;
    lstmae_model *model;
    lstmae_config cfg;
    seqset seqs;
    int help;               /* --help was given: done                     */
    int nthreads;           /* --threads                                  */
} job;

/* Parses the command line (the shared options and more[nmore]), checks
   what is required, the shared values and the files. */
static int job_parse(job *j, int argc, char **argv, const args_option *more,
                     size_t nmore, const char *help)
{
    int is_o = strcmp(j->out_opt, "--output") == 0;
    args_option opts[12] = {
        {"--model", "-m", 1, &j->model_path},
        {j->out_opt, is_o ? "-o" : NULL, 1, &j->output},
        {"--threads", NULL, 1, &j->threads},
        {"--header", NULL, 1, &j->header},
        {"--data", NULL, 1, &j->data},
        {"--lengths", NULL, 1, &j->lengths},
    };
    size_t n = j->with_data ? 6 : 4;
    for (size_t i = 0; i < nmore && n < 12; i++)
        opts[n++] = more[i];
    args_parsed parsed;
    j->cmd = argv[0];
    int code = args_parse_help(argc, argv, opts, n, j->with_data ? 2 : 1,
                               help, &parsed);
    j->help = parsed.help;
    if (code != CLI_OK || j->help)
        return code;
    for (size_t k = 0; k < parsed.npositional; k++) {
        const char **slot = k == 0 ? &j->model_path : &j->data;
        if (*slot != NULL)
            return args_usage_error(j->cmd, "%s given twice (as %s and as "
                                    "argument '%s')", k ? "X" : "MODEL",
                                    k ? "--data" : "-m",
                                    parsed.positional[k]);
        *slot = parsed.positional[k];
    }
    if (j->model_path == NULL)
        return args_usage_error(j->cmd, "-m MODEL is required");
    if (j->with_data && j->data == NULL)
        return args_usage_error(j->cmd, "--data X is required");
    if (j->out_needed && j->output == NULL)
        return args_usage_error(j->cmd, "%s OUT is required",
                                is_o ? "-o" : j->out_opt);
    cli_filetype ft;
    const args_file files[] = {
        {is_o ? "-o" : j->out_opt, j->output, 1},
        {"-m", j->model_out ? NULL : j->model_path, 0},
        {"--data", j->data, 0},
        {"--lengths", j->lengths, 0},
        {j->extra_opt, j->extra, j->extra_out},
    };
    if ((code = args_int(j->cmd, "--threads", j->threads, 0, 1024,
                         &j->nthreads)) != CLI_OK ||
        (code = dataset_set_header(j->cmd, j->header)) != CLI_OK ||
        (!j->model_out && j->output != NULL &&
         (code = cli_need_filetype(j->output, "output", &ft)) != CLI_OK) ||
        (j->extra_out && j->extra != NULL &&
         (code = cli_need_filetype(j->extra, "output", &ft)) != CLI_OK) ||
        (code = args_check_files(j->cmd, files,
                                 sizeof files / sizeof files[0])) != CLI_OK)
        return code;
    return CLI_OK;
}

/* Loads the model and, with_data, the sequences, checked (NaN or infinity
   in a valid step is refused, with lstmae_check_sequences_why's reason). */
static int job_open(job *j)
{
    int code = cli_load_model(j->model_path, &j->model);
    lstmae_config_init(&j->cfg);
    if (code == CLI_OK) {
        lstmae_get_config(j->model, &j->cfg);
        lstmae_set_num_threads(j->model, j->nthreads); /* in range */
    }
    if (code == CLI_OK && j->with_data)
        code = seqset_load(j->data, j->lengths, &j->seqs);
    if (code == CLI_OK && j->with_data)
        code = seqset_check_dim(&j->seqs, j->data, j->model, j->model_path);
    if (code == CLI_OK && j->with_data)
        code = seqset_check(&j->seqs, j->data, j->model);
    return code;
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
    cli_error("%s %s: %s", what, path, lstmae_strerror(st));
    return st == LSTMAE_ERR_INVALID_ARG || st == LSTMAE_ERR_NUMERIC
               ? CLI_BAD : CLI_FAIL;
}

/* The sequences have a valid step, or CLI_BAD saying they have none. */
static int job_need_steps(const job *j, const char *what)
{
    if (seqset_steps(&j->seqs) > 0)
        return CLI_OK;
    cli_error("%s: every sequence is empty (length 0): %s", j->data, what);
    return CLI_BAD;
}

int cmd_encode(int argc, char **argv)
{
    job j = {.out_opt = "--output", .with_data = 1, .out_needed = 1};
    int code = job_parse(&j, argc, argv, NULL, 0, encode_help);
    float *z = NULL;
    if (code == CLI_OK && !j.help)
        code = job_open(&j);
    if (code == CLI_OK && !j.help &&
        (z = cli_alloc(j.seqs.count,
                       (size_t)j.cfg.latent_dim * sizeof(float))) == NULL)
        code = CLI_FAIL;
    if (z != NULL) {
        lstmae_sequences v = seqset_view(&j.seqs);
        int st = lstmae_encode(j.model, &v, z);
        code = st != LSTMAE_OK
                   ? inference_error("cannot encode", j.data, st)
                   : write_matrix(j.output, z, j.seqs.count,
                                  (size_t)j.cfg.latent_dim,
                                  (const char *const *)j.seqs.ids, "z");
    }
    free(z);
    job_close(&j);
    return code;
}

int cmd_decode(int argc, char **argv)
{
    const char *length = NULL;
    job j = {.out_opt = "--output", .out_needed = 1, .extra_opt = "--latent"};
    const args_option more[] = {
        {"--latent", NULL, 1, &j.extra},
        {"--length", NULL, 1, &length},
    };
    int code = job_parse(&j, argc, argv, more, 2, decode_help);
    int steps = 0;
    if (code != CLI_OK || j.help)
        return code;
    if (j.extra == NULL || length == NULL)
        return args_usage_error("decode", "%s is required",
                                j.extra ? "--length T" : "--latent Z");
    if ((code = args_int("decode", "--length", length, 1, LSTMAE_MAX_STEPS,
                         &steps)) != CLI_OK)
        return code;
    code = job_open(&j);
    matrix z;
    memset(&z, 0, sizeof z);
    if (code == CLI_OK)
        code = matrix_load(j.extra, &z);
    if (code == CLI_OK && z.cols != (size_t)j.cfg.latent_dim) {
        cli_error("%s: vectors of %zu values, but the model %s has a latent "
                  "size of %d", j.extra, z.cols, j.model_path,
                  j.cfg.latent_dim);
        code = CLI_BAD;
    }
    size_t total = 0;
    float *out = NULL;
    if (code == CLI_OK &&
        !cli_mul3(z.rows, (size_t)steps, (size_t)j.cfg.input_dim, &total)) {
        cli_error("%s: %zu vectors of %d steps are too many", j.extra, z.rows,
                  steps);
        code = CLI_FAIL;
    }
    if (code == CLI_OK && (out = cli_alloc(total, sizeof(float))) == NULL)
        code = CLI_FAIL;
    if (code == CLI_OK) {
        int st = lstmae_decode(j.model, z.data, z.rows, (size_t)steps, out);
        code = st != LSTMAE_OK
                   ? inference_error("cannot decode", j.extra, st)
                   : write_sequences(j.output, out, z.rows, (size_t)steps,
                                     (size_t)j.cfg.input_dim, NULL,
                                     (const char *const *)z.ids);
    }
    free(out);
    matrix_free(&z);
    job_close(&j);
    return code;
}

/* The scores of the job's sequences (and their steps', when steps is not
   NULL): malloc'ed into *scores (and *steps); CLI_OK or an exit code. */
static int job_score(job *j, float **scores, float **steps)
{
    size_t n = j->seqs.count;
    *scores = cli_alloc(n, sizeof(float));
    if (steps != NULL)
        *steps = cli_alloc(n, j->seqs.max_len * sizeof(float));
    if (*scores == NULL || (steps != NULL && *steps == NULL))
        return CLI_FAIL;
    lstmae_sequences v = seqset_view(&j->seqs);
    int st = lstmae_score(j->model, &v, *scores, steps ? *steps : NULL);
    return st == LSTMAE_OK ? CLI_OK
                           : inference_error("cannot score", j->data, st);
}

int cmd_eval(int argc, char **argv)
{
    job j = {.out_opt = "--per-sequence", .with_data = 1};
    int code = job_parse(&j, argc, argv, NULL, 0, eval_help);
    if (code != CLI_OK || j.help)
        return code;
    lstmae_metrics m, base;
    lstmae_metrics_init(&m);
    code = job_open(&j);
    if (code == CLI_OK)
        code = job_need_steps(&j, "no loss to compute");
    if (code == CLI_OK) {
        lstmae_sequences v = seqset_view(&j.seqs);
        int st = lstmae_evaluate(j.model, &v, &m);
        if (st != LSTMAE_OK)
            code = inference_error("cannot evaluate", j.data, st);
    }
    if (code == CLI_OK)
        code = seqset_baseline(&j.seqs, j.model, &base);
    float *errors = NULL;
    if (code == CLI_OK && j.output != NULL) {
        code = job_score(&j, &errors, NULL);
        for (size_t i = 0; code == CLI_OK && i < j.seqs.count; i++)
            if (j.seqs.lengths[i] == 0)
                errors[i] = NAN;
        if (code == CLI_OK)
            code = write_vector(j.output, errors, j.seqs.count,
                                (const char *const *)j.seqs.ids, "error");
    }
    if (code == CLI_OK)
        cli_print_metrics("", &m, &base, "");
    free(errors);
    job_close(&j);
    return code;
}

int cmd_score(int argc, char **argv)
{
    job j = {.out_opt = "--output", .with_data = 1, .out_needed = 1,
             .extra_opt = "--step-scores", .extra_out = 1};
    const args_option more[] = {{"--step-scores", NULL, 1, &j.extra}};
    int code = job_parse(&j, argc, argv, more, 1, score_help);
    if (code != CLI_OK || j.help || (code = job_open(&j)) != CLI_OK) {
        job_close(&j);
        return code;
    }
    float *scores = NULL, *steps = NULL, *both = NULL;
    size_t n = j.seqs.count, flagged = 0;
    double threshold = 0.0;
    int has_threshold = lstmae_get_threshold(j.model, &threshold) == LSTMAE_OK;
    const char *const *ids = (const char *const *)j.seqs.ids;
    code = job_score(&j, &scores, j.extra ? &steps : NULL);
    if (code == CLI_OK && has_threshold &&
        (both = cli_alloc(n, 2 * sizeof(float))) == NULL)
        code = CLI_FAIL;
    if (code == CLI_OK && has_threshold) {
        /* lstmae_detect's flags: score > threshold */
        for (size_t i = 0; i < n; i++) {
            int flag = (double)scores[i] > threshold;
            both[2 * i] = scores[i];
            both[2 * i + 1] = (float)flag;
            flagged += (size_t)flag;
        }
        code = write_matrix(j.output, both, n, 2, ids, "score,flag");
    } else if (code == CLI_OK) {
        code = write_vector(j.output, scores, n, ids, "score");
    }
    if (code == CLI_OK && steps != NULL)
        code = write_matrix(j.extra, steps, n, j.seqs.max_len, ids, "step");
    if (code == CLI_OK && has_threshold)
        printf("flagged %zu of %zu sequences (score above the threshold "
               "%.17g)\n", flagged, n, threshold);
    else if (code == CLI_OK)
        printf("scored %zu sequences; %s holds no threshold ('lstmae "
               "calibrate' sets one)\n", n, j.model_path);
    free(scores);
    free(steps);
    free(both);
    job_close(&j);
    return code;
}

int cmd_calibrate(int argc, char **argv)
{
    const char *rule_text = NULL, *param_text = NULL;
    job j = {.out_opt = "--output", .with_data = 1, .model_out = 1};
    const args_option more[] = {
        {"--rule", NULL, 1, &rule_text},
        {"--param", NULL, 1, &param_text},
    };
    int code = job_parse(&j, argc, argv, more, 2, calibrate_help);
    if (code != CLI_OK || j.help)
        return code;
    int rule = 0;
    double param = 0.0, threshold = 0.0;
    char why[256];
    if (rule_text == NULL || param_text == NULL)
        return args_usage_error("calibrate", "%s is required",
                                rule_text ? "--param P" : "--rule R");
    if ((code = args_pick("calibrate", "--rule", rule_text,
                          CLI_NAMES(cli_rules), &rule)) != CLI_OK ||
        (code = args_double("calibrate", "--param", param_text, -INFINITY,
                            INFINITY, 1, 1, &param)) != CLI_OK)
        return code;
    if (lstmae_check_threshold_rule((lstmae_threshold_rule)rule, param, why,
                                    sizeof why) != LSTMAE_OK)
        return args_usage_error("calibrate", "--param: %s", why);
    code = job_open(&j);
    if (code == CLI_OK)
        code = job_need_steps(&j, "nothing to calibrate on");
    if (code == CLI_OK) {
        lstmae_sequences v = seqset_view(&j.seqs);
        int st = lstmae_calibrate(j.model, &v, (lstmae_threshold_rule)rule,
                                  param, &threshold);
        if (st != LSTMAE_OK)
            code = inference_error("cannot calibrate on", j.data, st);
    }
    const char *out = j.output ? j.output : j.model_path;
    if (code == CLI_OK)
        code = cli_save_model(j.model, out);
    size_t used = 0; /* the sequences scored: the non-empty ones */
    for (size_t i = 0; code == CLI_OK && i < j.seqs.count; i++)
        used += j.seqs.lengths[i] > 0;
    if (code == CLI_OK)
        printf("threshold %.17g (%s %g over %zu non-empty sequences); saved "
               "%s\n", threshold, rule_text, param, used, out);
    job_close(&j);
    return code;
}

int cmd_reconstruct(int argc, char **argv)
{
    job j = {.out_opt = "--output", .with_data = 1, .out_needed = 1};
    int code = job_parse(&j, argc, argv, NULL, 0, reconstruct_help);
    float *out = NULL;
    size_t total = 0;
    if (code == CLI_OK && !j.help)
        code = job_open(&j);
    if (code == CLI_OK && !j.help &&
        (!cli_mul3(j.seqs.count, j.seqs.max_len, j.seqs.dim, &total) ||
         (out = cli_alloc(total, sizeof(float))) == NULL))
        code = CLI_FAIL;
    if (out != NULL) {
        lstmae_sequences v = seqset_view(&j.seqs);
        int st = lstmae_reconstruct(j.model, &v, out);
        code = st != LSTMAE_OK
                   ? inference_error("cannot reconstruct", j.data, st)
                   : write_sequences(j.output, out, j.seqs.count,
                                     j.seqs.max_len, j.seqs.dim,
                                     j.seqs.lengths,
                                     (const char *const *)j.seqs.ids);
    }
    free(out);
    job_close(&j);
    return code;
}

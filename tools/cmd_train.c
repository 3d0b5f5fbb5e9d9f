/*
 * cmd_train.c - lstmae train: fit a model to sequences and save it.
 *
 * SIGINT/SIGTERM: a first signal stops training after the current batch
 * (on_batch returns non-zero; lstmae_fit returns LSTMAE_ERR_CANCELLED with
 * the model as that batch left it). Saved is the best model so far: with a
 * validation set the snapshot of the epoch with the lowest validation
 * loss; without one, or before any epoch completed, the model as the last
 * batch left it (the most trained one; the unfinished epoch is not counted
 * in its epochs done). The exit status is 130. A second signal, or one
 * before training started, quits at once with status 3 (CLI_NOT_SAVED),
 * writing nothing.
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "dataset.h"
#include "plot.h"
#include "progress.h"

static const char train_help[] =
"usage: lstmae train --data X [--lengths L]\n"
"                    [--valid V [--valid-lengths VL] | --valid-split F]\n"
"                    [--hidden 64] [--latent 16] [--layers 1] [--cell lstm|gru]\n"
"                    [--bidirectional] [--reverse-target]\n"
"                    [--decoder-init zero|latent] [--decoder-feedback]\n"
"                    [--loss bce|mse|ce] [--scaling none|standard|minmax]\n"
"                    [--epochs 50] [--batch 16] [--lr 0.002] [--clip 0]\n"
"                    [--seed 1] [--threads 0] [--patience 0] [--plot loss.svg]\n"
"                    [--optimizer adam|sgd] [--momentum 0] [--resume MODEL]\n"
"                    [--history FILE.csv] [--valid-index-out FILE]\n"
"                    [--header yes|no|auto] [--quiet] -o MODEL\n"
"\n"
"Trains an LSTM (or GRU) autoencoder on the sequences in X and saves it to\n"
"MODEL.\n"
"\n"
"data:\n"
"  --data X             sequences: .npy [n, T, D] or [n, T] (float32/64), or\n"
"                       .csv rows 'sequence_id,f1,...,fD'\n"
"  --lengths L          .npy 1-D integer array of n lengths (padded .npy data;\n"
"                       default: every sequence has T steps)\n"
"  --valid V            validation sequences, same forms as --data\n"
"  --valid-lengths VL   lengths of V\n"
"  --valid-split F      hold out the last fraction F (0 < F < 1) of X, after a\n"
"                       shuffle seeded by --seed, as the validation set\n"
"  --header yes|no|auto whether a .csv's first row is a header; auto (the\n"
"                       default): when no value field is a number or empty\n"
"model (ignored with --resume):\n"
"  --hidden H           recurrent state size (default 64)\n"
"  --latent Z           size of the encoding (default 16)\n"
"  --layers K           recurrent layers in encoder and decoder (default 1)\n"
"  --cell lstm|gru      the layers' cell: LSTM (default) or GRU\n"
"  --bidirectional      each encoder layer also reads the sequence backwards\n"
"  --reverse-target     the decoder produces the sequence last step first\n"
"                       (what the tool writes stays in time order)\n"
"  --decoder-init zero|latent\n"
"                       the decoder's initial state: zero (default), or\n"
"                       computed from the encoding\n"
"  --decoder-feedback   the decoder also sees the previous step: the data's\n"
"                       in train, eval and reconstruction, its own output\n"
"                       in decode\n"
"  --loss bce|mse|ce    bce for data in [0, 1] (default), mse for real\n"
"                       values, ce (also spelled cross_entropy) for one-hot\n"
"                       steps: a softmax over each step's D >= 2 features\n"
"  --scaling none|standard|minmax\n"
"                       the model scales its input per feature, (x - offset)\n"
"                       / scale, with offset and scale the mean and standard\n"
"                       deviation (standard) or the min and max - min\n"
"                       (minmax) of the training set, stored in MODEL; its\n"
"                       outputs are in the data's units, its losses and\n"
"                       scores in scaled units. Default none\n"
"  --seed S             initialisation, shuffling and --valid-split (default 1)\n"
"  --resume MODEL0      continue training the model in MODEL0 instead\n"
"training:\n";

/* The rest of the help (C guarantees string literals of 4095 bytes). */
static const char train_help_more[] =
"  --epochs N           passes over the data (default 50)\n"
"  --batch B            sequences per step (default 16)\n"
"  --lr R               learning rate (default 0.002)\n"
"  --optimizer adam|sgd (default adam); --momentum M for sgd (default 0)\n"
"  --clip C             clip the gradient norm to C; 0: off (default)\n"
"  --threads N          worker threads; 0: the library's choice (default)\n"
"  --patience P         stop after P epochs without a lower validation loss\n"
"                       and keep the best epoch; 0: off (default)\n"
"output:\n"
"  -o, --output MODEL   the model file (written atomically)\n"
"  --plot FILE.svg      an SVG chart of the loss per epoch\n"
"  --history FILE.csv   one row per epoch: epoch,train_loss,train_accuracy,\n"
"                       valid_loss,valid_accuracy,learning_rate,seconds (the\n"
"                       time since training started); an accuracy is empty\n"
"                       for mse, the valid_ fields without a validation set\n"
"  --valid-index-out FILE\n"
"                       the indices in X (from 0, ascending) of the sequences\n"
"                       --valid-split held out: an int32 .npy, or text, one\n"
"                       a line (any other name); for 'lstmae calibrate'\n"
"  --quiet              no progress lines\n"
"\n"
"Progress goes to standard error: on a terminal one line rewritten after\n"
"every batch and epoch, otherwise one line per epoch; the summary to\n"
"standard output, with beside each loss the trivial baseline's (see 'lstmae\n"
"eval --help'). Ctrl-C stops after the current batch and saves the best\n"
"model so far (exit status 130): with a validation set the epoch with the\n"
"lowest validation loss; without one (or before any epoch completed) the\n"
"model as the last batch left it, its unfinished epoch not counted in its\n"
"epochs done. A second Ctrl-C quits without saving (exit status 3).\n";

/* ---- signals ------------------------------------------------------------ */

static volatile sig_atomic_t stop_requested = 0;
static volatile sig_atomic_t training = 0;   /* lstmae_fit has started  */
static const char *volatile stop_output;     /* -o, for the message     */
static volatile sig_atomic_t output_existed; /* -o was there at start   */

static void say(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

/* A first signal during training asks on_batch to stop. A second one, or
   one before training started, quits at once with CLI_NOT_SAVED: no file
   is being written then (saves happen with the signals held back), so an
   existing output stays as it was and no temporary file is left. */
static void on_stop_signal(int sig)
{
    (void)sig;
    if (stop_requested || !training) {
        say(stop_requested ? "\nlstmae: interrupted again: quitting; "
                           : "\nlstmae: interrupted: quitting; ");
        say(stop_output);
        say(output_existed ? " not saved (the existing file is unchanged)\n"
                           : " not saved\n");
        _exit(CLI_NOT_SAVED);
    }
    stop_requested = 1;
    say("\nlstmae: interrupted: stopping after the current batch (again to "
        "quit without saving)\n");
}

/* Catches SIGINT and SIGTERM, unless they were ignored when we started
   (nohup, background jobs of a non-interactive shell). */
static void catch_stop_signals(struct sigaction old[2])
{
    static const int sigs[2] = {SIGINT, SIGTERM};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 2; i++) {
        sigaction(sigs[i], NULL, &old[i]);
        if (old[i].sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);
    }
}

static void restore_stop_signals(const struct sigaction old[2])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}

/* ---- the callbacks ------------------------------------------------------ */

typedef struct train_run {
    lstmae_model *model;
    progress prog;
    double *train_loss, *valid_loss;  /* [epochs] of this run; valid_loss */
    double *train_acc, *valid_acc;    /* NULL without a validation set    */
    double *seconds;                  /* since t0, at each epoch's end    */
    double t0, lr;
    size_t epochs_run;
    uint64_t done_before;             /* epochs the model had at start   */
    uint64_t best_epoch;              /* global number; 0: none yet      */
    double best_loss;
    unsigned char *best;              /* the best epoch's model file     */
    size_t best_size;
    int best_ok;                      /* *best holds best_epoch          */
    size_t batch_size;
    double batch_loss_sum;            /* this epoch's batches so far     */
    size_t batches_seen;
    size_t stop_batch, num_batches;   /* on_batch stopped it: the batch  */
    size_t partial;                   /* sequences of the unfinished epoch */
} train_run;

/* Sequences in the first `batch` batches of an epoch. */
static size_t batch_sequences(const train_run *run, size_t batch,
                              size_t sequences)
{
    if (run->batch_size != 0 && batch > sequences / run->batch_size)
        return sequences;
    return batch * run->batch_size;
}

static int on_batch(void *user, int epoch, size_t batch, size_t num_batches,
                    double batch_loss)
{
    train_run *run = user;
    run->batch_loss_sum += batch_loss;
    run->batches_seen++;
    size_t seen = batch_sequences(run, batch, run->prog.sequences);
    progress_batch(&run->prog, epoch, batch, num_batches, seen,
                   run->batch_loss_sum / (double)run->batches_seen);
    if (!stop_requested)
        return 0;
    run->stop_batch = batch;
    run->num_batches = num_batches;
    run->partial = seen;
    return 1;
}

static int on_epoch(void *user, int epoch, const lstmae_metrics *train,
                    const lstmae_metrics *valid)
{
    train_run *run = user;
    size_t i = (size_t)epoch - 1;
    run->train_loss[i] = train->loss;
    run->train_acc[i] = train->accuracy;
    run->valid_acc[i] = valid != NULL ? valid->accuracy : NAN;
    if (valid != NULL)
        run->valid_loss[i] = valid->loss;
    run->seconds[i] = cli_now() - run->t0;
    run->epochs_run = (size_t)epoch;
    int best = 0;
    if (valid != NULL && (run->best_epoch == 0 || valid->loss < run->best_loss)) {
        best = 1;
        run->best_loss = valid->loss;
        run->best_epoch = run->done_before + (uint64_t)epoch;
        /* The model is between epochs and this thread owns it: snapshot it
           so that an interrupt can still save the best epoch. */
        run->best_ok = run->best != NULL &&
                       lstmae_save_buffer(run->model, run->best,
                                          run->best_size) == LSTMAE_OK;
    }
    progress_epoch(&run->prog, epoch, train, valid, best);
    run->batch_loss_sum = 0.0;
    run->batches_seen = 0;
    return stop_requested != 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* Splits `all` into train and valid: a seeded shuffle, the last share of
   the order held out. */
static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* ... and *held (malloc'ed, *n_held entries) the held-out indices,
   ascending. */
static int split_valid(const char *path, const seqset *all, double share,
                       uint64_t seed, seqset *train, seqset *valid,
                       size_t **held, size_t *n_held)
{
    size_t n = all->count;
    size_t n_valid = (size_t)llround(share * (double)n);
    if (n_valid == 0)
        n_valid = 1;
    if (n_valid >= n) {
        cli_error("%s: --valid-split %g of %zu sequences leaves none to train "
                  "on", path, share, n);
        return CLI_BAD;
    }
    size_t *order = cli_alloc(n, sizeof *order);
    if (order == NULL)
        return CLI_FAIL;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    uint64_t state = seed ^ 0x5A17C0DE5A17C0DEu;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(cli_random(&state) % (uint64_t)(i + 1));
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    int code = seqset_gather(all, order, n - n_valid, train);
    if (code == CLI_OK)
        code = seqset_gather(all, order + (n - n_valid), n_valid, valid);
    if (code == CLI_OK) {
        memmove(order, order + (n - n_valid), n_valid * sizeof *order);
        qsort(order, n_valid, sizeof *order, cmp_size);
        *held = order;
        *n_held = n_valid;
        return code;
    }
    free(order);
    return code;
}

/* Warns when bce or cross-entropy is asked for data outside [0, 1]. */
static void check_unit_range(const seqset *s, const char *path,
                             lstmae_loss loss)
{
    if (loss != LSTMAE_LOSS_BCE && loss != LSTMAE_LOSS_CROSS_ENTROPY)
        return;
    for (size_t i = 0; i < s->count; i++) {
        const float *x = s->data + i * s->max_len * s->dim;
        size_t valid = (size_t)s->lengths[i] * s->dim;
        for (size_t k = 0; k < valid; k++)
            if (x[k] < 0.0f || x[k] > 1.0f) {
                fprintf(stderr, "lstmae: warning: %s has values outside "
                        "[0, 1] (sequence %zu: %g); --loss %s is meant for "
                        "%s, --loss mse for real values\n", path, i,
                        (double)x[k],
                        CLI_NAME(cli_losses, loss),
                        loss == LSTMAE_LOSS_BCE
                            ? "data in [0, 1]"
                            : "one-hot or probability steps");
                return;
            }
    }
}

/* ", bidirectional, reverse-target, ..." for the variants that are on:
   what the training line adds after the cell. */
static void describe_variants(const lstmae_config *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s%s%s%s",
             c->bidirectional ? ", bidirectional" : "",
             c->reverse_target ? ", reverse-target" : "",
             c->decoder_init == LSTMAE_DECODER_INIT_LATENT
                 ? ", decoder-init latent" : "",
             c->decoder_feedback ? ", decoder-feedback" : "",
             c->scaling != LSTMAE_SCALING_NONE ? ", scaling " : "",
             c->scaling != LSTMAE_SCALING_NONE
                 ? CLI_NAME(cli_scalings, c->scaling) : "");
}

/* A reason from lstmae_check_config or lstmae_check_fit_options ("field
   value is ..."), told with the option's name; CLI_BAD. */
static int library_rejects(const char *why, const char *data,
                           size_t max_len)
{
    static const struct {
        const char *field, *option;
    } names[] = {
        {"epochs", "--epochs"},         {"batch_size", "--batch"},
        {"num_threads", "--threads"},   {"optimizer", "--optimizer"},
        {"learning_rate", "--lr"},      {"clip_norm", "--clip"},
        {"momentum", "--momentum"},     {"patience", "--patience"},
        {"hidden_dim", "--hidden"},     {"latent_dim", "--latent"},
        {"num_layers", "--layers"},     {"loss", "--loss"},
        {"cell", "--cell"},             {"bidirectional", "--bidirectional"},
        {"reverse_target", "--reverse-target"},
        {"decoder_init", "--decoder-init"},
        {"decoder_feedback", "--decoder-feedback"},
        {"scaling", "--scaling"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i].field);
        if (strncmp(why, names[i].field, n) != 0 || why[n] != ' ')
            continue;
        if (strcmp(names[i].field, "batch_size") == 0)
            return args_usage_error("train", "%s%s; the longest sequence of "
                                    "%s has %zu steps", names[i].option,
                                    why + n, data, max_len);
        return args_usage_error("train", "%s%s", names[i].option, why + n);
    }
    cli_error("cannot train on %s: %s", data, why);
    return CLI_BAD;
}

/* --history: a CSV row per epoch; NaN (undefined) fields empty. */
static int fill_history(FILE *f, const void *ctx)
{
    const train_run *run = ctx;
    if (fputs("epoch,train_loss,train_accuracy,valid_loss,valid_accuracy,"
              "learning_rate,seconds\n", f) == EOF)
        return -1;
    for (size_t i = 0; i < run->epochs_run; i++) {
        double v[6] = {run->train_loss[i], run->train_acc[i],
                       run->valid_loss ? run->valid_loss[i] : NAN,
                       run->valid_acc[i], run->lr, run->seconds[i]};
        if (fprintf(f, "%llu", (unsigned long long)run->done_before + i + 1) < 0)
            return -1;
        for (int k = 0; k < 6; k++)
            if ((isnan(v[k]) ? fputc(',', f) == EOF
                             : fprintf(f, k == 4 ? ",%.7g" : ",%.9g",
                                       v[k]) < 0)) /* lr: a float32 */
                return -1;
        if (fputc('\n', f) == EOF)
            return -1;
    }
    return CLI_OK;
}

/* ---- the command -------------------------------------------------------- */

int cmd_train(int argc, char **argv)
{
    const char *data = NULL, *lengths = NULL, *valid_path = NULL,
               *valid_lengths = NULL, *split = NULL, *hidden = NULL,
               *latent = NULL, *layers = NULL, *loss = NULL, *epochs = NULL,
               *batch = NULL, *lr = NULL, *clip = NULL, *seed = NULL,
               *threads = NULL, *patience = NULL, *plot = NULL,
               *output = NULL, *optimizer = NULL, *momentum = NULL,
               *resume = NULL, *quiet = NULL, *header = NULL, *cell = NULL,
               *bidirectional = NULL, *reverse_target = NULL,
               *decoder_init = NULL, *decoder_feedback = NULL,
               *scaling = NULL, *history = NULL, *index_out = NULL;
    const args_option opts[] = {
        {"--data", NULL, 1, &data},
        {"--lengths", NULL, 1, &lengths},
        {"--valid", NULL, 1, &valid_path},
        {"--valid-lengths", NULL, 1, &valid_lengths},
        {"--valid-split", NULL, 1, &split},
        {"--hidden", NULL, 1, &hidden},
        {"--latent", NULL, 1, &latent},
        {"--layers", NULL, 1, &layers},
        {"--loss", NULL, 1, &loss},
        {"--cell", NULL, 1, &cell},
        {"--bidirectional", NULL, 0, &bidirectional},
        {"--reverse-target", NULL, 0, &reverse_target},
        {"--decoder-init", NULL, 1, &decoder_init},
        {"--decoder-feedback", NULL, 0, &decoder_feedback},
        {"--epochs", NULL, 1, &epochs},
        {"--batch", NULL, 1, &batch},
        {"--lr", NULL, 1, &lr},
        {"--clip", NULL, 1, &clip},
        {"--seed", NULL, 1, &seed},
        {"--threads", NULL, 1, &threads},
        {"--patience", NULL, 1, &patience},
        {"--plot", NULL, 1, &plot},
        {"--output", "-o", 1, &output},
        {"--optimizer", NULL, 1, &optimizer},
        {"--momentum", NULL, 1, &momentum},
        {"--resume", NULL, 1, &resume},
        {"--quiet", "-q", 0, &quiet},
        {"--header", NULL, 1, &header},
        {"--scaling", NULL, 1, &scaling},
        {"--history", NULL, 1, &history},
        {"--valid-index-out", NULL, 1, &index_out},
    };
    args_parsed parsed;
    int code = args_parse_help(argc, argv, opts,
                               sizeof opts / sizeof opts[0], 0,
                               train_help, &parsed);
    if (code == CLI_OK && parsed.help)
        fputs(train_help_more, stdout);
    if (code != CLI_OK || parsed.help)
        return code;

    lstmae_config cfg;
    lstmae_config_init(&cfg);
    lstmae_fit_options opt;
    lstmae_fit_options_init(&opt);
    /* the tool's defaults, for a first run on a few hundred sequences:
       more steps per epoch and a faster rate than the library's
       PyTorch-like ones (docs/tutorial.md, "Choosing settings") */
    opt.epochs = 50;
    opt.batch_size = 16;
    opt.learning_rate = 2e-3f;
    opt.clip_norm = 0.0f;
    opt.momentum = 0.0f;
    double split_v = 0.0;
    if (data == NULL)
        return args_usage_error("train", "--data is required");
    if ((code = dataset_set_header("train", header)) != CLI_OK)
        return code;
    if (output == NULL)
        return args_usage_error("train", "-o MODEL is required");
    if (valid_path != NULL && split != NULL)
        return args_usage_error("train", "--valid and --valid-split exclude "
                                "each other");
    if (valid_lengths != NULL && valid_path == NULL)
        return args_usage_error("train", "--valid-lengths needs --valid");
    if (resume != NULL) {
        /* the model's own configuration: name the options given */
        const struct {
            const char *value, *option;
        } model_opts[] = {
            {hidden, "--hidden"},
            {latent, "--latent"},
            {layers, "--layers"},
            {cell, "--cell"},
            {bidirectional, "--bidirectional"},
            {reverse_target, "--reverse-target"},
            {decoder_init, "--decoder-init"},
            {decoder_feedback, "--decoder-feedback"},
            {loss, "--loss"},
            {scaling, "--scaling"},
        };
        size_t n = sizeof model_opts / sizeof model_opts[0], given = 0;
        for (size_t i = 0; i < n; i++)
            given += model_opts[i].value != NULL;
        if (given > 0) {
            char list[256] = "";
            size_t used = 0, k = 0;
            for (size_t i = 0; i < n; i++) {
                if (model_opts[i].value == NULL)
                    continue;
                k++;
                used += (size_t)snprintf(
                    list + used, sizeof list - used, "%s%s",
                    k == 1 ? "" : k == given ? " and " : ", ",
                    model_opts[i].option);
            }
            return args_usage_error("train", "--resume takes the model's "
                                    "configuration; drop %s", list);
        }
    }
    int pick[5] = {(int)cfg.loss, (int)cfg.cell, (int)cfg.decoder_init,
                   (int)cfg.scaling, (int)opt.optimizer};
    if ((code = args_int("train", "--hidden", hidden, 1, LSTMAE_MAX_DIM,
                         &cfg.hidden_dim)) ||
        (code = args_int("train", "--latent", latent, 1, LSTMAE_MAX_DIM,
                         &cfg.latent_dim)) ||
        (code = args_int("train", "--layers", layers, 1, LSTMAE_MAX_LAYERS,
                         &cfg.num_layers)) ||
        (code = args_pick("train", "--loss", loss, CLI_NAMES(cli_losses),
                          &pick[0])) ||
        (code = args_pick("train", "--cell", cell, CLI_NAMES(cli_cells),
                          &pick[1])) ||
        (code = args_pick("train", "--decoder-init", decoder_init,
                          CLI_NAMES(cli_decoder_inits), &pick[2])) ||
        (code = args_pick("train", "--scaling", scaling,
                          CLI_NAMES(cli_scalings), &pick[3])) ||
        (code = args_pick("train", "--optimizer", optimizer,
                          CLI_NAMES(cli_optimizers), &pick[4])) ||
        (code = args_u64("train", "--seed", seed, &cfg.seed)) ||
        (code = args_int("train", "--epochs", epochs, 0, 10000000,
                         &opt.epochs)) ||
        (code = args_int("train", "--batch", batch, 1, 1 << 30,
                         &opt.batch_size)) ||
        (code = args_float("train", "--lr", lr, 0.0, 1e6, 1, 0,
                           &opt.learning_rate)) ||
        (code = args_float("train", "--clip", clip, 0.0, 1e30, 0, 0,
                           &opt.clip_norm)) ||
        (code = args_int("train", "--threads", threads, 0, 4096,
                         &opt.num_threads)) ||
        (code = args_int("train", "--patience", patience, 0, 10000000,
                         &opt.patience)) ||
        (code = args_double("train", "--valid-split", split, 0.0, 1.0, 1, 1,
                            &split_v)) ||
        (code = args_float("train", "--momentum", momentum, 0.0, 1e6, 0, 0,
                           &opt.momentum)))
        return code;
    cfg.loss = (lstmae_loss)pick[0];
    cfg.cell = (lstmae_cell)pick[1];
    cfg.decoder_init = (lstmae_decoder_init)pick[2];
    cfg.scaling = (lstmae_scaling)pick[3];
    opt.optimizer = (lstmae_optimizer)pick[4];
    cfg.bidirectional = bidirectional != NULL;
    cfg.reverse_target = reverse_target != NULL;
    cfg.decoder_feedback = decoder_feedback != NULL;
    if (momentum != NULL && opt.optimizer != LSTMAE_OPT_SGD)
        return args_usage_error("train", "--momentum is for --optimizer sgd");
    if (opt.patience > 0 && valid_path == NULL && split == NULL)
        return args_usage_error("train", "--patience needs a validation set "
                                "(--valid or --valid-split)");
    if (index_out != NULL && split == NULL)
        return args_usage_error("train", "--valid-index-out needs "
                                "--valid-split");
    const args_file files[] = {
        {"-o", output, 1},           {"--plot", plot, 1},
        {"--history", history, 1},   {"--valid-index-out", index_out, 1},
        {"--data", data, 0},         {"--lengths", lengths, 0},
        {"--valid", valid_path, 0},  {"--valid-lengths", valid_lengths, 0},
        {"--resume", resume, 0},
    };
    if ((code = args_check_files("train", files,
                                 sizeof files / sizeof files[0])) != CLI_OK)
        return code;

    /* Fail on an unwritable output now, not after training. */
    const char *outs[4] = {output, plot, history, index_out};
    for (int k = 0; k < 4; k++)
        if (outs[k] != NULL && (code = cli_check_writable(outs[k])) != CLI_OK)
            return code;

    /* Caught from here on: a signal while the data loads quits (status 3,
       nothing saved); the first one during training stops it after the
       current batch. */
    struct sigaction old_actions[2];
    stop_output = output;
    output_existed = access(output, F_OK) == 0;
    stop_requested = 0;
    training = 0;
    catch_stop_signals(old_actions);
    int caught = 1;

    seqset all, train, valid;
    memset(&all, 0, sizeof all);
    memset(&train, 0, sizeof train);
    memset(&valid, 0, sizeof valid);
    lstmae_model *model = NULL, *best_model = NULL;
    train_run run;
    memset(&run, 0, sizeof run);
    size_t *held = NULL, n_held = 0;
    int have_valid = valid_path != NULL || split != NULL;
    const char *valid_name = valid_path ? valid_path : data;

    code = seqset_load(data, lengths, &all);
    if (code == CLI_OK && split != NULL)
        code = split_valid(data, &all, split_v, cfg.seed, &train, &valid,
                           &held, &n_held);
    else if (code == CLI_OK) {
        train = all; /* train owns the data now */
        memset(&all, 0, sizeof all);
        if (valid_path != NULL)
            code = seqset_load(valid_path, valid_lengths, &valid);
    }
    if (code == CLI_OK && have_valid && valid.dim != train.dim) {
        cli_error("%s: %zu features per step, but %s has %zu", valid_name,
                  valid.dim, data, train.dim);
        code = CLI_BAD;
    }
    if (code == CLI_OK && seqset_steps(&train) == 0) {
        cli_error("%s: every training sequence is empty (length 0)", data);
        code = CLI_BAD;
    }
    if (code == CLI_OK && have_valid && seqset_steps(&valid) == 0) {
        cli_error("%s: every validation sequence is empty (length 0)",
                  valid_name);
        code = CLI_BAD;
    }
    if (code == CLI_OK && train.dim > LSTMAE_MAX_DIM) {
        cli_error("%s: %zu features per step; at most %d are supported",
                  data, train.dim, LSTMAE_MAX_DIM);
        code = CLI_BAD;
    }
    if (code == CLI_OK)
        code = seqset_check_steps(&train, data);
    if (code == CLI_OK && have_valid)
        code = seqset_check_steps(&valid, valid_name);
    /* The library's own checks, with its reasons, before anything runs. */
    char why[256];
    if (code == CLI_OK &&
        lstmae_check_fit_options(&opt, train.max_len, why, sizeof why) !=
            LSTMAE_OK)
        code = library_rejects(why, data, train.max_len);
    if (code == CLI_OK && resume == NULL) {
        cfg.input_dim = (int)train.dim;
        if (lstmae_check_config(&cfg, why, sizeof why) != LSTMAE_OK)
            code = library_rejects(why, data, train.max_len);
    }

    /* the model */
    if (code == CLI_OK && resume != NULL) {
        code = cli_load_model(resume, &model);
        if (code == CLI_OK)
            code = seqset_check_dim(&train, data, model, resume);
        if (code == CLI_OK)
            lstmae_get_config(model, &cfg);
    } else if (code == CLI_OK) {
        cfg.input_dim = (int)train.dim;
        int st = lstmae_create(&cfg, &model);
        if (st != LSTMAE_OK) {
            cli_error("cannot create the model: %s", lstmae_strerror(st));
            code = st == LSTMAE_ERR_INVALID_ARG ? CLI_BAD : CLI_FAIL;
        }
    }
    /* NaN or infinity in a valid step: named as in the file */
    if (code == CLI_OK)
        code = seqset_check(split != NULL ? &all : &train, data, model);
    if (code == CLI_OK && valid_path != NULL)
        code = seqset_check(&valid, valid_path, model);
    if (code == CLI_OK && cfg.scaling == LSTMAE_SCALING_NONE) {
        check_unit_range(split != NULL ? &all : &train, data, cfg.loss);
        if (valid_path != NULL)
            check_unit_range(&valid, valid_path, cfg.loss);
    }

    /* the run's bookkeeping */
    if (code == CLI_OK) {
        size_t cap = opt.epochs > 0 ? (size_t)opt.epochs : 1;
        run.model = model;
        run.done_before = lstmae_epochs_done(model);
        run.train_loss = cli_alloc(cap, 5 * sizeof(double));
        if (run.train_loss == NULL)
            code = CLI_FAIL;
        else {
            run.train_acc = run.train_loss + cap;
            run.valid_acc = run.train_loss + 2 * cap;
            run.seconds = run.train_loss + 3 * cap;
            run.valid_loss = have_valid ? run.train_loss + 4 * cap : NULL;
        }
        if (code == CLI_OK && have_valid) {
            run.best_size = lstmae_saved_size(model);
            run.best = cli_alloc(run.best_size, 1);
            if (run.best == NULL)
                code = CLI_FAIL;
        }
    }

    int interrupted = 0, status = LSTMAE_OK, mask_saved = 0;
    sigset_t saved_mask;
    double t0 = cli_now(), elapsed = 0.0;
    run.t0 = t0;
    run.lr = (double)opt.learning_rate;
    if (code == CLI_OK) {
        lstmae_sequences tv = seqset_view(&train), vv = seqset_view(&valid);
        opt.on_epoch = on_epoch;
        opt.on_batch = on_batch;
        opt.user = &run;
        run.batch_size = (size_t)opt.batch_size;
        /* Before the first line, so that whoever waits for it can
           interrupt safely. */
        training = 1;
        if (!quiet) {
            char variants[128];
            describe_variants(&cfg, variants, sizeof variants);
            fprintf(stderr, "training on %zu sequences (%zu held out) of up "
                    "to %zu steps, D %d, H %d, Z %d, K %d, %s%s, %s loss; %d "
                    "epochs\n", train.count, have_valid ? valid.count : 0,
                    train.max_len, cfg.input_dim, cfg.hidden_dim,
                    cfg.latent_dim, cfg.num_layers,
                    CLI_NAME(cli_cells, cfg.cell), variants,
                    CLI_NAME(cli_losses, cfg.loss), opt.epochs);
        }
        progress_start(&run.prog, stderr, quiet != NULL, run.done_before,
                       opt.epochs, train.count);
        status = lstmae_fit(model, &tv, have_valid ? &vv : NULL, &opt, NULL);
        progress_finish(&run.prog);
        elapsed = cli_now() - t0;
        /* From here on, a signal waits until the files are written. */
        sigset_t block;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, &saved_mask);
        mask_saved = 1;
        restore_stop_signals(old_actions);
        caught = 0;

        if (status == LSTMAE_ERR_CANCELLED) {
            interrupted = 1;
            /* Mid-epoch, the model is past its last epoch: the best
               epoch's snapshot is needed even when that epoch was the
               last. */
            uint64_t last = lstmae_epochs_done(model);
            if (have_valid && run.best_ok &&
                (run.stop_batch != 0 || run.best_epoch != last)) {
                int st = lstmae_load_buffer(run.best, run.best_size,
                                            &best_model);
                if (st != LSTMAE_OK) {
                    cli_error("cannot restore the best epoch: %s",
                              lstmae_strerror(st));
                    code = CLI_FAIL;
                }
            }
        } else if (status == LSTMAE_ERR_NUMERIC) {
            cli_error("training diverged in epoch %llu: the loss or gradient "
                      "became NaN or infinite; try a lower --lr, or --clip 1 "
                      "(nothing saved)",
                      (unsigned long long)run.done_before + run.epochs_run +
                          1);
            code = CLI_FAIL;
        } else if (status != LSTMAE_OK) {
            cli_error("training failed: %s", lstmae_strerror(status));
            code = status == LSTMAE_ERR_INVALID_ARG ? CLI_BAD : CLI_FAIL;
        }
    }

    const lstmae_model *final = best_model ? best_model : model;
    if (code == CLI_OK && plot != NULL) {
        char title[64];
        snprintf(title, sizeof title, "lstmae training loss (%s)",
                 CLI_NAME(cli_losses, cfg.loss));
        plot_data pd = {
            title,
            run.train_loss, run.valid_loss, run.epochs_run,
            run.done_before + 1,
            have_valid && (opt.patience > 0 || interrupted) ? run.best_epoch
                                                            : 0};
        code = plot_write_svg(plot, &pd);
    }
    if (code == CLI_OK && history != NULL)
        code = cli_write_atomic(history, fill_history, &run);
    if (code == CLI_OK && index_out != NULL)
        code = write_indices(index_out, held, n_held);
    if (code == CLI_OK) {
        code = cli_save_model(final, output);
    }
    if (code == CLI_OK) {
        lstmae_metrics tm, vm, tb, vb;
        lstmae_metrics_init(&tm);
        lstmae_metrics_init(&vm);
        lstmae_metrics_init(&tb);
        lstmae_metrics_init(&vb);
        lstmae_sequences tv = seqset_view(&train), vv = seqset_view(&valid);
        int st = lstmae_evaluate(final, &tv, &tm);
        if (st == LSTMAE_OK && have_valid)
            st = lstmae_evaluate(final, &vv, &vm);
        uint64_t done = lstmae_epochs_done(final);
        if (interrupted) {
            unsigned long long now_in = (unsigned long long)run.done_before +
                                        run.epochs_run + 1;
            if (run.stop_batch != 0)
                printf("interrupted in epoch %llu at batch %zu/%zu; ", now_in,
                       run.stop_batch, run.num_batches);
            else
                printf("interrupted after epoch %llu; ", now_in - 1);
            if (best_model != NULL ||
                (have_valid && run.best_ok && run.stop_batch == 0))
                printf("saving the best model so far: epoch %llu (lowest "
                       "validation loss)\n", (unsigned long long)done);
            else if (run.stop_batch == 0)
                printf("saving the model as epoch %llu left it (no "
                       "validation set)\n", (unsigned long long)done);
            else
                printf("saving the model as that batch left it (%s; epochs "
                       "done: %llu, the unfinished epoch not counted)\n",
                       !have_valid ? "no validation set"
                       : run.epochs_run == 0 ? "no epoch completed to compare"
                                             : "the best epoch was not kept",
                       (unsigned long long)done);
        } else if (opt.patience > 0 && run.epochs_run < (size_t)opt.epochs)
            printf("early stop after epoch %llu: no lower validation loss "
                   "for %d epochs; kept epoch %llu\n",
                   (unsigned long long)run.done_before + run.epochs_run,
                   opt.patience, (unsigned long long)done);
        double seen = (double)run.epochs_run * (double)train.count +
                      (double)run.partial;
        printf("trained %zu epoch%s", run.epochs_run,
               run.epochs_run == 1 ? "" : "s");
        if (run.stop_batch != 0)
            printf(" and %zu/%zu batches", run.stop_batch, run.num_batches);
        printf(" in %.1f s (%.0f sequences/s); epochs done: %llu\n", elapsed,
               elapsed > 0 ? seen / elapsed : 0.0, (unsigned long long)done);
        if (st == LSTMAE_OK &&
            seqset_baseline(&train, final, &tb) == CLI_OK &&
            (!have_valid || seqset_baseline(&valid, final, &vb) == CLI_OK)) {
            char tail[64];
            snprintf(tail, sizeof tail, "  (%zu sequences)", train.count);
            cli_print_metrics("train:", &tm, &tb, tail);
            snprintf(tail, sizeof tail, "  (%zu sequences)", valid.count);
            if (have_valid)
                cli_print_metrics("validation:", &vm, &vb, tail);
        }
        printf("saved %s%s%s%s%s%s%s\n", output, plot ? ", loss plot " : "",
               plot ? plot : "", history ? ", history " : "",
               history ? history : "", index_out ? ", held-out indices " : "",
               index_out ? index_out : "");
        if (interrupted)
            code = CLI_INTERRUPTED;
    }

    fflush(stdout);
    if (caught)
        restore_stop_signals(old_actions);
    if (mask_saved) /* a signal that came while saving acts now */
        sigprocmask(SIG_SETMASK, &saved_mask, NULL);
    free(run.train_loss);
    free(held);
    free(run.best);
    lstmae_free(best_model);
    lstmae_free(model);
    seqset_free(&valid);
    seqset_free(&train);
    seqset_free(&all);
    return code;
}

/*
 * cmd_data.c - lstmae make-moving-ones: the seed problem's data set.
 *
 * Sequence i has a random length in 0..T (splitmix64 from --seed); its step
 * t is the one-hot vector of width D at position t for t < D, and all zeros
 * for t >= D: a "moving one". The same data as examples/moving_ones.c.
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "dataset.h"

static const char make_help[] =
"usage: lstmae make-moving-ones -o X [--lengths-out L] [--count 5000]\n"
"                               [--max-len 10] [--width 8] [--seed 2026]\n"
"\n"
"Writes the 'moving ones' data set: sequences of random length 0..T whose\n"
"step t is the one-hot vector of width D at position t (all zeros once\n"
"t >= D). A .npy X is [n, T, D] float32 padded with zeros and needs\n"
"--lengths-out (an int32 .npy); a .csv X has one row per step (empty\n"
"sequences have no rows, so they are left out).\n"
"\n"
"  -o, --output X       .npy or .csv\n"
"  --lengths-out L      .npy lengths (required for a .npy X)\n"
"  --count N            sequences (default 5000)\n"
"  --max-len T          steps per sequence at most (default 10)\n"
"  --width D            features per step (default 8)\n"
"  --seed S             (default 2026)\n";

int cmd_make_moving_ones(int argc, char **argv)
{
    const char *output = NULL, *lengths_out = NULL, *count_text = NULL,
               *max_len_text = NULL, *width_text = NULL, *seed_text = NULL;
    const args_option opts[] = {
        {"--output", "-o", 1, &output},
        {"--lengths-out", NULL, 1, &lengths_out},
        {"--count", NULL, 1, &count_text},
        {"--max-len", NULL, 1, &max_len_text},
        {"--width", NULL, 1, &width_text},
        {"--seed", NULL, 1, &seed_text},
    };
    const char *cmd = argv[0];
    args_parsed parsed;
    int code = args_parse_help(argc, argv, opts,
                               sizeof opts / sizeof opts[0], 0,
                               make_help, &parsed);
    if (code != CLI_OK || parsed.help)
        return code;
    int count = 5000, max_len = 10, width = 8;
    uint64_t seed = 2026;
    if ((code = args_int(cmd, "--count", count_text, 1, 10000000, &count)) ||
        (code = args_int(cmd, "--max-len", max_len_text, 1, 100000,
                         &max_len)) ||
        (code = args_int(cmd, "--width", width_text, 1, LSTMAE_MAX_DIM,
                         &width)) ||
        (code = args_u64(cmd, "--seed", seed_text, &seed)))
        return code;
    if (output == NULL)
        return args_usage_error(cmd, "-o X is required");
    cli_filetype ft;
    if ((code = cli_need_filetype(output, "output", &ft)) != CLI_OK)
        return code;
    if (ft == CLI_FT_NPY && lengths_out == NULL)
        return args_usage_error(cmd, "a .npy output needs --lengths-out L.npy "
                                "(without it the padding would count as "
                                "steps)");
    if (ft == CLI_FT_CSV && lengths_out != NULL)
        return args_usage_error(cmd, "a .csv output has its lengths in its "
                                "row counts; drop --lengths-out");

    if (lengths_out != NULL && cli_filetype_of(lengths_out) != CLI_FT_NPY)
        return args_usage_error(cmd, "--lengths-out: lengths are written as "
                                ".npy only");
    const args_file files[] = {{"-o", output, 1},
                               {"--lengths-out", lengths_out, 1}};
    if ((code = args_check_files(cmd, files, 2)) != CLI_OK)
        return code;
    if (lengths_out != NULL &&
        (code = cli_check_writable(lengths_out)) != CLI_OK)
        return code;

    size_t n = (size_t)count, steps = (size_t)max_len, dim = (size_t)width;
    size_t total = 0;
    if (!cli_mul3(n, steps, dim, &total)) {
        cli_error("%d x %d x %d values are too many", count, max_len, width);
        return CLI_FAIL;
    }
    float *x = cli_alloc(total, sizeof(float));
    int32_t *lengths = cli_alloc(n, sizeof(int32_t));
    if (x == NULL || lengths == NULL) {
        free(x);
        free(lengths);
        return CLI_FAIL;
    }
    memset(x, 0, total * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        size_t len = (size_t)(cli_random(&seed) % (uint64_t)(steps + 1));
        lengths[i] = (int32_t)len;
        for (size_t t = 0; t < len && t < dim; t++)
            x[(i * steps + t) * dim + t] = 1.0f;
    }
    code = write_sequences(output, x, n, steps, dim,
                           ft == CLI_FT_CSV ? lengths : NULL, NULL);
    if (code == CLI_OK && lengths_out != NULL)
        code = write_lengths(lengths_out, lengths, n);
    if (code == CLI_OK)
        printf("wrote %zu sequences of 0 to %zu steps of %zu features to "
               "%s%s%s\n", n, steps, dim, output,
               lengths_out ? ", their lengths to " : "",
               lengths_out ? lengths_out : "");
    free(x);
    free(lengths);
    return code;
}

/*
 * main.c - lstmae, the command-line tool: dispatch, help and version.
 *
 * Built only on the public API of <lstmae.h>. Exit status: 0 success,
 * 2 bad usage or bad input, 1 any other failure, 130 training interrupted
 * (and the model saved).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, "fit a model to sequences and save it"},
    {"encode", cmd_encode, "sequences to latent vectors [n, Z]"},
    {"decode", cmd_decode, "latent vectors to sequences [n, T, D]"},
    {"eval", cmd_eval, "reconstruction loss (and per-sequence error)"},
    {"info", cmd_info, "what a model file holds"},
    {"show", cmd_show, "print the shape and some items of a .npy or .csv"},
    {"make-moving-ones", cmd_make_moving_ones,
     "write the 'moving ones' example data set"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fputs("usage: lstmae COMMAND [OPTIONS]\n"
          "       lstmae COMMAND --help\n"
          "       lstmae --help | --version\n"
          "\n"
          "An LSTM autoencoder for variable-length sequences: turns them "
          "into\nfixed-size vectors and back.\n\ncommands:\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-18s %s\n", commands[i].name, commands[i].summary);
    fputs("\nFiles are .npy (NumPy) or .csv, chosen by the name's ending. "
          "See lstmae(1).\nExit status: 0 success, 2 bad usage or input, 1 "
          "other failure,\n130 training interrupted (model saved).\n", out);
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_BAD;
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0 ||
        (strcmp(first, "help") == 0 && argc == 2)) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "version") == 0) {
        printf("lstmae %s\n", lstmae_version());
        return CLI_OK;
    }
    if (strcmp(first, "help") == 0) {
        const command *c = find_command(argv[2]);
        if (c == NULL) {
            cli_error("no command '%s' (see 'lstmae --help')", argv[2]);
            return CLI_BAD;
        }
        char *args[] = {argv[2], "--help", NULL};
        return c->run(2, args);
    }
    const command *c = find_command(first);
    if (c == NULL) {
        cli_error("no command '%s' (see 'lstmae --help')", first);
        return CLI_BAD;
    }
    int code = c->run(argc - 1, argv + 1);
    if (fflush(stdout) != 0 && code == CLI_OK) {
        cli_error("cannot write to standard output");
        code = CLI_FAIL;
    }
    return code;
}

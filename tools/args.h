/*
 * args.h - command-line options: `--name value`, `--name=value`, `-x value`,
 * flags, `--` and positional arguments; strict number parsing.
 */
#ifndef LSTMAE_ARGS_H
#define LSTMAE_ARGS_H

#include <stddef.h>
#include <stdint.h>

typedef struct args_option {
    const char *name;    /* "--data"                                    */
    const char *alias;   /* "-d", or NULL                               */
    int takes_value;     /* 0: a flag, *value becomes "1" when present  */
    const char **value;  /* NULL until given                            */
} args_option;

typedef struct args_parsed {
    int help;                 /* -h or --help was given                */
    size_t npositional;
    const char *positional[4];
} args_parsed;

/* Parses argv[1..argc-1] for command `cmd` (argv[0]). Returns CLI_OK, or
   CLI_BAD after printing what is wrong (unknown option, missing value,
   option given twice, more than max_positional positional arguments). */
int args_parse(int argc, char **argv, const args_option *opts, size_t nopts,
               size_t max_positional, args_parsed *out);

/* args_parse, and when -h or --help was given, `help` printed on standard
   output. Returns args_parse's code; the command is done when that is not
   CLI_OK or when out->help is set (it then returns CLI_OK). */
int args_parse_help(int argc, char **argv, const args_option *opts,
                    size_t nopts, size_t max_positional, const char *help,
                    args_parsed *out);

/* Conversions of an option's text; CLI_OK, or CLI_BAD with a message
   naming the command and the option. A NULL text leaves *out unchanged. */
int args_int(const char *cmd, const char *opt, const char *text, long lo,
             long hi, int *out);
int args_u64(const char *cmd, const char *opt, const char *text,
             uint64_t *out);
int args_double(const char *cmd, const char *opt, const char *text,
                double lo, double hi, int lo_open, int hi_open, double *out);

/* "lstmae CMD: <message> (see 'lstmae CMD --help')" and CLI_BAD. */
int args_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* LSTMAE_ARGS_H */

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
   naming the command, the option, the text and the accepted range. A NULL
   text leaves *out unchanged. Decimal numbers only: no leading spaces, no
   '+', a '-' only where lo < 0 (so " -1" is not 2^64 - 1 for args_u64),
   no hex floats, no inf or nan. */
int args_int(const char *cmd, const char *opt, const char *text, long lo,
             long hi, int *out);
int args_u64(const char *cmd, const char *opt, const char *text,
             uint64_t *out);
int args_double(const char *cmd, const char *opt, const char *text,
                double lo, double hi, int lo_open, int hi_open, double *out);
/* args_double for a float32 field: also refuses a value beyond the
   float32 range, and a non-zero one that rounds to 0 (--lr 1e-50). */
int args_float(const char *cmd, const char *opt, const char *text, double lo,
               double hi, int lo_open, int hi_open, float *out);

/* One of the names of t[n] (cli.h's tables): CLI_OK and *out its value,
   or CLI_BAD with "OPT: expected a, b or c (alias), got 'TEXT'". A NULL
   text leaves *out unchanged. */
struct cli_name;
int args_pick(const char *cmd, const char *opt, const char *text,
              const struct cli_name *t, size_t n, int *out);

/* A file named on the command line: its option ("-o"), path (NULL: not
   given) and whether the command writes it. */
typedef struct args_file {
    const char *option;
    const char *path;
    int output;
} args_file;

/* CLI_OK, or CLI_BAD with a message when an output is the same file as an
   input (the same regular file, through any name or link) or as another
   output (for names that do not exist yet: the same name in the same
   directory). */
int args_check_files(const char *cmd, const args_file *files, size_t n);

/* "lstmae CMD: <message> (see 'lstmae CMD --help')" and CLI_BAD. */
int args_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#endif /* LSTMAE_ARGS_H */

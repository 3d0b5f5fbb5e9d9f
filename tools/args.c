/*
 * args.c - command-line options and strict number parsing.
 */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int args_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "lstmae %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'lstmae %s --help')\n", cmd);
    return CLI_BAD;
}

static const args_option *find_option(const args_option *opts, size_t nopts,
                                      const char *arg, size_t len)
{
    for (size_t i = 0; i < nopts; i++) {
        const char *names[2] = {opts[i].name, opts[i].alias};
        for (int k = 0; k < 2; k++)
            if (names[k] && strlen(names[k]) == len &&
                strncmp(names[k], arg, len) == 0)
                return &opts[i];
    }
    return NULL;
}

int args_parse(int argc, char **argv, const args_option *opts, size_t nopts,
               size_t max_positional, args_parsed *out)
{
    const char *cmd = argv[0];
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < nopts; i++)
        *opts[i].value = NULL;
    /* --help wins over everything else on the line. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            out->help = 1;
            return CLI_OK;
        }
    int only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!only_positional && strcmp(arg, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (only_positional || arg[0] != '-' || arg[1] == '\0') {
            size_t max = sizeof out->positional / sizeof out->positional[0];
            if (out->npositional >= max_positional || out->npositional >= max)
                return args_usage_error(cmd, "unexpected argument '%s'", arg);
            out->positional[out->npositional++] = arg;
            continue;
        }
        const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const args_option *o = find_option(opts, nopts, arg, len);
        if (o == NULL)
            return args_usage_error(cmd, "unknown option '%.*s'", (int)len,
                                    arg);
        if (*o->value != NULL)
            return args_usage_error(cmd, "%s given twice", o->name);
        if (!o->takes_value) {
            if (eq)
                return args_usage_error(cmd, "%s takes no value", o->name);
            *o->value = "1";
        } else if (eq) {
            *o->value = eq + 1;
        } else if (i + 1 < argc) {
            *o->value = argv[++i];
        } else {
            return args_usage_error(cmd, "%s needs a value", o->name);
        }
    }
    return CLI_OK;
}

int args_parse_help(int argc, char **argv, const args_option *opts,
                    size_t nopts, size_t max_positional, const char *help,
                    args_parsed *out)
{
    int code = args_parse(argc, argv, opts, nopts, max_positional, out);
    if (code == CLI_OK && out->help)
        fputs(help, stdout);
    return code;
}

int args_int(const char *cmd, const char *opt, const char *text, long lo,
             long hi, int *out)
{
    if (text == NULL)
        return CLI_OK;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi)
        return args_usage_error(cmd, "%s: expected an integer from %ld to "
                                "%ld, got '%s'", opt, lo, hi, text);
    *out = (int)v;
    return CLI_OK;
}

int args_u64(const char *cmd, const char *opt, const char *text,
             uint64_t *out)
{
    if (text == NULL)
        return CLI_OK;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
        return args_usage_error(cmd, "%s: expected an integer from 0 to "
                                "%llu, got '%s'", opt,
                                (unsigned long long)UINT64_MAX, text);
    *out = (uint64_t)v;
    return CLI_OK;
}

int args_double(const char *cmd, const char *opt, const char *text,
                double lo, double hi, int lo_open, int hi_open, double *out)
{
    if (text == NULL)
        return CLI_OK;
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    int ok = errno == 0 && end != text && *end == '\0' && isfinite(v) &&
             (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (!ok)
        return args_usage_error(cmd, "%s: expected a number in %c%g, %g%c, "
                                "got '%s'", opt, lo_open ? '(' : '[', lo, hi,
                                hi_open ? ')' : ']', text);
    *out = v;
    return CLI_OK;
}

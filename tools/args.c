/*
 * args.c - command-line options, strict number parsing, outputs that
 * would overwrite an input.
 */
#define _POSIX_C_SOURCE 200809L

#include "args.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* The text starts as a number of ours must: a digit (or '.' for a real),
   or '-' and a digit when negative values are meaningful. strtol and
   friends would also take leading spaces, '+' and, for strtoull, a '-'
   that wraps around (" -1" is 2^64 - 1). */
static int number_start(const char *text, int negative_ok, int real)
{
    const char *p = text;
    if (negative_ok && *p == '-')
        p++;
    return (*p >= '0' && *p <= '9') || (real && *p == '.');
}

int args_int(const char *cmd, const char *opt, const char *text, long lo,
             long hi, int *out)
{
    if (text == NULL)
        return CLI_OK;
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (!number_start(text, lo < 0, 0) || errno != 0 || end == text ||
        *end != '\0' || v < lo || v > hi)
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
    if (!number_start(text, 0, 0) || errno != 0 || end == text ||
        *end != '\0')
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
    /* decimal only: no hex floats, no "inf" or "nan" */
    int ok = number_start(text, lo < 0, 1) && strpbrk(text, "xX") == NULL &&
             errno == 0 && end != text && *end == '\0' && isfinite(v) &&
             (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (!ok)
        return args_usage_error(cmd, "%s: expected a number in %c%g, %g%c, "
                                "got '%s'", opt, lo_open ? '(' : '[', lo, hi,
                                hi_open ? ')' : ']', text);
    *out = v;
    return CLI_OK;
}

int args_float(const char *cmd, const char *opt, const char *text, double lo,
               double hi, int lo_open, int hi_open, float *out)
{
    if (text == NULL)
        return CLI_OK;
    double v = 0.0;
    int code = args_double(cmd, opt, text, lo, hi, lo_open, hi_open, &v);
    if (code != CLI_OK)
        return code;
    float f = (float)v;
    if (!isfinite(f))
        return args_usage_error(cmd, "%s: %s is beyond the float32 range "
                                "(at most %g)", opt, text, (double)FLT_MAX);
    if (v != 0.0 && (f == 0.0f || signbit(f) != signbit(v)))
        return args_usage_error(cmd, "%s: %s rounds to 0 as a float32; the "
                                "smallest accepted value above 0 is %g", opt,
                                text, (double)FLT_TRUE_MIN);
    *out = f;
    return CLI_OK;
}

int args_pick(const char *cmd, const char *opt, const char *text,
              const cli_name *t, size_t n, int *out)
{
    if (text == NULL)
        return CLI_OK;
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(text, t[i].name) == 0) {
            *out = t[i].value;
            return CLI_OK;
        }
        int alias = i > 0 && t[i].value == t[i - 1].value;
        size_t left = 0; /* names from here on, aliases not counted */
        for (size_t k = i; k < n; k++)
            left += !(k > 0 && t[k].value == t[k - 1].value);
        const char *sep = alias ? " (" : i == 0 ? "" : left == 1 ? " or " : ", ";
        int k = snprintf(list + used, sizeof list - used, "%s%s%s", sep,
                         t[i].name, alias ? ")" : "");
        if (k > 0 && (size_t)k < sizeof list - used)
            used += (size_t)k;
    }
    return args_usage_error(cmd, "%s: expected %s, got '%s'", opt, list, text);
}

/* The directory part of path ("." when it has none) into buf; the base
   name's offset in path, or -1 when buf is too small or path ends in
   '/'. */
static long split_path(const char *path, char *buf, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) : 0;
    if (slash != NULL && slash[1] == '\0')
        return -1;
    if (slash == NULL) {
        if (size < 2)
            return -1;
        memcpy(buf, ".", 2);
        return 0;
    }
    if (dir_len == 0) /* "/name" */
        dir_len = 1;
    if (dir_len + 1 > size)
        return -1;
    memcpy(buf, path, dir_len);
    buf[dir_len] = '\0';
    return (long)(slash - path) + 1;
}

/* 1 when a and b name the same regular file, or, for names of which
   neither exists, the same name in the same directory. Devices, FIFOs and
   the like are never "the same": -o /dev/null twice is fine. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb)
        return S_ISREG(sa.st_mode) && S_ISREG(sb.st_mode) &&
               sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea || eb)
        return 0;
    char da[4096], db[4096];
    long ba = split_path(a, da, sizeof da), bb = split_path(b, db, sizeof db);
    if (ba < 0 || bb < 0)
        return strcmp(a, b) == 0;
    if (strcmp(a + ba, b + bb) != 0)
        return 0;
    if (stat(da, &sa) != 0 || stat(db, &sb) != 0)
        return strcmp(a, b) == 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int args_check_files(const char *cmd, const args_file *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!files[i].output || files[i].path == NULL)
            continue;
        for (size_t j = 0; j < n; j++) {
            if (j == i || files[j].path == NULL ||
                (files[j].output && j < i) || !same_file(files[i].path,
                                                         files[j].path))
                continue;
            if (files[j].output)
                return args_usage_error(cmd, "%s %s and %s %s are the same "
                                        "file: give each output its own",
                                        files[i].option, files[i].path,
                                        files[j].option, files[j].path);
            return args_usage_error(cmd, "%s %s is the same file as %s %s: "
                                    "refusing to overwrite an input",
                                    files[i].option, files[i].path,
                                    files[j].option, files[j].path);
        }
    }
    return CLI_OK;
}

/* fuzz_cli.c - what the tool's readers (tools/npy.c, tools/csv.c) take from
   tools/cli.c, for the harnesses that link them alone: cli_error formats
   its message (so that the sanitizers check every argument it reads) and
   drops it, keeping the fuzzer's output readable; files are never read. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

void cli_error(const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
}

int cli_read_file(const char *path, unsigned char **buf, size_t *size)
{
    (void)path;
    (void)buf;
    (void)size;
    abort(); /* the harnesses parse buffers */
}

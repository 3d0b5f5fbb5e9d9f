/*
 * cli.c - messages, whole-file reading, atomic writing, model loading.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("lstmae: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void *cli_alloc(size_t a, size_t b)
{
    if (b != 0 && a > SIZE_MAX / b) {
        cli_error("out of memory (%zu x %zu bytes)", a, b);
        return NULL;
    }
    size_t n = a * b;
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        cli_error("out of memory (%zu bytes)", n);
    return p;
}

int cli_mul3(size_t a, size_t b, size_t c, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return 0;
    size_t ab = a * b;
    if (c != 0 && ab > SIZE_MAX / c)
        return 0;
    *out = ab * c;
    return 1;
}

int cli_read_file(const char *path, unsigned char **buf, size_t *size)
{
    *buf = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cli_error("%s: cannot open: %s", path, strerror(errno));
        return CLI_BAD;
    }
    size_t cap = 1 << 16, len = 0;
    unsigned char *b = malloc(cap);
    if (b == NULL) {
        fclose(f);
        cli_error("out of memory reading %s", path);
        return CLI_FAIL;
    }
    for (;;) {
        if (cap - len < 2) {
            if (cap > SIZE_MAX / 2) {
                free(b);
                fclose(f);
                cli_error("%s: too large", path);
                return CLI_FAIL;
            }
            unsigned char *nb = realloc(b, cap * 2);
            if (nb == NULL) {
                free(b);
                fclose(f);
                cli_error("out of memory reading %s", path);
                return CLI_FAIL;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    int saved_errno = errno;
    fclose(f);
    if (err) {
        free(b);
        cli_error("%s: cannot read: %s", path, strerror(saved_errno));
        return CLI_BAD;
    }
    b[len] = '\0';
    *buf = b;
    *size = len;
    return CLI_OK;
}

int cli_write_atomic(const char *path, cli_writer fill, const void *ctx)
{
    /* tmp = "<dir>/.<base>.tmp-XXXXXX": same directory, hidden. */
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    if (*base == '\0') {
        cli_error("%s: not a file name", path);
        return CLI_BAD;
    }
    size_t n = strlen(path) + sizeof ".tmp-XXXXXX" + 1;
    char *tmp = malloc(n);
    if (tmp == NULL) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    memcpy(tmp, path, dir_len);
    snprintf(tmp + dir_len, n - dir_len, ".%s.tmp-XXXXXX", base);

    /* Hold back the signals that would kill us half-way. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);

    int code = CLI_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        code = CLI_FAIL;
        goto out;
    }
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, (mode_t)(0666 & ~mask));
    FILE *f = fdopen(fd, "wb");
    if (f == NULL) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        code = CLI_FAIL;
        goto out;
    }
    errno = 0;
    code = fill(f, ctx);
    if (code == -1 || (code == CLI_OK && (fflush(f) != 0 || ferror(f) ||
                                          fsync(fd) != 0))) {
        cli_error("%s: cannot write: %s", path,
                  strerror(errno ? errno : EIO));
        code = CLI_FAIL;
    }
    if (fclose(f) != 0 && code == CLI_OK) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        code = CLI_FAIL;
    }
    if (code == CLI_OK && rename(tmp, path) != 0) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        code = CLI_FAIL;
    }
    if (code != CLI_OK)
        unlink(tmp);
out:
    sigprocmask(SIG_SETMASK, &old, NULL);
    free(tmp);
    return code;
}

int cli_check_writable(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0;
    if (path[dir_len] == '\0') {
        cli_error("%s: not a file name", path);
        return CLI_BAD;
    }
    size_t n = dir_len + sizeof ".lstmae-check-XXXXXX";
    char *tmp = malloc(n);
    if (tmp == NULL) {
        cli_error("out of memory");
        return CLI_FAIL;
    }
    memcpy(tmp, path, dir_len);
    memcpy(tmp + dir_len, ".lstmae-check-XXXXXX",
           sizeof ".lstmae-check-XXXXXX");
    int fd = mkstemp(tmp);
    int code = CLI_OK;
    if (fd < 0) {
        cli_error("%s: cannot write there: %s", path, strerror(errno));
        code = CLI_FAIL;
    } else {
        close(fd);
        unlink(tmp);
    }
    free(tmp);
    return code;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    if (ls <= lx)
        return 0;
    for (size_t i = 0; i < lx; i++)
        if (tolower((unsigned char)s[ls - lx + i]) != suffix[i])
            return 0;
    return 1;
}

cli_filetype cli_filetype_of(const char *path)
{
    if (ends_with(path, ".npy"))
        return CLI_FT_NPY;
    if (ends_with(path, ".csv"))
        return CLI_FT_CSV;
    return CLI_FT_OTHER;
}

int cli_need_filetype(const char *path, const char *what, cli_filetype *out)
{
    *out = cli_filetype_of(path);
    if (*out == CLI_FT_OTHER) {
        cli_error("%s: unknown %s file type: the name must end in .npy or "
                  ".csv", path, what);
        return CLI_BAD;
    }
    return CLI_OK;
}

int cli_load_model(const char *path, lstmae_model **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cli_error("%s: cannot open model: %s", path, strerror(errno));
        return CLI_BAD;
    }
    fclose(f);
    int st = lstmae_load(path, out);
    switch (st) {
    case LSTMAE_OK:
        return CLI_OK;
    case LSTMAE_ERR_FORMAT:
        cli_error("%s: not a usable lstmae model file (not a model, "
                  "damaged, truncated, or from a newer version)", path);
        return CLI_BAD;
    case LSTMAE_ERR_IO:
        cli_error("%s: cannot read model", path);
        return CLI_BAD;
    default:
        cli_error("%s: cannot load model: %s", path, lstmae_strerror(st));
        return CLI_FAIL;
    }
}

double cli_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0.0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uint64_t cli_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

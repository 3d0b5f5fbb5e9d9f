/*
 * cli.c - messages, whole-file reading, atomic writing, model loading.
 */
#define _POSIX_C_SOURCE 200809L

#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
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

/* ---- writing files ------------------------------------------------------ */

/* Follows path's last component through symbolic links (at most 40):
   the malloc'ed name a save replaces, so that a link stays a link. NULL
   with errno set on failure. */
static char *resolve_links(const char *path)
{
    char *cur = malloc(strlen(path) + 1);
    if (cur == NULL)
        return NULL;
    strcpy(cur, path);
    for (int hops = 0;; hops++) {
        struct stat sb;
        if (lstat(cur, &sb) != 0 || !S_ISLNK(sb.st_mode))
            return cur; /* none there yet, or the file itself */
        char link[4096];
        ssize_t n = hops < 40 ? readlink(cur, link, sizeof link) : -1;
        if (hops >= 40)
            errno = ELOOP;
        else if (n >= (ssize_t)sizeof link)
            errno = ENAMETOOLONG;
        if (n < 0 || n >= (ssize_t)sizeof link) {
            free(cur);
            return NULL;
        }
        const char *slash = strrchr(cur, '/');
        size_t dir = link[0] != '/' && slash ? (size_t)(slash - cur) + 1 : 0;
        char *next = malloc(dir + (size_t)n + 1);
        if (next == NULL) {
            free(cur);
            return NULL;
        }
        memcpy(next, cur, dir);
        memcpy(next + dir, link, (size_t)n);
        next[dir + (size_t)n] = '\0';
        free(cur);
        cur = next;
    }
}

/* Creates "<dir>/.<base>.tmp-XXXXXX" beside target with O_EXCL and mode
   0666, so that the kernel applies the umask (never changed here: it is
   process-wide). The descriptor, *tmp malloc'ed; -1 with errno set. */
static int create_temp(const char *target, char **tmp)
{
    const char *slash = strrchr(target, '/');
    size_t dir_len = slash ? (size_t)(slash - target) + 1 : 0;
    size_t n = strlen(target) + sizeof ".tmp-XXXXXX" + 1;
    *tmp = malloc(n);
    if (*tmp == NULL)
        return -1;
    memcpy(*tmp, target, dir_len);
    int at = snprintf(*tmp + dir_len, n - dir_len, ".%s.tmp-", target + dir_len);
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        ts.tv_sec = ts.tv_nsec = 0;
    uint64_t state = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^
                     (uint64_t)getpid() << 42;
    static const char chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int tries = 0; tries < 100; tries++) {
        uint64_t z = cli_random(&state);
        char *x = *tmp + dir_len + at;
        for (int i = 0; i < 6; i++, z /= 62)
            x[i] = chars[z % 62];
        x[6] = '\0';
        int fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC,
                      0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1; /* EEXIST, 100 times */
}

/* errno's message, with a clearer one for a FIFO nobody reads. */
static const char *write_reason(int err, const struct stat *sb)
{
    if (err == ENXIO && sb != NULL && S_ISFIFO(sb->st_mode))
        return "a FIFO with no reader";
    return strerror(err ? err : EIO);
}

int cli_write_atomic(const char *path, cli_writer fill, const void *ctx)
{
    if (*path == '\0' || path[strlen(path) - 1] == '/') {
        cli_error("%s: not a file name", path);
        return CLI_BAD;
    }
    /* What the path names, links followed (magic ones such as /dev/stdout
       too): a device or a FIFO is written in place, never replaced. */
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if ((!exists && errno != ENOENT) || (exists && S_ISDIR(sb.st_mode))) {
        cli_error("%s: cannot write: %s", path,
                  strerror(exists ? EISDIR : errno));
        return CLI_FAIL;
    }
    int in_place = exists && !S_ISREG(sb.st_mode);
    char *target = NULL, *tmp = NULL;
    if (!in_place) {
        /* a regular file or none: replace the file the links lead to */
        target = resolve_links(path);
        struct stat at;
        if (target == NULL ||
            (exists && (lstat(target, &at) != 0 || at.st_dev != sb.st_dev ||
                        at.st_ino != sb.st_ino))) {
            cli_error("%s: cannot write: %s", path,
                      target ? "it changed while being replaced"
                             : strerror(errno));
            free(target);
            return CLI_FAIL;
        }
    }

    /* Hold back the signals that would kill us half-way. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);

    int code = CLI_OK, fd;
    if (in_place) {
        /* not blocking: a FIFO with no reader fails at once (ENXIO) */
        fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
        if (fd >= 0 && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)) {
            int err = errno;
            close(fd);
            errno = err;
            fd = -1;
        }
    } else {
        fd = create_temp(target, &tmp);
        if (fd >= 0 && exists) {
            /* the old file's owner (where permitted) and permissions */
            if ((sb.st_uid != geteuid() || sb.st_gid != getegid()) &&
                fchown(fd, sb.st_uid, sb.st_gid) != 0) {
                /* not permitted: ours, as any new file */
            }
            (void)fchmod(fd, sb.st_mode & 0777);
        }
    }
    if (fd < 0) {
        cli_error("%s: cannot write: %s", path,
                  write_reason(errno, exists ? &sb : NULL));
        code = CLI_FAIL;
        goto out;
    }
    FILE *f = fdopen(fd, "wb");
    if (f == NULL) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        close(fd);
        code = CLI_FAIL;
        goto out;
    }
    errno = 0;
    code = fill(f, ctx);
    if (code == -1 ||
        (code == CLI_OK && (fflush(f) != 0 || ferror(f) ||
                            (!in_place && fsync(fd) != 0)))) {
        cli_error("%s: cannot write: %s", path, write_reason(errno, NULL));
        code = CLI_FAIL;
    }
    if (fclose(f) != 0 && code == CLI_OK) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        code = CLI_FAIL;
    }
    if (code == CLI_OK && !in_place && rename(tmp, target) != 0) {
        cli_error("%s: cannot write: %s", path, strerror(errno));
        code = CLI_FAIL;
    }
out:
    if (code != CLI_OK && tmp != NULL)
        unlink(tmp);
    sigprocmask(SIG_SETMASK, &old, NULL);
    free(tmp);
    free(target);
    return code;
}

int cli_check_writable(const char *path)
{
    if (*path == '\0' || path[strlen(path) - 1] == '/') {
        cli_error("%s: not a file name", path);
        return CLI_BAD;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* written in place (a device, a FIFO): it must let us */
        int err = S_ISDIR(sb.st_mode) ? EISDIR
                  : access(path, W_OK) != 0 ? errno : 0;
        if (err != 0) {
            cli_error("%s: cannot write there: %s", path, strerror(err));
            return CLI_FAIL;
        }
        return CLI_OK;
    }
    char *target = resolve_links(path);
    if (target == NULL) {
        cli_error("%s: cannot write there: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    const char *slash = strrchr(target, '/');
    size_t dir_len = slash ? (size_t)(slash - target) + 1 : 0;
    size_t n = dir_len + sizeof ".lstmae-check-XXXXXX";
    char *tmp = malloc(n);
    if (tmp == NULL) {
        free(target);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    memcpy(tmp, target, dir_len);
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
    free(target);
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

/* Reads exactly n bytes: 1, or 0 with errno set (EIO at an early end). */
static int read_exactly(int fd, unsigned char *buf, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, buf, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return 0;
        }
        buf += r;
        n -= (size_t)r;
    }
    return 1;
}

static int not_a_model(const char *path)
{
    cli_error("%s: not a usable lstmae model file (not a model, damaged, "
              "truncated, or from a newer version)", path);
    return CLI_BAD;
}

int cli_load_model_head(const char *path, lstmae_model **out,
                        unsigned char *head_out)
{
    *out = NULL;
    /* Not blocking (a FIFO with no writer would hang the open), then only
       a regular file. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("%s: cannot open model: %s", path, strerror(errno));
        return CLI_BAD;
    }
    struct stat sb;
    int fl = -1;
    if (fstat(fd, &sb) != 0 || (S_ISREG(sb.st_mode) &&
                                ((fl = fcntl(fd, F_GETFL)) < 0 ||
                                 fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0))) {
        cli_error("%s: cannot read model: %s", path, strerror(errno));
        close(fd);
        return CLI_BAD;
    }
    if (!S_ISREG(sb.st_mode)) {
        cli_error("%s: cannot read model: not a regular file", path);
        close(fd);
        return CLI_BAD;
    }
    /* The header first: the magic and the file-size field must match
       before the rest is read or memory taken (a 6 GB file that is not a
       model costs 24 bytes of reading). */
    unsigned char head[CLI_MODEL_HEAD];
    uint64_t size = (uint64_t)sb.st_size, declared = 0;
    if (size < sizeof head || size > (uint64_t)SIZE_MAX) {
        close(fd);
        return not_a_model(path);
    }
    if (!read_exactly(fd, head, sizeof head)) {
        cli_error("%s: cannot read model: %s", path, strerror(errno));
        close(fd);
        return CLI_BAD;
    }
    for (int i = 0; i < 8; i++)
        declared |= (uint64_t)head[16 + i] << (8 * i);
    if (memcmp(head, "\x89LSTMAE\n", 8) != 0 || declared != size) {
        close(fd);
        return not_a_model(path);
    }
    unsigned char *buf = cli_alloc((size_t)size, 1);
    if (buf == NULL) {
        close(fd);
        return CLI_FAIL;
    }
    memcpy(buf, head, sizeof head);
    if (!read_exactly(fd, buf + sizeof head, (size_t)size - sizeof head)) {
        cli_error("%s: cannot read model: %s", path, strerror(errno));
        free(buf);
        close(fd);
        return CLI_BAD;
    }
    close(fd);
    int st = lstmae_load_buffer(buf, (size_t)size, out);
    free(buf);
    switch (st) {
    case LSTMAE_OK:
        if (head_out != NULL)
            memcpy(head_out, head, sizeof head);
        return CLI_OK;
    case LSTMAE_ERR_FORMAT:
        return not_a_model(path);
    default:
        cli_error("%s: cannot load model: %s", path, lstmae_strerror(st));
        return CLI_FAIL;
    }
}

int cli_load_model(const char *path, lstmae_model **out)
{
    return cli_load_model_head(path, out, NULL);
}

int cli_save_model(const lstmae_model *model, const char *path)
{
    errno = 0;
    int st = lstmae_save(model, path);
    int err = errno;
    if (st == LSTMAE_OK)
        return CLI_OK;
    struct stat sb;
    if (st == LSTMAE_ERR_IO)
        cli_error("cannot save the model to %s: %s", path,
                  write_reason(err, stat(path, &sb) == 0 ? &sb : NULL));
    else
        cli_error("cannot save the model to %s: %s", path,
                  lstmae_strerror(st));
    return CLI_FAIL;
}

void cli_init_process(void)
{
    /* Over `ulimit -f`, write() then fails with EFBIG, reported and
       cleaned up, instead of the signal killing us mid-write. */
    signal(SIGXFSZ, SIG_IGN);
}

const cli_name cli_losses[4] = {{"bce", LSTMAE_LOSS_BCE},
                                 {"mse", LSTMAE_LOSS_MSE},
                                 {"ce", LSTMAE_LOSS_CROSS_ENTROPY},
                                 {"cross_entropy", LSTMAE_LOSS_CROSS_ENTROPY}};
const cli_name cli_cells[2] = {{"lstm", LSTMAE_CELL_LSTM},
                               {"gru", LSTMAE_CELL_GRU}};
const cli_name cli_decoder_inits[2] = {{"zero", LSTMAE_DECODER_INIT_ZERO},
                                       {"latent", LSTMAE_DECODER_INIT_LATENT}};
const cli_name cli_optimizers[2] = {{"adam", LSTMAE_OPT_ADAM},
                                    {"sgd", LSTMAE_OPT_SGD}};
const cli_name cli_scalings[3] = {{"none", LSTMAE_SCALING_NONE},
                                  {"standard", LSTMAE_SCALING_STANDARD},
                                  {"minmax", LSTMAE_SCALING_MINMAX}};
const cli_name cli_rules[3] = {{"quantile", LSTMAE_THRESHOLD_QUANTILE},
                               {"mean_std", LSTMAE_THRESHOLD_MEAN_STD},
                               {"max", LSTMAE_THRESHOLD_MAX}};

const char *cli_name_of(const cli_name *t, size_t n, int v)
{
    const char *name = "unknown";
    for (size_t i = 0; i < n; i++)
        if (t[i].value == v)
            name = t[i].name;
    return name;
}

void cli_print_metrics(const char *label, const lstmae_metrics *m,
                       const lstmae_metrics *base, const char *tail)
{
    if (label[0] != '\0')
        printf("%-11s ", label);
    for (int k = 0; k < 2; k++) {
        const lstmae_metrics *x = k ? base : m;
        if (x == NULL)
            continue;
        printf("%s%sloss=%.6g", k ? " " : "", k ? "baseline_" : "", x->loss);
        if (!isnan(x->accuracy))
            printf(" %saccuracy=%.6f", k ? "baseline_" : "", x->accuracy);
    }
    printf("%s\n", tail);
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

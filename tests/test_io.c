/* test_io.c - model files: round trips through file and buffer, every
   single-byte change and every truncation rejected, foreign files, I/O
   failures that leave the old file intact, what a save does to devices,
   FIFOs, links and modes (and the umask under concurrent saves), loads
   that must not block or read a large foreign file, counters that would
   wrap, resume equal to uninterrupted training, early stopping,
   checkpoints, the golden version-1 file, and version 2's configuration
   records (round trip, re-saving version 1, crafted record sections; a
   model with every variant on, and its variant records crafted). */
#define _XOPEN_SOURCE 700 /* POSIX 2008 with mknod */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h> /* makedev */
#include <sys/wait.h>
#include <unistd.h>

#include <lstmae.h>

#include "io.h"
#include "testutil.h"

static char tmpdir[256];
static const char *golden_path; /* tests/data/golden_v1.lstmae (argv[1]) */
static const char *self_path;   /* argv[0], to run the first part of a resume */

/* ---- helpers ------------------------------------------------------------- */

typedef struct dataset {
    float x[40 * 6 * 3];
    int32_t len[40];
    lstmae_sequences s;
} dataset;

/* 40 sequences of up to 6 steps of 3 features in [0, 1]. */
static void make_data(dataset *d, uint64_t seed, size_t n)
{
    uint64_t st = seed;
    tu_fill_uniform(&st, d->x, n * 6 * 3, 0.0f, 1.0f);
    for (size_t i = 0; i < n; i++) d->len[i] = (int32_t)(tu_rand_u64(&st) % 7);
    d->len[0] = 6;
    d->s = (lstmae_sequences){ d->x, d->len, n, 6 };
}

/* Every parameter of a and b bit for bit, and the same config. */
/* assert_same_model's parameters: the same bits (tol < 0), or within
   rel_tol of each tensor's largest value. */
static void assert_models_match(const lstmae_model *a, const lstmae_model *b, double tol);

static void assert_same_model(const lstmae_model *a, const lstmae_model *b)
{
    assert_models_match(a, b, -1.0);
}

static void assert_models_match(const lstmae_model *a, const lstmae_model *b, double tol)
{
    assert_int_equal(lstmae_param_count(a), lstmae_param_count(b));
    for (size_t i = 0; i < lstmae_param_count(a); i++) {
        const char *name = lstmae_param_name(a, i);
        assert_string_equal(name, lstmae_param_name(b, i));
        size_t n = lstmae_param_size(a, name);
        float *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
        assert_non_null(pa);
        assert_non_null(pb);
        assert_int_equal(lstmae_get_param(a, name, pa, n), LSTMAE_OK);
        assert_int_equal(lstmae_get_param(b, name, pb, n), LSTMAE_OK);
        if (tol < 0.0)
            tu_assert_bits_equal(name, pa, pb, n);
        else
            tu_assert_close(name, pb, pa, n, tol, 0.0);
        free(pa);
        free(pb);
    }
    lstmae_config ca, cb;
    lstmae_config_init(&ca);
    lstmae_config_init(&cb);
    assert_int_equal(lstmae_get_config(a, &ca), LSTMAE_OK);
    assert_int_equal(lstmae_get_config(b, &cb), LSTMAE_OK);
    assert_memory_equal(&ca, &cb, sizeof ca);
}

static void assert_same_encoding(const lstmae_model *a, const lstmae_model *b,
                                 const lstmae_sequences *s, size_t Z)
{
    float *la = malloc(s->count * Z * sizeof *la), *lb = malloc(s->count * Z * sizeof *lb);
    assert_non_null(la);
    assert_non_null(lb);
    assert_int_equal(lstmae_encode(a, s, la), LSTMAE_OK);
    assert_int_equal(lstmae_encode(b, s, lb), LSTMAE_OK);
    tu_assert_bits_equal("latent", la, lb, s->count * Z);
    free(la);
    free(lb);
}

static void path_in_tmp(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* Number of entries in tmpdir (to spot leftover temporary files). */
static int count_tmp_entries(void)
{
    DIR *d = opendir(tmpdir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static unsigned char *save_to_buffer(const lstmae_model *m, unsigned flags, size_t *size)
{
    *size = lstmae_saved_size_ex(m, flags);
    assert_true(*size > 0);
    unsigned char *buf = malloc(*size);
    assert_non_null(buf);
    assert_int_equal(lstmae_save_buffer_ex(m, buf, *size, flags), LSTMAE_OK);
    return buf;
}

static lstmae_fit_options fit_opts(int epochs)
{
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = epochs;
    o.batch_size = 8;
    o.learning_rate = 0.01f;
    o.num_threads = 1;
    return o;
}

/* ---- tests --------------------------------------------------------------- */

static void test_round_trip(void **state)
{
    (void)state;
    dataset d;
    make_data(&d, 1, 40);
    lstmae_model *m = tu_make_model(3, 5, 4, 2, LSTMAE_LOSS_MSE, 7);
    lstmae_fit_options o = fit_opts(2);
    assert_int_equal(lstmae_fit(m, &d.s, NULL, &o, NULL), LSTMAE_OK);

    char path[300];
    path_in_tmp(path, sizeof path, "model.lstmae");
    assert_int_equal(lstmae_save(m, path), LSTMAE_OK);
    lstmae_model *f = NULL, *b = NULL;
    assert_int_equal(lstmae_load(path, &f), LSTMAE_OK);
    assert_same_model(m, f);
    assert_same_encoding(m, f, &d.s, 4);
    assert_int_equal(lstmae_epochs_done(f), 2);

    size_t size;
    unsigned char *buf = save_to_buffer(m, 0, &size);
    assert_int_equal(lstmae_load_buffer(buf, size, &b), LSTMAE_OK);
    assert_same_model(m, b);
    assert_same_encoding(m, b, &d.s, 4);

    /* the file and the buffer hold the same bytes */
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char *fb = malloc(size + 1);
    assert_non_null(fb);
    assert_int_equal(fread(fb, 1, size + 1, fp), size);
    fclose(fp);
    assert_memory_equal(fb, buf, size);

    /* a buffer one byte short is refused and untouched */
    memset(fb, 0xA5, size);
    assert_int_equal(lstmae_save_buffer(m, fb, size - 1), LSTMAE_ERR_INVALID_ARG);
    for (size_t i = 0; i < size; i++) assert_int_equal(fb[i], 0xA5);

    /* inference-only: smaller, same parameters, fresh training state */
    size_t small;
    unsigned char *inf = save_to_buffer(m, LSTMAE_SAVE_INFERENCE_ONLY, &small);
    assert_true(small < size);
    lstmae_model *i = NULL;
    assert_int_equal(lstmae_load_buffer(inf, small, &i), LSTMAE_OK);
    assert_same_model(m, i);
    assert_same_encoding(m, i, &d.s, 4);
    /* the epochs trained travel without the training state too (tag 14) */
    assert_int_equal(lstmae_epochs_done(i), lstmae_epochs_done(m));

    unlink(path);
    free(inf);
    free(fb);
    free(buf);
    lstmae_free(i);
    lstmae_free(f);
    lstmae_free(b);
    lstmae_free(m);
}

/* Every single-byte change and every truncation is LSTMAE_ERR_FORMAT. */
static void test_every_byte_and_truncation(void **state)
{
    (void)state;
    lstmae_model *m = tu_make_model(2, 3, 2, 1, LSTMAE_LOSS_BCE, 3);
    for (unsigned flags = 0; flags <= LSTMAE_SAVE_INFERENCE_ONLY; flags++) {
        size_t size;
        unsigned char *buf = save_to_buffer(m, flags, &size);
        unsigned char *copy = malloc(size);
        assert_non_null(copy);
        size_t checked = 0;
        for (size_t at = 0; at < size; at++) {
            static const unsigned char deltas[] = { 0x01, 0x80, 0xFF };
            for (size_t k = 0; k < sizeof deltas; k++) {
                memcpy(copy, buf, size);
                copy[at] ^= deltas[k];
                lstmae_model *out = (lstmae_model *)copy; /* must become NULL */
                int st = lstmae_load_buffer(copy, size, &out);
                if (st != LSTMAE_ERR_FORMAT || out != NULL)
                    fail_msg("byte %zu ^ 0x%02x of %zu: status %d", at, deltas[k], size, st);
                checked++;
            }
        }
        for (size_t len = 0; len < size; len++) {
            lstmae_model *out = NULL;
            int st = lstmae_load_buffer(len ? buf : NULL, len, &out);
            if (st != LSTMAE_ERR_FORMAT || out != NULL)
                fail_msg("truncated to %zu of %zu: status %d", len, size, st);
        }
        /* a byte too many is damage too */
        unsigned char *longer = malloc(size + 1);
        assert_non_null(longer);
        memcpy(longer, buf, size);
        longer[size] = 0;
        lstmae_model *out = NULL;
        assert_int_equal(lstmae_load_buffer(longer, size + 1, &out), LSTMAE_ERR_FORMAT);
        assert_null(out);
        print_message("flags %u: %zu bytes, %zu changed copies and %zu truncations rejected\n",
                      flags, size, checked, size);
        free(longer);
        free(copy);
        free(buf);
    }
    lstmae_free(m);
}

static void write_file(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_foreign_and_missing(void **state)
{
    (void)state;
    char path[300];
    path_in_tmp(path, sizeof path, "foreign");
    static const struct { const char *what; const char *bytes; size_t n; } files[] = {
        { "empty", "", 0 },
        { "text", "hello, this is not a model\n", 27 },
        { "png", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16 },
        { "npy", "\x93NUMPY\x01\x00v\x00{'descr': '<f4'}", 27 },
        { "zip", "PK\x03\x04\x14\x00\x00\x00", 8 },
        { "magic only", "\x89LSTMAE\n", 8 },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        write_file(path, files[i].bytes, files[i].n);
        lstmae_model *out = NULL;
        int st = lstmae_load(path, &out);
        if (st != LSTMAE_ERR_FORMAT || out != NULL) fail_msg("%s: status %d", files[i].what, st);
    }
    unlink(path);
    lstmae_model *out = (lstmae_model *)path;
    assert_int_equal(lstmae_load(path, &out), LSTMAE_ERR_IO); /* missing */
    assert_null(out);
    assert_int_equal(lstmae_load(tmpdir, &out), LSTMAE_ERR_IO); /* a directory */
    assert_int_equal(lstmae_load(NULL, &out), LSTMAE_ERR_INVALID_ARG);
}

/* A newer format version is rejected even with a valid checksum. */
static void test_newer_version(void **state)
{
    (void)state;
    lstmae_model *m = tu_make_model(2, 3, 2, 1, LSTMAE_LOSS_MSE, 5);
    size_t size;
    unsigned char *buf = save_to_buffer(m, 0, &size);
    buf[8] = IO_FORMAT_VERSION + 1; /* the next version, little-endian u32 at offset 8 */
    /* recompute the CRC-32C trailer so only the version is wrong */
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size - 4; i++) {
        crc ^= buf[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    crc ^= 0xFFFFFFFFu;
    for (int k = 0; k < 4; k++) buf[size - 4 + (size_t)k] = (unsigned char)(crc >> (8 * k));
    lstmae_model *out = NULL;
    assert_int_equal(lstmae_load_buffer(buf, size, &out), LSTMAE_ERR_FORMAT);
    buf[8] = IO_FORMAT_VERSION; /* back, with the next version's CRC: damaged */
    assert_int_equal(lstmae_load_buffer(buf, size, &out), LSTMAE_ERR_FORMAT);
    free(buf);
    lstmae_free(m);
}

static void test_save_failures_keep_old_file(void **state)
{
    (void)state;
    lstmae_model *old = tu_make_model(2, 3, 2, 1, LSTMAE_LOSS_MSE, 1);
    lstmae_model *neu = tu_make_model(2, 3, 2, 1, LSTMAE_LOSS_MSE, 2);
    char dir[300], path[340];
    path_in_tmp(dir, sizeof dir, "ro");
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/model.lstmae", dir);
    assert_int_equal(lstmae_save(old, path), LSTMAE_OK);

    /* bad paths */
    assert_int_equal(lstmae_save(neu, "/nonexistent-dir/x/model.lstmae"), LSTMAE_ERR_IO);
    assert_int_equal(lstmae_save(neu, dir), LSTMAE_ERR_IO); /* a directory */
    assert_int_equal(lstmae_save(neu, ""), LSTMAE_ERR_INVALID_ARG);

    /* a read-only directory (root ignores permissions: then only check
       that the save either fails cleanly or succeeds) */
    assert_int_equal(chmod(dir, 0555), 0);
    int st = lstmae_save(neu, path);
    assert_int_equal(chmod(dir, 0755), 0);
    lstmae_model *back = NULL;
    if (geteuid() != 0) {
        assert_int_equal(st, LSTMAE_ERR_IO);
        assert_int_equal(lstmae_load(path, &back), LSTMAE_OK);
        assert_same_model(old, back);
        lstmae_free(back);
    } else {
        print_message("running as root: read-only directory not enforced, status %d\n", st);
        assert_int_equal(lstmae_save(old, path), LSTMAE_OK);
    }

    /* a write that fails half way (a full disk): test_write_failure_midway */

    /* no temporary file left behind in the directory */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') {
            entries++;
            assert_string_equal(e->d_name, "model.lstmae");
        }
    closedir(d);
    assert_int_equal(entries, 1);
    assert_int_equal(lstmae_load(path, &back), LSTMAE_OK);
    assert_same_model(old, back);
    lstmae_free(back);
    unlink(path);
    rmdir(dir);
    lstmae_free(old);
    lstmae_free(neu);
}

/* A write that fails half way (file size limit, as a full disk would)
   returns LSTMAE_ERR_IO, keeps the old file and leaves no temporary. */
static void test_write_failure_midway(void **state)
{
    (void)state;
    lstmae_model *old = tu_make_model(2, 3, 2, 1, LSTMAE_LOSS_MSE, 1);
    lstmae_model *big = tu_make_model(2, 64, 16, 2, LSTMAE_LOSS_MSE, 2);
    char path[300];
    path_in_tmp(path, sizeof path, "limited.lstmae");
    assert_int_equal(lstmae_save(old, path), LSTMAE_OK);
    int before = count_tmp_entries();

    struct rlimit keep, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &keep), 0);
    lim = keep;
    lim.rlim_cur = 4096; /* the big model is far larger */
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    errno = 0;
    int st = lstmae_save(big, path);
    int err = errno;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &keep), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, LSTMAE_ERR_IO);
    assert_int_equal(err, EFBIG); /* the system's reason, kept through the cleanup */
    assert_int_equal(count_tmp_entries(), before);
    lstmae_model *back = NULL;
    assert_int_equal(lstmae_load(path, &back), LSTMAE_OK);
    assert_same_model(old, back);
    lstmae_free(back);
    unlink(path);
    lstmae_free(old);
    lstmae_free(big);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- where a save writes (issue 11, items 1, 2, 4, 5, 10, 11) ------------ */

/* The file type bits of what path names, not following a link. */
static mode_t type_of(const char *path)
{
    struct stat sb;
    assert_int_equal(lstat(path, &sb), 0);
    return sb.st_mode & S_IFMT;
}

static mode_t perms_of(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_mode & 07777;
}

/* A model the size of a few kilobytes: fits a pipe's buffer. */
static lstmae_model *small_model(uint64_t seed)
{
    return tu_make_model(2, 3, 2, 1, LSTMAE_LOSS_MSE, seed);
}

/* Saving to a device writes into it, never replaces it. As root, on
   copies made with mknod in the scratch folder (a regression must not
   destroy the real /dev/full): the copy of /dev/full gives LSTMAE_ERR_IO
   with errno ENOSPC and stays a character device; the copy of /dev/null
   takes the bytes and stays. Not root: /dev/full itself, which we could
   not replace anyway. */
static void test_save_into_devices(void **state)
{
    (void)state;
    lstmae_model *m = small_model(1);
    char full[300], null[300];
    path_in_tmp(full, sizeof full, "full");
    path_in_tmp(null, sizeof null, "null");
    if (geteuid() != 0 || mknod(full, S_IFCHR | 0666, makedev(1, 7)) != 0 ||
        mknod(null, S_IFCHR | 0666, makedev(1, 3)) != 0) {
        print_message("no mknod (%s): /dev/full only\n",
                      geteuid() != 0 ? "not root" : strerror(errno));
        unlink(full);
        struct stat before, after;
        if (geteuid() == 0 || stat("/dev/full", &before) != 0 || !S_ISCHR(before.st_mode)) {
            print_message("and no /dev/full to use: skipped\n");
        } else {
            errno = 0;
            assert_int_equal(lstmae_save(m, "/dev/full"), LSTMAE_ERR_IO);
            assert_int_equal(errno, ENOSPC);
            assert_int_equal(stat("/dev/full", &after), 0);
            assert_true(S_ISCHR(after.st_mode) && after.st_ino == before.st_ino);
        }
        lstmae_free(m);
        return;
    }
    errno = 0;
    assert_int_equal(lstmae_save(m, full), LSTMAE_ERR_IO);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(type_of(full), S_IFCHR);
    assert_int_equal(lstmae_save(m, null), LSTMAE_OK);
    assert_int_equal(type_of(null), S_IFCHR);
    assert_int_equal(lstmae_save_ex(m, null, LSTMAE_SAVE_INFERENCE_ONLY), LSTMAE_OK);
    assert_int_equal(type_of(null), S_IFCHR);
    assert_int_equal(count_tmp_entries(), 2); /* the two nodes, no temporary */
    unlink(full);
    unlink(null);
    lstmae_free(m);
}

/* A FIFO with a reader gets the bytes and stays a FIFO; with no reader the
   save fails at once (ENXIO) instead of blocking, and it stays too. */
static void test_save_into_fifo(void **state)
{
    (void)state;
    lstmae_model *m = small_model(2);
    size_t size;
    unsigned char *want = save_to_buffer(m, 0, &size);
    assert_true(size < 4096); /* the pipe's buffer holds it all */
    char fifo[300];
    path_in_tmp(fifo, sizeof fifo, "model.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);

    alarm(20); /* a save or read that blocks fails the test, not CTest */
    errno = 0;
    assert_int_equal(lstmae_save(m, fifo), LSTMAE_ERR_IO);
    assert_int_equal(errno, ENXIO);
    assert_int_equal(type_of(fifo), S_IFIFO);

    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    assert_int_equal(lstmae_save(m, fifo), LSTMAE_OK);
    assert_int_equal(type_of(fifo), S_IFIFO);
    unsigned char *got = malloc(size + 1);
    assert_non_null(got);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(rd, got + n, size + 1 - n);
        if (r <= 0) break; /* EOF: the writer closed */
        n += (size_t)r;
    }
    alarm(0);
    close(rd);
    assert_int_equal(n, size);
    assert_memory_equal(got, want, size);
    assert_int_equal(count_tmp_entries(), 1);
    unlink(fifo);
    free(got);
    free(want);
    lstmae_free(m);
}

/* A symbolic link stays; the file it names is replaced, through a chain of
   links, relative and absolute; a dangling link's target is created. The
   old file's permission bits are kept. */
static void test_save_through_links(void **state)
{
    (void)state;
    lstmae_model *old = small_model(3), *neu = small_model(4);
    char dir[300], target[340], rel[300], abs_link[300], dangling[300], made[340];
    path_in_tmp(dir, sizeof dir, "real");
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(target, sizeof target, "%s/model.lstmae", dir);
    path_in_tmp(rel, sizeof rel, "rel.lstmae");
    path_in_tmp(abs_link, sizeof abs_link, "abs.lstmae");
    assert_int_equal(lstmae_save(old, target), LSTMAE_OK);
    assert_int_equal(chmod(target, 0600), 0);
    assert_int_equal(symlink("real/model.lstmae", rel), 0); /* relative */
    assert_int_equal(symlink(rel, abs_link), 0);            /* a chain */

    assert_int_equal(lstmae_save(neu, abs_link), LSTMAE_OK);
    assert_int_equal(type_of(abs_link), S_IFLNK);
    assert_int_equal(type_of(rel), S_IFLNK);
    assert_int_equal(type_of(target), S_IFREG);
    assert_int_equal(perms_of(target), 0600);
    char text[300];
    ssize_t tn = readlink(rel, text, sizeof text - 1);
    assert_true(tn > 0);
    text[tn] = '\0';
    assert_string_equal(text, "real/model.lstmae");
    lstmae_model *back = NULL;
    assert_int_equal(lstmae_load(target, &back), LSTMAE_OK);
    assert_same_model(neu, back);
    lstmae_free(back);

    /* a dangling link: its target is created, the link stays */
    path_in_tmp(dangling, sizeof dangling, "dangling.lstmae");
    assert_int_equal(symlink("real/made.lstmae", dangling), 0);
    assert_int_equal(lstmae_save(old, dangling), LSTMAE_OK);
    assert_int_equal(type_of(dangling), S_IFLNK);
    snprintf(made, sizeof made, "%s/made.lstmae", dir);
    assert_int_equal(lstmae_load(made, &back), LSTMAE_OK);
    assert_same_model(old, back);
    lstmae_free(back);

    /* no temporary file in either directory */
    assert_int_equal(count_tmp_entries(), 4); /* real/ and three links */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int entries = 0;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') entries++;
    closedir(d);
    assert_int_equal(entries, 2);
    unlink(made);
    unlink(dangling);
    unlink(abs_link);
    unlink(rel);
    unlink(target);
    rmdir(dir);
    lstmae_free(old);
    lstmae_free(neu);
}

/* Re-saving keeps the mode (0600 stays 0600, 0640 stays 0640); a new file
   gets 0666 less the umask. */
static void test_save_keeps_mode(void **state)
{
    (void)state;
    lstmae_model *m = small_model(5);
    char path[300], fresh[300];
    path_in_tmp(path, sizeof path, "mode.lstmae");
    path_in_tmp(fresh, sizeof fresh, "fresh.lstmae");
    mode_t keep = umask(022);
    assert_int_equal(lstmae_save(m, path), LSTMAE_OK);
    assert_int_equal(perms_of(path), 0644);
    static const mode_t modes[] = { 0600, 0640, 0444, 0660 };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(chmod(path, modes[i]), 0);
        assert_int_equal(lstmae_save(m, path), LSTMAE_OK);
        if (perms_of(path) != modes[i])
            fail_msg("mode %04o became %04o", (unsigned)modes[i], (unsigned)perms_of(path));
    }
    umask(077);
    assert_int_equal(lstmae_save(m, fresh), LSTMAE_OK);
    assert_int_equal(perms_of(fresh), 0600);
    assert_int_equal(umask(keep), 077);
    unlink(fresh);
    unlink(path);
    lstmae_free(m);
}

/* Concurrent saves never touch the process's umask: 8 threads x 300 saves
   of new files under umask 027, while another thread keeps creating files
   of its own (mode 0666 asked). Every saved file is 0640, so is every
   probe (a umask briefly 0 would show there), and the umask is 027
   afterwards. */
enum { RACE_THREADS = 8, RACE_SAVES = 300 };

typedef struct race_job {
    const lstmae_model *m;
    int id, failed, wrong_mode;
    mode_t bad;
} race_job;

static void *race_saver(void *arg)
{
    race_job *j = arg;
    char path[320];
    for (int i = 0; i < RACE_SAVES; i++) {
        snprintf(path, sizeof path, "%s/race-%d-%d.lstmae", tmpdir, j->id, i);
        if (lstmae_save_ex(j->m, path, LSTMAE_SAVE_INFERENCE_ONLY) != LSTMAE_OK) {
            j->failed++;
            continue;
        }
        struct stat sb;
        if (stat(path, &sb) != 0 || (sb.st_mode & 0777) != 0640) {
            j->wrong_mode++;
            j->bad = sb.st_mode & 0777;
        }
        unlink(path);
    }
    return NULL;
}

typedef struct race_probe {
    pthread_mutex_t lock;
    int stop;
    long probes, wrong;
} race_probe;

static void *race_prober(void *arg)
{
    race_probe *p = arg;
    char path[320];
    snprintf(path, sizeof path, "%s/probe", tmpdir);
    for (;;) {
        pthread_mutex_lock(&p->lock);
        int stop = p->stop;
        pthread_mutex_unlock(&p->lock);
        if (stop) break;
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
        struct stat sb;
        long wrong = fd < 0 || fstat(fd, &sb) != 0 || (sb.st_mode & 0777) != 0640;
        if (fd >= 0) close(fd);
        unlink(path);
        pthread_mutex_lock(&p->lock);
        p->probes++;
        p->wrong += wrong;
        pthread_mutex_unlock(&p->lock);
    }
    return NULL;
}

static void test_save_umask_race(void **state)
{
    (void)state;
    lstmae_model *m = small_model(6);
    mode_t keep = umask(027);
    race_probe probe = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0 };
    pthread_t t[RACE_THREADS], prober;
    race_job jobs[RACE_THREADS];
    assert_int_equal(pthread_create(&prober, NULL, race_prober, &probe), 0);
    for (int i = 0; i < RACE_THREADS; i++) {
        jobs[i] = (race_job){ m, i, 0, 0, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, race_saver, &jobs[i]), 0);
    }
    int failed = 0, wrong = 0;
    for (int i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        failed += jobs[i].failed;
        wrong += jobs[i].wrong_mode;
        if (jobs[i].wrong_mode)
            print_message("thread %d: %d files of mode %04o\n", i, jobs[i].wrong_mode,
                          (unsigned)jobs[i].bad);
    }
    pthread_mutex_lock(&probe.lock);
    probe.stop = 1;
    pthread_mutex_unlock(&probe.lock);
    assert_int_equal(pthread_join(prober, NULL), 0);
    mode_t after = umask(keep);
    print_message("%d saves: %d failed, %d with the wrong mode; %ld probes, %ld with the "
                  "wrong mode; umask after: %04o\n",
                  RACE_THREADS * RACE_SAVES, failed, wrong, probe.probes, probe.wrong,
                  (unsigned)after);
    assert_int_equal(failed, 0);
    assert_int_equal(wrong, 0);
    assert_int_equal(probe.wrong, 0);
    assert_int_equal(after, 027);
    assert_int_equal(count_tmp_entries(), 0);
    lstmae_free(m);
}

/* Loading what is not a regular file fails at once: a FIFO with no writer
   (the alarm turns a hang into a failure), a device, a directory. */
static void test_load_not_regular(void **state)
{
    (void)state;
    char fifo[300];
    path_in_tmp(fifo, sizeof fifo, "load.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    lstmae_model *out = (lstmae_model *)fifo;
    alarm(20);
    errno = 0;
    assert_int_equal(lstmae_load(fifo, &out), LSTMAE_ERR_IO);
    alarm(0);
    assert_null(out);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(type_of(fifo), S_IFIFO);
    errno = 0;
    assert_int_equal(lstmae_load("/dev/zero", &out), LSTMAE_ERR_IO);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_int_equal(lstmae_load(tmpdir, &out), LSTMAE_ERR_IO);
    assert_int_equal(errno, EISDIR);
    errno = 0;
    assert_int_equal(lstmae_load("/nonexistent-dir/model.lstmae", &out), LSTMAE_ERR_IO);
    assert_int_equal(errno, ENOENT);
    unlink(fifo);
}

/* An allocator that refuses, and records, any request over 1 MiB. */
static size_t biggest_request;

static void *capped_alloc(void *user, size_t bytes)
{
    (void)user;
    if (bytes > biggest_request) biggest_request = bytes;
    return bytes > ((size_t)1 << 20) ? NULL : malloc(bytes ? bytes : 1);
}

static void capped_free(void *user, void *p)
{
    (void)user;
    free(p);
}

/* A 6 GB file that is not a model (sparse: a few bytes of junk, then a
   hole) is refused from its header: LSTMAE_ERR_FORMAT, no large request
   for memory, in well under a second. So is a model with a gigabyte
   appended (its size field no longer matches). */
static void test_load_large_foreign(void **state)
{
    (void)state;
    char path[300];
    path_in_tmp(path, sizeof path, "big.bin");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "junk, not a model", 17), 17);
    if (ftruncate(fd, (off_t)6 << 30) != 0) {
        print_message("cannot make a 6 GB sparse file (%s): skipped\n", strerror(errno));
        close(fd);
        unlink(path);
        return;
    }
    close(fd);
    lstmae_allocator a = { capped_alloc, capped_free, NULL };
    lstmae_model *out = NULL;
    biggest_request = 0;
    double t0 = now_s();
    assert_int_equal(lstmae_load_advanced(path, &a, &out), LSTMAE_ERR_FORMAT);
    double took = now_s() - t0;
    assert_null(out);
    print_message("6 GB foreign file: refused in %.4f s, largest request %zu bytes\n", took,
                  biggest_request);
    assert_true(biggest_request <= ((size_t)1 << 20));
    assert_true(took < 1.0);

    /* a real model, then a gigabyte of zeros */
    lstmae_model *m = small_model(7);
    assert_int_equal(lstmae_save(m, path), LSTMAE_OK);
    assert_int_equal(truncate(path, (off_t)1 << 30), 0);
    biggest_request = 0;
    assert_int_equal(lstmae_load_advanced(path, &a, &out), LSTMAE_ERR_FORMAT);
    assert_true(biggest_request <= ((size_t)1 << 20));
    /* the same model, unharmed, still loads through the capped allocator */
    assert_int_equal(lstmae_save(m, path), LSTMAE_OK);
    assert_int_equal(lstmae_load_advanced(path, &a, &out), LSTMAE_OK);
    assert_same_model(m, out);
    lstmae_free(out);
    lstmae_free(m);
    unlink(path);
}

/* An allocator whose free clobbers errno, as a custom one may. */
static void *plain_alloc(void *user, size_t bytes)
{
    (void)user;
    return malloc(bytes ? bytes : 1);
}

static void clobbering_free(void *user, void *p)
{
    (void)user;
    free(p);
    errno = 0;
}

/* errno after LSTMAE_ERR_IO is the system's reason, even when the model's
   allocator's free (called after the write) clobbers errno. */
static void test_save_errno_kept(void **state)
{
    (void)state;
    lstmae_allocator a = { plain_alloc, clobbering_free, NULL };
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = 2;
    cfg.hidden_dim = 3;
    cfg.latent_dim = 2;
    lstmae_model *m = NULL;
    assert_int_equal(lstmae_create_advanced(&cfg, &a, &m), LSTMAE_OK);
    errno = 0;
    assert_int_equal(lstmae_save(m, "/nonexistent-dir/model.lstmae"), LSTMAE_ERR_IO);
    assert_int_equal(errno, ENOENT);
    errno = 0;
    assert_int_equal(lstmae_save(m, tmpdir), LSTMAE_ERR_IO); /* a directory */
    assert_int_equal(errno, EISDIR);
    lstmae_free(m);
}

/* Training-state counters that the next step would wrap are refused:
   Adam's step count or the epochs over 2^53 (IO_MAX_COUNTER). */
static void test_counters_bounded(void **state)
{
    (void)state;
    lstmae_model *m = small_model(8);
    size_t size, P = 0;
    unsigned char *buf = save_to_buffer(m, 0, &size);
    for (size_t i = 0; i < lstmae_param_count(m); i++)
        P += lstmae_param_size(m, lstmae_param_name(m, i));
    size_t at = size - 4 - (8 + 8 + 4 + 4 + 32) - 12 * P; /* the training state */
    static const struct { int which; uint64_t value; int want; } cases[] = {
        { 0, UINT64_MAX, LSTMAE_ERR_FORMAT },   { 1, UINT64_MAX, LSTMAE_ERR_FORMAT },
        { 0, IO_MAX_COUNTER + 1, LSTMAE_ERR_FORMAT },
        { 1, IO_MAX_COUNTER + 1, LSTMAE_ERR_FORMAT },
        { 0, (uint64_t)1 << 63, LSTMAE_ERR_FORMAT },
        { 0, IO_MAX_COUNTER, LSTMAE_OK },       { 1, IO_MAX_COUNTER, LSTMAE_OK },
        { 0, 12345, LSTMAE_OK },
    };
    unsigned char *copy = malloc(size);
    assert_non_null(copy);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(copy, buf, size);
        for (int i = 0; i < 8; i++)
            copy[at + 8 * (size_t)cases[k].which + (size_t)i] =
                (unsigned char)(cases[k].value >> (8 * i));
        uint32_t crc = io_crc32c(copy, size - 4);
        for (int i = 0; i < 4; i++) copy[size - 4 + (size_t)i] = (unsigned char)(crc >> (8 * i));
        lstmae_model *out = NULL;
        int st = lstmae_load_buffer(copy, size, &out);
        if (st != cases[k].want)
            fail_msg("%s = %llu: status %d, expected %d", cases[k].which ? "epochs" : "adam steps",
                     (unsigned long long)cases[k].value, st, cases[k].want);
        if (st == LSTMAE_OK && cases[k].which == 1)
            assert_int_equal(lstmae_epochs_done(out), cases[k].value);
        lstmae_free(out);
    }
    free(copy);
    free(buf);
    lstmae_free(m);
}

/* 10 epochs == 4, save, load in a fresh model, 6 more; bit for bit. */
static void test_resume(void **state)
{
    (void)state;
    dataset d;
    make_data(&d, 9, 40);
    for (int opt = 0; opt < 2; opt++) {
        lstmae_fit_options o = fit_opts(10);
        o.optimizer = opt ? LSTMAE_OPT_SGD : LSTMAE_OPT_ADAM;
        o.momentum = opt ? 0.9f : 0.0f;
        lstmae_model *whole = tu_make_model(3, 6, 4, 2, LSTMAE_LOSS_BCE, 21);
        assert_int_equal(lstmae_fit(whole, &d.s, NULL, &o, NULL), LSTMAE_OK);

        lstmae_model *part = tu_make_model(3, 6, 4, 2, LSTMAE_LOSS_BCE, 21);
        o.epochs = 4;
        assert_int_equal(lstmae_fit(part, &d.s, NULL, &o, NULL), LSTMAE_OK);
        char path[300];
        path_in_tmp(path, sizeof path, "resume.lstmae");
        assert_int_equal(lstmae_save(part, path), LSTMAE_OK);
        lstmae_free(part);
        lstmae_model *resumed = NULL;
        assert_int_equal(lstmae_load(path, &resumed), LSTMAE_OK);
        o.epochs = 6;
        assert_int_equal(lstmae_fit(resumed, &d.s, NULL, &o, NULL), LSTMAE_OK);
        assert_same_model(whole, resumed);
        assert_int_equal(lstmae_epochs_done(resumed), 10);
        unlink(path);
        lstmae_free(resumed);
        lstmae_free(whole);
    }
}

/* The first part of a resumed training, in its own process: 4 epochs of
   the model and data below, saved to path. */
static lstmae_model *resume_model(void) { return tu_make_model(3, 6, 4, 2, LSTMAE_LOSS_BCE, 23); }

static int first_part(const char *path)
{
    dataset d;
    make_data(&d, 19, 40);
    lstmae_model *m = resume_model();
    lstmae_fit_options o = fit_opts(4);
    int st = lstmae_fit(m, &d.s, NULL, &o, NULL);
    if (st == LSTMAE_OK) st = lstmae_save(m, path);
    lstmae_free(m);
    /* what this process ran on, for the parent to compare with its own */
    char info_path[320], info[1024];
    snprintf(info_path, sizeof info_path, "%s.info", path);
    FILE *f = fopen(info_path, "w");
    if (!f) return 1;
    lstmae_runtime_info(info, sizeof info);
    fputs(info, f);
    fclose(f);
    return st == LSTMAE_OK ? 0 : 1;
}

/* 10 epochs here == 4 epochs in another process, saved, then loaded here
   and trained 6 more: bit for bit. */
static void test_resume_other_process(void **state)
{
    (void)state;
    char path[300];
    path_in_tmp(path, sizeof path, "resume-process.lstmae");
    char *args[] = { (char *)self_path, (char *)"--first-part", path, NULL };
    pid_t pid;
    extern char **environ;
    assert_int_equal(posix_spawn(&pid, self_path, NULL, NULL, args, environ), 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    dataset d;
    make_data(&d, 19, 40);
    lstmae_model *resumed = NULL, *whole = resume_model();
    assert_int_equal(lstmae_load(path, &resumed), LSTMAE_OK);
    lstmae_fit_options o = fit_opts(6);
    assert_int_equal(lstmae_fit(resumed, &d.s, NULL, &o, NULL), LSTMAE_OK);
    o.epochs = 10;
    assert_int_equal(lstmae_fit(whole, &d.s, NULL, &o, NULL), LSTMAE_OK);
    /* Bit for bit when both processes ran the same kernels. Under
       valgrind (no AVX-512) this process runs the portable kernels and
       CBLAS while the child, outside valgrind, runs the AVX-512 ones:
       then the results agree to float rounding only. */
    char info_path[320], theirs[1024] = "", mine[1024];
    snprintf(info_path, sizeof info_path, "%s.info", path);
    FILE *f = fopen(info_path, "r");
    assert_non_null(f);
    if (!fgets(theirs, sizeof theirs, f)) theirs[0] = '\0';
    fclose(f);
    lstmae_runtime_info(mine, sizeof mine);
    if (strcmp(mine, theirs) == 0) {
        assert_same_model(whole, resumed);
    } else {
        print_message("the other process ran other kernels (%s; here %s): "
                      "comparing to 1e-3\n", theirs, mine);
        assert_models_match(whole, resumed, 1e-3);
    }
    assert_int_equal(lstmae_epochs_done(resumed), 10);
    unlink(info_path);
    unlink(path);
    lstmae_free(resumed);
    lstmae_free(whole);
}

typedef struct trace { double valid[64]; int epochs; } trace;

static int record(void *user, int epoch, const lstmae_metrics *train,
                  const lstmae_metrics *valid)
{
    trace *t = user;
    (void)train;
    t->valid[epoch - 1] = valid->loss;
    t->epochs = epoch;
    return 0;
}

static void test_early_stopping(void **state)
{
    (void)state;
    dataset tr, va;
    make_data(&tr, 31, 40);
    make_data(&va, 32, 20);
    /* a high learning rate makes the validation loss turn up */
    lstmae_fit_options o = fit_opts(40);
    o.learning_rate = 0.05f;
    o.patience = 3;
    trace t = { {0}, 0 };
    o.on_epoch = record;
    o.user = &t;
    lstmae_model *m = tu_make_model(3, 16, 8, 1, LSTMAE_LOSS_MSE, 4);
    assert_int_equal(lstmae_fit(m, &tr.s, &va.s, &o, NULL), LSTMAE_OK);
    int best = 0;
    for (int e = 1; e < t.epochs; e++)
        if (t.valid[e] < t.valid[best]) best = e;
    /* stopped exactly `patience` epochs after the best, or ran out */
    assert_true(t.epochs == 40 || t.epochs == best + 1 + 3);
    /* the model is the best epoch's: its validation loss and its epochs */
    lstmae_metrics vm;
    lstmae_metrics_init(&vm);
    assert_int_equal(lstmae_evaluate(m, &va.s, &vm), LSTMAE_OK);
    assert_true(vm.loss == t.valid[best]);
    assert_int_equal(lstmae_epochs_done(m), best + 1);
    /* and equals a model trained for exactly that many epochs */
    lstmae_model *ref = tu_make_model(3, 16, 8, 1, LSTMAE_LOSS_MSE, 4);
    lstmae_fit_options r = fit_opts(best + 1);
    r.learning_rate = 0.05f;
    assert_int_equal(lstmae_fit(ref, &tr.s, NULL, &r, NULL), LSTMAE_OK);
    assert_same_model(m, ref);
    print_message("best epoch %d of %d run\n", best + 1, t.epochs);
    /* patience without a validation set is an invalid argument */
    assert_int_equal(lstmae_fit(m, &tr.s, NULL, &o, NULL), LSTMAE_ERR_INVALID_ARG);
    lstmae_free(ref);
    lstmae_free(m);
}

static void test_checkpoints(void **state)
{
    (void)state;
    dataset d;
    make_data(&d, 41, 40);
    char path[300];
    path_in_tmp(path, sizeof path, "ckpt.lstmae");
    lstmae_fit_options o = fit_opts(5);
    o.checkpoint_path = path;
    o.checkpoint_every = 2;
    lstmae_model *m = tu_make_model(3, 5, 4, 1, LSTMAE_LOSS_MSE, 8);
    assert_int_equal(lstmae_fit(m, &d.s, NULL, &o, NULL), LSTMAE_OK);
    lstmae_model *ck = NULL, *ref = tu_make_model(3, 5, 4, 1, LSTMAE_LOSS_MSE, 8);
    assert_int_equal(lstmae_load(path, &ck), LSTMAE_OK);
    assert_int_equal(lstmae_epochs_done(ck), 4); /* epochs 2 and 4 saved */
    lstmae_fit_options r = fit_opts(4);
    assert_int_equal(lstmae_fit(ref, &d.s, NULL, &r, NULL), LSTMAE_OK);
    assert_same_model(ck, ref);
    /* an unwritable checkpoint path stops fit with LSTMAE_ERR_IO */
    o.checkpoint_path = "/nonexistent-dir/ckpt.lstmae";
    assert_int_equal(lstmae_fit(m, &d.s, NULL, &o, NULL), LSTMAE_ERR_IO);
    unlink(path);
    lstmae_free(ck);
    lstmae_free(ref);
    lstmae_free(m);
}

/* The committed version-1 file loads and encodes as it did when made:
   tests/data/golden_v1.lstmae and golden_v1_latent.bin (made by
   `test_io --make-golden DIR`). */
static void golden_model_and_data(lstmae_model **m, dataset *d)
{
    make_data(d, 77, 40);
    *m = tu_make_model(3, 6, 4, 2, LSTMAE_LOSS_BCE, 77);
    lstmae_fit_options o = fit_opts(3);
    assert_int_equal(lstmae_fit(*m, &d->s, NULL, &o, NULL), LSTMAE_OK);
}

static void test_golden_v1(void **state)
{
    (void)state;
    char latent_path[600];
    snprintf(latent_path, sizeof latent_path, "%s", golden_path);
    char *dot = strrchr(latent_path, '.');
    assert_non_null(dot);
    snprintf(dot, sizeof latent_path - (size_t)(dot - latent_path), "_latent.bin");
    lstmae_model *g = NULL;
    assert_int_equal(lstmae_load(golden_path, &g), LSTMAE_OK);
    dataset d;
    make_data(&d, 77, 40);
    float got[40 * 4], want[40 * 4];
    assert_int_equal(lstmae_encode(g, &d.s, got), LSTMAE_OK);
    FILE *f = fopen(latent_path, "rb");
    assert_non_null(f);
    unsigned char raw[sizeof want];
    assert_int_equal(fread(raw, 1, sizeof raw, f), sizeof raw);
    fclose(f);
    for (size_t i = 0; i < 40 * 4; i++) { /* little-endian binary32 */
        uint32_t u = (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 |
                     (uint32_t)raw[4 * i + 2] << 16 | (uint32_t)raw[4 * i + 3] << 24;
        memcpy(&want[i], &u, 4);
    }
    /* Bit-identical with the BLAS it was made with (OpenBLAS); another
       BLAS may sum in another order, hence float rounding (1e-6). */
    tu_assert_close("golden latent", got, want, 40 * 4, 1e-6, 0);
    assert_int_equal(lstmae_epochs_done(g), 3);
    lstmae_free(g);
}

/* ---- version 2: configuration records ------------------------------------ */

static uint32_t le32_at(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Appends one record (u16 tag, u16 flags, u32 length, payload) to rec. */
static void add_record(unsigned char *rec, size_t *n, uint32_t tag, uint32_t flags,
                       uint32_t len, uint64_t value)
{
    put_le(rec + *n, tag, 2);
    put_le(rec + *n + 2, flags, 2);
    put_le(rec + *n + 4, len, 4);
    *n += 8;
    for (uint32_t i = 0; i < len; i++)
        rec[*n + i] = (unsigned char)(i < 8 ? (value >> (8 * i)) & 0xFFu : 0x5Au);
    *n += len;
}

/* The six records a save writes for cfg (D H Z K loss seed), in tag order. */
static size_t standard_records(unsigned char *rec, const uint32_t v[5], uint64_t seed)
{
    size_t n = 0;
    for (uint32_t t = 0; t < 5; t++) add_record(rec, &n, IO_TAG_INPUT_DIM + t, 1, 4, v[t]);
    add_record(rec, &n, IO_TAG_SEED, 1, 8, seed);
    return n;
}

/* A copy of the version-2 file buf[size] with its record section replaced
   by section_len (the u32 at 24) and rec[n], the size field and the
   CRC-32C trailer fixed: only the records differ. */
static unsigned char *with_records(const unsigned char *buf, size_t size, uint32_t section_len,
                                   const unsigned char *rec, size_t n, size_t *out_size)
{
    size_t old = le32_at(buf + 24);
    size_t rest = size - 32 - old; /* tensors, state, checksum */
    *out_size = 32 + n + rest;
    unsigned char *c = malloc(*out_size);
    assert_non_null(c);
    memcpy(c, buf, 32);
    memcpy(c + 32, rec, n);
    memcpy(c + 32 + n, buf + 32 + old, rest);
    put_le(c + 16, *out_size, 8);
    put_le(c + 24, section_len, 4);
    put_le(c + *out_size - 4, io_crc32c(c, *out_size - 4), 4);
    return c;
}

/* Saves write version 2: the header, a record section of the six records
   in tag order, each required; loading and saving again gives the same
   bytes, with and without the training state. */
static void test_v2_round_trip(void **state)
{
    (void)state;
    dataset d;
    make_data(&d, 2, 40);
    lstmae_model *m = tu_make_model(3, 5, 4, 2, LSTMAE_LOSS_MSE, 0x123456789ABCDEFull);
    lstmae_fit_options o = fit_opts(2);
    assert_int_equal(lstmae_fit(m, &d.s, NULL, &o, NULL), LSTMAE_OK);
    for (unsigned flags = 0; flags <= LSTMAE_SAVE_INFERENCE_ONLY; flags++) {
        size_t size, again_size;
        unsigned char *buf = save_to_buffer(m, flags, &size);
        assert_int_equal(le32_at(buf + 8), 2);
        assert_int_equal(le32_at(buf + 12), flags ? 0u : 1u);
        uint32_t v[5] = { 3, 5, 4, 2, LSTMAE_LOSS_MSE };
        unsigned char rec[128];
        size_t n = standard_records(rec, v, 0x123456789ABCDEFull);
        /* without the training state, the epochs trained (tag 14) */
        if (flags) add_record(rec, &n, IO_TAG_EPOCHS, 0, 8, lstmae_epochs_done(m));
        assert_int_equal(le32_at(buf + 24), n);
        assert_int_equal(le32_at(buf + 28), 0);
        assert_memory_equal(buf + 32, rec, n);
        lstmae_model *l = NULL;
        assert_int_equal(lstmae_load_buffer(buf, size, &l), LSTMAE_OK);
        assert_same_model(m, l);
        assert_same_encoding(m, l, &d.s, 4);
        assert_int_equal(lstmae_epochs_done(l), 2); /* tag 14 without the state */
        unsigned char *again = save_to_buffer(l, flags, &again_size);
        assert_int_equal(again_size, size);
        assert_memory_equal(again, buf, size);
        print_message("flags %u: version 2, %zu bytes, %zu bytes of records, "
                      "re-saved bit-identical\n", flags, size, n);
        free(again);
        free(buf);
        lstmae_free(l);
    }
    lstmae_free(m);
}

/* A GRU model: tag 7 (cell = 1, required) follows the six standard
   records, and only there (an LSTM's file has none, see
   test_v2_round_trip); it loads to the same configuration, parameters
   (bit for bit), training state and encoding, and re-saves to the same
   bytes. */
static void test_v2_gru_round_trip(void **state)
{
    (void)state;
    dataset d;
    make_data(&d, 5, 40);
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = 3;
    cfg.hidden_dim = 5;
    cfg.latent_dim = 4;
    cfg.num_layers = 2;
    cfg.loss = LSTMAE_LOSS_MSE;
    cfg.seed = 31;
    cfg.cell = LSTMAE_CELL_GRU;
    lstmae_model *m = NULL;
    assert_int_equal(lstmae_create(&cfg, &m), LSTMAE_OK);
    assert_int_equal(lstmae_param_count(m), 8 * 2 + 4);
    lstmae_fit_options o = fit_opts(2);
    assert_int_equal(lstmae_fit(m, &d.s, NULL, &o, NULL), LSTMAE_OK);
    for (unsigned flags = 0; flags <= LSTMAE_SAVE_INFERENCE_ONLY; flags++) {
        size_t size, again_size;
        unsigned char *buf = save_to_buffer(m, flags, &size);
        assert_int_equal(le32_at(buf + 8), 2);
        uint32_t v[5] = { 3, 5, 4, 2, LSTMAE_LOSS_MSE };
        unsigned char rec[128];
        size_t n = standard_records(rec, v, 31);
        add_record(rec, &n, IO_TAG_CELL, IO_RECORD_REQUIRED, 4, LSTMAE_CELL_GRU);
        if (flags) add_record(rec, &n, IO_TAG_EPOCHS, 0, 8, lstmae_epochs_done(m));
        assert_int_equal(n, 76 + 12 + (flags ? 16 : 0));
        assert_int_equal(le32_at(buf + 24), n);
        assert_memory_equal(buf + 32, rec, n);
        lstmae_model *l = NULL;
        assert_int_equal(lstmae_load_buffer(buf, size, &l), LSTMAE_OK);
        assert_same_model(m, l); /* parameters bit for bit, and the config */
        lstmae_config got;
        lstmae_config_init(&got);
        assert_int_equal(lstmae_get_config(l, &got), LSTMAE_OK);
        assert_int_equal(got.cell, LSTMAE_CELL_GRU);
        assert_same_encoding(m, l, &d.s, 4);
        assert_int_equal(lstmae_epochs_done(l), 2); /* tag 14 without the state */
        unsigned char *again = save_to_buffer(l, flags, &again_size);
        assert_int_equal(again_size, size);
        assert_memory_equal(again, buf, size);
        if (flags == 0) {
            /* the training state came through: both train on alike */
            lstmae_fit_options o1 = fit_opts(1);
            lstmae_model *m2 = NULL;
            assert_int_equal(lstmae_load_buffer(buf, size, &m2), LSTMAE_OK);
            assert_int_equal(lstmae_fit(m2, &d.s, NULL, &o1, NULL), LSTMAE_OK);
            assert_int_equal(lstmae_fit(l, &d.s, NULL, &o1, NULL), LSTMAE_OK);
            assert_same_model(m2, l);
            lstmae_free(m2);
        }
        print_message("gru, flags %u: %zu bytes, %zu bytes of records (tag 7 last), "
                      "re-saved bit-identical\n", flags, size, n);
        free(again);
        free(buf);
        lstmae_free(l);
    }
    lstmae_free(m);
}

/* The version-1 golden file loads, saves as version 2 (52 bytes longer:
   84 bytes of records where version 1 had 32), and that loads to the same
   configuration, parameters, training state and encoding. */
static void test_v1_resaves_as_v2(void **state)
{
    (void)state;
    lstmae_model *g = NULL, *l = NULL;
    assert_int_equal(lstmae_load(golden_path, &g), LSTMAE_OK);
    FILE *f = fopen(golden_path, "rb");
    assert_non_null(f);
    unsigned char head[24];
    assert_int_equal(fread(head, 1, 24, f), 24);
    fclose(f);
    assert_int_equal(le32_at(head + 8), 1);
    size_t v1_size = (size_t)le32_at(head + 16);
    size_t size;
    unsigned char *buf = save_to_buffer(g, 0, &size);
    assert_int_equal(le32_at(buf + 8), 2);
    assert_int_equal(size, v1_size + 52);
    assert_int_equal(lstmae_load_buffer(buf, size, &l), LSTMAE_OK);
    assert_same_model(g, l);
    dataset d;
    make_data(&d, 77, 40);
    assert_same_encoding(g, l, &d.s, 4);
    assert_int_equal(lstmae_epochs_done(l), 3);
    /* the training state came through too: both train on alike */
    lstmae_fit_options o = fit_opts(1);
    assert_int_equal(lstmae_fit(g, &d.s, NULL, &o, NULL), LSTMAE_OK);
    assert_int_equal(lstmae_fit(l, &d.s, NULL, &o, NULL), LSTMAE_OK);
    assert_same_model(g, l);
    print_message("golden v1: %zu bytes, re-saved as v2: %zu bytes, same model\n", v1_size, size);

    /* version 1 knows losses 0 and 1 only */
    unsigned char *v1 = malloc(v1_size);
    assert_non_null(v1);
    f = fopen(golden_path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(v1, 1, v1_size, f), v1_size);
    fclose(f);
    for (uint32_t loss = 0; loss < 4; loss++) {
        put_le(v1 + 40, loss, 4);
        put_le(v1 + v1_size - 4, io_crc32c(v1, v1_size - 4), 4);
        lstmae_model *out = NULL;
        int st = lstmae_load_buffer(v1, v1_size, &out);
        assert_int_equal(st, loss <= 1 ? LSTMAE_OK : LSTMAE_ERR_FORMAT);
        lstmae_free(out);
    }
    free(v1);
    free(buf);
    lstmae_free(l);
    lstmae_free(g);
}

/* Crafted record sections: what loads and what is LSTMAE_ERR_FORMAT. */
static void test_v2_records(void **state)
{
    (void)state;
    lstmae_model *m = tu_make_model(2, 3, 2, 1, LSTMAE_LOSS_BCE, 99);
    size_t size;
    unsigned char *buf = save_to_buffer(m, 0, &size);
    const uint32_t good[5] = { 2, 3, 2, 1, LSTMAE_LOSS_BCE };
    enum { OK_SAME, BAD };
    int loaded = 0, rejected = 0;
    for (int k = 0;; k++) {
        unsigned char rec[512];
        size_t n = 0;
        uint32_t v[5];
        memcpy(v, good, sizeof v);
        int want = OK_SAME;
        int section_extra = 0; /* section length minus the records' bytes */
        const char *what;
        switch (k) {
        case 0: what = "as saved"; n = standard_records(rec, v, 99); break;
        case 1:
            what = "tag order reversed";
            add_record(rec, &n, IO_TAG_SEED, 1, 8, 99);
            for (uint32_t t = 5; t >= 1; t--) add_record(rec, &n, t, 1, 4, v[t - 1]);
            break;
        case 2:
            what = "unknown optional tags first, between and last";
            add_record(rec, &n, 500, 0, 5, 0x1122334455ull);
            n += standard_records(rec + n, v, 99);
            add_record(rec, &n, 0xFFFF, 0, 0, 0);
            add_record(rec, &n, 300, 0, 8, 0x3FF0000000000000ull);
            add_record(rec, &n, 77, 0, 300, 0);
            break;
        case 3:
            what = "unknown required tag";
            want = BAD;
            n = standard_records(rec, v, 99);
            add_record(rec, &n, 500, IO_RECORD_REQUIRED, 4, 0);
            break;
        case 4:
            what = "cell = gru, but an lstm's tensors";
            want = BAD;
            n = standard_records(rec, v, 99);
            add_record(rec, &n, IO_TAG_CELL, IO_RECORD_REQUIRED, 4, 1);
            break;
        case 5: case 6: case 7: case 8: case 9: case 10: {
            static const char *names[] = { "missing input_dim", "missing hidden_dim",
                                           "missing latent_dim", "missing num_layers",
                                           "missing loss", "missing seed" };
            uint32_t skip = (uint32_t)(k - 4);
            what = names[skip - 1];
            want = BAD;
            for (uint32_t t = 1; t <= 5; t++)
                if (t != skip) add_record(rec, &n, t, 1, 4, v[t - 1]);
            if (skip != IO_TAG_SEED) add_record(rec, &n, IO_TAG_SEED, 1, 8, 99);
            break;
        }
        case 11:
            what = "hidden_dim twice, same value";
            want = BAD;
            n = standard_records(rec, v, 99);
            add_record(rec, &n, IO_TAG_HIDDEN_DIM, 1, 4, 3);
            break;
        case 12:
            what = "seed twice";
            want = BAD;
            n = standard_records(rec, v, 99);
            add_record(rec, &n, IO_TAG_SEED, 1, 8, 99);
            break;
        case 13:
            what = "last record runs past the section";
            want = BAD;
            n = standard_records(rec, v, 99);
            add_record(rec, &n, 500, 0, 4, 0);
            section_extra = -2;
            break;
        case 14:
            what = "section runs past the file";
            want = BAD;
            n = standard_records(rec, v, 99);
            section_extra = 1 << 20;
            break;
        case 15:
            what = "3 bytes after the last record";
            want = BAD;
            n = standard_records(rec, v, 99);
            rec[n++] = 1; rec[n++] = 0; rec[n++] = 0;
            break;
        case 16:
            what = "input_dim with an 8-byte payload";
            want = BAD;
            add_record(rec, &n, IO_TAG_INPUT_DIM, 1, 8, 2);
            for (uint32_t t = 2; t <= 5; t++) add_record(rec, &n, t, 1, 4, v[t - 1]);
            add_record(rec, &n, IO_TAG_SEED, 1, 8, 99);
            break;
        case 17:
            what = "seed with a 4-byte payload";
            want = BAD;
            for (uint32_t t = 1; t <= 5; t++) add_record(rec, &n, t, 1, 4, v[t - 1]);
            add_record(rec, &n, IO_TAG_SEED, 1, 4, 99);
            break;
        case 18:
            what = "unknown record flag bit";
            want = BAD;
            n = standard_records(rec, v, 99);
            add_record(rec, &n, 500, 2, 0, 0);
            break;
        case 19:
            what = "tag 0";
            want = BAD;
            n = standard_records(rec, v, 99);
            add_record(rec, &n, 0, 0, 0, 0);
            break;
        case 20: case 21: case 22: case 23: case 24: case 25: case 26: case 27: case 28: {
            static const struct { const char *what; int field; uint32_t value; } range[] = {
                { "input_dim 0", 0, 0 },
                { "input_dim 65537", 0, 65537 },
                { "hidden_dim 2^31", 1, 0x80000000u },
                { "latent_dim 0", 2, 0 },
                { "num_layers 65", 3, 65 },
                { "num_layers 0", 3, 0 },
                { "loss 99", 4, 99 },
                { "loss 2^32-1", 4, 0xFFFFFFFFu },
                { "hidden_dim 4, in range but not the tensors'", 1, 4 },
            };
            what = range[k - 20].what;
            want = BAD;
            v[range[k - 20].field] = range[k - 20].value;
            n = standard_records(rec, v, 99);
            break;
        }
        case 29:
            what = "empty section";
            want = BAD;
            break;
        case 30:
            what = "cell = lstm written out (the default), first";
            add_record(rec, &n, IO_TAG_CELL, IO_RECORD_REQUIRED, 4, LSTMAE_CELL_LSTM);
            n += standard_records(rec + n, v, 99);
            break;
        case 31:
            what = "cell 2 (unknown value)";
            want = BAD;
            n = standard_records(rec, v, 99);
            add_record(rec, &n, IO_TAG_CELL, IO_RECORD_REQUIRED, 4, 2);
            break;
        case 32:
            what = "cell 2^32-1";
            want = BAD;
            n = standard_records(rec, v, 99);
            add_record(rec, &n, IO_TAG_CELL, 0, 4, 0xFFFFFFFFu);
            break;
        case 33:
            what = "cell twice";
            want = BAD;
            n = standard_records(rec, v, 99);
            add_record(rec, &n, IO_TAG_CELL, IO_RECORD_REQUIRED, 4, 0);
            add_record(rec, &n, IO_TAG_CELL, IO_RECORD_REQUIRED, 4, 0);
            break;
        case 34:
            what = "cell with an 8-byte payload";
            want = BAD;
            n = standard_records(rec, v, 99);
            add_record(rec, &n, IO_TAG_CELL, IO_RECORD_REQUIRED, 8, 0);
            break;
        default: what = NULL; break;
        }
        if (!what) break;
        size_t csize;
        uint32_t section_len = (uint32_t)((long)n + section_extra);
        unsigned char *c = with_records(buf, size, section_len, rec, n, &csize);
        lstmae_model *out = (lstmae_model *)c; /* must become NULL on failure */
        int st = lstmae_load_buffer(c, csize, &out);
        if (want == OK_SAME) {
            if (st != LSTMAE_OK) fail_msg("%s: status %d, expected LSTMAE_OK", what, st);
            assert_same_model(m, out);
            /* and it saves back to the standard records */
            size_t again_size;
            unsigned char *again = save_to_buffer(out, 0, &again_size);
            assert_int_equal(again_size, size);
            assert_memory_equal(again, buf, size);
            free(again);
            loaded++;
        } else {
            if (st != LSTMAE_ERR_FORMAT || out != NULL)
                fail_msg("%s: status %d, expected LSTMAE_ERR_FORMAT", what, st);
            rejected++;
        }
        print_message("%-48s %s\n", what, st == LSTMAE_OK ? "loads" : "LSTMAE_ERR_FORMAT");
        lstmae_free(want == OK_SAME ? out : NULL);
        free(c);
    }
    assert_int_equal(loaded, 4);
    assert_int_equal(rejected, 31);
    free(buf);
    lstmae_free(m);
}

/* ---- version 2: the variants (issue 12) ----------------------------------- */

/* A model with every variant on: the cell given, bidirectional,
   reverse_target, decoder_init latent, decoder_feedback, K = 2, D = 3
   (or d), cross-entropy (or loss). */
static lstmae_model *all_variants_model(lstmae_cell cell, int d, lstmae_loss loss,
                                        uint64_t seed)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = d;
    cfg.hidden_dim = 5;
    cfg.latent_dim = 4;
    cfg.num_layers = 2;
    cfg.loss = loss;
    cfg.seed = seed;
    cfg.cell = cell;
    cfg.bidirectional = 1;
    cfg.reverse_target = 1;
    cfg.decoder_init = LSTMAE_DECODER_INIT_LATENT;
    cfg.decoder_feedback = 1;
    lstmae_model *m = NULL;
    assert_int_equal(lstmae_create(&cfg, &m), LSTMAE_OK);
    /* per layer: encoder forward and _reverse, bridge, decoder */
    size_t per = cell == LSTMAE_CELL_GRU ? 4 : 3;
    assert_int_equal(lstmae_param_count(m), 2 * (3 * per + 2) + 4);
    return m;
}

/* The standard records of a save of all_variants_model, then its variant
   records (tags 7-11, cell only for a GRU), each required, in tag order. */
static size_t all_variants_records(unsigned char *rec, lstmae_cell cell, int d,
                                   lstmae_loss loss, uint64_t seed)
{
    const uint32_t v[5] = { (uint32_t)d, 5, 4, 2, (uint32_t)loss };
    size_t n = standard_records(rec, v, seed);
    if (cell != LSTMAE_CELL_LSTM) add_record(rec, &n, IO_TAG_CELL, IO_RECORD_REQUIRED, 4, cell);
    add_record(rec, &n, IO_TAG_BIDIRECTIONAL, IO_RECORD_REQUIRED, 4, 1);
    add_record(rec, &n, IO_TAG_REVERSE_TARGET, IO_RECORD_REQUIRED, 4, 1);
    add_record(rec, &n, IO_TAG_DECODER_INIT, IO_RECORD_REQUIRED, 4, LSTMAE_DECODER_INIT_LATENT);
    add_record(rec, &n, IO_TAG_DECODER_FEEDBACK, IO_RECORD_REQUIRED, 4, 1);
    return n;
}

/* encode, reconstruct, decode (free-running: the model has feedback) and
   evaluate of a and b: the same bits. */
static void assert_same_outputs(const lstmae_model *a, const lstmae_model *b,
                                const lstmae_sequences *s, size_t Z, size_t D)
{
    assert_same_encoding(a, b, s, Z);
    size_t nx = s->count * s->max_len * D;
    float *ra = malloc(nx * sizeof *ra), *rb = malloc(nx * sizeof *rb);
    float *z = malloc(s->count * Z * sizeof *z);
    assert_non_null(ra);
    assert_non_null(rb);
    assert_non_null(z);
    assert_int_equal(lstmae_reconstruct(a, s, ra), LSTMAE_OK);
    assert_int_equal(lstmae_reconstruct(b, s, rb), LSTMAE_OK);
    tu_assert_bits_equal("reconstruct", ra, rb, nx);
    assert_int_equal(lstmae_encode(a, s, z), LSTMAE_OK);
    assert_int_equal(lstmae_decode(a, z, s->count, s->max_len, ra), LSTMAE_OK);
    assert_int_equal(lstmae_decode(b, z, s->count, s->max_len, rb), LSTMAE_OK);
    tu_assert_bits_equal("decode", ra, rb, nx);
    lstmae_metrics ma, mb;
    lstmae_metrics_init(&ma);
    lstmae_metrics_init(&mb);
    assert_int_equal(lstmae_evaluate(a, s, &ma), LSTMAE_OK);
    assert_int_equal(lstmae_evaluate(b, s, &mb), LSTMAE_OK);
    assert_memory_equal(&ma.loss, &mb.loss, sizeof ma.loss);
    assert_memory_equal(&ma.accuracy, &mb.accuracy, sizeof ma.accuracy);
    assert_true(ma.elements == mb.elements);
    free(ra);
    free(rb);
    free(z);
}

/* A model with every variant on (LSTM and GRU, K = 2, cross-entropy),
   trained 2 epochs: its save begins its record section with the six
   standard records and then the variant records, required, in tag order
   (any later record is an optional one); it loads to the same
   configuration (every variant field), parameters (bit for bit) and
   outputs, and saves again to the same bytes, with and without the
   training state; with it, the loaded model trains on exactly as the
   original. */
static void test_v2_variants_round_trip(void **state)
{
    (void)state;
    dataset d;
    make_data(&d, 12, 40);
    for (int c = 0; c < 2; c++) {
        const lstmae_cell cell = c ? LSTMAE_CELL_GRU : LSTMAE_CELL_LSTM;
        const uint64_t seed = c ? 0xFEDCBA9876543211ull : 0xFEDCBA9876543210ull;
        lstmae_model *m = all_variants_model(cell, 3, LSTMAE_LOSS_CROSS_ENTROPY, seed);
        lstmae_fit_options o = fit_opts(2);
        assert_int_equal(lstmae_fit(m, &d.s, NULL, &o, NULL), LSTMAE_OK);
        /* inference-only first: the last round trains m on */
        for (int f = 1; f >= 0; f--) {
            unsigned flags = f ? LSTMAE_SAVE_INFERENCE_ONLY : 0u;
            size_t size, again_size;
            unsigned char *buf = save_to_buffer(m, flags, &size);
            assert_int_equal(le32_at(buf + 8), 2);
            assert_int_equal(le32_at(buf + 12), flags ? 0u : 1u);
            unsigned char rec[256];
            size_t n = all_variants_records(rec, cell, 3, LSTMAE_LOSS_CROSS_ENTROPY, seed);
            assert_int_equal(n, 76 + 12 * (cell == LSTMAE_CELL_GRU ? 5 : 4));
            size_t section = le32_at(buf + 24);
            assert_true(section >= n);
            assert_memory_equal(buf + 32, rec, n);
            for (size_t at = 32 + n; at < 32 + section;) { /* optional ones only */
                assert_int_equal(buf[at + 2] & IO_RECORD_REQUIRED, 0);
                at += 8 + le32_at(buf + at + 4);
            }
            lstmae_model *l = NULL;
            assert_int_equal(lstmae_load_buffer(buf, size, &l), LSTMAE_OK);
            assert_same_model(m, l); /* parameters bit for bit, the whole config */
            lstmae_config got;
            lstmae_config_init(&got);
            assert_int_equal(lstmae_get_config(l, &got), LSTMAE_OK);
            assert_int_equal(got.input_dim, 3);
            assert_int_equal(got.hidden_dim, 5);
            assert_int_equal(got.latent_dim, 4);
            assert_int_equal(got.num_layers, 2);
            assert_int_equal(got.loss, LSTMAE_LOSS_CROSS_ENTROPY);
            assert_true(got.seed == seed);
            assert_int_equal(got.cell, cell);
            assert_int_equal(got.bidirectional, 1);
            assert_int_equal(got.reverse_target, 1);
            assert_int_equal(got.decoder_init, LSTMAE_DECODER_INIT_LATENT);
            assert_int_equal(got.decoder_feedback, 1);
            assert_same_outputs(m, l, &d.s, 4, 3);
            unsigned char *again = save_to_buffer(l, flags, &again_size);
            assert_int_equal(again_size, size);
            assert_memory_equal(again, buf, size);
            free(again);
            if (!flags) {
                /* the training state came through: both train on alike */
                assert_int_equal(lstmae_epochs_done(l), 2);
                lstmae_fit_options o1 = fit_opts(1);
                assert_int_equal(lstmae_fit(m, &d.s, NULL, &o1, NULL), LSTMAE_OK);
                assert_int_equal(lstmae_fit(l, &d.s, NULL, &o1, NULL), LSTMAE_OK);
                assert_same_model(m, l);
                assert_same_outputs(m, l, &d.s, 4, 3);
                unsigned char *b2 = save_to_buffer(m, 0, &size);
                again = save_to_buffer(l, 0, &again_size);
                assert_int_equal(again_size, size);
                assert_memory_equal(again, b2, size);
                free(again);
                free(b2);
            }
            /* and through a file */
            char path[512];
            path_in_tmp(path, sizeof path, "variants.lstmae");
            assert_int_equal(lstmae_save_ex(l, path, flags), LSTMAE_OK);
            lstmae_model *fl = NULL;
            assert_int_equal(lstmae_load(path, &fl), LSTMAE_OK);
            assert_same_model(l, fl);
            assert_same_outputs(l, fl, &d.s, 4, 3);
            unlink(path);
            lstmae_free(fl);
            print_message("%s, every variant, ce, flags %u: %zu bytes, %zu bytes of "
                          "records (%zu of them the variants'), re-saved bit-identical\n",
                          cell == LSTMAE_CELL_GRU ? "gru" : "lstm", flags, size, section,
                          n - 76);
            free(buf);
            lstmae_free(l);
        }
        lstmae_free(m);
    }
}

/* Crafted record sections of a model with every variant on: the variant
   records in any order load the same model (which saves back to the
   original bytes); an invalid value, a wrong payload length, a duplicate,
   or a record that disagrees with the tensors is LSTMAE_ERR_FORMAT. */
static void test_v2_variant_records(void **state)
{
    (void)state;
    const uint64_t seed = 4242;
    const lstmae_loss ce = LSTMAE_LOSS_CROSS_ENTROPY;
    int loaded = 0, rejected = 0;
    for (int c = 0; c < 2; c++) {
        const lstmae_cell cell = c ? LSTMAE_CELL_GRU : LSTMAE_CELL_LSTM;
        lstmae_model *m = all_variants_model(cell, 3, ce, seed);
        /* D = 1 and bce: its tensors fit cross-entropy's but for D */
        lstmae_model *m1 = all_variants_model(cell, 1, LSTMAE_LOSS_BCE, seed);
        size_t size, size1;
        unsigned char *buf = save_to_buffer(m, 0, &size);
        unsigned char *buf1 = save_to_buffer(m1, 0, &size1);
        const uint32_t v[5] = { 3, 5, 4, 2, (uint32_t)ce };
        /* the variant records as saved: tag, value */
        uint32_t vt[5], vv[5];
        size_t nv = 0;
        if (cell != LSTMAE_CELL_LSTM) { vt[nv] = IO_TAG_CELL; vv[nv++] = cell; }
        vt[nv] = IO_TAG_BIDIRECTIONAL; vv[nv++] = 1;
        vt[nv] = IO_TAG_REVERSE_TARGET; vv[nv++] = 1;
        vt[nv] = IO_TAG_DECODER_INIT; vv[nv++] = LSTMAE_DECODER_INIT_LATENT;
        vt[nv] = IO_TAG_DECODER_FEEDBACK; vv[nv++] = 1;
        enum { OK_SAME, OK_OTHER, BAD };
        for (int k = 0;; k++) {
            unsigned char rec[512];
            size_t n = 0;
            int want = BAD;
            const unsigned char *base = buf;
            size_t base_size = size;
            const char *what;
            /* the variant record that case k changes (k 6..29: 4 per tag) */
            switch (k) {
            case 0:
                what = "as saved";
                want = OK_SAME;
                n = all_variants_records(rec, cell, 3, ce, seed);
                break;
            case 1:
                what = "variant records first, reversed";
                want = OK_SAME;
                for (size_t i = nv; i-- > 0;) add_record(rec, &n, vt[i], 1, 4, vv[i]);
                n += standard_records(rec + n, v, seed);
                break;
            case 2:
                what = "variant and standard records interleaved";
                want = OK_SAME;
                add_record(rec, &n, IO_TAG_SEED, 1, 8, seed);
                for (size_t i = 0; i < nv; i++) {
                    add_record(rec, &n, vt[i], 1, 4, vv[i]);
                    if (i < 5) add_record(rec, &n, IO_TAG_LOSS - (uint32_t)i, 1, 4, v[4 - i]);
                }
                for (size_t i = nv; i < 5; i++)
                    add_record(rec, &n, IO_TAG_LOSS - (uint32_t)i, 1, 4, v[4 - i]);
                break;
            case 3:
                what = "variant records marked optional";
                want = OK_SAME;
                n = standard_records(rec, v, seed);
                for (size_t i = 0; i < nv; i++) add_record(rec, &n, vt[i], 0, 4, vv[i]);
                break;
            case 4:
                what = "loss 3 (unknown)";
                n = all_variants_records(rec, cell, 3, (lstmae_loss)3, seed);
                break;
            case 5:
                what = "cross-entropy with input_dim 1";
                base = buf1;
                base_size = size1;
                n = all_variants_records(rec, cell, 1, ce, seed);
                break;
            case 6:
                what = "the D = 1 model's own records (bce)";
                want = OK_OTHER;
                base = buf1;
                base_size = size1;
                n = all_variants_records(rec, cell, 1, LSTMAE_LOSS_BCE, seed);
                break;
            case 7:
                what = "reverse_target absent (0: the same tensors)";
                want = OK_OTHER;
                n = standard_records(rec, v, seed);
                for (size_t i = 0; i < nv; i++)
                    if (vt[i] != IO_TAG_REVERSE_TARGET) add_record(rec, &n, vt[i], 1, 4, vv[i]);
                break;
            default: {
                /* per variant tag (8-11): an invalid value, 2^32-1, an
                   8-byte payload, twice, absent (the tensors disagree,
                   except reverse_target, case 7) */
                int j = k - 8, tag = 8 + j / 5, kind = j % 5;
                if (tag > 11) { what = NULL; break; }
                static char name[96];
                static const char *tagname[] = { "bidirectional", "reverse_target",
                                                 "decoder_init", "decoder_feedback" };
                static const char *kindname[] = { "value 2", "value 2^32-1",
                                                  "8-byte payload", "twice", "absent" };
                /* reverse_target absent loads (case 7): value 3 instead */
                const int rt3 = kind == 4 && tag == IO_TAG_REVERSE_TARGET;
                const int di7 = kind == 0 && tag == IO_TAG_DECODER_INIT;
                snprintf(name, sizeof name, "%s: %s", tagname[tag - 8],
                         rt3 ? "value 3" : di7 ? "value 7 (and 2)" : kindname[kind]);
                what = name;
                n = standard_records(rec, v, seed);
                for (size_t i = 0; i < nv; i++) {
                    if ((int)vt[i] != tag) {
                        add_record(rec, &n, vt[i], 1, 4, vv[i]);
                        continue;
                    }
                    switch (kind) {
                    case 0: add_record(rec, &n, vt[i], 1, 4, di7 ? 7 : 2); break;
                    case 1: add_record(rec, &n, vt[i], 1, 4, 0xFFFFFFFFu); break;
                    case 2: add_record(rec, &n, vt[i], 1, 8, vv[i]); break;
                    case 3:
                        add_record(rec, &n, vt[i], 1, 4, vv[i]);
                        add_record(rec, &n, vt[i], 1, 4, vv[i]);
                        break;
                    default: /* absent */
                        if (rt3) add_record(rec, &n, vt[i], 1, 4, 3);
                        break;
                    }
                }
                if (di7) {
                    /* and 2, the first value past the enum */
                    size_t cs;
                    unsigned char r2[512];
                    size_t n2 = standard_records(r2, v, seed);
                    for (size_t i = 0; i < nv; i++)
                        add_record(r2, &n2, vt[i], 1, 4, (int)vt[i] == tag ? 2 : vv[i]);
                    unsigned char *c2 = with_records(buf, size, (uint32_t)n2, r2, n2, &cs);
                    lstmae_model *o2 = NULL;
                    assert_int_equal(lstmae_load_buffer(c2, cs, &o2), LSTMAE_ERR_FORMAT);
                    assert_null(o2);
                    free(c2);
                }
                break;
            }
            }
            if (!what) break;
            size_t csize;
            unsigned char *cbuf = with_records(base, base_size, (uint32_t)n, rec, n, &csize);
            lstmae_model *out = (lstmae_model *)cbuf; /* must become NULL on failure */
            int st = lstmae_load_buffer(cbuf, csize, &out);
            if (want == BAD) {
                if (st != LSTMAE_ERR_FORMAT || out != NULL)
                    fail_msg("%s: status %d, expected LSTMAE_ERR_FORMAT", what, st);
                rejected++;
            } else {
                if (st != LSTMAE_OK) fail_msg("%s: status %d, expected LSTMAE_OK", what, st);
                lstmae_config got;
                lstmae_config_init(&got);
                assert_int_equal(lstmae_get_config(out, &got), LSTMAE_OK);
                if (want == OK_SAME) {
                    assert_same_model(m, out);
                    size_t again_size;
                    unsigned char *again = save_to_buffer(out, 0, &again_size);
                    assert_int_equal(again_size, size);
                    assert_memory_equal(again, buf, size);
                    free(again);
                } else if (k == 6) {
                    assert_same_model(m1, out);
                } else {
                    assert_int_equal(got.reverse_target, 0);
                    assert_int_equal(got.bidirectional, 1);
                    assert_int_equal(got.decoder_feedback, 1);
                }
                loaded++;
                lstmae_free(out);
            }
            print_message("%s, %-44s %s\n", cell == LSTMAE_CELL_GRU ? "gru " : "lstm", what,
                          st == LSTMAE_OK ? "loads" : "LSTMAE_ERR_FORMAT");
            free(cbuf);
        }
        free(buf);
        free(buf1);
        lstmae_free(m1);
        lstmae_free(m);
    }
    assert_int_equal(loaded, 2 * 6);
    assert_int_equal(rejected, 2 * (2 + 4 * 5));
}

static int make_golden(const char *dir)
{
    lstmae_model *m;
    dataset d;
    golden_model_and_data(&m, &d);
    char path[600];
    snprintf(path, sizeof path, "%s/golden_v1.lstmae", dir);
    if (lstmae_save(m, path) != LSTMAE_OK) return 1;
    float lat[40 * 4];
    if (lstmae_encode(m, &d.s, lat) != LSTMAE_OK) return 1;
    snprintf(path, sizeof path, "%s/golden_v1_latent.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    for (size_t i = 0; i < 40 * 4; i++) {
        uint32_t u;
        memcpy(&u, &lat[i], 4);
        unsigned char b[4] = { (unsigned char)u, (unsigned char)(u >> 8),
                               (unsigned char)(u >> 16), (unsigned char)(u >> 24) };
        fwrite(b, 1, 4, f);
    }
    lstmae_free(m);
    return fclose(f) != 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lstmae-test-io-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(tmpdir);
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc == 3 && strcmp(argv[1], "--first-part") == 0) return first_part(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--make-golden") == 0) {
        /* only to make the file once; the test never rewrites it */
        if (setup(NULL) != 0) return 1;
        int rc = make_golden(argv[2]);
        teardown(NULL);
        return rc;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: test_io GOLDEN_V1_FILE | --make-golden DIR\n");
        return 1;
    }
    golden_path = argv[1];
    if (getenv("TEST_IO_FILTER")) cmocka_set_test_filter(getenv("TEST_IO_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_byte_and_truncation),
        cmocka_unit_test(test_foreign_and_missing),
        cmocka_unit_test(test_newer_version),
        cmocka_unit_test(test_save_failures_keep_old_file),
        cmocka_unit_test(test_write_failure_midway),
        cmocka_unit_test(test_save_into_devices),
        cmocka_unit_test(test_save_into_fifo),
        cmocka_unit_test(test_save_through_links),
        cmocka_unit_test(test_save_keeps_mode),
        cmocka_unit_test(test_save_umask_race),
        cmocka_unit_test(test_load_not_regular),
        cmocka_unit_test(test_load_large_foreign),
        cmocka_unit_test(test_counters_bounded),
        cmocka_unit_test(test_save_errno_kept),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_resume_other_process),
        cmocka_unit_test(test_early_stopping),
        cmocka_unit_test(test_checkpoints),
        cmocka_unit_test(test_golden_v1),
        cmocka_unit_test(test_v2_round_trip),
        cmocka_unit_test(test_v2_gru_round_trip),
        cmocka_unit_test(test_v1_resaves_as_v2),
        cmocka_unit_test(test_v2_records),
        cmocka_unit_test(test_v2_variants_round_trip),
        cmocka_unit_test(test_v2_variant_records),
    };
    return cmocka_run_group_tests_name("io", tests, setup, teardown);
}

/*
 * cli.h - what the parts of the lstmae command-line tool share: exit codes,
 * messages, whole-file reading, atomic file writing, the commands.
 *
 * Convention: a function that can fail prints its own message (naming the
 * file, the problem and where) and returns an exit code: CLI_OK, CLI_BAD
 * (bad usage or bad input) or CLI_FAIL (anything else). Callers just pass
 * the code up.
 */
#ifndef LSTMAE_CLI_H
#define LSTMAE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <lstmae.h>

#define CLI_OK   0 /* success                                       */
#define CLI_FAIL 1 /* anything else: out of memory, cannot write... */
#define CLI_BAD  2 /* bad usage or bad input                        */
#define CLI_INTERRUPTED 130 /* train stopped by SIGINT/SIGTERM, saved */
#define CLI_NOT_SAVED 3 /* train quit by a second signal, nothing saved */

#if defined(__GNUC__)
#  define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define CLI_PRINTF(a, b)
#endif

/* "lstmae: <message>\n" on standard error. */
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);

/* malloc(a * b) (at least 1 byte), NULL on overflow or failure; prints
   "out of memory" on failure. */
void *cli_alloc(size_t a, size_t b);

/* a * b * c without overflow: 1 and *out set, or 0. */
int cli_mul3(size_t a, size_t b, size_t c, size_t *out);

/* Reads the whole file. CLI_BAD when it cannot be opened or read (message
   names the file and the system's reason), CLI_FAIL when out of memory.
   *buf is malloc'ed (free it), and NUL-terminated past *size. */
int cli_read_file(const char *path, unsigned char **buf, size_t *size);

/* Writes `path`: fill(f, ctx) fills the file, which is flushed (and, for
   a regular file, fsync'ed). A regular file, or a new one, is replaced
   atomically through a temporary file ".NAME.tmp-XXXXXX" in its directory
   (created with mode 0666 less the umask; an existing file keeps its
   permissions and, where permitted, its owner), renamed over it. A
   symbolic link is followed: the link stays, its target is replaced. An
   existing device or FIFO is written in place, never replaced; a FIFO
   with no reader is an error at once, not a wait. SIGINT, SIGTERM and
   SIGHUP are held back meanwhile, so that no partial file is ever left.
   fill returns CLI_OK, -1 for a stdio error (reported here, with errno),
   or an exit code after printing its own message. Returns CLI_OK or an
   exit code; on failure a regular file at path is untouched and no
   temporary file is left. */
typedef int (*cli_writer)(FILE *f, const void *ctx);
int cli_write_atomic(const char *path, cli_writer fill, const void *ctx);

/* CLI_OK when path can be written: a file can be created in the directory
   of the file it names (a temporary one is made and removed), or it is a
   device or FIFO we may write; else CLI_FAIL with a message. Lets a long
   job fail before it starts rather than when it saves. */
int cli_check_writable(const char *path);

/* File types, by the name's ending (case-insensitive). */
typedef enum { CLI_FT_OTHER = 0, CLI_FT_NPY, CLI_FT_CSV } cli_filetype;
cli_filetype cli_filetype_of(const char *path);

/* cli_filetype_of, or CLI_BAD with a message for anything but .npy/.csv.
   `what` names the role ("data", "output") for the message. */
int cli_need_filetype(const char *path, const char *what, cli_filetype *out);

/* The first bytes of a model file: magic, version, flags, file size. */
#define CLI_MODEL_HEAD 24

/* Loads a model file, with messages: CLI_BAD for a missing, unreadable
   or bad model file (anything but a regular file is refused without
   blocking; a file whose magic or size field is wrong is refused before
   it is read), CLI_FAIL when out of memory. */
int cli_load_model(const char *path, lstmae_model **out);

/* cli_load_model, also copying the file's first CLI_MODEL_HEAD bytes to
   head (when not NULL) on success. */
int cli_load_model_head(const char *path, lstmae_model **out,
                        unsigned char *head);

/* lstmae_save with a message naming the file and the system's reason
   ("No space left on device", "File too large"): CLI_OK or CLI_FAIL. */
int cli_save_model(const lstmae_model *model, const char *path);

/* Process-wide settings, once at start-up: SIGXFSZ ignored, so that a file
   size limit is a write error (EFBIG) that is reported and cleaned up. */
void cli_init_process(void);

/* The names of enum values: what the options take (args_pick) and info
   prints. An entry with the value of the entry before it is an alias of
   it (ce, cross_entropy); the last name of a value is the one printed. */
typedef struct cli_name {
    const char *name;
    int value;
} cli_name;
#define CLI_NAMES(table) (table), (sizeof(table) / sizeof((table)[0]))
extern const cli_name cli_losses[4], cli_cells[2], cli_decoder_inits[2],
    cli_optimizers[2], cli_scalings[3], cli_rules[3];

/* The name printed for value v of table t[n]; "unknown" for none.
   CLI_NAME(cli_losses, cfg.loss) is cli_name_of for a whole table. */
const char *cli_name_of(const cli_name *t, size_t n, int v);
#define CLI_NAME(table, v) cli_name_of(CLI_NAMES(table), (int)(v))

/* "LABEL loss=L accuracy=A baseline_loss=BL baseline_accuracy=BA TAIL\n"
   on standard output: LABEL padded to 11 columns unless empty, the
   accuracies only when not NaN (mse), the baseline's when base is not NULL
   (seqset_baseline). */
void cli_print_metrics(const char *label, const lstmae_metrics *m,
                       const lstmae_metrics *base, const char *tail);

/* Seconds on a monotonic clock. */
double cli_now(void);

/* splitmix64. */
uint64_t cli_random(uint64_t *state);

/* The commands: argv[0] is the command's name. Each returns an exit code. */
int cmd_train(int argc, char **argv);
int cmd_encode(int argc, char **argv);
int cmd_decode(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_reconstruct(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_make_moving_ones(int argc, char **argv);

#endif /* LSTMAE_CLI_H */

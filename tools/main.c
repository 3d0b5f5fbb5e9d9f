/*
 * main.c - lstmae, the command-line tool: dispatch, help and version;
 * OpenBLAS's threads; standard output checked at exit.
 *
 * Built only on the public API of <lstmae.h>. Exit status: 0 success,
 * 2 bad usage or bad input, 1 any other failure, 130 training interrupted
 * (and the model saved), 3 training interrupted twice (nothing saved).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"

/* ---- OpenBLAS's threads --------------------------------------------------
 *
 * OpenBLAS starts its thread pool in a constructor, before main, sized by
 * OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or OMP_NUM_THREADS, else by the
 * number of CPUs. Each of its threads reserves a buffer of 128 MiB or so.
 * Under a small address-space limit (ulimit -v) that goes wrong before
 * main can do anything: with 64-128 MiB a thread loops forever trying to
 * allocate its buffer (the command works, then spins at 100% CPU in
 * OpenBLAS's exit, which waits for it); with less, pthread_create fails
 * and OpenBLAS raise()s SIGINT (exit 130, which means "interrupted, model
 * saved" here).
 *
 * The tool needs none of these threads (it parallelises with the
 * library's own, --threads). So, in the executable's .preinit_array,
 * which the dynamic loader runs before any shared library's constructor:
 *   - when no thread count is set and the address space or data segment
 *     is limited, the tool executes itself again (/proc/self/exe) with
 *     OPENBLAS_NUM_THREADS=1 added to its environment; the variable then
 *     being set, that happens at most once;
 *   - SIGINT is caught until main: a SIGINT that OpenBLAS sends itself
 *     (its threads could not start: too little memory, too many
 *     processes) becomes that same re-execution, or, when the user set
 *     the thread count, a message and exit status 1. Any other SIGINT
 *     meanwhile acts as it would have.
 * setenv() cannot be used there: the C library's own start-up, which runs
 * after the .preinit_array, resets the environment to the one exec gave.
 */
#if defined(LSTMAE_USE_OPENBLAS) && defined(__linux__) && defined(__ELF__)
#define CLI_EARLY 1

static char **early_argv, **early_envp;
static struct sigaction early_old_int;
static volatile sig_atomic_t early_active;

static const char single_thread[] = "OPENBLAS_NUM_THREADS=1";

static int starts_with(const char *s, const char *prefix)
{
    while (*prefix != '\0')
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

/* The user chose OpenBLAS's thread count. */
static int threads_set(char **envp)
{
    for (char **e = envp; e != NULL && *e != NULL; e++)
        if ((starts_with(*e, "OPENBLAS_NUM_THREADS=") ||
             starts_with(*e, "GOTO_NUM_THREADS=") ||
             starts_with(*e, "OMP_NUM_THREADS=")) &&
            strchr(*e, '=')[1] != '\0')
            return 1;
    return 0;
}

/* Executes /proc/self/exe again with OPENBLAS_NUM_THREADS=1; returns only
   when that fails. Async-signal-safe. */
static void exec_single_threaded(void)
{
    size_t n = 0;
    while (early_envp != NULL && early_envp[n] != NULL)
        n++;
    if (early_argv == NULL || n > 65536)
        return;
    char *env[n + 2];
    for (size_t i = 0; i < n; i++)
        env[i] = early_envp[i];
    env[n] = (char *)single_thread;
    env[n + 1] = NULL;
    execve("/proc/self/exe", early_argv, env);
}

static void early_write(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

static void early_on_sigint(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    if (early_active && info != NULL && info->si_code <= 0 &&
        info->si_pid == getpid()) {
        /* OpenBLAS's own SIGINT: its threads could not start. */
        if (!threads_set(early_envp)) {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGINT);
            sigprocmask(SIG_UNBLOCK, &set, NULL);
            exec_single_threaded();
        }
        early_write("lstmae: OpenBLAS could not start its threads (too "
                    "little memory, see ulimit -v, or too many processes); "
                    "run with OPENBLAS_NUM_THREADS=1\n");
        _exit(CLI_FAIL);
    }
    /* Anyone else's: as it would have acted without us. */
    sigaction(sig, &early_old_int, NULL);
    raise(sig);
}

static int memory_limited(void)
{
    struct rlimit r;
    return (getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_cur != RLIM_INFINITY) ||
           (getrlimit(RLIMIT_DATA, &r) == 0 && r.rlim_cur != RLIM_INFINITY);
}

static void early_start(int argc, char **argv, char **envp)
{
    (void)argc;
    early_argv = argv;
    early_envp = envp;
    if (!threads_set(envp) && memory_limited())
        exec_single_threaded(); /* returns only if it failed */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = early_on_sigint;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, &early_old_int) == 0)
        early_active = 1;
}

__attribute__((section(".preinit_array"), used))
static void (*const early_start_ptr)(int, char **, char **) = early_start;

/* In main: OpenBLAS is up; SIGINT as it was. Returns 1 when the user set
   the thread count under a memory limit: OpenBLAS's threads may then be
   stuck, and its exit would wait for them forever, so the tool ends with
   _exit, after closing standard output. */
static int early_finish(void)
{
    if (early_active) {
        early_active = 0;
        sigaction(SIGINT, &early_old_int, NULL);
    }
    return memory_limited() && threads_set(early_envp);
}
#else
static int early_finish(void)
{
    return 0;
}
#endif

/* ---- standard output ---------------------------------------------------- */

/* Flushes and closes standard output, as coreutils' close_stdout does: a
   write that failed (a full disk, /dev/full, a closed terminal) turns
   success into exit status 1, with a message. */
static int close_stdout(int code)
{
    errno = 0;
    int bad = fflush(stdout) != 0;
    int err = errno;
    bad |= ferror(stdout) != 0;
    errno = 0;
    if (fclose(stdout) != 0) {
        bad = 1;
        if (err == 0)
            err = errno;
    }
    if (bad) {
        if (err != 0)
            fprintf(stderr, "lstmae: cannot write to standard output: %s\n",
                    strerror(err));
        else
            fputs("lstmae: cannot write to standard output\n", stderr);
        if (code == CLI_OK)
            code = CLI_FAIL;
    }
    return code;
}

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
    {"score", cmd_score, "anomaly scores (and flags, with a threshold)"},
    {"calibrate", cmd_calibrate, "set the model's anomaly threshold"},
    {"reconstruct", cmd_reconstruct, "sequences encoded and decoded"},
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
          "other failure,\n130 training interrupted (model saved), 3 "
          "interrupted twice (not saved).\n", out);
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int run(int argc, char **argv)
{
    cli_init_process();
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
    return c->run(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    int skip_atexit = early_finish();
    int code = close_stdout(run(argc, argv));
    if (skip_atexit)
        _exit(code);
    return code;
}

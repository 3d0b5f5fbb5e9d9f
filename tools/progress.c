/*
 * progress.c - the training progress line.
 */
#define _POSIX_C_SOURCE 200809L

#include "progress.h"

#include <math.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

static void format_duration(char *out, size_t cap, double s)
{
    if (!(s >= 0) || s > 1e7) {
        snprintf(out, cap, "--:--");
        return;
    }
    long t = lround(s);
    if (t >= 3600)
        snprintf(out, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, cap, "%02ld:%02ld", t / 60, t % 60);
}

/* Columns of the terminal behind `out`; 80 when unknown. */
static size_t terminal_width(FILE *out)
{
#ifdef TIOCGWINSZ
    struct winsize ws;
    if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
#else
    (void)out;
#endif
    return 80;
}

void progress_start(progress *p, FILE *out, int quiet, uint64_t done_before,
                    int epochs, size_t sequences)
{
    p->out = out;
    p->tty = isatty(fileno(out));
    p->quiet = quiet;
    p->open = 0;
    p->done_before = done_before;
    p->epochs = epochs;
    p->sequences = sequences;
    p->start = p->last = cli_now();
    p->drawn = 0.0;
    p->valid[0] = '\0';
    if (p->tty && !quiet && epochs > 0) {
        fprintf(out, "\r\033[K[%10s] epoch %llu/%llu training...", "",
                (unsigned long long)done_before + 1,
                (unsigned long long)done_before + (unsigned)epochs);
        fflush(out);
        p->open = 1;
    }
}

/* A 10-character bar of the share `done` (0..1) of this run. */
static void format_bar(char bar[11], double done)
{
    int filled = done > 0 ? (int)(10.0 * (done < 1 ? done : 1.0)) : 0;
    for (int i = 0; i < 10; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[10] = '\0';
}

/* Rewrites the terminal's line with `line`, cut to the terminal's width
   so that '\r' can rewrite it. */
static void tty_line(progress *p, char *line)
{
    size_t width = terminal_width(p->out);
    if (strlen(line) >= width)
        line[width - 1] = '\0';
    fprintf(p->out, "\r\033[K%s", line);
    p->open = 1;
}

/* "loss L acc A%" (no accuracy for mse); short: fewer digits, and no
   "loss" word when `named` is 0. */
static void format_metrics(char *out, size_t cap, const lstmae_metrics *m,
                           int short_form, int named)
{
    const char *word = named || !short_form ? "loss " : "";
    if (isnan(m->accuracy))
        snprintf(out, cap, short_form ? "%s%.4g" : "%s%.6g", word, m->loss);
    else
        snprintf(out, cap, short_form ? "%s%.4g acc %.2f%%"
                                      : "%s%.6g acc %.3f%%",
                 word, m->loss, 100.0 * m->accuracy);
}

void progress_batch(progress *p, int epoch, size_t batch, size_t num_batches,
                    size_t seen, double running_loss)
{
    if (p->quiet || !p->tty || num_batches == 0)
        return;
    double now = cli_now();
    if (p->drawn > 0 && now - p->drawn < 0.1)
        return;
    p->drawn = now;
    /* the share of this run done, counting the batches of this epoch */
    double done = ((double)(epoch - 1) +
                   (double)batch / (double)num_batches) /
                  (p->epochs > 0 ? p->epochs : 1);
    double elapsed = now - p->start, took = now - p->last;
    double speed = took > 0 ? (double)seen / took : 0.0;
    char bar[11], left[32], line[512];
    format_bar(bar, done);
    format_duration(left, sizeof left,
                    done > 0 ? elapsed / done * (1.0 - done) : -1.0);
    snprintf(line, sizeof line, "[%s] epoch %llu/%llu batch %zu/%zu | %.0f "
             "seq/s | %s left | loss %.4g%s%s", bar,
             (unsigned long long)p->done_before + (unsigned)epoch,
             (unsigned long long)p->done_before + (unsigned)p->epochs,
             batch, num_batches, speed, left, running_loss,
             p->valid[0] ? " | valid " : "", p->valid);
    tty_line(p, line);
    fflush(p->out);
}

void progress_epoch(progress *p, int epoch, const lstmae_metrics *train,
                    const lstmae_metrics *valid, int best)
{
    double now = cli_now();
    double took = now - p->last, elapsed = now - p->start;
    p->last = now;
    if (p->quiet)
        return;
    double speed = took > 0 ? (double)p->sequences / took : 0.0;
    char left[32], spent[32], tr[64], va[64] = "";
    format_duration(left, sizeof left,
                    elapsed / epoch * (p->epochs - epoch));
    format_duration(spent, sizeof spent, elapsed);
    format_metrics(tr, sizeof tr, train, p->tty, 1);
    if (valid != NULL)
        format_metrics(va, sizeof va, valid, p->tty, 0);
    unsigned long long shown = (unsigned long long)p->done_before +
                               (unsigned)epoch;
    unsigned long long total = (unsigned long long)p->done_before +
                               (unsigned)p->epochs;
    if (p->tty) {
        /* One line: the bar, the epoch, speed, time left, then the
           losses. The batch lines of the next epoch keep the validation
           loss. */
        char bar[11], line[512];
        format_bar(bar, (double)epoch / (p->epochs > 0 ? p->epochs : 1));
        snprintf(line, sizeof line, "[%s] epoch %llu/%llu | %.0f seq/s | %s "
                 "left | %s%s%s%s", bar, shown, total, speed, left, tr,
                 valid ? " | valid " : "", va, best ? " *" : "");
        tty_line(p, line);
        if (valid != NULL)
            snprintf(p->valid, sizeof p->valid, "%.4g", valid->loss);
    } else {
        fprintf(p->out, "epoch %llu/%llu  %s%s%s  %.0f seq/s  %s elapsed, %s "
                        "left%s\n", shown, total, tr,
                valid ? "  valid " : "", va, speed, spent, left,
                best ? "  (best)" : "");
    }
    fflush(p->out);
}

void progress_finish(progress *p)
{
    if (p->open) {
        fputc('\n', p->out);
        fflush(p->out);
        p->open = 0;
    }
}

/*
 * plot.c - the SVG loss chart: axes with round-number ticks, a grid, one
 * line per series with a legend, and the best epoch marked.
 */
#include "plot.h"

#include <math.h>
#include <stdio.h>

#include "cli.h"

enum { WIDTH = 760, HEIGHT = 460 };
/* The plotting area. */
#define LEFT 84.0
#define RIGHT 730.0
#define TOP 52.0
#define BOTTOM 392.0

#define TRAIN_COLOR "#1f77b4"
#define VALID_COLOR "#d62728"

typedef struct axis {
    double lo, hi;   /* data range shown (log10 of it for a log axis) */
    int log;
} axis;

/* A round step (1, 2 or 5 times a power of ten) giving about `ticks`
   intervals over span. */
static double nice_step(double span, int ticks)
{
    double raw = span / ticks;
    double mag = pow(10.0, floor(log10(raw)));
    double r = raw / mag;
    return (r < 1.5 ? 1.0 : r < 3.0 ? 2.0 : r < 7.0 ? 5.0 : 10.0) * mag;
}

static double map_x(const axis *ax, double v)
{
    return LEFT + (v - ax->lo) / (ax->hi - ax->lo) * (RIGHT - LEFT);
}

static double map_y(const axis *ay, double v)
{
    double u = ay->log ? log10(v) : v;
    return BOTTOM - (u - ay->lo) / (ay->hi - ay->lo) * (BOTTOM - TOP);
}

static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void draw_series(FILE *f, const axis *ax, const axis *ay,
                        const double *y, size_t n, uint64_t first,
                        const char *color)
{
    if (y == NULL)
        return;
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
               "points=\"", color);
    for (size_t i = 0; i < n; i++)
        if (isfinite(y[i]) && (!ay->log || y[i] > 0))
            fprintf(f, "%.1f,%.1f ", map_x(ax, (double)(first + i)),
                    map_y(ay, y[i]));
    fputs("\"/>\n", f);
    if (n <= 60)
        for (size_t i = 0; i < n; i++)
            if (isfinite(y[i]) && (!ay->log || y[i] > 0))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                           "fill=\"%s\"/>\n", map_x(ax, (double)(first + i)),
                        map_y(ay, y[i]), color);
}

static int fill_svg(FILE *f, const void *ctx)
{
    const plot_data *d = ctx;
    /* y range over both series */
    double lo = INFINITY, hi = -INFINITY;
    for (int s = 0; s < 2; s++) {
        const double *y = s == 0 ? d->train : d->valid;
        for (size_t i = 0; y != NULL && i < d->n; i++)
            if (isfinite(y[i])) {
                lo = y[i] < lo ? y[i] : lo;
                hi = y[i] > hi ? y[i] : hi;
            }
    }
    if (!(lo <= hi)) { /* no data */
        lo = 0.0;
        hi = 1.0;
    }
    axis ay = {0, 0, lo > 0 && hi / lo > 30.0};
    double ystep = 0.0;
    if (ay.log) {
        ay.lo = floor(log10(lo));
        ay.hi = ceil(log10(hi));
    } else {
        if (hi - lo < 1e-12 * (fabs(hi) + 1e-30)) {
            double pad = fabs(hi) > 0 ? 0.1 * fabs(hi) : 1.0;
            lo -= pad;
            hi += pad;
        }
        ystep = nice_step(hi - lo, 6);
        ay.lo = floor(lo / ystep) * ystep;
        ay.hi = ceil(hi / ystep) * ystep;
        if (lo >= 0 && ay.lo < 0)
            ay.lo = 0;
    }
    uint64_t last = d->n ? d->first_epoch + d->n - 1 : d->first_epoch;
    axis ax = {(double)d->first_epoch, (double)last, 0};
    if (ax.hi - ax.lo < 1.0) {
        ax.lo -= 0.5;
        ax.hi += 0.5;
    }

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
               "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif"
               "\" font-size=\"12\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            WIDTH, HEIGHT, WIDTH, HEIGHT);
    fputs("<text x=\"407\" y=\"30\" text-anchor=\"middle\" font-size=\"16\">",
          f);
    put_escaped(f, d->title);
    fputs("</text>\n", f);

    /* y grid and tick labels: decades (with dotted 2..9 lines) on a log
       axis, multiples of ystep on a linear one */
    long k0, k1;
    if (ay.log) {
        k0 = lround(ay.lo);
        k1 = lround(ay.hi);
    } else {
        k0 = lround(ay.lo / ystep);
        k1 = lround(ay.hi / ystep);
    }
    fputs("<g stroke=\"#dddddd\" stroke-width=\"1\">\n", f);
    for (long k = k0; k <= k1; k++) {
        double base = ay.log ? pow(10.0, (double)k) : (double)k * ystep;
        int lines = ay.log && k < k1 ? 9 : 1;
        for (int m = 0; m < lines; m++) {
            double v = base * (m + 1);
            fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" "
                       "y2=\"%.1f\"%s/>\n", LEFT, RIGHT, map_y(&ay, v),
                    map_y(&ay, v), m ? " stroke-dasharray=\"2,3\"" : "");
        }
    }
    fputs("</g>\n<g text-anchor=\"end\">\n", f);
    for (long k = k0; k <= k1; k++) {
        double v = ay.log ? pow(10.0, (double)k) : (double)k * ystep;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%.6g</text>\n", LEFT - 6,
                map_y(&ay, v) + 4, v);
    }
    fputs("</g>\n", f);

    /* x ticks: whole epochs, a round step apart */
    double span = (double)(last - d->first_epoch);
    double xstep = span < 1 ? 1.0 : nice_step(span, 8);
    if (xstep < 1.0)
        xstep = 1.0;
    long j0 = lround(ceil(ax.lo / xstep - 1e-9));
    long j1 = lround(floor(ax.hi / xstep + 1e-9));
    fputs("<g text-anchor=\"middle\">\n", f);
    for (long j = j0; j <= j1; j++) {
        double v = (double)j * xstep, x = map_x(&ax, v);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"black\"/>\n", x, x, BOTTOM, BOTTOM + 5);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%.0f</text>\n", x,
                BOTTOM + 19, v);
    }
    fputs("</g>\n", f);

    /* axes and their labels */
    fprintf(f, "<polyline fill=\"none\" stroke=\"black\" points=\"%.1f,%.1f "
               "%.1f,%.1f %.1f,%.1f\"/>\n", LEFT, TOP, LEFT, BOTTOM, RIGHT,
            BOTTOM);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
               "font-size=\"14\">epoch</text>\n", (LEFT + RIGHT) / 2,
            HEIGHT - 28);
    fprintf(f, "<text transform=\"translate(22,%.1f) rotate(-90)\" "
               "text-anchor=\"middle\" font-size=\"14\">loss%s</text>\n",
            (TOP + BOTTOM) / 2, ay.log ? " (log scale)" : "");

    if (d->n == 0) {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                   "fill=\"#777777\">no completed epochs</text>\n",
                (LEFT + RIGHT) / 2, (TOP + BOTTOM) / 2);
    }
    if (d->best_epoch != 0 && d->n != 0) {
        double x = map_x(&ax, (double)d->best_epoch);
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"#555555\" stroke-dasharray=\"5,4\"/>\n"
                   "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555555\" "
                   "text-anchor=\"%s\">best: epoch %llu</text>\n",
                x, x, TOP, BOTTOM, x + (x > RIGHT - 120 ? -4 : 4), TOP + 12,
                x > RIGHT - 120 ? "end" : "start",
                (unsigned long long)d->best_epoch);
    }
    draw_series(f, &ax, &ay, d->train, d->n, d->first_epoch, TRAIN_COLOR);
    if (d->valid != NULL)
        draw_series(f, &ax, &ay, d->valid, d->n, d->first_epoch,
                    VALID_COLOR);

    /* legend, top right inside the plot */
    int entries = d->valid != NULL ? 2 : 1;
    double lx = RIGHT - 150, ly = TOP + 22;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"140\" height=\"%d\" "
               "fill=\"white\" fill-opacity=\"0.9\" stroke=\"#999999\"/>\n",
            lx, ly, 10 + 20 * entries);
    for (int s = 0; s < entries; s++) {
        double yy = ly + 15 + 20 * s;
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"%s\" stroke-width=\"2\"/>\n"
                   "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                lx + 10, lx + 36, yy, yy, s ? VALID_COLOR : TRAIN_COLOR,
                lx + 44, yy + 4, s ? "validation loss" : "training loss");
    }
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : CLI_OK;
}

int plot_write_svg(const char *path, const plot_data *d)
{
    return cli_write_atomic(path, fill_svg, d);
}

/*
 * dataset.c - sequences, matrices and vectors from and to .npy and .csv.
 */
#include "dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "npy.h"

/* ---- reading .npy ------------------------------------------------------- */

/* Reads and parses a .npy file that must hold floats. *buf owns the bytes. */
static int load_float_npy(const char *path, unsigned char **buf,
                          npy_array *a)
{
    size_t size = 0;
    int code = cli_read_file(path, buf, &size);
    if (code != CLI_OK)
        return code;
    code = npy_parse(path, *buf, size, a);
    if (code == CLI_OK && a->kind != 'f') {
        cli_error("%s: unsupported dtype '%s' (%s): expected float32 or "
                  "float64", path, a->descr, npy_type_name(a));
        code = CLI_BAD;
    }
    if (code != CLI_OK) {
        free(*buf);
        *buf = NULL;
    }
    return code;
}

static int load_lengths(const char *path, size_t count, size_t max_len,
                        const char *data_path, int32_t *lengths)
{
    if (cli_filetype_of(path) != CLI_FT_NPY) {
        cli_error("%s: lengths must be a .npy file (a 1-D integer array)",
                  path);
        return CLI_BAD;
    }
    unsigned char *buf = NULL;
    size_t size = 0;
    npy_array a;
    int code = cli_read_file(path, &buf, &size);
    if (code != CLI_OK)
        return code;
    code = npy_parse(path, buf, size, &a);
    if (code == CLI_OK && a.kind == 'f') {
        cli_error("%s: unsupported dtype '%s' (%s) for lengths: expected an "
                  "integer type", path, a.descr, npy_type_name(&a));
        code = CLI_BAD;
    } else if (code == CLI_OK && a.ndim != 1) {
        cli_error("%s: lengths must be a 1-D array, this one has %zu "
                  "dimensions", path, a.ndim);
        code = CLI_BAD;
    } else if (code == CLI_OK && a.shape[0] != count) {
        cli_error("%s: %zu lengths for the %zu sequences of %s", path,
                  a.shape[0], count, data_path);
        code = CLI_BAD;
    }
    int64_t *v = NULL;
    if (code == CLI_OK && (v = cli_alloc(count, sizeof *v)) == NULL)
        code = CLI_FAIL;
    if (code == CLI_OK) {
        size_t big = npy_to_int64(&a, v);
        for (size_t i = 0; i < count && code == CLI_OK; i++) {
            if (i == big || v[i] < 0 || (uint64_t)v[i] > max_len) {
                cli_error("%s: entry %zu is %s%lld, outside 0..%zu (the steps "
                          "per sequence in %s)", path, i,
                          i == big ? "above " : "",
                          i == big ? (long long)INT64_MAX : (long long)v[i],
                          max_len, data_path);
                code = CLI_BAD;
            } else {
                lengths[i] = (int32_t)v[i];
            }
        }
    }
    free(v);
    free(buf);
    return code;
}

static int seqset_load_npy(const char *path, const char *lengths_path,
                           seqset *s)
{
    unsigned char *buf = NULL;
    npy_array a;
    int code = load_float_npy(path, &buf, &a);
    if (code != CLI_OK)
        return code;
    size_t n = 0, steps = 0, dim = 0;
    code = npy_sequence_shape(path, &a, &n, &steps, &dim);
    if (code == CLI_OK) {
        /* n * steps * dim == a.count >= 1: bounded by the file's size */
        s->count = n;
        s->max_len = steps;
        s->dim = dim;
        s->data = cli_alloc(a.count, sizeof(float));
        s->lengths = cli_alloc(s->count, sizeof(int32_t));
        if (s->data == NULL || s->lengths == NULL)
            code = CLI_FAIL;
    }
    if (code == CLI_OK) {
        npy_to_float(&a, s->data);
        if (lengths_path != NULL) {
            code = load_lengths(lengths_path, s->count, s->max_len, path,
                                s->lengths);
        } else {
            for (size_t i = 0; i < s->count; i++)
                s->lengths[i] = (int32_t)s->max_len;
        }
    }
    free(buf);
    return code;
}

/* ---- reading .csv ------------------------------------------------------- */

/* How CSV files are read: --header yes|no|auto (dataset_set_header). */
static csv_header header_mode = CSV_HEADER_AUTO;

int dataset_set_header(const char *cmd, const char *text)
{
    if (text == NULL || strcmp(text, "auto") == 0)
        header_mode = CSV_HEADER_AUTO;
    else if (strcmp(text, "yes") == 0)
        header_mode = CSV_HEADER_YES;
    else if (strcmp(text, "no") == 0)
        header_mode = CSV_HEADER_NO;
    else
        return args_usage_error(cmd, "--header: expected yes, no or auto, "
                                "got '%s'", text);
    return CLI_OK;
}

/* The table's rows grouped into sequences (csv_group: consecutive rows of
   one id), padded to the longest within csv_group's bound. */
static int seqset_load_csv(const char *path, seqset *s)
{
    int code = csv_read(path, header_mode, &s->csv);
    if (code != CLI_OK)
        return code;
    const csv_table *t = &s->csv;
    csv_seqs g;
    if ((code = csv_group(path, t, &g)) != CLI_OK)
        return code;
    size_t total = 0;
    if (!cli_mul3(g.count, g.max_len, t->cols, &total)) {
        cli_error("%s: too large", path); /* csv_group bounds it: not here */
        code = CLI_FAIL;
    }
    if (code == CLI_OK) {
        s->count = g.count;
        s->max_len = g.max_len;
        s->dim = t->cols;
        s->data = cli_alloc(total, sizeof(float));
        s->lengths = cli_alloc(g.count, sizeof(int32_t));
        s->ids = cli_alloc(g.count, sizeof *s->ids);
        if (s->data == NULL || s->lengths == NULL || s->ids == NULL)
            code = CLI_FAIL;
    }
    if (code == CLI_OK) {
        memset(s->data, 0, total * sizeof(float));
        for (size_t i = 0; i < g.count; i++) {
            size_t r = g.starts[i], len = g.starts[i + 1] - r;
            s->lengths[i] = (int32_t)len;
            s->ids[i] = t->ids[r];
            memcpy(s->data + i * g.max_len * s->dim, t->values + r * t->cols,
                   len * t->cols * sizeof(float));
        }
    }
    free(g.starts);
    return code;
}

/* ---- sequences ---------------------------------------------------------- */

int seqset_load(const char *path, const char *lengths_path, seqset *out)
{
    memset(out, 0, sizeof *out);
    cli_filetype ft;
    int code = cli_need_filetype(path, "data", &ft);
    if (code == CLI_OK && ft == CLI_FT_CSV && lengths_path != NULL) {
        cli_error("%s: lengths come from the row counts of a CSV file; "
                  "drop the lengths file %s", path, lengths_path);
        code = CLI_BAD;
    }
    if (code == CLI_OK)
        code = ft == CLI_FT_NPY ? seqset_load_npy(path, lengths_path, out)
                                : seqset_load_csv(path, out);
    if (code != CLI_OK)
        seqset_free(out);
    return code;
}

void seqset_free(seqset *s)
{
    free(s->data);
    free(s->lengths);
    free(s->ids);
    csv_free(&s->csv);
    memset(s, 0, sizeof *s);
}

lstmae_sequences seqset_view(const seqset *s)
{
    lstmae_sequences v = {s->data, s->lengths, s->count, s->max_len};
    return v;
}

int seqset_gather(const seqset *src, const size_t *idx, size_t n,
                  seqset *dst)
{
    memset(dst, 0, sizeof *dst);
    size_t block = src->max_len * src->dim;
    dst->count = n;
    dst->max_len = src->max_len;
    dst->dim = src->dim;
    dst->data = cli_alloc(n, block * sizeof(float));
    dst->lengths = cli_alloc(n, sizeof(int32_t));
    if (src->ids != NULL)
        dst->ids = cli_alloc(n, sizeof *dst->ids);
    if (dst->data == NULL || dst->lengths == NULL ||
        (src->ids != NULL && dst->ids == NULL)) {
        seqset_free(dst);
        return CLI_FAIL;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(dst->data + i * block, src->data + idx[i] * block,
               block * sizeof(float));
        dst->lengths[i] = src->lengths[idx[i]];
        if (src->ids != NULL)
            dst->ids[i] = src->ids[idx[i]];
    }
    return CLI_OK;
}

uint64_t seqset_steps(const seqset *s)
{
    uint64_t steps = 0;
    for (size_t i = 0; i < s->count; i++)
        steps += (uint64_t)s->lengths[i];
    return steps;
}

int seqset_check_dim(const seqset *s, const char *path,
                     const lstmae_model *model, const char *model_path)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    if (lstmae_get_config(model, &cfg) != LSTMAE_OK)
        return CLI_FAIL;
    if (s->dim != (size_t)cfg.input_dim) {
        cli_error("%s: %zu feature%s per step, but the model %s expects %d",
                  path, s->dim, s->dim == 1 ? "" : "s", model_path,
                  cfg.input_dim);
        return CLI_BAD;
    }
    return CLI_OK;
}

int seqset_check_steps(const seqset *s, const char *path)
{
    if (s->max_len <= LSTMAE_MAX_STEPS)
        return CLI_OK;
    cli_error("%s: sequences of %zu steps; at most %d (LSTMAE_MAX_STEPS) are "
              "supported", path, s->max_len, LSTMAE_MAX_STEPS);
    return CLI_BAD;
}

int seqset_check(const seqset *s, const char *path,
                 const lstmae_model *model)
{
    char why[256];
    lstmae_sequences v = seqset_view(s);
    if (seqset_check_steps(s, path) != CLI_OK)
        return CLI_BAD;
    if (lstmae_check_sequences_why(model, &v, why, sizeof why) == LSTMAE_OK)
        return CLI_OK;
    cli_error("%s: %s", path, why);
    return CLI_BAD;
}

/* ---- the trivial baseline ----------------------------------------------- */

int seqset_baseline(const seqset *s, const lstmae_model *model,
                    lstmae_metrics *out)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    lstmae_metrics_init(out);
    size_t D = s->dim;
    uint64_t steps = seqset_steps(s);
    float *off = cli_alloc(2 * D, sizeof(float));
    double *mean = cli_alloc(D, sizeof(double));
    if (off == NULL || mean == NULL) {
        free(off);
        free(mean);
        return CLI_FAIL;
    }
    float *scale = off + D;
    lstmae_get_config(model, &cfg);
    lstmae_get_scaling(model, off, scale);
    /* x as the network sees it: the model's scaling applied */
#define SCALED(i, t, d)                                                      \
    (((double)s->data[((i) * s->max_len + (t)) * D + (d)] - off[d]) / scale[d])
    for (size_t d = 0; d < D; d++)
        mean[d] = 0.0;
    for (size_t i = 0; i < s->count; i++)
        for (size_t t = 0; t < (size_t)s->lengths[i]; t++)
            for (size_t d = 0; d < D; d++)
                mean[d] += SCALED(i, t, d) / (double)steps;
    size_t best = 0; /* cross-entropy: the most frequent feature */
    double qsum = 0.0;
    for (size_t d = 0; d < D; d++) {
        qsum += mean[d] > 0.0 ? mean[d] : 0.0;
        best = mean[d] > mean[best] ? d : best;
    }
    double loss = 0.0, hits = 0.0;
    for (size_t i = 0; i < s->count; i++)
        for (size_t t = 0; t < (size_t)s->lengths[i]; t++) {
            size_t top = 0;
            for (size_t d = 0; d < D; d++) {
                double x = SCALED(i, t, d), p = mean[d];
                if (cfg.loss == LSTMAE_LOSS_MSE) {
                    loss += (x - p) * (x - p);
                } else if (cfg.loss == LSTMAE_LOSS_BCE) {
                    p = p < 1e-7 ? 1e-7 : p > 1.0 - 1e-7 ? 1.0 - 1e-7 : p;
                    loss -= x * log(p) + (1.0 - x) * log(1.0 - p);
                    hits += (p > 0.5) == (x > 0.5);
                } else {
                    double q = qsum > 0.0 ? (p > 0.0 ? p : 0.0) / qsum
                                          : 1.0 / (double)D;
                    loss -= x == 0.0 ? 0.0 : x * log(q > 1e-7 ? q : 1e-7);
                    top = x > SCALED(i, t, top) ? d : top;
                }
            }
            hits += cfg.loss == LSTMAE_LOSS_CROSS_ENTROPY && top == best;
        }
#undef SCALED
    double n = cfg.loss == LSTMAE_LOSS_CROSS_ENTROPY ? (double)steps
                                                     : (double)steps * (double)D;
    out->loss = loss / n;
    out->accuracy = cfg.loss == LSTMAE_LOSS_MSE ? NAN : hits / n;
    out->elements = steps * D;
    free(off);
    free(mean);
    return CLI_OK;
}

/* ---- matrices ----------------------------------------------------------- */

int matrix_load(const char *path, matrix *out)
{
    memset(out, 0, sizeof *out);
    cli_filetype ft;
    int code = cli_need_filetype(path, "input", &ft);
    if (code != CLI_OK)
        return code;
    if (ft == CLI_FT_CSV) {
        code = csv_read(path, header_mode, &out->csv);
        if (code != CLI_OK)
            return code;
        out->rows = out->csv.rows;
        out->cols = out->csv.cols;
        out->data = out->csv.values;
        out->ids = out->csv.ids;
        return CLI_OK;
    }
    unsigned char *buf = NULL;
    npy_array a;
    code = load_float_npy(path, &buf, &a);
    if (code != CLI_OK)
        return code;
    if (a.ndim != 1 && a.ndim != 2) {
        cli_error("%s: %zu-D array: expected [n, Z] (or [Z] for one row)",
                  path, a.ndim);
        code = CLI_BAD;
    } else if (a.count == 0) {
        cli_error("%s: empty array", path);
        code = CLI_BAD;
    }
    if (code == CLI_OK) {
        out->rows = a.ndim == 2 ? a.shape[0] : 1;
        out->cols = a.ndim == 2 ? a.shape[1] : a.shape[0];
        out->data = cli_alloc(a.count, sizeof(float));
        if (out->data == NULL)
            code = CLI_FAIL;
    }
    if (code == CLI_OK) {
        npy_to_float(&a, out->data);
        for (size_t k = 0; k < a.count; k++) {
            if (!isfinite(out->data[k])) {
                cli_error("%s: row %zu, column %zu is %s", path,
                          k / out->cols, k % out->cols,
                          isnan(out->data[k]) ? "NaN" : "infinite or out of "
                                                       "the float32 range");
                code = CLI_BAD;
                break;
            }
        }
    }
    free(buf);
    if (code != CLI_OK)
        matrix_free(out);
    return code;
}

void matrix_free(matrix *m)
{
    if (m->data != m->csv.values)
        free(m->data);
    csv_free(&m->csv);
    memset(m, 0, sizeof *m);
}

/* ---- writing ------------------------------------------------------------ */

typedef struct out_spec {
    cli_filetype type;
    const float *data;
    size_t count, steps, dim;   /* ndim 1: [count]; 2: [count][dim];
                                   3: [count][steps][dim]                */
    size_t ndim;
    const int32_t *lengths;     /* CSV sequences: steps written per row  */
    const char *const *ids;
    const char *prefix;         /* CSV column names                      */
} out_spec;

static int fill_output(FILE *f, const void *ctx)
{
    const out_spec *o = ctx;
    if (o->type == CLI_FT_NPY) {
        size_t shape[3] = {o->count, o->ndim == 3 ? o->steps : o->dim,
                           o->dim};
        size_t total = o->count * (o->ndim == 3 ? o->steps : 1) *
                       (o->ndim == 1 ? 1 : o->dim);
        if (npy_write_header(f, "<f4", shape, o->ndim) != 0 ||
            npy_write_f32(f, o->data, total) != 0)
            return -1; /* a stdio error, reported by cli_write_atomic */
        return CLI_OK;
    }
    size_t cols = o->ndim == 1 ? 1 : o->dim;
    /* a prefix with a comma is the list of the columns' names */
    if (csv_write_header(f, o->prefix,
                         o->ndim == 1 || strchr(o->prefix, ',') ? 0 : cols))
        return -1;
    for (size_t i = 0; i < o->count; i++) {
        const char *id = o->ids ? o->ids[i] : NULL;
        size_t rows = o->ndim == 3 ? (o->lengths ? (size_t)o->lengths[i]
                                                 : o->steps)
                                   : 1;
        const float *x = o->data + i * (o->ndim == 3 ? o->steps : 1) * cols;
        for (size_t t = 0; t < rows; t++)
            if (csv_write_row(f, id, i, x + t * cols, cols) != 0)
                return -1;
    }
    return CLI_OK;
}

static int write_output(const char *path, const out_spec *spec)
{
    out_spec o = *spec;
    int code = cli_need_filetype(path, "output", &o.type);
    if (code != CLI_OK)
        return code;
    code = cli_write_atomic(path, fill_output, &o);
    return code;
}

int write_matrix(const char *path, const float *data, size_t rows,
                 size_t cols, const char *const *ids, const char *prefix)
{
    out_spec o = {CLI_FT_OTHER, data, rows, 1, cols, 2, NULL, ids, prefix};
    return write_output(path, &o);
}

int write_sequences(const char *path, const float *data, size_t count,
                    size_t steps, size_t dim, const int32_t *lengths,
                    const char *const *ids)
{
    out_spec o = {CLI_FT_OTHER, data, count, steps, dim, 3, lengths, ids,
                  "f"};
    return write_output(path, &o);
}

int write_vector(const char *path, const float *values, size_t n,
                 const char *const *ids, const char *name)
{
    out_spec o = {CLI_FT_OTHER, values, n, 1, 1, 1, NULL, ids, name};
    return write_output(path, &o);
}

typedef struct lengths_spec {
    const int32_t *lengths;
    const size_t *indices;      /* or these, as text or int32 */
    size_t n;
} lengths_spec;

static int fill_lengths(FILE *f, const void *ctx)
{
    const lengths_spec *l = ctx;
    if (l->lengths != NULL)
        return npy_write_header(f, "<i4", &l->n, 1) != 0 ||
               npy_write_i32(f, l->lengths, l->n) != 0 ? -1 : CLI_OK;
    for (size_t i = 0; i < l->n; i++)
        if (fprintf(f, "%zu\n", l->indices[i]) < 0)
            return -1;
    return CLI_OK;
}

int write_indices(const char *path, const size_t *indices, size_t n)
{
    if (cli_filetype_of(path) != CLI_FT_NPY) {
        lengths_spec l = {NULL, indices, n};
        return cli_write_atomic(path, fill_lengths, &l);
    }
    int32_t *v = cli_alloc(n, sizeof *v);
    if (v == NULL)
        return CLI_FAIL;
    for (size_t i = 0; i < n; i++) /* < count <= INT32_MAX (npy.h, csv.h) */
        v[i] = (int32_t)indices[i];
    int code = write_lengths(path, v, n);
    free(v);
    return code;
}

int write_lengths(const char *path, const int32_t *lengths, size_t n)
{
    if (cli_filetype_of(path) != CLI_FT_NPY) {
        cli_error("%s: lengths are written as .npy only", path);
        return CLI_BAD;
    }
    lengths_spec l = {lengths, NULL, n};
    return cli_write_atomic(path, fill_lengths, &l);
}

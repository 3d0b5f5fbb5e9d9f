/* api.c - every exported entry point: validate, copy options, call the
   modules, map statuses. Nothing here prints, aborts or keeps a caller's
   buffer; on failure outputs and models are left as they were. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fit.h"
#include "infer.h"
#include "io.h"
#include "mem.h"
#include "lstmae.h"
#include "model.h"
#include "params.h"
#include "status.h"
#include "tensor.h"
#include "threshold.h"

/* ---- growable structs --------------------------------------------------- */

/* Copies the first struct_size bytes of a caller's struct over a
   defaults-initialised full-size one (struct_size itself must be there). */
static int read_struct(void *full, size_t full_size, const void *caller)
{
    size_t n;
    memcpy(&n, caller, sizeof n);
    if (n < sizeof(size_t)) return LSTMAE_ERR_INVALID_ARG;
    memcpy(full, caller, n < full_size ? n : full_size);
    memcpy(full, &full_size, sizeof full_size);
    return LSTMAE_OK;
}

/* Writes a full-size struct into a caller's, keeping its struct_size. */
static void write_struct(void *caller, const void *full, size_t full_size)
{
    size_t n;
    memcpy(&n, caller, sizeof n);
    if (n > full_size) n = full_size;
    memcpy((char *)caller + sizeof(size_t), (const char *)full + sizeof(size_t),
           n - sizeof(size_t));
}

static int caller_struct_ok(const void *caller)
{
    size_t n;
    memcpy(&n, caller, sizeof n);
    return n >= sizeof(size_t);
}

/* ---- validation --------------------------------------------------------- */

/* Shape, lengths and finiteness of a set for this model. With
   need_elements, a set with no valid element is invalid (its loss is
   undefined). NaN/Inf is looked for only in valid steps. *bad is the
   sequence to blame, or SIZE_MAX. */
static int check_sequences(const lstmae_model *m, const lstmae_sequences *s,
                           int need_elements, size_t *bad)
{
    *bad = SIZE_MAX;
    CHECK_ARG(s != NULL && s->count >= 1);
    size_t D = m->plan.d.in_dim, T = s->max_len;
    /* Packed rows of a chunk must fit a BLAS int; the set, and the latent
       or reconstruction buffers for it, must have a byte size in size_t. */
    size_t per_seq = (T ? T : 1) * D > m->plan.d.latent ? (T ? T : 1) * D : m->plan.d.latent;
    CHECK_ARG(T <= LSTMAE_MAX_STEPS && s->count <= SIZE_MAX / sizeof(float) / per_seq);
    CHECK_ARG(s->data != NULL || T == 0);
    size_t total = 0;
    if (s->lengths) {
        for (size_t i = 0; i < s->count; i++) {
            if (s->lengths[i] < 0 || (size_t)s->lengths[i] > T) {
                *bad = i;
                return LSTMAE_ERR_INVALID_ARG;
            }
            total += (size_t)s->lengths[i];
        }
    } else {
        total = s->count * T;
    }
    CHECK_ARG(!need_elements || total > 0);
    for (size_t i = 0; i < s->count; i++) {
        size_t L = s->lengths ? (size_t)s->lengths[i] : T;
        /* data may be NULL when T is 0: no pointer arithmetic on it then */
        if (L > 0 && !tensor_all_finite(s->data + i * T * D, L * D)) {
            *bad = i;
            return LSTMAE_ERR_NUMERIC;
        }
    }
    return LSTMAE_OK;
}

/* check_sequences without the index. */
static int check_set(const lstmae_model *m, const lstmae_sequences *s, int need_elements)
{
    size_t bad;
    return check_sequences(m, s, need_elements, &bad);
}

int lstmae_check_sequences(const lstmae_model *model, const lstmae_sequences *in,
                           size_t *bad_index)
{
    size_t bad = SIZE_MAX;
    int st = model ? check_sequences(model, in, 0, &bad) : LSTMAE_ERR_INVALID_ARG;
    if (st != LSTMAE_OK && bad_index) *bad_index = bad;
    return st;
}

int lstmae_check_sequences_why(const lstmae_model *model, const lstmae_sequences *in,
                               char *why, size_t why_size)
{
    if (why && why_size > 0) why[0] = '\0';
    if (!model) return status_reject(why, why_size, "the model is NULL");
    if (!in) return status_reject(why, why_size, "the set is NULL");
    size_t bad = SIZE_MAX;
    int st = check_sequences(model, in, 0, &bad);
    if (st == LSTMAE_OK) return st;
    size_t D = model->plan.d.in_dim, T = in->max_len;
    if (st == LSTMAE_ERR_NUMERIC) {
        size_t L = in->lengths ? (size_t)in->lengths[bad] : T;
        const float *x = in->data + bad * T * D;
        for (size_t i = 0; i < L * D; i++)
            if (!isfinite(x[i])) {
                if (why && why_size > 0)
                    (void)snprintf(why, why_size,
                                   "sequence %zu, step %zu, feature %zu: %s in a valid step "
                                   "(steps 0..%zu of this sequence are valid)",
                                   bad, i / D, i % D, isnan(x[i]) ? "NaN" : "infinity", L - 1);
                return st;
            }
    }
    if (in->count == 0) return status_reject(why, why_size, "the set is empty (count 0)");
    if (bad != SIZE_MAX && in->lengths)
        return status_reject(why, why_size, "sequence %zu: length %ld is outside 0..%zu",
                             bad, (long)in->lengths[bad], T);
    if (in->data == NULL && T > 0)
        return status_reject(why, why_size, "data is NULL with max_len %zu", T);
    return status_reject(why, why_size,
                         "the set is too large (%zu sequences of max_len %zu; limit "
                         "LSTMAE_MAX_STEPS %d steps)",
                         in->count, T, LSTMAE_MAX_STEPS);
}

/* ---- life cycle --------------------------------------------------------- */

int lstmae_create_advanced(const lstmae_config *cfg, const lstmae_allocator *allocator,
                           lstmae_model **out)
{
    if (out) *out = NULL;
    CHECK_ARG(cfg != NULL && out != NULL);
    const lstmae_allocator *a = allocator ? allocator : mem_default();
    CHECK_ARG(a->alloc != NULL && a->free != NULL);
    lstmae_config c;
    lstmae_config_init(&c);
    TRY(read_struct(&c, sizeof c, cfg));
    return model_create(&c, a, out);
}

int lstmae_create(const lstmae_config *cfg, lstmae_model **out)
{
    return lstmae_create_advanced(cfg, NULL, out);
}

void lstmae_free(lstmae_model *model)
{
    model_free(model);
}

int lstmae_get_config(const lstmae_model *model, lstmae_config *out)
{
    CHECK_ARG(model != NULL && out != NULL && caller_struct_ok(out));
    write_struct(out, &model->cfg, sizeof model->cfg);
    return LSTMAE_OK;
}

/* ---- training ----------------------------------------------------------- */

/* The options' limits; max_len > 0 also checks that a batch's packed rows
   fit an int. Each failure names the field, its value and the limit. */
static int check_fit_options(const lstmae_fit_options *o, size_t max_len, char *why,
                             size_t size)
{
    if (o->epochs < 0) return status_reject(why, size, "epochs %d is below 0", o->epochs);
    if (o->batch_size < 1)
        return status_reject(why, size, "batch_size %d is below 1", o->batch_size);
    if (max_len > 0 && (size_t)o->batch_size > (size_t)INT_MAX / max_len)
        return status_reject(why, size,
                      "batch_size %d is above %zu (INT_MAX / max_len %zu: the rows of "
                      "one batch must fit an int)",
                      o->batch_size, (size_t)INT_MAX / max_len, max_len);
    if (o->num_threads < 0)
        return status_reject(why, size, "num_threads %d is below 0", o->num_threads);
    if (o->optimizer != LSTMAE_OPT_ADAM && o->optimizer != LSTMAE_OPT_SGD)
        return status_reject(why, size,
                      "optimizer %d is not LSTMAE_OPT_ADAM (0) or LSTMAE_OPT_SGD (1)",
                      (int)o->optimizer);
    if (!(isfinite(o->learning_rate) && o->learning_rate > 0.0f))
        return status_reject(why, size, "learning_rate %g is not a finite value above 0",
                      (double)o->learning_rate);
    if (!(o->beta1 >= 0.0f && o->beta1 < 1.0f))
        return status_reject(why, size, "beta1 %g is outside [0, 1)", (double)o->beta1);
    if (!(o->beta2 >= 0.0f && o->beta2 < 1.0f))
        return status_reject(why, size, "beta2 %g is outside [0, 1)", (double)o->beta2);
    if (!(isfinite(o->epsilon) && o->epsilon > 0.0f))
        return status_reject(why, size, "epsilon %g is not a finite value above 0",
                      (double)o->epsilon);
    if (isnan(o->clip_norm) || o->clip_norm >= INFINITY)
        return status_reject(why, size, "clip_norm %g is NaN or +inf (<= 0 turns clipping off)",
                      (double)o->clip_norm);
    if (!(isfinite(o->momentum) && o->momentum >= 0.0f))
        return status_reject(why, size, "momentum %g is not a finite value >= 0",
                      (double)o->momentum);
    if (o->patience < 0) return status_reject(why, size, "patience %d is below 0", o->patience);
    if (o->checkpoint_every < 1)
        return status_reject(why, size, "checkpoint_every %d is below 1", o->checkpoint_every);
    if (o->checkpoint_path && o->checkpoint_path[0] == '\0')
        return status_reject(why, size, "checkpoint_path is empty (NULL: no checkpoints)");
    return LSTMAE_OK;
}

int lstmae_check_config(const lstmae_config *cfg, char *why, size_t why_size)
{
    if (why && why_size > 0) why[0] = '\0';
    if (!cfg) return status_reject(why, why_size, "the configuration is NULL");
    lstmae_config c;
    lstmae_config_init(&c);
    if (read_struct(&c, sizeof c, cfg) != LSTMAE_OK)
        return status_reject(why, why_size,
                      "struct_size is below sizeof(size_t): call lstmae_config_init first");
    return model_check_config(&c, why, why_size);
}

int lstmae_check_fit_options(const lstmae_fit_options *opt, size_t max_len, char *why,
                             size_t why_size)
{
    if (why && why_size > 0) why[0] = '\0';
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    if (opt && read_struct(&o, sizeof o, opt) != LSTMAE_OK)
        return status_reject(why, why_size,
                      "struct_size is below sizeof(size_t): call lstmae_fit_options_init first");
    if (max_len > LSTMAE_MAX_STEPS)
        return status_reject(why, why_size, "max_len %zu is above %d (LSTMAE_MAX_STEPS)", max_len,
                      LSTMAE_MAX_STEPS);
    return check_fit_options(&o, max_len, why, why_size);
}

int lstmae_fit(lstmae_model *model, const lstmae_sequences *train,
               const lstmae_sequences *valid, const lstmae_fit_options *opt,
               lstmae_metrics *last_train)
{
    CHECK_ARG(model != NULL && train != NULL);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    if (opt) TRY(read_struct(&o, sizeof o, opt));
    CHECK_ARG(last_train == NULL || caller_struct_ok(last_train));
    /* The packed rows of a batch must fit a BLAS int. */
    TRY(check_fit_options(&o, train->max_len ? train->max_len : 1, NULL, 0));
    CHECK_ARG(o.patience == 0 || valid != NULL);
    /* Invalid arguments first, then non-finite data, over both sets. */
    int st_train = check_set(model, train, 1);
    int st_valid = valid ? check_set(model, valid, 1) : LSTMAE_OK;
    CHECK_ARG(st_train != LSTMAE_ERR_INVALID_ARG && st_valid != LSTMAE_ERR_INVALID_ARG);
    TRY(st_train);
    TRY(st_valid);

    lstmae_metrics last;
    lstmae_metrics_init(&last);
    int epochs_run = 0;
    int st = fit_run(model, train, valid, &o, &last, &epochs_run, NULL);
    if (last_train && epochs_run > 0) write_struct(last_train, &last, sizeof last);
    return st;
}

/* Rank 0's model to every rank: its file's size, then its bytes; every
   other rank reads them and, when the configuration is its own, takes the
   state. The statuses agree. */
static int broadcast_model(lstmae_model *m, const lstmae_collective *c)
{
    uint64_t size = c->rank == 0 ? (uint64_t)io_saved_size(m, IO_FLAG_TRAINING) : 0;
    if (c->broadcast(c->user, &size, sizeof size) != 0) return LSTMAE_ERR_IO;
    unsigned char *buf = size && size <= SIZE_MAX ? mem_alloc(&m->alloc, (size_t)size) : NULL;
    int st = fit_agree(c, buf ? LSTMAE_OK : LSTMAE_ERR_NOMEM);
    if (st != LSTMAE_OK) {
        mem_free(&m->alloc, buf);
        return st;
    }
    if (c->rank == 0) io_write(m, IO_FLAG_TRAINING, buf, (size_t)size);
    st = c->broadcast(c->user, buf, (size_t)size) != 0 ? LSTMAE_ERR_IO : LSTMAE_OK;
    if (st == LSTMAE_OK && c->rank != 0) {
        lstmae_model *r = NULL;
        st = io_read(buf, (size_t)size, &m->alloc, &r);
        if (st == LSTMAE_OK && !model_same_config(m, r)) st = LSTMAE_ERR_INVALID_ARG;
        if (st == LSTMAE_OK) model_copy_state(m, r);
        model_free(r);
    }
    mem_free(&m->alloc, buf);
    return fit_agree(c, st);
}

/* A shard may be empty (count 0, data NULL); otherwise as check_set. */
static int check_shard(const lstmae_model *m, const lstmae_sequences *s, size_t *steps)
{
    *steps = 0;
    CHECK_ARG(s != NULL);
    if (s->count == 0) return LSTMAE_OK;
    TRY(check_set(m, s, 0));
    for (size_t i = 0; i < s->count; i++) *steps += s->lengths ? (size_t)s->lengths[i] : s->max_len;
    return LSTMAE_OK;
}

int lstmae_fit_collective(lstmae_model *model, const lstmae_collective *coll,
                          const lstmae_sequences *train, const lstmae_sequences *valid,
                          const lstmae_fit_options *opt, lstmae_metrics *last_train)
{
    /* a group that cannot communicate cannot agree: refused here alone */
    CHECK_ARG(coll != NULL && caller_struct_ok(coll));
    lstmae_collective c;
    memset(&c, 0, sizeof c);
    TRY(read_struct(&c, sizeof c, coll));
    CHECK_ARG(c.size >= 1 && c.rank >= 0 && c.rank < c.size && c.allreduce && c.broadcast);

    /* this rank's arguments; then every rank's verdict */
    int st = LSTMAE_OK;
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    size_t train_steps = 0, valid_steps = 0;
    if (model == NULL || train == NULL || (opt && !caller_struct_ok(opt)) ||
        (last_train && !caller_struct_ok(last_train)))
        st = LSTMAE_ERR_INVALID_ARG;
    if (st == LSTMAE_OK && opt) st = read_struct(&o, sizeof o, opt);
    if (st == LSTMAE_OK)
        st = check_fit_options(&o, train->max_len ? train->max_len : 1, NULL, 0);
    int st_train = st == LSTMAE_OK ? check_shard(model, train, &train_steps) : LSTMAE_OK;
    int st_valid = st == LSTMAE_OK && valid ? check_shard(model, valid, &valid_steps)
                                            : LSTMAE_OK;
    if (st == LSTMAE_OK)
        st = st_train == LSTMAE_ERR_INVALID_ARG || st_valid == LSTMAE_ERR_INVALID_ARG
                 ? LSTMAE_ERR_INVALID_ARG
                 : st_train != LSTMAE_OK ? st_train : st_valid;
    st = fit_agree(&c, st);
    if (st != LSTMAE_OK) return st;
    /* the group's data: some valid step to learn from; a validation set
       somewhere when patience asks for one */
    float v[2] = { (float)train_steps, valid ? 1.0f : 0.0f };
    if (c.allreduce(c.user, v, 2, LSTMAE_REDUCE_MAX) != 0) return LSTMAE_ERR_IO;
    if (v[0] == 0.0f || (o.patience > 0 && v[1] == 0.0f)) return LSTMAE_ERR_INVALID_ARG;

    TRY(broadcast_model(model, &c));
    lstmae_metrics last;
    lstmae_metrics_init(&last);
    int epochs_run = 0;
    /* an empty validation shard takes no part but the sums */
    const lstmae_sequences *vs = valid && valid->count > 0 ? valid : NULL;
    st = fit_run(model, train, vs, &o, &last, &epochs_run, &c);
    if (last_train && epochs_run > 0) write_struct(last_train, &last, sizeof last);
    return st;
}

/* ---- inference ---------------------------------------------------------- */

int lstmae_set_num_threads(lstmae_model *model, int num_threads)
{
    CHECK_ARG(model != NULL && num_threads >= 0 && num_threads <= 1024);
    model->num_threads = num_threads;
    return LSTMAE_OK;
}

int lstmae_get_num_threads(const lstmae_model *model)
{
    return model ? model->num_threads : 0;
}

int lstmae_encode(const lstmae_model *model, const lstmae_sequences *in, float *latent)
{
    CHECK_ARG(model != NULL && latent != NULL);
    TRY(check_set(model, in, 0));
    return infer_encode(model, in, latent);
}

int lstmae_decode(const lstmae_model *model, const float *latent, size_t count,
                  size_t length, float *out)
{
    CHECK_ARG(model != NULL && latent != NULL && out != NULL);
    CHECK_ARG(count >= 1 && length >= 1 && length <= LSTMAE_MAX_STEPS);
    size_t Z = model->plan.d.latent, D = model->plan.d.in_dim;
    CHECK_ARG(count <= SIZE_MAX / sizeof(float) / Z &&
              count <= SIZE_MAX / sizeof(float) / length / D);
    if (!tensor_all_finite(latent, count * Z)) return LSTMAE_ERR_NUMERIC;
    return infer_decode(model, latent, count, length, out);
}

int lstmae_reconstruct(const lstmae_model *model, const lstmae_sequences *in, float *out)
{
    CHECK_ARG(model != NULL && out != NULL);
    TRY(check_set(model, in, 0));
    return infer_reconstruct(model, in, out);
}

int lstmae_evaluate(const lstmae_model *model, const lstmae_sequences *in,
                    lstmae_metrics *out)
{
    CHECK_ARG(model != NULL && out != NULL && caller_struct_ok(out));
    TRY(check_set(model, in, 1));
    lstmae_metrics m;
    lstmae_metrics_init(&m);
    TRY(fit_evaluate(model, in, &m));
    write_struct(out, &m, sizeof m);
    return LSTMAE_OK;
}

/* ---- parameters --------------------------------------------------------- */

size_t lstmae_param_count(const lstmae_model *model)
{
    return model ? model->ntensors : 0;
}

const char *lstmae_param_name(const lstmae_model *model, size_t index)
{
    if (!model || index >= model->ntensors) return NULL;
    return model->table[index].name;
}

static const param_entry *find_param(const lstmae_model *m, const char *name)
{
    if (!m || !name) return NULL;
    long i = params_find(m->table, m->ntensors, name);
    return i < 0 ? NULL : &m->table[i];
}

size_t lstmae_param_size(const lstmae_model *model, const char *name)
{
    const param_entry *e = find_param(model, name);
    return e ? e->size : 0;
}

int lstmae_param_shape(const lstmae_model *model, const char *name, size_t dims[2])
{
    const param_entry *e = find_param(model, name);
    if (!e || !dims) return 0;
    dims[0] = e->rows;
    dims[1] = e->cols;
    return e->is_vector ? 1 : 2;
}

int lstmae_get_param(const lstmae_model *model, const char *name, float *out, size_t count)
{
    const param_entry *e = find_param(model, name);
    CHECK_ARG(e != NULL && out != NULL && count == e->size);
    memcpy(out, model->params + e->offset, count * sizeof *out);
    return LSTMAE_OK;
}

int lstmae_set_param(lstmae_model *model, const char *name, const float *values, size_t count)
{
    const param_entry *e = find_param(model, name);
    CHECK_ARG(e != NULL && values != NULL && count == e->size);
    if (!tensor_all_finite(values, count)) return LSTMAE_ERR_NUMERIC;
    memcpy(model->params + e->offset, values, count * sizeof *values);
    return LSTMAE_OK;
}

/* ---- model files -------------------------------------------------------- */

static int flags_ok(unsigned flags) { return (flags & ~LSTMAE_SAVE_INFERENCE_ONLY) == 0; }

/* Public flags to the file's: the file says what it holds. */
static unsigned file_flags(unsigned flags)
{
    return (flags & LSTMAE_SAVE_INFERENCE_ONLY) ? 0u : IO_FLAG_TRAINING;
}

size_t lstmae_saved_size_ex(const lstmae_model *model, unsigned flags)
{
    if (!model || !flags_ok(flags)) return 0;
    return io_saved_size(model, file_flags(flags));
}

size_t lstmae_saved_size(const lstmae_model *model)
{
    return lstmae_saved_size_ex(model, 0);
}

int lstmae_save_buffer_ex(const lstmae_model *model, void *buf, size_t capacity,
                          unsigned flags)
{
    CHECK_ARG(model != NULL && buf != NULL && flags_ok(flags));
    size_t size = io_saved_size(model, file_flags(flags));
    CHECK_ARG(size != 0 && capacity >= size);
    io_write(model, file_flags(flags), buf, size);
    return LSTMAE_OK;
}

int lstmae_save_buffer(const lstmae_model *model, void *buf, size_t capacity)
{
    return lstmae_save_buffer_ex(model, buf, capacity, 0);
}

int lstmae_save_ex(const lstmae_model *model, const char *path, unsigned flags)
{
    CHECK_ARG(model != NULL && path != NULL && path[0] != '\0' && flags_ok(flags));
    size_t size = io_saved_size(model, file_flags(flags));
    CHECK_ARG(size != 0);
    unsigned char *buf = mem_alloc(&model->alloc, size);
    if (!buf) return LSTMAE_ERR_NOMEM;
    io_write(model, file_flags(flags), buf, size);
    int st = io_write_file_atomic(path, buf, size);
    int err = errno; /* the system's reason, whatever the allocator's free does */
    mem_free(&model->alloc, buf);
    errno = err;
    return st;
}

int lstmae_save(const lstmae_model *model, const char *path)
{
    return lstmae_save_ex(model, path, 0);
}

int lstmae_load_buffer_advanced(const void *buf, size_t size,
                                const lstmae_allocator *allocator, lstmae_model **out)
{
    if (out) *out = NULL;
    CHECK_ARG(out != NULL && (buf != NULL || size == 0));
    const lstmae_allocator *a = allocator ? allocator : mem_default();
    CHECK_ARG(a->alloc != NULL && a->free != NULL);
    if (size == 0) return LSTMAE_ERR_FORMAT;
    return io_read(buf, size, a, out);
}

int lstmae_load_buffer(const void *buf, size_t size, lstmae_model **out)
{
    return lstmae_load_buffer_advanced(buf, size, NULL, out);
}

int lstmae_load_advanced(const char *path, const lstmae_allocator *allocator,
                         lstmae_model **out)
{
    if (out) *out = NULL;
    CHECK_ARG(path != NULL && out != NULL);
    const lstmae_allocator *a = allocator ? allocator : mem_default();
    CHECK_ARG(a->alloc != NULL && a->free != NULL);
    unsigned char *buf;
    size_t size;
    TRY(io_read_file(path, a, &buf, &size));
    int st = size == 0 ? LSTMAE_ERR_FORMAT : io_read(buf, size, a, out);
    mem_free(a, buf);
    return st;
}

int lstmae_load(const char *path, lstmae_model **out)
{
    return lstmae_load_advanced(path, NULL, out);
}

uint64_t lstmae_epochs_done(const lstmae_model *model)
{
    return model ? model->epochs_done : 0;
}

/* ---- anomaly scores, thresholds, scaling -------------------------------- */

int lstmae_score(const lstmae_model *model, const lstmae_sequences *in, float *scores,
                 float *step_scores)
{
    CHECK_ARG(model != NULL && scores != NULL);
    TRY(check_set(model, in, 0));
    return infer_score(model, in, scores, step_scores);
}

int lstmae_check_threshold_rule(lstmae_threshold_rule rule, double param, char *why,
                                size_t why_size)
{
    return threshold_check(rule, param, why, why_size);
}

int lstmae_calibrate(lstmae_model *model, const lstmae_sequences *normal,
                     lstmae_threshold_rule rule, double param, double *threshold)
{
    CHECK_ARG(model != NULL);
    TRY(threshold_check(rule, param, NULL, 0));
    TRY(check_set(model, normal, 1)); /* at least one sequence of length >= 1 */
    float *scores = mem_alloc(&model->alloc, normal->count * sizeof *scores);
    if (!scores) return LSTMAE_ERR_NOMEM;
    int st = infer_score(model, normal, scores, NULL);
    if (st == LSTMAE_OK) {
        /* length-0 sequences are left out */
        size_t n = 0;
        for (size_t i = 0; i < normal->count; i++)
            if (!normal->lengths || normal->lengths[i] > 0) scores[n++] = scores[i];
        double t = threshold_compute(rule, param, scores, n);
        if (!isfinite(t)) {
            st = LSTMAE_ERR_NUMERIC;
        } else {
            model->threshold = t;
            model->has_threshold = 1;
            if (threshold) *threshold = t;
        }
    }
    mem_free(&model->alloc, scores);
    return st;
}

int lstmae_get_threshold(const lstmae_model *model, double *threshold)
{
    CHECK_ARG(model != NULL && threshold != NULL && model->has_threshold);
    *threshold = model->threshold;
    return LSTMAE_OK;
}

int lstmae_set_threshold(lstmae_model *model, double threshold)
{
    CHECK_ARG(model != NULL && isfinite(threshold));
    model->threshold = threshold;
    model->has_threshold = 1;
    return LSTMAE_OK;
}

int lstmae_detect(const lstmae_model *model, const lstmae_sequences *in, float *scores,
                  uint8_t *flags)
{
    CHECK_ARG(model != NULL && flags != NULL && model->has_threshold);
    TRY(check_set(model, in, 0));
    float *own = scores;
    if (!own) {
        own = mem_alloc(&model->alloc, in->count * sizeof *own);
        if (!own) return LSTMAE_ERR_NOMEM;
    }
    int st = infer_score(model, in, own, NULL);
    if (st == LSTMAE_OK)
        for (size_t i = 0; i < in->count; i++)
            flags[i] = (double)own[i] > model->threshold ? 1 : 0;
    if (!scores) mem_free(&model->alloc, own);
    return st;
}

int lstmae_get_scaling(const lstmae_model *model, float *offset, float *scale)
{
    CHECK_ARG(model != NULL);
    size_t D = model->plan.d.in_dim;
    for (size_t d = 0; d < D; d++) {
        if (offset) offset[d] = model->scaling_ready ? model->offset[d] : 0.0f;
        if (scale) scale[d] = model->scaling_ready ? model->scale[d] : 1.0f;
    }
    return LSTMAE_OK;
}

int lstmae_set_scaling(lstmae_model *model, const float *offset, const float *scale)
{
    CHECK_ARG(model != NULL && offset != NULL && scale != NULL && model->offset != NULL);
    size_t D = model->plan.d.in_dim;
    CHECK_ARG(tensor_all_finite(offset, D) && tensor_all_finite(scale, D));
    /* a subnormal scale overflows the scaled data: refused (0 means 1) */
    for (size_t d = 0; d < D; d++)
        CHECK_ARG(scale[d] == 0.0f || fabsf(scale[d]) >= FLT_MIN);
    for (size_t d = 0; d < D; d++) {
        model->offset[d] = offset[d];
        model->scale[d] = scale[d] == 0.0f ? 1.0f : scale[d];
    }
    model->scaling_ready = 1;
    return LSTMAE_OK;
}

int lstmae_scaling_ready(const lstmae_model *model)
{
    return model ? model->scaling_ready : 0;
}

/* ---- memory estimates --------------------------------------------------- */

size_t lstmae_fit_memory(const lstmae_model *model, const lstmae_sequences *train,
                         const lstmae_sequences *valid, const lstmae_fit_options *opt)
{
    if (!model || !train || train->count == 0) return 0;
    if (valid && valid->count == 0) return 0;
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    if (opt && read_struct(&o, sizeof o, opt) != LSTMAE_OK) return 0;
    if (check_fit_options(&o, 0, NULL, 0) != LSTMAE_OK) return 0;
    return fit_memory(model, train, valid, &o);
}

size_t lstmae_infer_memory(const lstmae_model *model, size_t count, size_t max_len)
{
    if (!model || count == 0) return 0;
    return infer_plan_bytes(model, count, max_len, (size_t)model->num_threads);
}

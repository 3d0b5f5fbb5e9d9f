/* fuzz_seeds.c - makes the version-2 seeds of fuzz_load's corpus that hold
   model variants (issue 12), and checks the committed ones against what it
   makes. Public API only.

     fuzz_seeds --write DIR   writes every seed below into DIR
     fuzz_seeds --check DIR   (the CTest test fuzz_seeds) for every seed:
                              DIR's file has the size and the header and
                              record bytes (everything before the tensors)
                              of a fresh one, loads, has the same
                              configuration and, parameter by parameter,
                              the same values to float rounding (training
                              runs through the BLAS, whose last bits may
                              differ between machines), and encodes.

   To regenerate: build, then fuzz_seeds --write tests/fuzz/corpus. The
   other seeds in that folder predate this program. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lstmae.h>

typedef struct {
    const char *file;
    lstmae_cell cell;
    int bidirectional, reverse_target;
    lstmae_decoder_init decoder_init;
    int decoder_feedback;
    lstmae_loss loss;
    int d, h, z, k;
    int epochs;           /* trained this many epochs before saving */
    unsigned save_flags;  /* 0 or LSTMAE_SAVE_INFERENCE_ONLY */
} seed_spec;

#define LAT LSTMAE_DECODER_INIT_LATENT
#define ZER LSTMAE_DECODER_INIT_ZERO
static const seed_spec seeds[] = {
    {"v2_all_variants_lstm_ce.lstmae", LSTMAE_CELL_LSTM, 1, 1, LAT, 1,
     LSTMAE_LOSS_CROSS_ENTROPY, 3, 3, 2, 2, 2, 0},
    {"v2_all_variants_gru_ce_inference_only.lstmae", LSTMAE_CELL_GRU, 1, 1, LAT, 1,
     LSTMAE_LOSS_CROSS_ENTROPY, 2, 2, 2, 2, 2, LSTMAE_SAVE_INFERENCE_ONLY},
    {"v2_bidirectional_k3.lstmae", LSTMAE_CELL_LSTM, 1, 0, ZER, 0,
     LSTMAE_LOSS_BCE, 2, 2, 2, 3, 1, 0},
    {"v2_feedback_ce_gru.lstmae", LSTMAE_CELL_GRU, 0, 0, ZER, 1,
     LSTMAE_LOSS_CROSS_ENTROPY, 3, 2, 1, 1, 2, 0},
    {"v2_reverse_latent_mse_d1h1z1_inference_only.lstmae", LSTMAE_CELL_LSTM, 0, 1, LAT, 0,
     LSTMAE_LOSS_MSE, 1, 1, 1, 1, 0, LSTMAE_SAVE_INFERENCE_ONLY},
};
#undef LAT
#undef ZER
enum { NSEEDS = sizeof seeds / sizeof seeds[0], N = 8, T = 4 };

static int fail(const char *file, const char *what)
{
    fprintf(stderr, "fuzz_seeds: %s: %s\n", file, what);
    return 1;
}

/* The seed's model, trained on 8 short sequences whose values come from
   integers only (the same on every machine), and saved into *buf. */
static int make_seed(const seed_spec *s, unsigned char **buf, size_t *size)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = s->d;
    cfg.hidden_dim = s->h;
    cfg.latent_dim = s->z;
    cfg.num_layers = s->k;
    cfg.loss = s->loss;
    cfg.seed = 12;
    cfg.cell = s->cell;
    cfg.bidirectional = s->bidirectional;
    cfg.reverse_target = s->reverse_target;
    cfg.decoder_init = s->decoder_init;
    cfg.decoder_feedback = s->decoder_feedback;
    lstmae_model *m = NULL;
    if (lstmae_create(&cfg, &m) != LSTMAE_OK) return fail(s->file, "lstmae_create");
    static float x[N * T * 3];
    int32_t len[N];
    const size_t D = (size_t)s->d;
    for (size_t i = 0; i < N; i++) {
        len[i] = i == 0 ? T : (int32_t)(i % (T + 1));
        for (size_t t = 0; t < T; t++)
            for (size_t j = 0; j < D; j++) {
                float *v = &x[(i * T + t) * D + j];
                if (s->loss == LSTMAE_LOSS_CROSS_ENTROPY)
                    *v = (float)((i + t) % D == j);
                else
                    *v = (float)((i * 7 + t * 3 + j * 5) % 11) / 10.0f;
            }
    }
    lstmae_sequences set = {x, len, N, T};
    if (s->epochs > 0) {
        lstmae_fit_options o;
        lstmae_fit_options_init(&o);
        o.epochs = s->epochs;
        o.batch_size = 3;
        o.optimizer = LSTMAE_OPT_SGD;  /* steps proportional to the gradient */
        o.learning_rate = 0.05f;
        o.momentum = 0.9f;
        o.num_threads = 1;
        if (lstmae_fit(m, &set, NULL, &o, NULL) != LSTMAE_OK) {
            lstmae_free(m);
            return fail(s->file, "lstmae_fit");
        }
    }
    *size = lstmae_saved_size_ex(m, s->save_flags);
    *buf = malloc(*size);
    int st = *buf ? lstmae_save_buffer_ex(m, *buf, *size, s->save_flags) : LSTMAE_ERR_NOMEM;
    lstmae_free(m);
    return st == LSTMAE_OK ? 0 : fail(s->file, "lstmae_save_buffer_ex");
}

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *b = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (b = malloc((size_t)n + 1)) != NULL && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return b;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int check_seed(const seed_spec *s, const char *path, const unsigned char *want,
                      size_t want_size)
{
    size_t size = 0;
    unsigned char *got = read_all(path, &size);
    if (!got) return fail(s->file, "cannot be read");
    int bad = 0;
    lstmae_model *a = NULL, *b = NULL;
    size_t head = 32 + (size_t)le32(want + 24); /* header and records */
    if (size != want_size) {
        bad = fail(s->file, "not the size fuzz_seeds makes");
    } else if (memcmp(got, want, head) != 0) {
        bad = fail(s->file, "header or records differ from what fuzz_seeds makes");
    } else if (lstmae_load_buffer(got, size, &a) != LSTMAE_OK ||
               lstmae_load_buffer(want, want_size, &b) != LSTMAE_OK) {
        bad = fail(s->file, "does not load");
    } else {
        lstmae_config ca, cb;
        lstmae_config_init(&ca);
        lstmae_config_init(&cb);
        if (lstmae_get_config(a, &ca) != LSTMAE_OK || lstmae_get_config(b, &cb) != LSTMAE_OK ||
            memcmp(&ca, &cb, sizeof ca) != 0 || ca.cell != s->cell ||
            ca.bidirectional != s->bidirectional || ca.reverse_target != s->reverse_target ||
            ca.decoder_init != s->decoder_init || ca.decoder_feedback != s->decoder_feedback ||
            ca.loss != s->loss)
            bad = fail(s->file, "another configuration");
        size_t count = lstmae_param_count(a);
        if (count != lstmae_param_count(b)) bad = fail(s->file, "another tensor count");
        for (size_t i = 0; !bad && i < count; i++) {
            const char *name = lstmae_param_name(a, i);
            size_t n = lstmae_param_size(a, name);
            float *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
            if (!pa || !pb || lstmae_get_param(a, name, pa, n) != LSTMAE_OK ||
                lstmae_get_param(b, name, pb, n) != LSTMAE_OK) {
                bad = fail(s->file, name);
            } else {
                for (size_t j = 0; j < n; j++)
                    if (!(fabsf(pa[j] - pb[j]) <= 1e-5f + 1e-4f * fabsf(pb[j]))) {
                        bad = fail(s->file, name);
                        break;
                    }
            }
            free(pa);
            free(pb);
        }
        float xs[2 * 3] = {0}, z[2];
        lstmae_sequences one = {xs, NULL, 1, 2};
        if (!bad && lstmae_encode(a, &one, z) != LSTMAE_OK) bad = fail(s->file, "does not encode");
    }
    if (!bad)
        printf("%-52s %6zu bytes, %3zu bytes before the tensors: as fuzz_seeds makes it\n",
               s->file, size, head);
    lstmae_free(a);
    lstmae_free(b);
    free(got);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "--write") != 0 && strcmp(argv[1], "--check") != 0)) {
        fprintf(stderr, "usage: fuzz_seeds --write DIR | --check DIR\n");
        return 2;
    }
    int write = strcmp(argv[1], "--write") == 0, bad = 0;
    for (size_t i = 0; i < NSEEDS; i++) {
        const seed_spec *s = &seeds[i];
        unsigned char *buf = NULL;
        size_t size = 0;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", argv[2], s->file);
        if (make_seed(s, &buf, &size) != 0) {
            bad = 1;
        } else if (write) {
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(buf, 1, size, f) != size) bad |= fail(s->file, "cannot be written");
            if (f && fclose(f) != 0) bad |= fail(s->file, "cannot be written");
            if (!bad) printf("wrote %s (%zu bytes)\n", path, size);
        } else {
            bad |= check_seed(s, path, buf, size);
        }
        free(buf);
    }
    return bad;
}

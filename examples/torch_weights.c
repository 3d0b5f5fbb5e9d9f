/* torch_weights.c - move a model's weights to and from PyTorch, by name.
 *
 *   torch_weights export MODEL DIR       DIR/<name>.f32 for every tensor
 *   torch_weights import MODEL DIR OUT   MODEL with every tensor replaced
 *                                        from DIR/<name>.f32, saved to OUT
 *
 * A .f32 file is the tensor's floats, row-major, little-endian IEEE-754
 * binary32, nothing else: numpy.fromfile(path, "<f4") reads it. The names
 * and shapes are in docs/api.md; docs/embedding.md has the Python side.
 * Without arguments it checks itself: it exports a fresh model, imports
 * the files into another one and compares the two. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lstmae.h>

/* Reads or writes DIR/<name>.f32 as count floats (this host is taken to be
   little-endian, as x86-64 and AArch64 are). */
static int tensor_file(const char *dir, const char *name, float *values,
                       size_t count, int write)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.f32", dir, name);
    FILE *f = fopen(path, write ? "wb" : "rb");
    if (!f) return LSTMAE_ERR_IO;
    size_t done = write ? fwrite(values, sizeof *values, count, f)
                        : fread(values, sizeof *values, count, f);
    int extra = !write && fgetc(f) != EOF; /* a longer file: wrong shape */
    return (fclose(f) == 0 && done == count && !extra) ? LSTMAE_OK : LSTMAE_ERR_IO;
}

/* Every tensor of model to DIR (export) or from DIR into model (import). */
static int move_weights(lstmae_model *model, const char *dir, int export)
{
    int st = LSTMAE_OK;
    for (size_t i = 0; st == LSTMAE_OK && i < lstmae_param_count(model); i++) {
        const char *name = lstmae_param_name(model, i);
        size_t count = lstmae_param_size(model, name);
        float *values = malloc(count * sizeof *values);
        if (!values) return LSTMAE_ERR_NOMEM;
        if (export) {
            st = lstmae_get_param(model, name, values, count);
            if (st == LSTMAE_OK) st = tensor_file(dir, name, values, count, 1);
        } else {
            st = tensor_file(dir, name, values, count, 0);
            if (st == LSTMAE_OK) st = lstmae_set_param(model, name, values, count);
        }
        if (st != LSTMAE_OK) fprintf(stderr, "%s/%s.f32: %s\n", dir, name,
                                     lstmae_strerror(st));
        free(values);
    }
    return st;
}

/* Exports a fresh model to the current directory and imports it into one
   with another seed: every tensor must come back bit for bit. */
static int self_check(void)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = 3;
    cfg.hidden_dim = 5;
    cfg.latent_dim = 2;
    cfg.num_layers = 2;
    lstmae_model *a = NULL, *b = NULL;
    int st = lstmae_create(&cfg, &a);
    cfg.seed = 2;
    if (st == LSTMAE_OK) st = lstmae_create(&cfg, &b);
    if (st == LSTMAE_OK) st = move_weights(a, ".", 1);
    if (st == LSTMAE_OK) st = move_weights(b, ".", 0);
    size_t tensors = lstmae_param_count(a), same = 0;
    for (size_t i = 0; st == LSTMAE_OK && i < tensors; i++) {
        const char *name = lstmae_param_name(a, i);
        size_t n = lstmae_param_size(a, name);
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        same += x && y && lstmae_get_param(a, name, x, n) == LSTMAE_OK &&
                lstmae_get_param(b, name, y, n) == LSTMAE_OK &&
                memcmp(x, y, n * sizeof *x) == 0;
        free(x);
        free(y);
    }
    lstmae_free(a);
    lstmae_free(b);
    printf("%zu of %zu tensors exported and imported bit for bit\n", same, tensors);
    return st == LSTMAE_OK && tensors == 6 * 2 + 4 && same == tensors ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 1) return self_check();
    int export = argc == 4 && strcmp(argv[1], "export") == 0;
    if (!export && !(argc == 5 && strcmp(argv[1], "import") == 0)) {
        fprintf(stderr, "usage: torch_weights export MODEL DIR\n"
                        "       torch_weights import MODEL DIR OUT\n");
        return 2;
    }
    lstmae_model *model = NULL;
    int st = lstmae_load(argv[2], &model);
    if (st == LSTMAE_OK) st = move_weights(model, argv[3], export);
    if (st == LSTMAE_OK && !export) st = lstmae_save(model, argv[4]);
    if (st != LSTMAE_OK) fprintf(stderr, "torch_weights: %s\n", lstmae_strerror(st));
    lstmae_free(model);
    return st == LSTMAE_OK ? 0 : 1;
}

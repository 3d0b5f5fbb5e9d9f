/* test_plan.c - the network plan (lib/plan.c) and the parameter table laid
   out from it, against MODEL.md's table written out here by hand: tensor
   names and order, shapes, contiguous offsets, initialisation fans, and
   each layer's role, input width, cell kind and repeated input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lstmae.h>

#include "cellkind.h"
#include "params.h"
#include "plan.h"
#include "testutil.h"

/* MODEL.md's table for D, H, Z, K: name, rows, cols (0: a vector). */
typedef struct want_entry { char name[48]; size_t rows, cols; } want_entry;

static void add_want(want_entry *w, size_t *n, const char *name, size_t rows, size_t cols)
{
    snprintf(w[*n].name, sizeof w[*n].name, "%s", name);
    w[*n].rows = rows;
    w[*n].cols = cols;
    (*n)++;
}

static size_t model_md_table(want_entry *w, size_t D, size_t H, size_t Z, size_t K)
{
    size_t n = 0;
    char name[48];
    const char *part[2] = { "encoder", "decoder" };
    for (int p = 0; p < 2; p++) {
        for (size_t k = 0; k < K; k++) {
            size_t in = k > 0 ? H : p == 0 ? D : Z;
            snprintf(name, sizeof name, "%s.%zu.weight_ih", part[p], k);
            add_want(w, &n, name, 4 * H, in);
            snprintf(name, sizeof name, "%s.%zu.weight_hh", part[p], k);
            add_want(w, &n, name, 4 * H, H);
            snprintf(name, sizeof name, "%s.%zu.bias", part[p], k);
            add_want(w, &n, name, 4 * H, 0);
        }
        if (p == 0) {
            add_want(w, &n, "latent.weight", Z, H);
            add_want(w, &n, "latent.bias", Z, 0);
        }
    }
    add_want(w, &n, "output.weight", D, H);
    add_want(w, &n, "output.bias", D, 0);
    return n;
}

static void check_plan(int D, int H, int Z, int K)
{
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = D;
    cfg.hidden_dim = H;
    cfg.latent_dim = Z;
    cfg.num_layers = K;
    ae_plan *p = malloc(sizeof *p);
    assert_non_null(p);
    plan_build(&cfg, p);

    size_t nw = 6 * (size_t)K + 4;
    want_entry *want = calloc(nw, sizeof *want);
    param_entry *table = calloc(nw, sizeof *table);
    assert_non_null(want);
    assert_non_null(table);
    assert_int_equal(model_md_table(want, (size_t)D, (size_t)H, (size_t)Z, (size_t)K), nw);
    assert_int_equal(p->ntensors, nw);
    params_layout(p, table);

    size_t off = 0;
    for (size_t i = 0; i < nw; i++) {
        const param_entry *e = &table[i];
        assert_string_equal(e->name, want[i].name);
        assert_int_equal(e->rows, want[i].rows);
        assert_int_equal(e->is_vector, want[i].cols == 0);
        assert_int_equal(e->cols, want[i].cols ? want[i].cols : 1);
        assert_int_equal(e->offset, off);
        assert_int_equal(e->size, e->rows * e->cols);
        /* PyTorch: every recurrent tensor from H, linear layers from
           their input width, which is H for both */
        assert_int_equal(e->fan, (size_t)H);
        off += e->size;
    }
    assert_int_equal(p->nparams, off);

    /* the layers: encoder 0 .. K-1, then decoder 0 .. K-1 */
    const cell_kind *lstm = cellkind_get(LSTMAE_CELL_LSTM);
    assert_non_null(lstm);
    assert_string_equal(lstm->name, "lstm");
    assert_int_equal(p->nlayers, 2 * (size_t)K);
    assert_int_equal(p->enc_layers, (size_t)K);
    for (size_t L = 0; L < p->nlayers; L++) {
        const plan_layer *l = &p->layer[L];
        int dec = L >= (size_t)K;
        size_t k = dec ? L - (size_t)K : L;
        assert_int_equal(l->role, dec ? PLAN_DECODER : PLAN_ENCODER);
        assert_int_equal(l->k, k);
        assert_int_equal(l->dir, PLAN_FORWARD);
        assert_ptr_equal(l->cell, lstm);
        assert_int_equal(l->in_dim, k > 0 ? (size_t)H : dec ? (size_t)Z : (size_t)D);
        assert_int_equal(l->hidden, (size_t)H);
        assert_int_equal(l->width, 4 * (size_t)H);
        assert_int_equal(l->repeat, dec && k == 0);
        assert_int_equal(l->ntensors, 3);
        /* the layer's tensors are its three rows of the table */
        size_t first = dec ? 3 * (size_t)K + 2 + 3 * k : 3 * k;
        for (size_t j = 0; j < 3; j++) {
            assert_int_equal(l->t[j].index, first + j);
            assert_int_equal(l->t[j].offset, table[first + j].offset);
        }
    }
    assert_int_equal(p->latent.weight.index, 3 * (size_t)K);
    assert_int_equal(p->latent.in_dim, (size_t)H);
    assert_int_equal(p->latent.out_dim, (size_t)Z);
    assert_int_equal(p->output.bias.index, nw - 1);
    assert_int_equal(p->output.in_dim, (size_t)H);
    assert_int_equal(p->output.out_dim, (size_t)D);
    assert_int_equal(p->max_width, 4 * (size_t)H);
    assert_int_equal(p->max_hidden, (size_t)H);
    free(table);
    free(want);
    free(p);
}

static void test_plan_shapes(void **state)
{
    (void)state;
    check_plan(1, 1, 1, 1);
    check_plan(3, 20, 5, 1);
    check_plan(7, 4, 9, 2);
    check_plan(2, 6, 3, 3);
    check_plan(5, 8, 2, LSTMAE_MAX_LAYERS);
}

/* The plan a model holds is the one its table came from, and a model's
   names are the public ones. */
static void test_model_plan(void **state)
{
    (void)state;
    lstmae_model *m = tu_make_model(3, 8, 2, 2, LSTMAE_LOSS_MSE, 1);
    assert_int_equal(lstmae_param_count(m), 16);
    assert_string_equal(lstmae_param_name(m, 6), "latent.weight");
    assert_string_equal(lstmae_param_name(m, 8), "decoder.0.weight_ih");
    assert_int_equal(lstmae_param_size(m, "decoder.0.weight_ih"), 4 * 8 * 2);
    assert_int_equal(lstmae_param_size(m, "encoder.1.weight_ih"), 4 * 8 * 8);
    lstmae_free(m);
}

static void test_cellkind_table(void **state)
{
    (void)state;
    assert_null(cellkind_get(-1));
    assert_null(cellkind_get(LSTMAE_CELL_GRU + 1));
    const cell_kind *k = cellkind_get(LSTMAE_CELL_LSTM);
    assert_int_equal(k->gates, 4);
    assert_int_equal(k->ntensors, 3);
    assert_int_equal(k->state, 1);
    assert_string_equal(k->tensor_names[2], "bias");
    assert_non_null(k->forward);
    assert_non_null(k->backward);
    /* the wpack a training call uses covers the forward's */
    assert_true(k->wpack_floats(16, 64, 1) >= k->wpack_floats(16, 64, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_shapes),
        cmocka_unit_test(test_model_plan),
        cmocka_unit_test(test_cellkind_table),
    };
    return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}

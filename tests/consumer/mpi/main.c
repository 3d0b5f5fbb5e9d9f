/* An outside program using the installed lstmae_mpi: every rank trains one
   model together on its shard of a small set; rank 0 checks that the loss
   went down and every rank checks it holds rank 0's parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lstmae_mpi.h>

enum { N = 32, T = 6, D = 2 };

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    static float x[N * T * D];
    static int32_t len[N];
    size_t n = 0;
    for (size_t i = 0; i < N; i++) {
        if ((int)(i % (size_t)size) != rank) continue;
        for (size_t t = 0; t < T; t++)
            for (size_t d = 0; d < D; d++)
                x[(n * T + t) * D + d] = 0.1f + 0.08f * (float)((i + 3 * t + 5 * d) % 11);
        len[n++] = T;
    }
    lstmae_config c;
    lstmae_config_init(&c);
    c.input_dim = D;
    c.hidden_dim = 8;
    c.latent_dim = 4;
    c.loss = LSTMAE_LOSS_MSE;
    lstmae_model *m = NULL;
    int st = lstmae_create(&c, &m);
    lstmae_fit_options o;
    lstmae_fit_options_init(&o);
    o.epochs = 20;
    o.batch_size = 4;
    o.learning_rate = 0.02f;
    lstmae_sequences s = { x, len, n, T };
    lstmae_metrics first, last;
    lstmae_metrics_init(&first);
    lstmae_metrics_init(&last);
    if (st == LSTMAE_OK) {
        o.epochs = 1;
        st = lstmae_fit_mpi(m, MPI_COMM_WORLD, &s, NULL, &o, &first);
    }
    if (st == LSTMAE_OK) {
        o.epochs = 20;
        st = lstmae_fit_mpi(m, MPI_COMM_WORLD, &s, NULL, &o, &last);
    }
    int ok = st == LSTMAE_OK && last.loss < first.loss;
    /* the first tensor: every rank's equals rank 0's */
    const char *name = lstmae_param_name(m, 0);
    size_t k = lstmae_param_size(m, name);
    float *w = calloc(k, sizeof *w), *w0 = calloc(k, sizeof *w0);
    if (!w || !w0 || lstmae_get_param(m, name, w, k) != LSTMAE_OK) ok = 0;
    if (w && w0) {
        memcpy(w0, w, k * sizeof *w);
        MPI_Bcast(w0, (int)k, MPI_FLOAT, 0, MPI_COMM_WORLD);
        if (memcmp(w, w0, k * sizeof *w) != 0) ok = 0;
    }
    free(w);
    free(w0);
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (rank == 0)
        printf("consumer_mpi: lstmae %s, %d ranks: %s, loss %.4f -> %.4f, ranks identical: %s\n",
               lstmae_version(), size, lstmae_strerror(st), first.loss, last.loss,
               all ? "yes" : "NO");
    lstmae_free(m);
    MPI_Finalize();
    return all ? 0 : 1;
}

/* main.c - the outside program of tests/consumer: creates a model, encodes
   two sequences with it, prints the version and the latent vectors. Exits
   non-zero on any failure, or if the header and the library disagree. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lstmae.h>

int main(void)
{
    enum { COUNT = 2, STEPS = 3, FEATURES = 2, LATENT = 3 };
    static const float data[COUNT * STEPS * FEATURES] = {
        1, 0,   0, 1,   1, 0,
        0, 1,   1, 0,   NAN, NAN,   /* length 2: the last step is padding */
    };
    static const int32_t lengths[COUNT] = {3, 2};
    const lstmae_sequences seqs = {
        .data = data, .lengths = lengths, .count = COUNT, .max_len = STEPS};

    char header_version[32];
    snprintf(header_version, sizeof header_version, "%d.%d.%d",
             LSTMAE_VERSION_MAJOR, LSTMAE_VERSION_MINOR, LSTMAE_VERSION_PATCH);
    printf("lstmae %s (header %s)\n", lstmae_version(), header_version);
    if (strcmp(lstmae_version(), header_version) != 0) {
        fprintf(stderr, "consumer: header and library versions differ\n");
        return 1;
    }

    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = FEATURES;
    cfg.hidden_dim = 8;
    cfg.latent_dim = LATENT;

    lstmae_model *model = NULL;
    float latent[COUNT * LATENT];
    int status = lstmae_create(&cfg, &model);
    if (status == LSTMAE_OK)
        status = lstmae_encode(model, &seqs, latent);
    if (status != LSTMAE_OK) {
        fprintf(stderr, "consumer: %s\n", lstmae_strerror(status));
        lstmae_free(model);
        return 1;
    }
    for (int i = 0; i < COUNT; i++) {
        printf("sequence %d ->", i);
        for (int j = 0; j < LATENT; j++)
            printf(" %.4f", (double)latent[i * LATENT + j]);
        printf("\n");
    }
    lstmae_free(model);
    return 0;
}

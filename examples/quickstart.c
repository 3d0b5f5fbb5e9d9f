/* quickstart.c - train an LSTM autoencoder, then encode sequences. */
#include <stdio.h>

#include <lstmae.h>

int main(void)
{
    /* Four sequences of up to 3 steps of 2 features. Steps past a
       sequence's length are padding: never read, so anything may be there. */
    enum { COUNT = 4, STEPS = 3, FEATURES = 2, LATENT = 4 };
    static const float data[COUNT * STEPS * FEATURES] = {
        1, 0,   0, 1,   1, 0,
        0, 1,   1, 0,   9, 9,    /* length 2: the last step is padding */
        1, 1,   9, 9,   9, 9,    /* length 1 */
        0, 0,   1, 1,   0, 1,
    };
    static const int32_t lengths[COUNT] = {3, 2, 1, 3};
    const lstmae_sequences seqs = {
        .data = data, .lengths = lengths, .count = COUNT, .max_len = STEPS};

    lstmae_config cfg;
    lstmae_config_init(&cfg);
    cfg.input_dim = FEATURES;
    cfg.latent_dim = LATENT;

    lstmae_fit_options opt;
    lstmae_fit_options_init(&opt);
    opt.epochs = 200;
    opt.learning_rate = 0.01f;

    lstmae_model *model = NULL;
    float latent[COUNT * LATENT];
    int status = lstmae_create(&cfg, &model);
    if (status == LSTMAE_OK)
        status = lstmae_fit(model, &seqs, NULL, &opt, NULL);
    if (status == LSTMAE_OK)
        status = lstmae_encode(model, &seqs, latent);
    if (status != LSTMAE_OK) {
        fprintf(stderr, "lstmae: %s\n", lstmae_strerror(status));
        lstmae_free(model);
        return 1;
    }

    printf("sequence 0 ->");
    for (int j = 0; j < LATENT; j++)
        printf(" %.3f", (double)latent[j]);
    printf("\n");
    lstmae_free(model);
    return 0;
}

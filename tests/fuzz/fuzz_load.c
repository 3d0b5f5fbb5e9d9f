/* fuzz_load.c - libFuzzer harness: lstmae_load_buffer must never crash,
   leak or read out of bounds, whatever the bytes; a model it accepts must
   be usable (encode one sequence, save it back to identical bytes). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lstmae.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lstmae_model *m = (lstmae_model *)(uintptr_t)1; /* must become NULL on failure */
    int st = lstmae_load_buffer(data, size, &m);
    if (st != LSTMAE_OK) {
        if (m != NULL || (st != LSTMAE_ERR_FORMAT && st != LSTMAE_ERR_NOMEM &&
                          st != LSTMAE_ERR_INVALID_ARG))
            abort();
        return 0;
    }
    /* accepted: the bytes are exactly what saving the model gives back */
    size_t n = lstmae_saved_size(m);
    size_t n_inf = lstmae_saved_size_ex(m, LSTMAE_SAVE_INFERENCE_ONLY);
    if (n != size && n_inf != size) abort();
    unsigned char *back = malloc(size);
    if (!back) abort();
    unsigned flags = n == size ? 0u : LSTMAE_SAVE_INFERENCE_ONLY;
    if (lstmae_save_buffer_ex(m, back, size, flags) != LSTMAE_OK) abort();
    /* all but the checksum, which the fuzzing build does not enforce */
    if (memcmp(back, data, size - 4) != 0) abort();
    free(back);
    /* and usable, when small enough to run quickly */
    lstmae_config cfg;
    lstmae_config_init(&cfg);
    if (lstmae_get_config(m, &cfg) != LSTMAE_OK) abort();
    if (cfg.input_dim <= 64 && cfg.hidden_dim <= 64 && cfg.latent_dim <= 64) {
        float x[2 * 64] = {0};
        float z[64];
        lstmae_sequences s = { x, NULL, 1, 2 };
        if (lstmae_encode(m, &s, z) != LSTMAE_OK) abort();
    }
    lstmae_free(m);
    return 0;
}

/* fuzz_load.c - libFuzzer harness: lstmae_load_buffer must never crash,
   leak or read out of bounds, whatever the bytes; a model it accepts must
   be usable (encode one sequence, save it back to the same bytes, as
   version 2, and load that). */
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
    /* accepted: saving gives back the same bytes after the configuration
       (tensors, training state), and the same configuration: the records
       as a save writes them, whatever order, optional records or record
       flags the input had, and version 2 for a version-1 input. */
    /* the input's header says whether it holds the training state (bit 0
       of the u32 at 12, in both versions); the save's own record section
       length (the u32 at 24 of a version-2 file) says where its tensors
       begin: tags 1-6, the variant tags 7-11 that differ from their
       defaults, and the optional ones (docs/file-format.md) */
    uint32_t version = (uint32_t)data[8] | (uint32_t)data[9] << 8;
    size_t in_cfg = version == 1 ? 32 : 8 + ((size_t)data[24] | (size_t)data[25] << 8 |
                                             (size_t)data[26] << 16 | (size_t)data[27] << 24);
    unsigned flags = (data[12] & 1u) ? 0u : LSTMAE_SAVE_INFERENCE_ONLY;
    if (in_cfg > size - 28) abort();
    size_t tail = size - 24 - in_cfg; /* tensors, state, checksum */
    size_t out_size = lstmae_saved_size_ex(m, flags);
    if (out_size < 32) abort();
    unsigned char *back = malloc(out_size);
    if (!back) abort();
    if (lstmae_save_buffer_ex(m, back, out_size, flags) != LSTMAE_OK) abort();
    size_t out_cfg = 8 + ((size_t)back[24] | (size_t)back[25] << 8 |
                          (size_t)back[26] << 16 | (size_t)back[27] << 24);
    if (out_size != 24 + out_cfg + tail) abort();
    /* the header but the version and size; the body but the checksum,
       which the fuzzing build does not enforce */
    if (memcmp(back, data, 8) != 0 || memcmp(back + 12, data + 12, 4) != 0) abort();
    if (memcmp(back + 24 + out_cfg, data + 24 + in_cfg, tail - 4) != 0) abort();
    lstmae_model *again = NULL;
    if (lstmae_load_buffer(back, out_size, &again) != LSTMAE_OK) abort();
    lstmae_config c1, c2;
    lstmae_config_init(&c1);
    lstmae_config_init(&c2);
    if (lstmae_get_config(m, &c1) != LSTMAE_OK || lstmae_get_config(again, &c2) != LSTMAE_OK ||
        memcmp(&c1, &c2, sizeof c1) != 0)
        abort();
    lstmae_free(again);
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

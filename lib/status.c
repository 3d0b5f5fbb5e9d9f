/* status.c - status names, the version string, runtime information. */
#include <stdarg.h>
#include <stdio.h>

#include "cell.h"
#include "gemm.h"
#include "lstmae.h"
#include "status.h"
#include "tensor.h"

#define LSTMAE_STR2(x) #x
#define LSTMAE_STR(x) LSTMAE_STR2(x)

const char *lstmae_strerror(int status)
{
    switch (status) {
    case LSTMAE_OK:               return "success";
    case LSTMAE_ERR_INVALID_ARG:  return "invalid argument";
    case LSTMAE_ERR_NOMEM:        return "out of memory";
    case LSTMAE_ERR_IO:           return "input/output error";
    case LSTMAE_ERR_FORMAT:       return "bad model file format";
    case LSTMAE_ERR_NUMERIC:      return "non-finite number (NaN/Inf) in input or training";
    case LSTMAE_ERR_CANCELLED:    return "cancelled by callback";
    default:                      return "unknown status";
    }
}

const char *lstmae_version(void)
{
    return LSTMAE_STR(LSTMAE_VERSION_MAJOR) "." LSTMAE_STR(LSTMAE_VERSION_MINOR)
        "." LSTMAE_STR(LSTMAE_VERSION_PATCH);
}

size_t lstmae_runtime_info(char *buf, size_t size)
{
    char blas[512];
    int n = tensor_blas_info(blas, sizeof blas);
    if (n < 0) blas[0] = '\0';
    n = snprintf(buf, size, "lstmae=%s %s kernels=%s step_gemm=%s", lstmae_version(), blas,
                 cell_isa(), gemm_isa());
    return n < 0 ? 0 : (size_t)n;
}

int status_reject(char *why, size_t size, const char *fmt, ...)
{
    if (why && size > 0) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(why, size, fmt, ap); /* truncation is fine: a reason */
        va_end(ap);
    }
    return LSTMAE_ERR_INVALID_ARG;
}

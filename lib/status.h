/* status.h - internal status propagation. Statuses are LSTMAE_* from the
   public header; these macros keep call sites to one line. */
#ifndef LSTMAE_STATUS_H
#define LSTMAE_STATUS_H

#include <stddef.h>

#include "lstmae.h"

/* Return the status of `expr` from the calling function if it failed. */
#define TRY(expr)                                                          \
    do {                                                                   \
        int try_status_ = (expr);                                          \
        if (try_status_ != LSTMAE_OK) return try_status_;                  \
    } while (0)

/* Fail with LSTMAE_ERR_INVALID_ARG unless `cond` holds. */
#define CHECK_ARG(cond)                                                    \
    do {                                                                   \
        if (!(cond)) return LSTMAE_ERR_INVALID_ARG;                        \
    } while (0)

/* Writes a one-line reason into why[size] (when there is room) and
   returns LSTMAE_ERR_INVALID_ARG, so that a check reads
   `if (bad) return status_reject(why, size, "...", ...);`. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int status_reject(char *why, size_t size, const char *fmt, ...);

#endif

/* Internal error reporting: a status plus a message that names what was at fault. */
#ifndef CINFER_CORE_ERROR_H
#define CINFER_CORE_ERROR_H

#include <stdio.h>
#include <stdlib.h>

#include "cinfer/cinfer.h"

#define CINFER__ERR_LEN 1024

/* Where a failing function writes its message. Callers own it (usually on the stack). */
typedef struct cinfer__err {
    char msg[CINFER__ERR_LEN];
} cinfer__err;

/* Formats the message into err (if err is not NULL) and returns status, so that
 * `return cinfer__errorf(err, CINFER_INVALID_MODEL, "...", ...);` reads naturally. */
cinfer_status cinfer__errorf(cinfer__err *err, cinfer_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to the message already in err (to add context on the way up). */
void cinfer__err_prefix(cinfer__err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records msg as the calling thread's last error (cinfer_last_error). */
void cinfer__set_last_error(const char *msg);

/* Always-on invariant check: prints the expression, file and line, then aborts. Only for
 * internal bugs, never for bad input. */
#define CINFER_ASSERT(x)                                                                  \
    do {                                                                                  \
        if (!(x)) {                                                                       \
            fprintf(stderr, "cinfer: internal assertion failed: %s (%s:%d)\n", #x,        \
                    __FILE__, __LINE__);                                                  \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* Propagates a non-OK status from an expression. */
#define CINFER_TRY(expr)                                                                  \
    do {                                                                                  \
        cinfer_status cinfer_try_s_ = (expr);                                             \
        if (cinfer_try_s_ != CINFER_OK) return cinfer_try_s_;                             \
    } while (0)

#endif
